"""scripts/check_engine_contracts.py: names read from ddcf's source, checked against an engine's (here: fake) source."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import check_engine_contracts as cec  # noqa: E402


def test_names_come_from_ddcfs_own_source():
    assert {"model", "tensor_parallel_size", "enable_prefix_caching", "gpu_memory_utilization"} <= cec.dict_keys(
        "ddcf/runs/backends/vllm.py", "llm_kwargs")
    assert {"max_tokens", "prompt_logprobs"} <= cec.dict_keys("ddcf/score/logprobs.py", "vllm_sampling_kwargs")
    assert {"model_path", "tp_size", "mem_fraction_static"} <= cec.dict_keys("ddcf/runs/backends/sglang.py",
                                                                           "engine_kwargs")
    trl = cec.call_keywords("ddcf/sft/stage.py", "_build_trainer", "TRLConfig")
    assert {"completion_only_loss", "max_length", "bf16", "use_liger_kernel"} <= trl


def test_a_stale_list_of_read_attributes_fails():
    assert cec.reads("ddcf/runs/backends/vllm.py", "parse_outputs", {"outputs"}) == {"outputs"}
    with pytest.raises(SystemExit, match="no longer reads"):
        cec.reads("ddcf/runs/backends/vllm.py", "parse_outputs", {"no_such_attribute"})


def _fake_vllm(scratch: Path, sampling_fields: list[str]) -> None:
    """A scratch folder as the script leaves it after reading vllm's wheel: the members it needs, here faked."""
    base = scratch / "vllm-0.33.0" / "vllm"
    base.mkdir(parents=True)
    body = "".join(f"    {f}: int = 0\n" for f in sampling_fields)
    (base / "sampling_params.py").write_text(f"import msgspec\n\nclass SamplingParams(msgspec.Struct):\n{body}")


def test_the_check_fails_on_a_name_the_engine_lacks(tmp_path, monkeypatch):
    used = sorted(cec.dict_keys("ddcf/score/logprobs.py", "vllm_sampling_kwargs"))
    contract = next(c for c in cec.CONTRACTS if c.site.endswith(":vllm_sampling_kwargs"))
    monkeypatch.setattr(cec, "CONTRACTS", [contract])
    _fake_vllm(tmp_path / "ok", used)
    assert cec.check(["vllm"], tmp_path / "ok", log=lambda *_: None) == []
    _fake_vllm(tmp_path / "old", [n for n in used if n != "prompt_logprobs"])
    assert cec.check(["vllm"], tmp_path / "old", log=lambda *_: None) == [
        "ddcf/score/logprobs.py:vllm_sampling_kwargs: 'prompt_logprobs' is not in vllm.SamplingParams fields"]


def test_engine_source_readers(tmp_path):
    src = cec.Source.__new__(cec.Source)
    src.dir, src._zip = tmp_path, None
    (tmp_path / "m.py").write_text(
        "class Base:\n    a: int = 1\n\nclass Out(Base):\n    b: str\n    def __init__(self, c, *, d=1, **kw):\n"
        "        self.e = c\n    def f(self):\n        return {'meta_info': 1}\n")
    assert cec.ast_fields(src, "m.py", "Out") == {"a", "b"}
    assert cec.ast_fields(src, "m.py", "Out", attrs=True) == {"a", "b", "e", "__init__", "f"}
    assert cec.ast_params(src, "m.py", "Out.__init__") == {"c", "d"}
    assert "meta_info" in cec.ast_strings(src, "m.py")


def test_training_contracts_hold_for_the_installed_trl_peft_accelerate(tmp_path):
    pytest.importorskip("trl")
    problems = cec.check(["train"], tmp_path, log=lambda *_: None)
    assert problems == [], problems
