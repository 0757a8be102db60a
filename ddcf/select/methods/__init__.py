"""Every selector behind one interface, registered by name (like lm-evaluation-harness's model registry).

A method is one module exposing ``select(ctx: ddcf.select.methods.common.Context) -> Picks`` (row indices of
``ctx.pool`` in pick order, plus the method's own score of each pick) and one :class:`Method` entry in
:data:`METHODS` that says everything the rest of ddcf needs to know about it: what it selects from (``pool``),
how its folder is named (``tag``), how many model answers it costs (``annotation_cost``) and how reports name it
(``label``, ``caption``).  :mod:`ddcf.select.stage` turns the picks into the same selection folder for every
method, and the report and summary read these fields (or what the stage recorded from them in report.json), so
adding a method is one new file plus one entry here; no other file names a method.

This module imports nothing heavy: the config builds its ``--help`` from :data:`METHODS`, and the method
module itself is imported only when it runs.  ``config`` below is the SelectConfig, or any object with the same
attributes (a report reading an old folder wraps its select.config.yaml in a ``types.SimpleNamespace``).
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

from ddcf.errors import DDCFError
from ddcf.select.methods.band import parse_band, parse_weights  # pandas-free

#: what a method costs in model answers, recorded in report.json as ``annotation_cost`` (a count)
ANNOTATION_COSTS = {
    "none": "no model answer of the corpus",
    "corpus_pass": "one forward pass of the target per pool question",
    "seed_answers": "the target's answers of the seed questions (rows of its verdict table)",
    "passrate": "seed_answers with --passrate_source measured, none with predicted",
}
#: --method's default, and the method of a selection folder written before there were several (no "method")
DEFAULT_METHOD = "ddcf"
POOL_KINDS = ("corpus", "seed")  # the stage-5 corpus pool, or the seed questions the target answered


@dataclass(frozen=True)
class Method:
    module: str  # "package.module" with select(ctx)
    inputs: str  # what it reads, for --help and the README
    annotations: str  # whether it needs model answers of the corpus, in words (--help)
    label: str  # how tables and plots name it ("<label> selection")
    caption: str  # one human phrase for report captions
    annotation_cost: str = "none"  # a key of ANNOTATION_COSTS
    pool: str | Callable[[Any], str] = "corpus"  # a POOL_KINDS value, or one chosen from the config
    tag: Callable[[Any], str] | None = None  # its folder's tag, <method>_k<k>_<tag> (None: no tag)
    kgreedy: bool = False  # picks with the k-greedy engine: --lamda, --redundancy, the lambda sweep, stability apply
    measured_pass_rates: bool = False  # a seed pool scored by infer.py --n K's pass-rate file, not the verdicts
    check: Callable[[Any], None] | None = None  # validates its own options at parse time (raises DDCFError)

    @property
    def lamda_sweep(self) -> bool:
        """The report's lambda-sweep figure applies (the k-greedy only)."""
        return self.kgreedy

    def pool_kind(self, config) -> str:
        return self.pool(config) if callable(self.pool) else self.pool

    def folder_tag(self, config) -> str:
        return self.tag(config) if self.tag else ""

    def check_options(self, config) -> None:
        if self.check:
            self.check(config)

    def cost_kind(self, config) -> str:
        """``annotation_cost`` with ``passrate`` resolved by the config's --passrate_source."""
        if self.annotation_cost == "passrate":
            return "seed_answers" if getattr(config, "passrate_source", "predicted") == "measured" else "none"
        return self.annotation_cost


def _seed_tag(config) -> str:
    return f"seed{config.seed}"


def _disf_tag(config) -> str:
    if getattr(config, "disf_mode", "batched") == "whole_pool":
        return "whole_pool"
    return f"batch{config.disf_batch}_seed{config.seed}"


def _passrate_pool(config) -> str:
    return "seed" if config.passrate_source == "measured" else "corpus"


def _passrate_tag(config) -> str:
    band = "".join(ch if ch.isalnum() or ch in ".-" else "-" for ch in str(config.band).strip())
    inclusive = getattr(config, "band_bounds", "exclusive") == "inclusive" and "," in str(config.band)
    bounds = "_incl" if inclusive else ""  # an inclusive LO,HI run must not replace the exclusive one's folder
    return f"{config.passrate_source}_{band}{bounds}_{config.band_pick}"


_SCORED = "the target's token log-probs of every corpus response (ddcf score)"
METHODS: dict[str, Method] = {
    "ddcf": Method("ddcf.select.methods.ddcf", "predicted correctness (stage 5) + corpus embeddings",
                   "no (the predictor is trained on seed answers only)", label="DDCF",
                   caption="k-greedy on predicted difficulty + diversity", kgreedy=True),
    "random": Method("ddcf.select.methods.random_sample", "the pool only (seeded)", "no", label="random",
                     caption="a uniform random sample of the pool", tag=_seed_tag),
    "longest": Method("ddcf.select.methods.longest", "corpus question/response text (--length_of, --tokenizer)",
                      "no", label="longest", caption="the longest questions or responses",
                      tag=lambda config: config.length_of),
    "binary_hard": Method("ddcf.select.methods.binary_hard", "the target's verdict table on the seed questions "
                          "(infer.py) + seed embeddings", "no corpus answers; the target's seed answers",
                          label="binary_hard", caption="seed questions the target answered wrong",
                          annotation_cost="seed_answers", pool="seed", tag=_seed_tag),
    "disf": Method("ddcf.select.methods.disf", "corpus embeddings only", "no", label="disf",
                   caption="diversity of the embedding dimensions (DiSF)", tag=_disf_tag),
    "perplexity": Method("ddcf.select.methods.perplexity", _SCORED,
                         "yes: one forward pass of the target per corpus question", label="perplexity",
                         caption="the responses the target finds least likely (perplexity)",
                         annotation_cost="corpus_pass"),
    "least_confidence": Method("ddcf.select.methods.perplexity", _SCORED,
                               "yes: one forward pass of the target per corpus question", label="least_confidence",
                               caption="the responses with the target's least confident tokens",
                               annotation_cost="corpus_pass"),
    "passrate_band": Method("ddcf.select.methods.passrate_band", "measured pass rates (infer.py --n K, seed "
                            "questions) or predicted correctness (corpus)",
                            "measured: K answers per seed question; predicted: no", label="passrate_band",
                            caption="questions whose pass rate lies in a band", annotation_cost="passrate",
                            pool=_passrate_pool, tag=_passrate_tag, measured_pass_rates=True,
                            check=lambda config: parse_band(config.band, config.band_bounds)),
    "crowd": Method("ddcf.select.methods.crowd", "the predictor (every model it knows) + corpus embeddings + "
                    "model_order.csv", "no (predicted, not answered)", label="crowd",
                    caption="questions other models find hard, by cluster (predicted)",
                    check=lambda config: parse_weights(config.crowd_weights, "--crowd_weights", 3)),
    "ds2": Method("ddcf.select.methods.ds2", "a ratings table (--ratings) or predicted correctness of "
                  "--ds2_models, + corpus embeddings", "a rater's score per corpus question (none when predicted)",
                  label="ds2", caption="rated quality with diversity (DS2)"),
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
