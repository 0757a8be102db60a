"""Options of ``ddcf score``: the only place they are written (model loading: :mod:`ddcf.runs.engine`)."""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import option
from ddcf.executors.options import ExecutorOptions
from ddcf.runs.engine import ModelOptions, overwrite_option

DEFAULT_TEMPLATE = "{question}\n"


@dataclass
class ScoreConfig(ModelOptions, ExecutorOptions):
    """Score every corpus response with the target model: the sum and mean of its token log-probabilities given
    the question (a prompt made with --prompt_template). Resumable: finished shards are a cache keyed by
    (model, question id, text); a rerun scores only what is missing or changed. Needed by
    k_greedy_selection.py --method perplexity and --method least_confidence."""

    model_name: str | None = option(
        None, "The target model: a local folder or a Hugging Face Hub id (its scores go to "
        "DDCF_data/scores/<model>/).", required=True, metavar="MODEL",
    )
    name: str | None = option(
        None, "The name the scores are stored under (DDCF_data/scores/<name>/), which must be the target name that "
        "k_greedy_selection.py --model_name is given; default: --model_name. Set it when --model_name is a local "
        "folder and the selection's target is the model's id (e.g. --name meta-llama/Meta-Llama-3-8B-Instruct).",
        metavar="NAME",
    )
    backend: str = option(
        "auto", "auto (vllm when a CUDA GPU and vLLM are present, else hf), hf (transformers; CPU or GPU) or vllm "
        "(prompt_logprobs). SGLang is not supported for scoring.", choices=("auto", "hf", "vllm"),
    )
    prompt_template: str = option(
        DEFAULT_TEMPLATE, "Text before the response; {question} is replaced by the question. Only the response "
        "tokens are scored.", metavar="TEXT",
    )
    max_length: int | None = option(
        None, "Longest prompt + response in tokens (default: the model's context); longer responses are cut at "
        "the end and flagged (truncated=True).", min=2, metavar="TOKENS",
    )
    shard_size: int = option(
        100, "Questions per cache shard: a kill loses at most one shard (100: about two minutes of CPU scoring, "
        "seconds on a GPU).", min=1)
    pool: str | None = option(
        None, "Score only these question ids (a .txt file, one id a line, or a table with question_id).",
        metavar="FILE",
    )
    overwrite: bool = overwrite_option("this name's cached scores (DDCF_data/scores/<name>/)")
