"""ddcf score on a tiny local model: matches a direct transformers computation, resumes from its cache, and
feeds --method perplexity / least_confidence; the vLLM request and parsing logic without vLLM."""

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from generate.gen_testlib import build_tiny_lm

from ddcf.cli import run_main
from ddcf.io import read_parquet_metadata, write_parquet
from ddcf.score import logprobs as L
from ddcf.score.cli import main as score_main
from ddcf.select.cli import main as select_main


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    return build_tiny_lm(tmp_path_factory.mktemp("tiny_lm"))


def direct(model_dir, question, response, template="{question}\n"):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    lm = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    p = tok(template.replace("{question}", question))["input_ids"]
    r = tok(response, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([p + r])
    with torch.no_grad():
        logp = torch.log_softmax(lm(ids).logits[0, :-1].double(), -1)
    return float(sum(logp[len(p) - 1 + t, r[t]] for t in range(len(r)))), len(r)


def test_scores_match_transformers_resume_and_select(layout, tiny_lm, tmp_path, capsys):
    model = str(tiny_lm)
    # the selection's target is the model folder: its difficulty table and scores are keyed by that name
    from helpers_select import write_layout

    df, _, _ = write_layout(layout, n=12, model=model)
    args = ["--workdir", str(layout.root), "--model_name", model, "--no_progress", "--backend", "hf",
            "--batch_size", "5", "--shard_size", "5"]
    assert score_main(args) == 0
    table = pd.read_parquet(layout.scores(model))
    assert table.question_id.tolist() == df.question_id.tolist()
    for i in (0, 7, 11):
        want, n_tok = direct(model, df.question[i], df.response[i])
        assert table.n_tokens[i] == n_tok and table.sum_logprob[i] == pytest.approx(want, abs=1e-4)
    assert np.allclose(table.perplexity, np.exp(-table.sum_logprob / table.n_tokens))
    assert len(list(layout.score_shards(model).glob("part-*.parquet"))) == 3
    # resume: one shard lost -> only its questions are scored again; a changed text is rescored
    sorted(layout.score_shards(model).glob("part-*.parquet"))[1].unlink()
    df.loc[0, "response"] = "A changed response."
    write_parquet(df, layout.corpus_questions)
    capsys.readouterr()
    assert score_main(args) == 0
    assert "scored now 6" in capsys.readouterr().out
    table = pd.read_parquet(layout.scores(model))
    assert table.sum_logprob[0] == pytest.approx(direct(model, df.question[0], df.response[0])[0], abs=1e-4)

    out = tmp_path / "ppl"
    assert select_main(["--workdir", str(layout.root), "--model_name", model, "--no_progress", "--method",
                        "perplexity", "--num_select", "4", "--output_dir", str(out)]) == 0
    sel = pd.read_parquet(out / "selection.parquet")
    med = float(np.median(table.perplexity))
    want = table.assign(d=(table.perplexity - med).abs()).sort_values("d", kind="stable").question_id[:4].tolist()
    assert sel.question_id.tolist() == want
    out2 = tmp_path / "lc"
    assert select_main(["--workdir", str(layout.root), "--model_name", model, "--no_progress", "--method",
                        "least_confidence", "--num_select", "4", "--output_dir", str(out2)]) == 0
    sel2 = pd.read_parquet(out2 / "selection.parquet")
    assert sel2.question_id.tolist() == table.sort_values("sum_logprob", kind="stable").question_id[:4].tolist()
    assert json.loads((out2 / "report.json").read_text())["method"] == "least_confidence"

    # a score table of another model is refused, in one paragraph
    other = "org/Other-1B"
    write_layout(layout, n=12, model=other)
    layout.scores(other).parent.mkdir(parents=True, exist_ok=True)
    layout.scores(other).write_bytes(layout.scores(model).read_bytes())
    code = run_main(select_main, ["--workdir", str(layout.root), "--model_name", other, "--no_progress",
                                  "--method", "perplexity", "--num_select", "3", "--output_dir", str(tmp_path / "x")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "a scoring run for another model" in err and "Traceback" not in err
    assert read_parquet_metadata(layout.scores(model))["model"] == model


def test_missing_scores_is_a_clear_error(layout, capsys):
    from helpers_select import write_layout

    write_layout(layout, n=10, model="org/T")
    code = run_main(select_main, ["--workdir", str(layout.root), "--model_name", "org/T", "--no_progress",
                                  "--method", "least_confidence", "--num_select", "3"])
    assert code == 2 and "ddcf score --model_name org/T" in " ".join(capsys.readouterr().err.split())


def test_vllm_request_and_parsing_without_vllm():
    seq = L.Sequence_(ids=[1, 5, 6, 7, 8], n_prompt=2, truncated=False)
    assert L.vllm_request(seq) == {"prompt_token_ids": [1, 5, 6, 7, 8]}
    kw = L.vllm_sampling_kwargs()
    assert kw["prompt_logprobs"] == 0 and kw["max_tokens"] == 1
    lp = lambda v: SimpleNamespace(logprob=v)
    out = SimpleNamespace(prompt_logprobs=[None, {5: lp(-1.0)}, {6: lp(-2.0), 9: lp(-0.1)}, {7: lp(-0.5)},
                                           {8: lp(-0.25)}])
    got = L.parse_prompt_logprobs([out], [seq])[0]
    assert got.tolist() == [-2.0, -0.5, -0.25]  # the response tokens 6, 7, 8 (not the top-1 token 9)
    from ddcf.errors import DDCFError

    with pytest.raises(DDCFError, match="prompt log-probabilities"):
        L.parse_prompt_logprobs([SimpleNamespace(prompt_logprobs=None)], [seq])


def test_truncation_keeps_the_prompt():
    class Tok:
        def encode(self, texts, add_special_tokens=True):
            return [[0] * (3 if add_special_tokens else 10) for _ in texts]

    seqs = L.build_sequences(Tok(), ["p"], ["r"], max_length=8)
    assert seqs[0].truncated and len(seqs[0].ids) == 8 and seqs[0].n_prompt == 3
