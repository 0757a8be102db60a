"""Stage 4: the correctness predictor (model, training loop, metrics, baselines, storage).

Names are imported lazily so that ``ddcf.predictor.config`` (used by ``--help``)
does not pay for importing torch.
"""

from importlib import import_module

_EXPORTS = {
    "TrainConfig": "ddcf.predictor.config",
    "CorrectnessPredictor": "ddcf.predictor.model",
    "ResidualMLPBlock": "ddcf.predictor.model",
    "LoadedPredictor": "ddcf.predictor.store",
    "load_predictor": "ddcf.predictor.store",
    "save_predictor": "ddcf.predictor.store",
    "TrainReport": "ddcf.predictor.train",
    "load_training_data": "ddcf.predictor.train",
    "run_training": "ddcf.predictor.train",
    "train_predictor": "ddcf.predictor.train",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'ddcf.predictor' has no attribute {name!r}")
