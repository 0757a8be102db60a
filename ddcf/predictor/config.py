"""Options of the correctness predictor (stage 4), as one dataclass.

Every field carries its ``help`` text, range and choices, so the command line
(``train_correctness_predictor.py``, ``ddcf predictor``) and ``--config`` are derived
from it and cannot drift from it.  Two architectures: ``factor`` (the default, an ensemble of low-rank
question-factor models, ``ddcf.predictor.factor.model``) and ``paper`` (the paper's residual-MLP predictor,
whose options keep the paper's settings of App. A.1 as defaults: Adam with weight decay 1e-5, cosine
schedule with 3% linear warmup, lr 1e-3, 30 epochs, batch 1028, embedding noise alpha 1e-2, residual MLP
blocks of hidden width 0.1*d with dropout 0.8; and, from the released code, the second dropout 0.8 and the
drop-path 0.2 of each block, transformers' warmup schedule and no calibration).

Imports nothing heavy: ``--help`` must stay instant.
"""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import StageConfig, option
from ddcf.errors import DDCFError
from ddcf.runtime import check_device, usable_cores

MAX_BATCH = 1 << 24  # pairs per step/forward pass: far above what any memory holds at useful dims
ARCHS = ("factor", "paper")
#: options read by one architecture only (the rest are shared)
PAPER_ONLY = ("epochs", "batch_size", "lr", "weight_decay", "warmup_ratio", "schedule", "alpha", "dropout",
              "out_dropout", "drop_path", "hidden_ratio", "noise_prefetch")
FACTOR_ONLY = ("text_features", "ensemble", "factor_rank", "factor_hidden", "input_dropout", "factor_dropout",
               "factor_lr", "factor_weight_decay", "max_epochs", "patience", "question_batch")
CALIBRATIONS = ("auto", "temperature", "none")
SCHEDULES = ("released", "shifted")
BASELINES = ("base_rate", "dataset_base_rate", "knn", "logistic", "irt")


