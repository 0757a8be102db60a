import json

import pytest
import torch

from ddcf.artifacts.predictor import config_sha256
from ddcf.errors import DDCFError, InputMismatchError
from ddcf.predictor.paper.model import CorrectnessPredictor
from ddcf.predictor.store import load_predictor, save_predictor


def save(model, folder, extra):
    return save_predictor(model, folder / "model.safetensors", folder / "config.json", extra)


def load(folder):
    return load_predictor(folder / "config.json", folder / "model.safetensors")


def _trained_model():
    torch.manual_seed(0)
    m = CorrectnessPredictor(4, 12, 2, dropout=0.8, alpha=0.01)
    with torch.no_grad():  # make the blocks non-trivial so the round trip is meaningful
        for p in m.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return m.eval()


def test_round_trip_gives_identical_predictions(tmp_path):
    m = _trained_model()
    cfg = save(m, tmp_path, dict(models=["a", "b", "c", "d"], embedding=dict(dim=12)))
    loaded = load(tmp_path)
    ids, q = torch.tensor([0, 1, 2, 3, 0]), torch.randn(5, 12)
    assert torch.equal(loaded.model.predict_proba(ids, q), m.predict_proba(ids, q))
    assert not loaded.model.training
    assert loaded.models == ["a", "b", "c", "d"] and loaded.config_sha256 == config_sha256(cfg)
    assert loaded.model.architecture() == m.architecture()
    assert json.loads((tmp_path / "config.json").read_text())["architecture"]["p_correct"].startswith("softmax")


def test_weights_from_another_run_are_detected(tmp_path):
    save(_trained_model(), tmp_path / "a", dict(models=list("abcd")))
    torch.manual_seed(5)
    save(CorrectnessPredictor(4, 12, 2), tmp_path / "b", dict(models=list("abcd")))
    (tmp_path / "a" / "model.safetensors").write_bytes((tmp_path / "b" / "model.safetensors").read_bytes())
    with pytest.raises(InputMismatchError, match="different runs"):
        load(tmp_path / "a")


def test_missing_and_foreign_configs(tmp_path):
    with pytest.raises(DDCFError, match="does not exist"):
        load(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(DDCFError, match="not a ddcf correctness-predictor config"):
        load(tmp_path)


def test_architecture_mismatch_is_a_clear_error(tmp_path):
    save(_trained_model(), tmp_path, dict(models=list("abcd")))
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["architecture"]["dim"] = 13
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(DDCFError, match="Could not load the predictor weights"):
        load(tmp_path)


def test_no_pickle_in_weights(tmp_path):
    save(_trained_model(), tmp_path, dict(models=list("abcd")))
    head = (tmp_path / "model.safetensors").read_bytes()[:8]
    assert int.from_bytes(head, "little") > 0  # safetensors header length, not a pickle/zip magic
    assert not (tmp_path / "model.safetensors").read_bytes().startswith(b"PK")


def test_weights_file_is_byte_reproducible(tmp_path):
    """Identical weights give identical bytes, so weights_sha256 is a stable provenance key."""
    import torch

    from ddcf.predictor.paper.model import CorrectnessPredictor
    from ddcf.predictor.store import save_predictor

    torch.manual_seed(0)
    model = CorrectnessPredictor(num_models=3, dim=8, hidden_dim=4, dropout=0.5)
    shas = [save_predictor(model, tmp_path / f"w{i}.safetensors", tmp_path / f"c{i}.json",
                           {"models": ["a", "b", "c"]})["weights_sha256"] for i in range(4)]
    assert len(set(shas)) == 1
