import importlib.util
from types import SimpleNamespace

import pytest
from testing_utils import require_cuda, require_sglang, require_vllm

from ddcf.errors import DDCFError
from ddcf.runs import backends as B
from ddcf.runs.backends import BackendOptions, Completion, SamplingSpec
from ddcf.runs.backends import sglang as SG
from ddcf.runs.backends import vllm as VL
from ddcf.runs.backends.dummy import ByteTokenizer, DummyBackend


# --------------------------------------------------------------------------- registry and helpers
def test_registry_lists_all_backends_and_rejects_unknown():
    assert {"sglang", "vllm", "hf", "dummy"} <= set(B.backend_names())
    assert B.get_backend_class("dummy") is DummyBackend
    with pytest.raises(DDCFError, match="Unknown generation backend 'nope'"):
        B.get_backend_class("nope")


def test_register_custom_backend():
    B.register("dummy2", "ddcf.runs.backends.dummy:DummyBackend")
    try:
        assert B.get_backend_class("dummy2") is DummyBackend
    finally:
        B._REGISTRY.pop("dummy2")


def test_default_backend_is_hf_without_gpu(monkeypatch):
    monkeypatch.setattr(B, "cuda_device_count", lambda: 0)
    assert B.default_backend_name() == "hf"
    monkeypatch.setattr(B, "cuda_device_count", lambda: 2)
    monkeypatch.setattr(B, "engine_installed", lambda name: True)
    assert B.default_backend_name() == "sglang"
    monkeypatch.setattr(B, "engine_installed", lambda name: name == "vllm")
    assert B.default_backend_name() == "vllm"


@pytest.mark.parametrize("name,hint", [("sglang", "make gpu-env ENGINE=sglang"), ("vllm", "make gpu-env ENGINE=vllm")])
def test_missing_engine_gives_install_hint(monkeypatch, name, hint):
    real_import = B.importlib.import_module

    def fake_import(mod, *a, **k):
        if mod == name:
            raise ImportError(f"No module named '{name}'")
        return real_import(mod, *a, **k)

    monkeypatch.setattr(B.importlib, "import_module", fake_import)
    with pytest.raises(DDCFError) as ei:
        B.require_engine(name)
    assert hint in str(ei.value)


def test_missing_local_model_path_is_clear():
    with pytest.raises(DDCFError, match="does not exist"):
        B.check_model_reference("/definitely/not/here/model")
    B.check_model_reference("Qwen/Qwen2.5-Math-7B")  # a Hub id is not checked locally


def test_finish_reasons_and_stop_cutting():
    assert B.normalise_finish_reason({"type": "length", "length": 5}) == "length"
    assert B.normalise_finish_reason({"type": "stop", "matched": 2}) == "stop"
    assert B.normalise_finish_reason("stop") == "stop"
    assert B.normalise_finish_reason(None) == "stop"
    assert B.cut_at_stop("a Problem: b }$ c", ["}$", "Problem:"]) == ("a ", True)
    assert B.cut_at_stop("abc", ["x"]) == ("abc", False)


def test_sampling_spec_roundtrip():
    s = SamplingSpec(max_new_tokens=5, n=2, temperature=0.5, stop=("a",), stop_token_ids=(3,), seed=7)
    assert SamplingSpec.from_dict(s.to_dict()) == s
    assert SamplingSpec(max_new_tokens=1).greedy and not s.greedy


# --------------------------------------------------------------------------- SGLang with a fake engine
class FakeSGLangEngine:
    def __init__(self):
        self.calls = []

    def generate(self, input_ids=None, sampling_params=None):
        self.calls.append((input_ids, sampling_params))
        out = []
        for k, ids in enumerate(input_ids):
            reason = {"type": "length", "length": 4} if k % 2 else {"type": "stop", "matched": "Problem:"}
            out.append({"text": f"t{k}", "meta_info": {"prompt_tokens": len(ids), "completion_tokens": 3 + k,
                                                       "finish_reason": reason}})
        return out

    def shutdown(self):
        self.calls.append("shutdown")


