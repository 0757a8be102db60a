"""The engine/sampling options are declared once (ddcf.runs.engine) and every stage's flags stay as they were."""

from __future__ import annotations

import dataclasses

import pytest

from ddcf.config import build_parser
from ddcf.distill.config import DistillConfig
from ddcf.evaluate.config import EvaluateConfig
from ddcf.generate.config import GenerateConfig
from ddcf.runs.engine import EngineOptions, ModelOptions, SamplingOptions
from ddcf.score.config import ScoreConfig

STAGES = (GenerateConfig, EvaluateConfig, DistillConfig)
REQUIRED = {EvaluateConfig: ["--model_name", "m"], DistillConfig: ["sel", "--teacher", "t"],
            ScoreConfig: ["--model_name", "m"]}


def parse(cls, argv):
    return build_parser(cls).parse_args([*REQUIRED.get(cls, []), *argv])


@pytest.mark.parametrize("cls", STAGES)
def test_engine_options_are_the_mixins_own(cls):
    """The field objects are inherited, not written again: same help text and metadata as the mixin's."""
    mine = {f.name: f for f in dataclasses.fields(cls)}
    for f in dataclasses.fields(EngineOptions):
        assert mine[f.name].metadata == f.metadata, f.name
    for name in ("temperature", "top_p", "top_k", "seed"):
        assert mine[name].metadata["help"] == SamplingOptions.__dataclass_fields__[name].metadata["help"]


def test_stage_defaults_kept():
    """Restated defaults: evaluation and distillation sample as before (0.6 / 0.95 / 20), stage 1 greedily."""
    assert (GenerateConfig().temperature, GenerateConfig().top_p, GenerateConfig().top_k) == (0.0, 1.0, -1)
    for cls in (EvaluateConfig, DistillConfig):
        c = cls()
        assert (c.temperature, c.top_p, c.top_k, c.seed) == (0.6, 0.95, 20, 0)
    assert {f.name for f in dataclasses.fields(ModelOptions)} <= {f.name for f in dataclasses.fields(ScoreConfig)}


@pytest.mark.parametrize("cls", [*STAGES, ScoreConfig])
def test_one_start_over_flag(cls):
    args = parse(cls, ["--overwrite"])
    assert args.overwrite is True


@pytest.mark.parametrize("cls", [GenerateConfig, EvaluateConfig])
def test_earlier_start_over_spelling_still_parses(cls):
    args = parse(cls, ["--force_regenerate"])
    assert args.overwrite is True


@pytest.mark.parametrize("cls", STAGES)
def test_engine_flags_unchanged(cls):
    """The flag names users type are the ones they typed before the mixin."""
    args = parse(cls, ["--backend", "dummy", "--tensor_parallel_size", "2", "--data_parallel_size", "3",
                       "--mem_fraction", "0.5", "--dtype", "float32", "--batch_size", "4", "--trust_remote_code",
                       "--temperature", "0.7", "--seed", "5"])
    assert (args.backend, args.tensor_parallel_size, args.data_parallel_size, args.mem_fraction, args.dtype,
            args.batch_size, args.trust_remote_code, args.temperature, args.seed) == (
        "dummy", 2, 3, 0.5, "float32", 4, True, 0.7, 5)


def test_backend_options_carry_the_settings():
    c = DistillConfig(backend="dummy", tensor_parallel_size=2, dtype="float16", batch_size=3, seed=7,
                      trust_remote_code=True, no_progress=True)
    o = c.backend_options(data_parallel_size=c.parallelism("dummy"))
    assert (o.tensor_parallel_size, o.data_parallel_size, o.dtype, o.batch_size, o.seed, o.trust_remote_code,
            o.progress) == (2, 1, "float16", 3, 7, True, False)
    s = ScoreConfig(model_name="m", dtype="bfloat16", batch_size=2).backend_options()
    assert (s.dtype, s.batch_size, s.tensor_parallel_size) == ("bfloat16", 2, 1)


def test_greedy_sampling_drops_nucleus_and_seed():
    c = GenerateConfig(temperature=0.0, top_p=0.5, top_k=3, seed=9)
    spec = c.sampling(10, 1, ["x"], [2])
    assert (spec.top_p, spec.top_k, spec.seed, spec.stop, spec.stop_token_ids) == (1.0, -1, None, ("x",), (2,))
    spec = EvaluateConfig(seed=9).sampling(10, 2, (), [])
    assert (spec.temperature, spec.top_p, spec.top_k, spec.seed, spec.n) == (0.6, 0.95, 20, 9, 2)
