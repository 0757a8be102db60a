r"""Stage 1, generate half: answer every seed question with one model, checkpointed, then verify.

Flow of :func:`run_generation`:

1. Read ``Layout.seed_questions`` (optionally the first ``limit`` rows), order
   them by dataset, then question length, then id: questions of a dataset share
   the few-shot prefix, so the engine's prefix cache hits, and similar lengths
   batch well.
2. Cut the ordered list into fixed shards.  ``run_config.json`` records the
   settings; a resume with other settings is refused (DDCFError suggesting
   ``--force_regenerate``).  Finished shards are skipped.
3. For each remaining shard: build prompts (:mod:`ddcf.generate.prompts`),
   generate ``n`` completions per question, then for completions without a
   boxed answer generate a short greedy follow-up after
   "The final answer is $\boxed{" (stop at "}$") and append it, and write the
   shard atomically.
4. Verify all completions with ``ddcf.verify.grade.grade_completions`` (each
   distinct (question, completion) once), write the per-model verdict table
   (plus a ``sample`` column when n > 1), the pass-rate table when n > 1,
   ``verified.json`` and ``run_summary.json``.

A model is *complete* when every shard exists and ``verified.json`` names this
configuration and the current verdict file's content hash; then the run is
skipped without loading the model.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ddcf.errors import DDCFError
from ddcf.generate import prompts as P
from ddcf.generate import shards as S
from ddcf.generate.backends import (
    Backend,
    BackendOptions,
    SamplingSpec,
    create_backend,
    cuda_device_count,
    default_backend_name,
    get_backend_class,
)
from ddcf.generate.passrate import mean_pass_at_k, pass_rates, passrate_path, write_pass_rates
from ddcf.generate.report import length_report, throughput
from ddcf.io import file_sha256, hash_ids, read_json, read_parquet_metadata, read_table, write_json, write_parquet
from ddcf.layout import Layout

SEED_COLUMNS = ["question_id", "question", "gold"]
VERDICT_COLUMNS = ["model", "question_id", "question", "dataset", "completion", "prediction", "gold", "correct",
                   "status"]
GPU_BACKENDS = ("sglang", "vllm")


# --------------------------------------------------------------------------- settings
@dataclass
class GenerationSettings:
    model: str
    backend: str = "auto"
    tensor_parallel_size: int = 1
    data_parallel_size: int | None = None  # None: visible GPUs // tensor_parallel_size
    mem_fraction: float | None = None
    max_new_tokens: int = 2700
    max_prompt_tokens: int = 1024
    batch_size: int | None = None
    dtype: str = "auto"
    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = -1
    seed: int = 0
    chat_template: bool = False
    shard_size: int = 500
    force_regenerate: bool = False
    reverify: bool = False
    limit: int | None = None
    followup_max_tokens: int = 32
    trust_remote_code: bool = False
    verify_timeout: float = 5.0
    verify_workers: int | None = None
    progress: bool = True
    extra_engine_args: dict = field(default_factory=dict)

    def validate(self) -> None:
        def bad(opt: str, value: Any, rule: str) -> DDCFError:
            return DDCFError(f"--{opt} {value} is out of range.", f"use {rule}.")

        if not isinstance(self.model, str) or not self.model.strip():
            raise DDCFError("No model given.", "pass --model_name (a local folder or a Hugging Face Hub id).")
        for opt, v, lo in (("n", self.n, 1), ("max_new_tokens", self.max_new_tokens, 1),
                           ("max_prompt_tokens", self.max_prompt_tokens, 16), ("shard_size", self.shard_size, 1),
                           ("tensor_parallel_size", self.tensor_parallel_size, 1),
                           ("followup_max_tokens", self.followup_max_tokens, 1)):
            if not isinstance(v, int) or v < lo:
                raise bad(opt, v, f"an integer >= {lo}")
        for opt, v in (("data_parallel_size", self.data_parallel_size), ("batch_size", self.batch_size),
                       ("limit", self.limit)):
            if v is not None and (not isinstance(v, int) or v < 1):
                raise bad(opt, v, "an integer >= 1 (or leave it out)")
        if not (self.temperature >= 0.0):  # also rejects NaN
            raise bad("temperature", self.temperature, "a value >= 0 (0 = greedy)")
        if not (0.0 < self.top_p <= 1.0):
            raise bad("top_p", self.top_p, "a value in (0, 1]")
        if self.mem_fraction is not None and not (0.0 < self.mem_fraction <= 1.0):
            raise bad("mem_fraction", self.mem_fraction, "a fraction in (0, 1]")
        if self.n > 1 and self.temperature == 0.0:
            raise DDCFError(
                f"--n {self.n} with greedy decoding (--temperature 0) would give {self.n} identical samples.",
                "add a sampling temperature, e.g. --temperature 0.6 --top_p 0.95, or use --n 1.",
            )
        if self.reverify and self.force_regenerate:
            raise DDCFError("--reverify and --force_regenerate contradict each other.",
                            "use --reverify to re-grade existing completions, or --force_regenerate to redo all.")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def resolved_backend(self) -> str:
        return default_backend_name() if self.backend in (None, "", "auto") else self.backend

    def sampling_spec(self, eos_ids: list[int]) -> SamplingSpec:
        return SamplingSpec(
            max_new_tokens=self.max_new_tokens, n=self.n, temperature=self.temperature,
            top_p=1.0 if self.greedy else self.top_p, top_k=-1 if self.greedy else self.top_k,
            stop=P.STOP_STRINGS, stop_token_ids=tuple(eos_ids), seed=None if self.greedy else self.seed,
        )

    def followup_spec(self, eos_ids: list[int]) -> SamplingSpec:
        return SamplingSpec(max_new_tokens=self.followup_max_tokens, n=1, temperature=0.0,
                            stop=P.FOLLOWUP_STOP, stop_token_ids=tuple(eos_ids))


@dataclass
class RunResult:
    status: str  # 'done' | 'skipped' | 'foreign'
    model: str
    message: str = ""
    summary: dict | None = None
    verdicts_path: Path | None = None


# --------------------------------------------------------------------------- questions
def load_seed_questions(layout: Layout, limit: int | None = None) -> pd.DataFrame:
    fix = ("create it with scripts/install_bundled_data.py (bundled data) or create_training_data.py --correctness_table; it needs the columns "
           "question_id, question, gold (+ dataset).")
    df = read_table(layout.seed_questions, "seed question", SEED_COLUMNS, fix)
    if "dataset" not in df.columns:
        df = df.assign(dataset="unknown")
    df = df[["question_id", "question", "gold", "dataset"]].copy()
    for col in ("question_id", "question", "gold"):
        n_bad = int(df[col].isna().sum())
        if n_bad:
            raise DDCFError(f"The seed question file {layout.seed_questions} has {n_bad} missing '{col}' value(s).",
                            fix)
    df["question_id"] = df["question_id"].astype(str)
    df["question"] = df["question"].astype(str)
    df["gold"] = df["gold"].astype(str)
    df["dataset"] = df["dataset"].fillna("unknown").astype(str)
    dup = df["question_id"].duplicated()
    if dup.any():
        raise DDCFError(
            f"The seed question file {layout.seed_questions} repeats {int(dup.sum())} question id(s) "
            f"(e.g. {df.loc[dup, 'question_id'].iloc[0]}).", "give every question a unique id.")
    empty = df["question"].str.strip() == ""
    if empty.any():
        raise DDCFError(f"The seed question file {layout.seed_questions} has {int(empty.sum())} empty question(s) "
                        f"(e.g. {df.loc[empty, 'question_id'].iloc[0]}).", fix)
    if limit is not None:
        df = df.iloc[:limit]
    return df.reset_index(drop=True)


def order_questions(df: pd.DataFrame) -> pd.DataFrame:
    """Dataset, then question length, then id: shared prefixes together, similar lengths together."""
    return (df.assign(_len=df["question"].str.len())
              .sort_values(["dataset", "_len", "question_id"], kind="stable")
              .drop(columns="_len").reset_index(drop=True))


def question_seed(base: int, question_id: str) -> int:
    """Per-question sampling seed: a resumed shard samples what it would have sampled."""
    return int(hashlib.sha256(f"{base}:{question_id}".encode()).hexdigest()[:8], 16)


# --------------------------------------------------------------------------- config
def run_config(settings: GenerationSettings, ordered: pd.DataFrame, backend_name: str) -> dict:
    sampling = {
        "n": settings.n, "temperature": settings.temperature, "max_new_tokens": settings.max_new_tokens,
        "top_p": 1.0 if settings.greedy else settings.top_p, "top_k": -1 if settings.greedy else settings.top_k,
        "seed": None if settings.greedy else settings.seed, "stop": list(P.STOP_STRINGS),
    }
    enforced = {
        "model": settings.model,
        "prompts_sha256": P.prompts_fingerprint(settings.chat_template),
        "chat_template": settings.chat_template,
        "max_prompt_tokens": settings.max_prompt_tokens,
        "sampling": sampling,
        "followup": {"suffix": P.FOLLOWUP_SUFFIX, "max_new_tokens": settings.followup_max_tokens,
                     "stop": list(P.FOLLOWUP_STOP)},
        "question_ids_sha256": hash_ids(ordered["question_id"]),
        "n_questions": int(len(ordered)),
        "shard_size": settings.shard_size,
    }
    digest = hashlib.sha256(json.dumps(enforced, sort_keys=True).encode()).hexdigest()
    return {**enforced, "config_sha256": digest, "format": 1,
            "info": {"backend": backend_name, "dtype": settings.dtype, "tensor_parallel_size":
                     settings.tensor_parallel_size, "created": time.strftime("%Y-%m-%dT%H:%M:%S")}}



def verdicts_match(layout: Layout, model: str, config_sha256: str) -> bool:
    marker = layout.generations(model) / S.VERIFIED
    v = layout.verdicts(model)
    if not marker.exists() or not v.exists():
        return False
    try:
        m = json.loads(marker.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return m.get("config_sha256") == config_sha256 and m.get("verdicts_sha256") == file_sha256(v)


# --------------------------------------------------------------------------- boxed answers
def has_boxed_answer(text: str) -> bool:
    """True when ``text`` contains a complete \\boxed{...} (or \\fbox{...}, or \\boxed 5)."""
    for key in ("\\boxed", "\\fbox"):
        start = text.rfind(key)
        while start != -1:
            j = start + len(key)
            while j < len(text) and text[j] == " ":
                j += 1
            if j < len(text) and text[j] == "{":
                depth = 0
                for ch in text[j:]:
                    if ch == "{":
                        depth += 1
                    elif ch == "}":
                        depth -= 1
                        if depth == 0:
                            return True
            elif j < len(text) and j > start + len(key) and not text[j].isspace():
                return True
            start = text.rfind(key, 0, start)
    return False


def followup_context(completion: str) -> str:
    """Text appended after the prompt for the follow-up request (and kept in the final completion)."""
    body = completion.rstrip()
    return (body + "\n" if body else "") + P.FOLLOWUP_SUFFIX


# --------------------------------------------------------------------------- one shard
def generate_shard(
    backend: Backend, part: pd.DataFrame, settings: GenerationSettings, progress: bool = False
) -> tuple[pd.DataFrame, dict]:
    tok = backend.tokenizer
    eos = list(tok.eos_token_ids)
    spec = settings.sampling_spec(eos)
    fu_spec = settings.followup_spec(eos)
    built = P.build_prompts(tok, part["question"].tolist(), part["dataset"].tolist(), settings.max_prompt_tokens,
                            chat=settings.chat_template)
    seeds = None if settings.greedy else [question_seed(settings.seed, q) for q in part["question_id"]]
    t0 = time.perf_counter()
    outs = backend.generate([b.ids for b in built], spec, seeds)
    if len(outs) != len(built) or any(len(r) != settings.n for r in outs):
        raise RuntimeError(f"backend {backend.name} returned a wrong number of completions")

    need = [(i, s) for i, row in enumerate(outs) for s, c in enumerate(row) if not has_boxed_answer(c.text)]
    fu_texts: dict[tuple[int, int], Any] = {}
    prompt_tokens = sum(len(b.ids) for b in built) * settings.n
    if need:
        conts = tok.encode([followup_context(outs[i][s].text) for i, s in need], add_special_tokens=False)
        limit = backend.context_limit
        bos = getattr(tok, "bos_token_id", None)
        fu_prompts = []
        for (i, _), cont in zip(need, conts):
            ids = list(built[i].ids) + list(cont)
            if limit and len(ids) > limit - settings.followup_max_tokens:
                ids = P._left_truncate(ids, max(limit - settings.followup_max_tokens, 1), bos)
            fu_prompts.append(ids)
        prompt_tokens += sum(len(p) for p in fu_prompts)
        fu_outs = backend.generate(fu_prompts, fu_spec)
        fu_texts = {key: row[0] for key, row in zip(need, fu_outs)}
    wall = time.perf_counter() - t0

    rows = []
    generated = 0
    for i, (q, b) in enumerate(zip(part.itertuples(index=False), built)):
        for s, c in enumerate(outs[i]):
            fu = fu_texts.get((i, s))
            final = c.text if fu is None else followup_context(c.text) + fu.text + P.FOLLOWUP_STOP[0]
            generated += c.n_completion_tokens + (fu.n_completion_tokens if fu else 0)
            rows.append({
                "question_id": q.question_id, "sample": s, "dataset": q.dataset, "question": q.question,
                "gold": q.gold, "prompt_tokens": len(b.ids), "n_shots": b.n_shots, "prompt_truncated": b.truncated,
                "raw_completion": c.text, "completion": final, "completion_tokens": c.n_completion_tokens,
                "finish_reason": c.finish_reason, "followup": fu is not None,
                "followup_text": fu.text if fu else "", "followup_tokens": fu.n_completion_tokens if fu else 0,
            })
    df = pd.DataFrame(rows, columns=S.SHARD_COLUMNS)
    df = df.astype({"sample": "int64", "prompt_tokens": "int64", "n_shots": "int64", "completion_tokens": "int64",
                    "followup_tokens": "int64", "prompt_truncated": "bool", "followup": "bool"})
    stats = {"wall_s": wall, "prompt_tokens": int(prompt_tokens), "generated_tokens": int(generated),
             "n_followups": len(need)}
    return df, stats


# --------------------------------------------------------------------------- verification
def _default_grader() -> Callable[..., pd.DataFrame]:
    try:
        from ddcf.verify.grade import grade_completions
    except ImportError as exc:
        raise DDCFError(f"The verifier (ddcf.verify.grade) could not be imported: {exc}.",
                        "reinstall the project (pip install -r requirements.txt).") from None
    return grade_completions


def write_verdict_table(layout: Layout, model: str, verdicts: pd.DataFrame, *, n_samples: int, source: str,
                        timeout: float, extra: dict) -> Path:
    """Write the verdict table through the verifier's writer (its schema and provenance metadata).

    ``write_verdicts`` keeps only the standard columns, so with n > 1 the table is
    written once more with the same metadata plus the ``sample`` column.
    """
    try:
        from ddcf.verify.grade import write_verdicts
    except ImportError:  # verifier package absent: same file, same schema
        write_verdicts = None
    if write_verdicts is None:
        path = write_parquet(verdicts, layout.verdicts(model), metadata={"model": model, **extra})
    else:
        path = Path(write_verdicts(layout, model, verdicts[VERDICT_COLUMNS], source=source, timeout=timeout,
                                   extra=extra) or layout.verdicts(model))
        if n_samples > 1:
            write_parquet(verdicts[VERDICT_COLUMNS + ["sample"]].reset_index(drop=True), path,
                          metadata=read_parquet_metadata(path))
    return path


def verify_generations(
    gens: pd.DataFrame, model: str, grade_fn: Callable[..., pd.DataFrame], *, n_samples: int,
    cache_path: Path | None, timeout: float, workers: int | None, progress: bool,
) -> pd.DataFrame:
    """Grade each distinct (question, completion) once and attach the verdicts to every sample.

    The grader takes one row per (model, question_id), so distinct completions of
    one question are sent under keys "<question_id><US><k>" (US = the \\x1f separator) and mapped back.
    """
    uniq = gens[["question_id", "question", "gold", "dataset", "completion"]].drop_duplicates(
        ["question_id", "completion"]).reset_index(drop=True)
    k = uniq.groupby("question_id", sort=False).cumcount()
    uniq["_key"] = [q if j == 0 else f"{q}\x1f{j}" for q, j in zip(uniq["question_id"], k)]
    todo = pd.DataFrame({
        "model": model, "question_id": uniq["_key"].values, "question": uniq["question"].values,
        "gold": uniq["gold"].values, "completion": uniq["completion"].values, "dataset": uniq["dataset"].values,
    })
    graded = grade_fn(todo, timeout=timeout, workers=workers, cache_path=cache_path, progress=progress)
    need = ["question_id", "prediction", "correct", "status"]
    missing = [c for c in need if c not in graded.columns]
    if missing:
        raise RuntimeError(f"the verifier returned no {missing} column(s)")
    graded = graded[need].rename(columns={"question_id": "_key"}).drop_duplicates("_key")
    keyed = uniq[["question_id", "completion", "_key"]].merge(graded, on="_key", how="left", validate="one_to_one")
    merged = gens.merge(keyed.drop(columns="_key"), on=["question_id", "completion"], how="left",
                        validate="many_to_one")
    if merged["correct"].isna().any():
        raise RuntimeError(f"the verifier returned no verdict for {int(merged['correct'].isna().sum())} completion(s)")
    merged["model"] = model
    merged["correct"] = merged["correct"].astype(bool)
    merged["status"] = merged["status"].astype(str)
    cols = VERDICT_COLUMNS + (["sample"] if n_samples > 1 else [])
    return merged.sort_values(["question_id", "sample"], kind="stable")[cols].reset_index(drop=True)


# --------------------------------------------------------------------------- main entry
def resolve_parallelism(settings: GenerationSettings, backend_name: str) -> int:
    """dp default: all visible GPUs // tp.  Checks GPU engines have the GPUs they need."""
    if backend_name == "dummy":  # no engine: no need to import torch for the GPU count
        return settings.data_parallel_size or 1
    n_gpus = cuda_device_count()
    tp = settings.tensor_parallel_size
    if backend_name in GPU_BACKENDS and n_gpus == 0:
        raise DDCFError(f"The {backend_name} backend needs a CUDA GPU, and none is visible.",
                        "run on a GPU machine, or use --backend hf for a (slow) CPU run.")
    if n_gpus == 0:
        return settings.data_parallel_size or 1
    if tp > n_gpus:
        raise DDCFError(f"--tensor_parallel_size {tp} is larger than the {n_gpus} visible GPU(s).",
                        "lower it or expose more GPUs (CUDA_VISIBLE_DEVICES).")
    dp = settings.data_parallel_size or max(n_gpus // tp, 1)
    if dp * tp > n_gpus:
        raise DDCFError(f"--data_parallel_size {dp} x --tensor_parallel_size {tp} needs {dp * tp} GPUs, but "
                        f"{n_gpus} are visible.", "lower --data_parallel_size or --tensor_parallel_size.")
    return dp


def make_backend(settings: GenerationSettings, backend_name: str, dp: int) -> Backend:
    opts = BackendOptions(
        tensor_parallel_size=settings.tensor_parallel_size, data_parallel_size=dp,
        mem_fraction=settings.mem_fraction, dtype=settings.dtype, batch_size=settings.batch_size, seed=settings.seed,
        trust_remote_code=settings.trust_remote_code, progress=settings.progress,
        extra=dict(settings.extra_engine_args),
    )
    return create_backend(backend_name, settings.model, opts)


def run_generation(
    layout: Layout,
    settings: GenerationSettings,
    *,
    backend: Backend | None = None,
    grade_fn: Callable[..., pd.DataFrame] | None = None,
    on_shard_written: Callable[[int, Path], None] | None = None,
    log: Callable[[str], None] = print,
) -> RunResult:
    """Generate (resuming), verify and summarise one model.  See the module docstring."""
    settings.validate()
    backend_name = backend.name if backend is not None else settings.resolved_backend()
    if backend is None:
        get_backend_class(backend_name)  # unknown names fail before any work
    questions = load_seed_questions(layout, settings.limit)
    ordered = order_questions(questions)
    plan = S.ShardPlan(tuple(ordered["question_id"]), settings.shard_size)
    config = run_config(settings, ordered, backend_name)
    model = settings.model
    gen_dir = layout.generations(model)
    t_start = time.perf_counter()

    with S.model_lock(gen_dir):
        if settings.force_regenerate:
            n = S.clear_generations(gen_dir)
            for p in (layout.verdicts(model), passrate_path(layout, model)):
                if p.exists():
                    p.unlink()
            if n:
                log(f"--force_regenerate: deleted {n} finished shard(s) of {model}")
        S.remove_stale_tmp(gen_dir)
        old = S.read_run_config(gen_dir)
        if old is None and layout.verdicts(model).exists() and not any(gen_dir.glob(S.SHARD_GLOB)):
            msg = (f"{model}: a verdict table already exists ({layout.verdicts(model)}) that this generation stage "
                   "did not write (precomputed or downloaded); skipping. Add --force_regenerate to replace it "
                   "with fresh generations.")
            return RunResult("foreign", model, msg, verdicts_path=layout.verdicts(model))

        def rows_of(i: int) -> int:
            a, b = plan.bounds(i)
            return (b - a) * settings.n

        done = [S.shard_is_done(gen_dir, i, config["config_sha256"], plan.ids_hash(i), rows_of(i))
                for i in range(plan.n_shards)]
        S.check_or_write_run_config(gen_dir, config, sum(done))
        if all(done) and not settings.reverify and verdicts_match(layout, model, config["config_sha256"]):
            msg = (f"{model}: already complete ({plan.n_shards} shard(s), verdicts in {layout.verdicts(model)}); "
                   "skipping. Use --reverify to re-grade or --force_regenerate to start over.")
            return RunResult("skipped", model, msg, verdicts_path=layout.verdicts(model))
        pending = [i for i, d in enumerate(done) if not d]
        if settings.reverify and pending:
            raise DDCFError(
                f"--reverify needs finished generations, but {len(pending)} of {plan.n_shards} shard(s) of "
                f"{model} are missing.", "rerun without --reverify to finish (resume) the generation first.")

        load_s = 0.0
        backend_info: dict = {}
        if pending:
            own = backend is None
            if own:
                dp = resolve_parallelism(settings, backend_name)
                log(f"{model}: loading the {backend_name} backend (tp={settings.tensor_parallel_size}, dp={dp}) ...")
                t0 = time.perf_counter()
                backend = make_backend(settings, backend_name, dp)
                load_s = time.perf_counter() - t0
            backend_info = backend.info()
            if sum(done):
                log(f"{model}: resuming, {sum(done)} of {plan.n_shards} shard(s) already done")
            try:
                _generate_pending(backend, ordered, plan, pending, settings, config, gen_dir, backend_info,
                                  on_shard_written)
            finally:
                if own:
                    backend.close()

        gens = S.read_shards(gen_dir, plan.n_shards)
        _check_complete(gens, plan, settings.n, gen_dir)
        grade = grade_fn or _default_grader()
        log(f"{model}: verifying {len(gens)} completion(s) ...")
        verdicts = verify_generations(
            gens, model, grade, n_samples=settings.n, cache_path=None if settings.reverify else layout.verify_cache,
            timeout=settings.verify_timeout, workers=settings.verify_workers, progress=settings.progress)
        vpath = write_verdict_table(
            layout, model, verdicts, n_samples=settings.n, source=f"generate:{backend_name}",
            timeout=settings.verify_timeout,
            extra={"config_sha256": config["config_sha256"], "n_samples": settings.n,
                   "generations": str(gen_dir.relative_to(layout.root)) if gen_dir.is_relative_to(layout.root)
                   else str(gen_dir)})
        table = pass_rates(verdicts)
        if settings.n > 1:
            write_pass_rates(layout, model, table, {"n": settings.n, "temperature": settings.temperature,
                                                    "config_sha256": config["config_sha256"]})
        write_json({"config_sha256": config["config_sha256"], "verdicts_sha256": file_sha256(vpath),
                    "n_rows": int(len(verdicts)), "verified_at": time.strftime("%Y-%m-%dT%H:%M:%S")},
                   gen_dir / S.VERIFIED)
        summary = _summary(model, settings, config, gens, verdicts, table, gen_dir, plan, backend_info or
                           {"backend": backend_name}, load_s, time.perf_counter() - t_start, len(pending))
        write_json(summary, gen_dir / S.SUMMARY)
    return RunResult("done", model, f"{model}: done", summary=summary, verdicts_path=vpath)


def _generate_pending(backend, ordered, plan, pending, settings, config, gen_dir, backend_info, on_shard_written):
    from tqdm.auto import tqdm

    bar = tqdm(pending, desc=f"shards of {settings.model}", unit="shard", disable=not settings.progress)
    for i in bar:
        a, b = plan.bounds(i)
        part = ordered.iloc[a:b]
        df, stats = generate_shard(backend, part, settings)
        meta = {"config_sha256": config["config_sha256"], "question_ids_sha256": plan.ids_hash(i),
                "n_rows": int(len(df)), "shard": i, "model": settings.model, "backend": backend_info,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"), **stats}
        path = S.write_shard(gen_dir, i, df, meta)
        tps = stats["generated_tokens"] / stats["wall_s"] if stats["wall_s"] > 0 else 0.0
        bar.set_postfix_str(f"{tps:.0f} tok/s")
        if on_shard_written is not None:
            on_shard_written(i, path)


def _check_complete(gens: pd.DataFrame, plan: S.ShardPlan, n: int, gen_dir: Path) -> None:
    expected = len(plan.question_ids) * n
    if len(gens) != expected or set(gens["question_id"]) != set(plan.question_ids):
        raise DDCFError(f"The shards in {gen_dir} hold {len(gens)} completions, expected {expected}.",
                        "rerun with --force_regenerate.")


def _summary(model, settings, config, gens, verdicts, table, gen_dir, plan, backend_info, load_s, wall_s,
             n_generated) -> dict:
    meta = S.shard_metadata(gen_dir, plan.n_shards)
    acc_by = verdicts.groupby("dataset")["correct"].mean()
    summary = {
        "model": model,
        "backend": backend_info.get("backend"),
        "backend_info": backend_info,
        "n_questions": len(plan.question_ids),
        "n_samples": settings.n,
        "settings": {k: config[k] for k in ("sampling", "max_prompt_tokens", "chat_template", "shard_size",
                                            "followup", "prompts_sha256", "question_ids_sha256")},
        "config_sha256": config["config_sha256"],
        "throughput": throughput(meta),
        "this_run": {"wall_s": wall_s, "model_load_s": load_s, "shards_generated": n_generated},
        "accuracy": float(verdicts["correct"].mean()),
        "accuracy_by_dataset": {str(k): float(v) for k, v in acc_by.items()},
        "status_counts": {str(k): int(v) for k, v in verdicts["status"].value_counts().items()},
        "prompts_truncated": int(gens.loc[gens["sample"] == 0, "prompt_truncated"].sum()),
        "length_report": length_report(gens, settings.max_new_tokens),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if settings.n > 1:
        ks = sorted({k for k in (1, 2, 4, 8, 16, 32, 64, settings.n) if k <= settings.n})
        summary["pass_at_k"] = {f"pass@{k}": mean_pass_at_k(table, k) for k in ks}
    return summary


def read_summary(layout: Layout, model: str) -> dict:
    return read_json(layout.generations(model) / S.SUMMARY, "generation summary", "run infer.py for this model.")