def test_sglang_request_building_and_parsing():
    spec = SamplingSpec(max_new_tokens=9, n=2, temperature=0.7, top_p=0.9, top_k=20, stop=("Problem:",),
                        stop_token_ids=(2,))
    ids, sp = SG.build_requests([[1, 2], [3]], spec)
    assert ids == [[1, 2], [1, 2], [3], [3]]  # prompt-major repeats
    assert sp["max_new_tokens"] == 9 and sp["temperature"] == 0.7 and sp["top_k"] == 20
    assert sp["stop"] == ["Problem:"] and sp["stop_token_ids"] == [2]
    assert sp["repetition_penalty"] == 1.0 and sp["min_p"] == 0.0  # model defaults never leak in
    greedy = SG.sampling_params(SamplingSpec(max_new_tokens=3))
    assert greedy["temperature"] == 0.0 and greedy["top_k"] == 1

    engine = FakeSGLangEngine()
    be = SG.SGLangBackend.__new__(SG.SGLangBackend)
    B.Backend.__init__(be, "m", BackendOptions())
    be._tok, be.engine = ByteTokenizer(), engine
    outs = be.generate([[1, 2], [3]], spec)
    assert [[c.text for c in r] for r in outs] == [["t0", "t1"], ["t2", "t3"]]
    assert outs[0][1].finish_reason == "length" and outs[0][0].finish_reason == "stop"
    assert outs[1][0].n_prompt_tokens == 1 and outs[1][1].n_completion_tokens == 6
    be.close()
    assert engine.calls[-1] == "shutdown"


def test_sglang_engine_kwargs_keep_radix_cache():
    kw = SG.engine_kwargs("m", BackendOptions(tensor_parallel_size=2, data_parallel_size=4, mem_fraction=0.8,
                                              dtype="bfloat16", seed=3))
    assert kw["tp_size"] == 2 and kw["dp_size"] == 4 and kw["mem_fraction_static"] == 0.8
    assert kw["dtype"] == "bfloat16" and kw["random_seed"] == 3
    assert "disable_radix_cache" not in kw
    assert "mem_fraction_static" not in SG.engine_kwargs("m", BackendOptions())


def test_sglang_parse_rejects_wrong_count():
    with pytest.raises(RuntimeError):
        SG.parse_outputs([{"text": "a", "meta_info": {}}], [[1], [2]], SamplingSpec(max_new_tokens=1))


# --------------------------------------------------------------------------- vLLM with a fake LLM
class FakeParams(dict):
    def __init__(self, **kw):
        super().__init__(**kw)


class FakeLLM:
    def __init__(self):
        self.calls = []

    def generate(self, reqs, params, use_tqdm=True):
        self.calls.append((reqs, params))
        out = []
        for r, p in zip(reqs, params):
            comps = [SimpleNamespace(index=s, text=f"s{s}", token_ids=[0] * (s + 1),
                                     finish_reason="length" if s else "stop") for s in reversed(range(p["n"]))]
            out.append(SimpleNamespace(prompt_token_ids=r["prompt_token_ids"], outputs=comps))
        return out


def test_vllm_request_building_and_parsing():
    spec = SamplingSpec(max_new_tokens=7, n=3, temperature=1.0, top_p=0.95, stop=("Problem:",), stop_token_ids=(2,))
    reqs, params = VL.build_requests([[1, 2, 3], [4]], spec, seeds=[11, 12], make_params=FakeParams)
    assert reqs == [{"prompt_token_ids": [1, 2, 3]}, {"prompt_token_ids": [4]}]
    assert params[0]["max_tokens"] == 7 and params[0]["n"] == 3 and params[1]["seed"] == 12
    assert params[0]["stop"] == ["Problem:"] and params[0]["stop_token_ids"] == [2]
    assert params[0]["repetition_penalty"] == 1.0
    g = VL.sampling_kwargs(SamplingSpec(max_new_tokens=2), seed=5)
    assert g["temperature"] == 0.0 and "seed" not in g

    be = VL.VLLMBackend.__new__(VL.VLLMBackend)  # the constructor would load a real tokenizer
    B.Backend.__init__(be, "m", BackendOptions(progress=False))
    be._tok, be.llm, be._make_params = ByteTokenizer(), FakeLLM(), FakeParams
    outs = be.generate([[1, 2, 3], [4]], spec, seeds=[1, 2])
    assert [c.text for c in outs[0]] == ["s0", "s1", "s2"]  # re-sorted by sample index
    assert [c.finish_reason for c in outs[1]] == ["stop", "length", "length"]
    assert outs[0][2].n_completion_tokens == 3 and outs[0][0].n_prompt_tokens == 3


def test_vllm_llm_kwargs_enable_prefix_caching():
    kw = VL.llm_kwargs("m", BackendOptions(tensor_parallel_size=2, mem_fraction=0.7))
    assert kw["enable_prefix_caching"] is True and kw["tensor_parallel_size"] == 2
    assert kw["gpu_memory_utilization"] == 0.7


