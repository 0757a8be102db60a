"""The checks of scripts/gpu_check.sh, one per call: ``python scripts/gpu_check.py CHECK --device cuda --tmp DIR``.

Offline, with models built locally (the tests' tiny Llama with head dim 64, the packaged MiniLM).  Each check
prints one line ``PASS|FAIL|SKIP <check>: <what>`` and exits 0 (PASS/SKIP) or 1 (FAIL).  With ``--device cpu``
the same code runs on the CPU (bf16 off), which is how the CPU test suite checks this script's logic.

    sft        SFT steps of a tiny chat model (bf16 on CUDA): the loss falls and prompts carry no loss
    select     ddcf.select.kgreedy_torch on the device vs the exact CPU selector: the same picks
    embed      get_question_embeddings.py --device DEVICE with the packaged MiniLM vs the CPU embeddings
    generate   sglang and vllm (those installed) generate from the tiny model
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "sft"), str(ROOT / "tests" / "generate"), str(ROOT / "tests")]
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

    from ddcf.select.kgreedy_lazy import kgreedy_fast
    from ddcf.select.kgreedy_torch import kgreedy_torch

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


def _embed(workdir: Path, device: str) -> "object":
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
                           "--device", device, "--embedding_model", "all-MiniLM-L6-v2", "--no_progress"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"get_question_embeddings.py --device {device} failed: {done.stderr.strip()[-300:]}")
    return np.load(layout.corpus_embeddings)


def check_embed(device: str, tmp: Path) -> tuple[str, str]:
    import numpy as np

    dev = _embed(tmp / "embed_dev", device)
    cpu = _embed(tmp / "embed_cpu", "cpu")
    cos = (dev * cpu).sum(axis=1) / (np.linalg.norm(dev, axis=1) * np.linalg.norm(cpu, axis=1))
    if dev.shape != cpu.shape or cos.min() < 0.999:
        return "FAIL", f"{device} embeddings differ from the CPU ones (min cosine {cos.min():.5f})"
    return "PASS", f"{len(dev)} corpus embeddings on {device}, min cosine to CPU {cos.min():.6f}"


def check_generate(device: str, tmp: Path) -> tuple[str, str]:
    engines = [name for name in ("sglang", "vllm") if importlib.util.find_spec(name) is not None]
    if device == "cpu" or not engines:
        return "SKIP", "neither sglang nor vllm is installed" if not engines else "engines need a GPU"
    from ddcf.generate import backends as B
    from ddcf.generate.backends import BackendOptions, SamplingSpec

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


CHECKS = {"sft": check_sft, "select": check_select, "embed": check_embed, "generate": check_generate}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("check", choices=sorted(CHECKS))
    p.add_argument("--device", default="cuda")
    p.add_argument("--tmp", required=True)
    a = p.parse_args(argv)
    tmp = Path(a.tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        status, what = CHECKS[a.check](a.device, tmp)
    except Exception as exc:  # noqa: BLE001 - a check that crashes is a FAIL line, not a traceback
        status, what = "FAIL", f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300] if str(exc) else ''}"
    print(f"{status} {a.check}: {what}", flush=True)
    return 1 if status == "FAIL" else 0


if __name__ == "__main__":
    raise SystemExit(main())
