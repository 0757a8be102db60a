"""Save and load a trained correctness predictor: safetensors weights + JSON config.

Nothing here unpickles: weights are safetensors, the description is JSON.
The file paths come from the caller (``Layout.predictor_weights`` / ``Layout.predictor_config``
for the stage).  The config records the architecture, the training options, the model list
in model_id order, where the training embeddings came from, and the SHA-256 of
the weights file, so a config and weights from different runs are detected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ddcf.artifacts.predictor import CONFIG_FORMAT, CONFIG_VERSION, RETRAIN_FIX, config_sha256, read_config
from ddcf.errors import DDCFError, first_line
from ddcf.io import atomic_path, file_sha256, write_json
from ddcf.predictor.factor.model import FACTOR_ARCH_KEYS, FactorPredictor
from ddcf.predictor.paper.model import ARCH_KEYS, CorrectnessPredictor

#: how P(correct) follows from the network's output, per architecture (before dividing by the temperature)
P_CORRECT = {"paper": "softmax(logits)[:, 1] = sigmoid(logit_1 - logit_0)",
             "factor": "sigmoid(mean over members of u_m . h(q) + c_m)"}


@dataclass
class LoadedPredictor:
    model: CorrectnessPredictor | FactorPredictor
    config: dict
    config_sha256: str
    directory: Path

    @property
    def models(self) -> list[str]:
        return list(self.config["models"])

    @property
    def embedding(self) -> dict:
        return dict(self.config.get("embedding") or {})

    @property
    def temperature(self) -> float:
        """The calibration temperature fitted on validation (1.0: none, or a predictor trained before it existed)."""
        return float((self.config.get("calibration") or {}).get("temperature") or 1.0)


def arch_keys(arch: dict) -> tuple[str, ...]:
    """The keys that must be present to rebuild an architecture (configs without 'arch' are the paper's)."""
    return FACTOR_ARCH_KEYS if arch.get("arch") == "factor" else ARCH_KEYS


def build_model(arch: dict) -> CorrectnessPredictor | FactorPredictor:
    if arch.get("arch") == "factor":
        return FactorPredictor.from_architecture(arch)
    return CorrectnessPredictor.from_architecture(arch)


def save_predictor(model: CorrectnessPredictor | FactorPredictor, weights: str | Path, config_path: str | Path,
                   extra: dict) -> dict:
    """Write the weights then the config (last, so a config always has its weights); return the config."""
    from safetensors.torch import save_file

    weights = Path(weights)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    with atomic_path(weights, suffix=".safetensors") as tmp:
        # One metadata key only: safetensors writes its metadata map in a random order, so two keys made the
        # bytes (and weights_sha256, which later stages record as provenance) differ between identical runs.
        save_file(state, str(tmp), metadata={"format": "pt"})
    config = dict(extra)
    config.update(
        format=CONFIG_FORMAT,
        version=CONFIG_VERSION,
        architecture={"arch": model.arch, **model.architecture(), "p_correct": P_CORRECT[model.arch]},
        weights=weights.name,
        weights_sha256=file_sha256(weights),
    )
    if "models" not in config or len(config["models"]) != model.num_models:
        raise ValueError("extra['models'] must list one name per model id")
    write_json(config, config_path)
    return config


def load_predictor(config_path: str | Path, weights: str | Path, device: str = "cpu") -> LoadedPredictor:
    """Load a predictor for inference (eval mode) and check config and weights belong together."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    cfg_path = Path(config_path)
    config = read_config(cfg_path, weights)  # format, models, weights hash: the one reader of these files
    weights = Path(weights)
    arch = config.get("architecture") or {}
    if arch.get("arch", "paper") not in P_CORRECT:
        raise DDCFError(f"The predictor config {cfg_path} has an unknown architecture {arch.get('arch')!r} "
                        f"(this ddcf knows {', '.join(P_CORRECT)}).", "upgrade ddcf or " + RETRAIN_FIX)
    missing = [k for k in arch_keys(arch) if k not in arch]
    if missing:
        raise DDCFError(
            f"The predictor config {cfg_path} is not a ddcf correctness-predictor config"
            + (f" (missing: {', '.join(missing)})." if missing else "."),
            RETRAIN_FIX,
        )
    if len(config["models"]) != int(arch["num_models"]):
        raise DDCFError(f"The predictor config {cfg_path} lists {len(config['models'])} models but the "
                        f"architecture has {arch['num_models']}.", RETRAIN_FIX)
    model = build_model(arch)
    try:
        state = load_file(str(weights), device="cpu")
        model.load_state_dict(state, strict=True)
    except (SafetensorError, RuntimeError, OSError) as exc:
        raise DDCFError(
            f"Could not load the predictor weights {weights} into the architecture of {cfg_path}: "
            f"{first_line(exc)}.",
            RETRAIN_FIX,
        ) from None
    model.to(device).eval()
    return LoadedPredictor(model=model, config=config, config_sha256=config_sha256(config),
                           directory=cfg_path.parent)
