"""Every selector behind one interface, registered by name (like lm-evaluation-harness's model registry).

A method is one module exposing ``select(ctx: ddcf.select.methods.common.Context) -> Picks`` (row indices of
``ctx.pool`` in pick order, plus the method's own score of each pick); :mod:`ddcf.select.stage` turns the picks
into the same selection folder for every method (selection.parquet, dataset/, report.json, report.png,
select.config.yaml).  Adding a method is one new file plus one line in :data:`METHODS`.

This module imports nothing heavy: the config builds its ``--help`` from :data:`METHODS`, and the method
module itself is imported only when it runs.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from types import ModuleType

from ddcf.errors import DDCFError


@dataclass(frozen=True)
class Method:
    module: str  # "package.module" with select(ctx)
    inputs: str  # what it reads, for --help and the README
    annotations: str  # whether it needs model answers of the corpus ("no" / what it needs)
    pool: str = "corpus"  # "corpus" (stage-5 table + corpus embeddings) or "seed" (seed questions + verdicts)


METHODS: dict[str, Method] = {
    "ddcf": Method("ddcf.select.methods.ddcf", "predicted correctness (stage 5) + corpus embeddings",
                   "no (the predictor is trained on seed answers only)"),
    "random": Method("ddcf.select.methods.random_sample", "the pool only (seeded)", "no"),
    "longest": Method("ddcf.select.methods.longest", "corpus question/response text (--length_of, --tokenizer)",
                      "no"),
    "binary_hard": Method("ddcf.select.methods.binary_hard", "the target's verdict table on the seed questions "
                          "(infer.py) + seed embeddings", "no corpus answers; the target's seed answers", "seed"),
    "disf": Method("ddcf.select.methods.disf", "corpus embeddings only", "no"),
    "perplexity": Method("ddcf.select.methods.perplexity", "the target's token log-probs of every corpus response "
                         "(ddcf score)", "yes: one forward pass of the target per corpus question"),
    "least_confidence": Method("ddcf.select.methods.perplexity", "the target's token log-probs of every corpus "
                               "response (ddcf score)", "yes: one forward pass of the target per corpus question"),
    "passrate_band": Method("ddcf.select.methods.passrate_band", "measured pass rates (infer.py --n K, seed "
                            "questions) or predicted correctness (corpus)",
                            "measured: K answers per seed question; predicted: no"),
    "crowd": Method("ddcf.select.methods.crowd", "the predictor (every model it knows) + corpus embeddings + "
                    "model_order.csv", "no (predicted, not answered)"),
    "ds2": Method("ddcf.select.methods.ds2", "a ratings table (--ratings) or predicted correctness of "
                  "--ds2_models, + corpus embeddings", "a rater's score per corpus question (none when predicted)"),
}


def method_names() -> list[str]:
    return list(METHODS)


def help_table() -> str:
    """One line per method for ``--help``: name: inputs; annotations of the corpus."""
    return "; ".join(f"{n} ({m.inputs}; corpus annotations: {m.annotations})" for n, m in METHODS.items())


def get_method(name: str) -> Method:
    if name not in METHODS:
        close = difflib.get_close_matches(name, METHODS, n=3, cutoff=0.5)
        raise DDCFError(
            f"--method {name!r} is not a known selection method"
            + (f" (did you mean {', '.join(close)}?)" if close else "") + ".",
            f"pass one of {', '.join(METHODS)}.",
        )
    return METHODS[name]


def load_method(name: str) -> ModuleType:
    return importlib.import_module(get_method(name).module)
