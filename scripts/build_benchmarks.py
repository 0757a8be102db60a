#!/usr/bin/env python
"""Derive data/benchmarks/*.jsonl (the ten evaluation sets) from ../shared/data/benchmarks.

    python scripts/build_benchmarks.py [--source ../shared/data/benchmarks] [--out data/benchmarks]

Each source file becomes one JSON Lines file with the schema of :mod:`ddcf.evaluate.benchmarks`
(id, problem, answer, answer_type): ids keep the source's own id where it has one (AIME24, AMC23,
OlympiadBench, MATH500's unique_id), else the line number; numbers are written as text ("27.0" -> "27");
OlympiadBench's multi-answer lists are joined with ", "; Gaokao rows whose answer is one letter A-D are
multiple choice.  Sources and licenses: data/benchmarks/SOURCES.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ddcf.evaluate.benchmarks import BENCHMARKS  # noqa: E402

SOURCE_FILES = {"aime24": "aime24", "math500": "math500", "olympiadbench": "olympiadbench", "gsm8k": "gsm8k",
                "sat": "sat", "minervamath": "minervamath", "gaokao": "gaokao", "stem": "stem", "svamp": "svamp",
                "amc23": "amc23"}


def _text(value) -> str:
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def convert(name: str, rows: list[dict], default_type: str) -> list[dict]:
    out = []
    for i, r in enumerate(rows):
        sid = r.get("unique_id") or r.get("id")
        answer = _text(r["answer"])
        kind = default_type
        if name == "gaokao":
            kind = "choice" if answer in ("A", "B", "C", "D") else "math"
        out.append({"id": f"{name}/{sid if sid is not None else i}", "problem": str(r["problem"]).strip(),
                    "answer": answer, "answer_type": kind})
    ids = [r["id"] for r in out]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"{name}: duplicate ids in the source")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--source", default=str(REPO.parent / "shared" / "data" / "benchmarks"))
    p.add_argument("--out", default=str(REPO / "data" / "benchmarks"))
    args = p.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    for b in BENCHMARKS:
        src = Path(args.source) / f"{SOURCE_FILES[b.name]}.jsonl"
        rows = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines() if line.strip()]
        conv = convert(b.name, rows, b.answer_type)
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in conv)
        tmp = out_dir / f".{b.name}.jsonl.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out_dir / f"{b.name}.jsonl")
        print(f"{b.name}: {len(conv)} questions -> {out_dir / (b.name + '.jsonl')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
