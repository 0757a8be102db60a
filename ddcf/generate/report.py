"""Run summary and the length/budget report of a model's generations.

The length report answers "was ``--max_new_tokens`` big enough?": quantiles of
completion lengths (tokens), overall and per dataset, the share of completions
that hit the cap (``finish_reason == "length"``), and the share that needed
the boxed-answer follow-up.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

QUANTILES = (0.5, 0.9, 0.95, 0.99)


def _lengths(df: pd.DataFrame, max_new_tokens: int) -> dict[str, Any]:
    tokens = df["completion_tokens"].to_numpy(dtype=np.float64)
    if len(tokens) == 0:
        return {"n": 0}
    out: dict[str, Any] = {
        "n": int(len(tokens)),
        "mean": float(tokens.mean()),
        "max": int(tokens.max()),
        "hit_cap_share": float((df["finish_reason"] == "length").mean()),
        "followup_share": float(df["followup"].astype(bool).mean()),
    }
    for q in QUANTILES:
        out[f"p{int(round(q * 100))}"] = float(np.quantile(tokens, q))
    out["max_new_tokens"] = int(max_new_tokens)
    return out


def length_report(gens: pd.DataFrame, max_new_tokens: int) -> dict[str, Any]:
    """Length quantiles and cap/follow-up shares, overall and per dataset."""
    report = {"overall": _lengths(gens, max_new_tokens), "by_dataset": {}}
    if "dataset" in gens.columns:
        for ds, part in gens.groupby("dataset", sort=True):
            report["by_dataset"][str(ds)] = _lengths(part, max_new_tokens)
    return report


def format_length_report(report: dict[str, Any]) -> str:
    rows = [("all", report["overall"])] + list(report.get("by_dataset", {}).items())
    head = (f"  {'dataset':<10} {'n':>7} {'mean':>7} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7} {'hit cap':>8} "
            f"{'follow-up':>9}")
    lines = [f"completion lengths in tokens (cap {report['overall'].get('max_new_tokens', '?')}):", head]
    for name, r in rows:
        if not r.get("n"):
            continue
        lines.append(
            f"  {name:<10} {r['n']:>7d} {r['mean']:>7.0f} {r['p50']:>7.0f} {r['p90']:>7.0f} {r['p99']:>7.0f} "
            f"{r['max']:>7d} {100 * r['hit_cap_share']:>7.1f}% {100 * r['followup_share']:>8.1f}%"
        )
    share = report["overall"].get("hit_cap_share", 0.0)
    if share > 0.05:
        lines.append(f"  note: {100 * share:.1f}% of completions hit the token cap; "
                     "consider a larger --max_new_tokens.")
    return "\n".join(lines)


def throughput(shard_meta: list[dict]) -> dict[str, Any]:
    """Generation wall time and token totals summed over all shards (including earlier, resumed runs)."""
    wall = float(sum(m.get("wall_s", 0.0) for m in shard_meta))
    prompt = int(sum(m.get("prompt_tokens", 0) for m in shard_meta))
    gen = int(sum(m.get("generated_tokens", 0) for m in shard_meta))
    return {
        "generation_wall_s": wall,
        "prompt_tokens": prompt,
        "generated_tokens": gen,
        "generated_tokens_per_s": gen / wall if wall > 0 else None,
        "total_tokens_per_s": (gen + prompt) / wall if wall > 0 else None,
        "n_shards": len(shard_meta),
    }


def format_summary(summary: dict[str, Any]) -> str:
    t = summary["throughput"]
    tps = t["generated_tokens_per_s"]
    lines = [
        f"model {summary['model']}: {summary['n_questions']} questions x {summary['n_samples']} sample(s), "
        f"backend {summary.get('backend', '?')}",
        *_coverage_lines(summary.get("coverage") or {}),
        f"  generation: {t['generation_wall_s']:.1f} s over {t['n_shards']} shard(s), "
        f"{t['prompt_tokens']} prompt + {t['generated_tokens']} generated tokens"
        + (f", {tps:.1f} generated tokens/s" if tps else ""),
    ]
    acc = summary.get("accuracy")
    if acc is not None:
        per = ", ".join(f"{k} {v:.3f}" for k, v in summary.get("accuracy_by_dataset", {}).items())
        lines.append(f"  accuracy (all samples): {acc:.3f}" + (f" ({per})" if per else ""))
    for k, v in (summary.get("pass_at_k") or {}).items():
        lines.append(f"  {k}: {v:.3f}")
    if summary.get("length_report"):
        lines.append(format_length_report(summary["length_report"]))
    return "\n".join(lines)


def _coverage_lines(cov: dict[str, Any]) -> list[str]:
    """A run that answered only part of the seed set says so: the matrix will miss the other pairs."""
    if not cov.get("partial") and cov.get("questions_file") is None:
        return []
    listed = (f"; --questions {cov['questions_file']} lists {cov['n_listed_questions']}"
              if cov.get("questions_file") is not None else "")
    state = "partial" if cov.get("partial") else "complete"
    return [f"  {state}: {cov['n_answered_questions']} of {cov['n_seed_questions']} seed questions answered{listed}"]
