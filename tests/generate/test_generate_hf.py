"""The transformers backend on a tiny random Llama (built in conftest.py)."""

import pytest

from ddcf.generate import prompts as P
from ddcf.runs.backends import BackendOptions, SamplingSpec, create_backend


@pytest.fixture(scope="module")
def hf(tiny_lm):
    be = create_backend("hf", str(tiny_lm), BackendOptions(batch_size=3, progress=False))
    yield be
    be.close()


@pytest.fixture(scope="module")
def prompt_ids(hf):
    built = P.build_prompts(hf.tokenizer, ["What is 2 plus 2?", "Compute $3^2$.", "How many legs do 3 cats have?"],
                            ["gsm8k", "math", "gsm8k"], 200)
    return [b.ids for b in built]


def test_tokenizer_and_limits(hf, prompt_ids):
    tok = hf.tokenizer
    assert tok.eos_token_ids == [tok.tok.eos_token_id]
    assert hf.context_limit == 4096
    assert all(len(p) <= 200 for p in prompt_ids)
    assert all(p[0] == tok.bos_token_id for p in prompt_ids)  # BOS survives truncation


def test_greedy_is_deterministic_and_hits_the_cap(hf, prompt_ids):
    spec = SamplingSpec(max_new_tokens=6, stop_token_ids=tuple(hf.tokenizer.eos_token_ids))
    a = hf.generate(prompt_ids, spec)
    b = hf.generate(prompt_ids[::-1], spec)[::-1]  # batch composition/order must not matter
    assert [[c.text for c in r] for r in a] == [[c.text for c in r] for r in b]
    for row, p in zip(a, prompt_ids):
        (c,) = row
        assert c.n_prompt_tokens == len(p)
        assert c.finish_reason == "length" and c.n_completion_tokens == 6


def test_stop_string_cuts_text_and_ends_generation(hf, prompt_ids):
    free = hf.generate(prompt_ids[:1], SamplingSpec(max_new_tokens=12))[0][0]
    ids = hf.tokenizer.tok(free.text, add_special_tokens=False)["input_ids"]
    # A stop string taken from the middle of what the model writes anyway.
    prefix = hf.tokenizer.decode(ids[:4])
    stop = hf.tokenizer.decode(ids[4:6])
    if not stop.strip() or prefix.find(stop) != -1:
        pytest.skip("random model wrote a degenerate stop string")
    cut = hf.generate(prompt_ids[:1], SamplingSpec(max_new_tokens=12, stop=(stop,)))[0][0]
    assert stop not in cut.text
    assert free.text.startswith(cut.text) and len(cut.text) < len(free.text)
    assert cut.finish_reason == "stop" and cut.n_completion_tokens < 12


def test_sampling_returns_n_distinct_seeded_samples(hf, prompt_ids):
    spec = SamplingSpec(max_new_tokens=8, n=3, temperature=1.0, top_p=1.0)
    a = hf.generate(prompt_ids, spec, seeds=[5, 6, 7])
    b = hf.generate(prompt_ids, spec, seeds=[5, 6, 7])
    assert all(len(r) == 3 for r in a)
    assert [[c.text for c in r] for r in a] == [[c.text for c in r] for r in b]
    assert len({c.text for c in a[0]}) > 1


def test_backend_info(hf):
    info = hf.info()
    assert info["backend"] == "hf" and info["device"] == "cpu" and info["batch_size"] == 3


def _completions(rows):
    return [[(c.text, c.n_completion_tokens, c.finish_reason) for c in r] for r in rows]


@pytest.mark.parametrize("spec", [
    SamplingSpec(max_new_tokens=10),  # greedy; rows may end at different steps
    SamplingSpec(max_new_tokens=7, n=2, temperature=1.0, top_p=1.0),  # sampled: the meter must not touch the RNG
], ids=["greedy", "sampled"])
def test_token_progress_inside_generate_leaves_the_completions_unchanged(tiny_lm, prompt_ids, spec, capsys,
                                                                         monkeypatch):
    """Issue 25: one long generate() call printed nothing for minutes. With progress on, a per-token streamer
    writes tokens and tokens/s (here on every step: the log throttle is set to 0); the completions are the
    same as without it."""
    from ddcf.runs.backends import hf as hf_mod

    monkeypatch.setattr(hf_mod, "TOKEN_LINE_S", 0.0, raising=False)
    quiet = create_backend("hf", str(tiny_lm), BackendOptions(batch_size=2, progress=False))
    loud = create_backend("hf", str(tiny_lm), BackendOptions(batch_size=2, progress=True))
    capsys.readouterr()  # transformers' own weight-loading bars
    try:
        a = quiet.generate(prompt_ids, spec, seeds=[1, 2, 3])
        assert capsys.readouterr().err == ""
        b = loud.generate(prompt_ids, spec, seeds=[1, 2, 3])
        err = capsys.readouterr().err  # not a terminal: plain lines
    finally:
        quiet.close()
        loud.close()
    assert _completions(a) == _completions(b)
    inside = [ln for ln in err.splitlines() if "step " in ln and "tokens/s" in ln]
    # every decoding step of both batches (2 prompts, then 1) wrote a line
    assert any("batch 1/2 (2 prompts)" in ln and f"step {spec.max_new_tokens}/" in ln for ln in inside), err
    assert any("batch 2/2 (1 prompts)" in ln for ln in inside), err
    assert len(inside) >= 2 * (spec.max_new_tokens - 1)
    # the per-step token counts grow and never exceed rows x steps
    rows = 2 * spec.n
    for ln in inside:
        tokens = int(ln.split(": ")[-1].split(" tokens")[0].replace(",", "")) if "batch 1/2" in ln else None
        step = int(ln.split("step ")[1].split("/")[0])
        if tokens is not None:
            assert 0 < tokens <= rows * step
    assert "hf generate: 3/3 prompt (100%)" in err