@dataclass
class PredictorConfig(StageConfig):
    """Train the correctness predictor (stage 4) and compare it with baselines on held-out questions.

    It trains on the train split; the validation split picks the epoch, the temperature of the calibration
    and every baseline's setting; the test split (questions no model answer of was trained or tuned on) is
    only reported. Reads DDCF_data/correctness/{train,val,test}.parquet, DDCF_data/model_order.csv and the
    seed embeddings; writes DDCF_data/predictor/ (model.safetensors, config.json, metrics.json,
    training_curve.png, reliability.png, and predictor.config.yaml: the options of the run)."""

    arch: str = option(
        "factor",
        "Predictor architecture: factor (default: an ensemble of low-rank question-factor models trained per "
        "question on all models at once, early-stopped on validation log loss) or paper (the paper's residual-MLP "
        "predictor with its App. A.1 settings, exactly; the options marked 'paper arch' apply to it).",
        choices=ARCHS,
    )
    calibration: str = option(
        "auto",
        "Post-hoc calibration fitted on the validation split: temperature (one T with P = sigmoid(logit / T), "
        "minimising validation log loss; T is stored in config.json and used by difficulty, selection and probe), "
        "none (T = 1: P = softmax(logits)[:, 1], as the released code), or auto (temperature for --arch factor, "
        "none for --arch paper, which reproduces the released code end to end).",
        choices=CALIBRATIONS,
    )
    text_features: str = option(
        "auto",
        "factor arch: also feed the question encoder surface statistics of the question text (length, numbers, "
        "LaTeX commands, ...; ddcf.predictor.features): auto (when every seed question's text is known), on, off. "
        "Difficulty estimation then reads the corpus texts from DDCF_data/corpus/questions.parquet.",
        choices=("auto", "on", "off"),
    )
    ensemble: int = option(5, "factor arch: members of the ensemble (their logits are averaged).", min=1, max=64)
    factor_rank: int = option(32, "factor arch: width r of each member's question factor.", min=1, max=4096)
    factor_hidden: int = option(256, "factor arch: hidden width of the question encoder.", min=1, max=65536)
    input_dropout: float = option(0.1, "factor arch: dropout on the question embedding.", min=0.0, max_excl=1.0)
    factor_dropout: float = option(0.5, "factor arch: dropout after the hidden layer.", min=0.0, max_excl=1.0)
    factor_lr: float = option(2e-3, "factor arch: AdamW learning rate.", min_excl=0.0, max=10.0)
    factor_weight_decay: float = option(1e-4, "factor arch: AdamW weight decay.", min=0.0, max=10.0)
    max_epochs: int = option(300, "factor arch: most epochs per member (early stopping usually ends sooner).",
                             min=1, max=100_000)
    patience: int = option(10, "factor arch: stop a member after this many epochs without a lower validation "
                           "log loss.", min=1, max=100_000)
    question_batch: int = option(256, "factor arch: questions per step (each with the answers of every model).",
                                 min=1, max=MAX_BATCH)
    baselines: list[str] = option(
        list(BASELINES),
        "Baselines to fit and report beside the predictor (comma-separated): " + ", ".join(BASELINES) + ".",
        choices=BASELINES,
        metavar="NAME",
    )
    epochs: int = option(30, "paper arch: training epochs (paper: 30).", min=1, max=100_000)
    batch_size: int = option(1028, "paper arch: pairs per optimisation step (paper: 1028).", min=1, max=MAX_BATCH)
    lr: float = option(1e-3, "paper arch: peak learning rate of Adam (paper: 1e-3).", min_excl=0.0, max=10.0)
    weight_decay: float = option(1e-5, "paper arch: Adam weight decay (L2 added to the gradient; paper: 1e-5).",
                                 min=0.0, max=1.0)
    warmup_ratio: float = option(
        0.03, "paper arch: fraction of all steps spent in linear warmup before the cosine decay (paper: 0.03).",
        min=0.0, max=1.0
    )
    schedule: str = option(
        "released",
        "paper arch: the warmup of the learning-rate schedule: released (transformers' "
        "get_cosine_schedule_with_warmup, as the released code: int(warmup_ratio * steps) warmup steps with "
        "multiplier step / warmup, so the first step has lr 0) or shifted (ddcf's earlier schedule: "
        "ceil(warmup_ratio * steps) warmup steps, multiplier (step + 1) / warmup). Both then decay to 0 by a "
        "half cosine.",
        choices=SCHEDULES,
    )
    alpha: float = option(
        1e-2,
        "paper arch: std of the Gaussian noise added to model and question embeddings during training only "
        "(paper: 1e-2).",
        min=0.0,
        max=10.0,
    )
    dropout: float = option(0.8, "paper arch: dropout after the hidden ReLU of the residual MLP blocks (paper: 0.8).",
                            min=0.0, max_excl=1.0)
    out_dropout: float = option(
        0.8, "paper arch: second dropout, on the output of each block's second Linear (released code: 0.8, the same "
        "rate as --dropout; 0: ddcf's earlier block).", min=0.0, max_excl=1.0)
    drop_path: float = option(
        0.2, "paper arch: drop-path (stochastic depth) rate of each block's residual branch, drawn per pair "
        "(released code: 0.2; 0: ddcf's earlier block).", min=0.0, max_excl=1.0)
    hidden_ratio: float = option(
        0.1, "paper arch: hidden width of the residual MLP blocks as a fraction of the embedding dim (paper: 0.1).",
        min_excl=0.0, max=16.0,
    )
    seed: int = option(42, "Random seed for initialisation, shuffling, dropout and noise.", min=0, max=2**32 - 1)
    knn_k: int = option(100, "Largest k tried by the kNN baseline (k is chosen on validation from 5, 10, 20, 50, 100, "
                        "up to this).", min=1, max=100_000)
    eval_batch_size: int = option(65536, "Pairs per forward pass when evaluating (no gradients).", min=1, max=MAX_BATCH)
    threads: int = option(
        0, "CPU threads for torch (0: auto = 1 on <= 2 cores, else half the cores, at most 8).", min=0, max=1024
    )
    device: str = option("auto", "Where to train: auto (CUDA when available), cpu, or cuda[:N].")
    noise_prefetch: str = option(
        "auto",
        "paper arch: draw the next batch's Gaussian embedding noise on a spare CPU core: auto (on CPU when a core "
        "is left over by --threads), on, or off. Same distribution either way; only off draws every random number "
        "from torch's global RNG in the released code's order (same RNG state, same step).",
        choices=("auto", "on", "off"),
    )
    no_plot: bool = option(False, "Do not write the training-curve PNG.")

    #: fields that say what is written, not how the predictor is trained: left out of config.json's "training"
    OUTPUT_ONLY = ("no_plot",)

    def check(self) -> None:
        check_device(self.device)
        # An option of the other architecture would be silently ignored: refuse it instead.
        other = PAPER_ONLY if self.arch == "factor" else FACTOR_ONLY
        changed = [n for n in other if getattr(self, n) != self.__dataclass_fields__[n].default]
        if changed:
            flags = ", ".join(f"--{n}" for n in changed)
            hint = ("pass --arch paper to train the paper's predictor, or use the factor arch's options "
                    "(--max_epochs, --factor_lr, --factor_dropout, --ensemble, ...)" if self.arch == "factor" else
                    "drop them, or pass --arch factor")
            raise DDCFError(f"{flags} only apply to --arch {'paper' if self.arch == 'factor' else 'factor'}, but "
                            f"this run trains --arch {self.arch}, which would ignore them.", hint + ".")

    def resolved_calibration(self) -> str:
        """The calibration actually fitted (resolves auto: the released code has none)."""
        if self.calibration != "auto":
            return self.calibration
        return "none" if self.arch == "paper" else "temperature"

    def training_options(self) -> dict:
        """The options that define the trained model, as recorded in the predictor's config.json."""
        out = self.to_dict(include_run_only=False)
        for name in self.OUTPUT_ONLY:
            out.pop(name, None)
        return out


def hidden_width(dim: int, hidden_ratio: float) -> int:
    """Hidden width of a residual block: ``int(ratio * dim)``, at least 1 (tiny test dims)."""
    return max(1, int(hidden_ratio * dim))


def resolve_threads(threads: int) -> int:
    """Threads for torch; 0 picks a count for this small model.

    Each op of the predictor touches one batch (1028 x d floats), which is too
    little work to split well: measured on a 2-core machine, 2 intra-op threads
    ran the training loop 3-4x *slower* than 1 (OpenMP barriers and the serial
    RNG of the noise), and worse still when other processes share the cores.
    So: 1 thread on <= 2 cores, otherwise half the cores (at most 8).
    """
    if threads > 0:
        return threads
    cores = usable_cores()
    return 1 if cores <= 2 else min(8, cores // 2)