# --------------------------------------------------------------------------- dummy + data-parallel pool
def test_dummy_backend_is_deterministic_and_honours_caps():
    be = DummyBackend("dummy/x", BackendOptions())
    tok = be.tokenizer
    prompt = tok.encode(["Problem:\nWhat is 4 and 38?\n\nSolution:\n"])[0]
    spec = SamplingSpec(max_new_tokens=400, stop=("Problem:",))
    a = be.generate([prompt], spec)[0][0]
    assert a == be.generate([prompt], spec)[0][0]
    assert "Problem:" not in a.text and a.finish_reason == "stop"
    short = be.generate([prompt], SamplingSpec(max_new_tokens=5))[0][0]
    assert short.finish_reason == "length" and short.n_completion_tokens == 5
    with pytest.raises(DDCFError, match="cannot find the model"):
        DummyBackend("/no/such/model", BackendOptions())


def test_data_parallel_pool_matches_single_replica():
    from ddcf.runs.backends.data_parallel import DataParallelBackend, gpu_groups

    tok = ByteTokenizer()
    prompts = tok.encode([f"Problem:\nQuestion {i} with {i * 7} apples?\n\nSolution:\n" for i in range(7)])
    spec = SamplingSpec(max_new_tokens=300, n=2, temperature=1.0, stop=("Problem:",))
    seeds = list(range(100, 107))
    single = DummyBackend("dummy/x", BackendOptions()).generate(prompts, spec, seeds)
    pool = B.create_backend("dummy", "dummy/x", BackendOptions(data_parallel_size=2, progress=False))
    try:
        assert isinstance(pool, DataParallelBackend)
        assert pool.generate(prompts, spec, seeds) == single
        assert pool.generate(prompts[:1], spec, seeds[:1]) == single[:1]  # a replica with no work
    finally:
        pool.close()
    assert gpu_groups(2, 2, ["0", "1", "2", "3"]) == [["0", "1"], ["2", "3"]]
    assert gpu_groups(2, 1, []) == [None, None]
    with pytest.raises(DDCFError, match="needs 4 GPUs"):
        gpu_groups(2, 2, ["0", "1"])


def test_data_parallel_pool_reports_worker_errors():
    with pytest.raises(DDCFError, match="cannot find the model"):
        B.create_backend("dummy", "/no/such/model", BackendOptions(data_parallel_size=2, progress=False))


def test_completion_dict_roundtrip():
    c = Completion("x", 1, 2, "stop")
    assert Completion(**c.to_dict()) == c


# --------------------------------------------------------------------------- real engines (GPU only)
@require_cuda
@require_sglang
def test_sglang_real_engine_generates(gpu_tiny_lm):
    be = B.create_backend("sglang", str(gpu_tiny_lm), BackendOptions(mem_fraction=0.3))
    try:
        outs = be.generate(be.tokenizer.encode(["Problem:\n1+1?\n\nSolution:\n"]), SamplingSpec(max_new_tokens=8))
        assert len(outs) == 1 and outs[0][0].n_completion_tokens > 0
    finally:
        be.close()


@require_cuda
@require_vllm
def test_vllm_real_engine_generates(gpu_tiny_lm):
    be = B.create_backend("vllm", str(gpu_tiny_lm), BackendOptions(mem_fraction=0.3))
    try:
        outs = be.generate(be.tokenizer.encode(["Problem:\n1+1?\n\nSolution:\n"]),
                           SamplingSpec(max_new_tokens=8, n=2, temperature=1.0))
        assert len(outs[0]) == 2
    finally:
        be.close()


def test_engine_backends_accept_injected_engines(tiny_lm):
    sg = SG.SGLangBackend(str(tiny_lm), BackendOptions(), engine=FakeSGLangEngine())
    assert sg.context_limit == 4096 and sg.tokenizer.eos_token_ids
    vl = VL.VLLMBackend(str(tiny_lm), BackendOptions(progress=False), llm=FakeLLM(), make_params=FakeParams)
    outs = vl.generate(vl.tokenizer.encode(["Problem:\nx\n\nSolution:\n"]), SamplingSpec(max_new_tokens=3, n=2,
                                                                                        temperature=1.0))
    assert [c.text for c in outs[0]] == ["s0", "s1"]


@require_cuda
@pytest.mark.skipif(importlib.util.find_spec("sglang") is None and importlib.util.find_spec("vllm") is None,
                    reason="neither sglang nor vllm installed")
def test_gpu_runner_end_to_end(seeded, gpu_tiny_lm):
    import pandas as pd
    from gen_testlib import fake_grade

    from ddcf.generate.config import GenerateConfig
    from ddcf.generate.runner import run_generation

    s = GenerateConfig(model_name=str(gpu_tiny_lm), backend="auto", max_new_tokens=16, max_prompt_tokens=512,
                       shard_size=4, mem_fraction=0.3, no_progress=True)
    res = run_generation(seeded, s, grade_fn=fake_grade, log=print)
    assert res.status == "done" and len(pd.read_parquet(seeded.verdicts(str(gpu_tiny_lm)))) == 8
