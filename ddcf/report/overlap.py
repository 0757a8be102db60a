"""Jaccard overlap between selections, and model families (paper Section 4.5).

Family rule: the model name after its org (``meta-llama/Meta-Llama-3-8B`` -> ``Meta-Llama-3-8B``), cut at the
first '-', '_', '.' or digit, lower-cased: ``gemma-2-9b-it`` -> gemma, ``Qwen2-7B-Instruct`` -> qwen,
``gpt-4o`` -> gpt, ``claude-3-haiku`` -> claude, ``Meta-Llama-3-8B-Instruct`` -> meta.  ``--family_map`` (CSV with
model,family columns, or YAML model: family) overrides it for the models it names (full name or name after org).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ddcf.errors import DDCFError
from ddcf.io import read_side_file, read_table

_HEAD = re.compile(r"[^\-_.0-9]+")


def family_of(model: str, mapping: dict[str, str] | None = None) -> str:
    mapping = mapping or {}
    short = model.rsplit("/", 1)[-1]
    for name in (model, short):
        if name in mapping:
            return mapping[name]
    m = _HEAD.match(short)
    return (m.group(0) if m else short).lower()


def read_family_map(path: str | Path) -> dict[str, str]:
    path = Path(path)
    fix = "pass a CSV with the columns model,family or a YAML mapping 'model: family' (one line per model)."
    if path.suffix.lower() in (".yaml", ".yml"):
        data = read_side_file(path, "--family_map", fix, dict)
        if not data:
            raise DDCFError(f"The --family_map file {path} is an empty mapping of model -> family.", fix)
        return {str(k): str(v) for k, v in data.items()}
    df = read_table(path, "--family_map", ["model", "family"], fix)
    return dict(zip(df["model"].astype(str), df["family"].astype(str)))


def jaccard(a, b) -> float:
    a, b = set(a), set(b)
    return len(a & b) / len(a | b) if a | b else float("nan")


def jaccard_matrix(id_sets: list) -> np.ndarray:
    n = len(id_sets)
    out = np.ones((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            out[i, j] = out[j, i] = jaccard(id_sets[i], id_sets[j])
    return out


def family_averages(selections, matrix: np.ndarray, mapping: dict[str, str] | None = None) -> dict:
    """Mean Jaccard over pairs of the same method for different target models: same family vs different."""
    intra, inter = [], []
    for i, a in enumerate(selections):
        for j in range(i + 1, len(selections)):
            b = selections[j]
            if a.method != b.method or a.model == b.model:
                continue
            same = family_of(a.model, mapping) == family_of(b.model, mapping)
            (intra if same else inter).append(matrix[i, j])
    return {"intra_family_mean": float(np.mean(intra)) if intra else None, "intra_family_pairs": len(intra),
            "inter_family_mean": float(np.mean(inter)) if inter else None, "inter_family_pairs": len(inter),
            "families": {s.model: family_of(s.model, mapping) for s in selections}}


def family_text(fam: dict) -> str:
    """The family averages of :func:`family_averages` that exist, in words ("" when there are none: a report on one
    target model has no pairs of one method across targets)."""
    return "; ".join(f"{kind}-family mean {fam[f'{kind}_family_mean']:.3f} over {fam[f'{kind}_family_pairs']} pair(s)"
                     for kind in ("intra", "inter") if fam[f"{kind}_family_mean"] is not None)
