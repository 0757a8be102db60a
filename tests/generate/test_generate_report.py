import pandas as pd
import pytest

from ddcf.generate import report as RP


def gens_frame():
    return pd.DataFrame({
        "dataset": ["gsm8k"] * 4 + ["math"] * 2,
        "completion_tokens": [10, 20, 30, 100, 100, 50],
        "finish_reason": ["stop", "stop", "stop", "length", "length", "stop"],
        "followup": [False, False, True, True, True, False],
    })


def test_length_report_quantiles_and_cap_share():
    r = RP.length_report(gens_frame(), max_new_tokens=100)
    o = r["overall"]
    assert o["n"] == 6 and o["max"] == 100 and o["max_new_tokens"] == 100
    assert o["p50"] == pytest.approx(40.0)
    assert o["hit_cap_share"] == pytest.approx(2 / 6) and o["followup_share"] == pytest.approx(0.5)
    assert r["by_dataset"]["math"]["hit_cap_share"] == 0.5
    assert r["by_dataset"]["gsm8k"]["mean"] == 40
    text = RP.format_length_report(r)
    assert "hit cap" in text and "gsm8k" in text and "consider a larger --max_new_tokens" in text


def test_throughput_sums_shards():
    t = RP.throughput([{"wall_s": 2.0, "prompt_tokens": 100, "generated_tokens": 50},
                       {"wall_s": 3.0, "prompt_tokens": 100, "generated_tokens": 50}])
    assert t["generation_wall_s"] == 5.0 and t["generated_tokens"] == 100
    assert t["generated_tokens_per_s"] == pytest.approx(20.0) and t["n_shards"] == 2
    assert RP.throughput([])["generated_tokens_per_s"] is None


def test_format_summary_mentions_the_essentials():
    s = {"model": "m", "n_questions": 6, "n_samples": 2, "backend": "hf",
         "throughput": RP.throughput([{"wall_s": 1.0, "prompt_tokens": 5, "generated_tokens": 7}]),
         "accuracy": 0.5, "accuracy_by_dataset": {"math": 0.5}, "pass_at_k": {"pass@1": 0.5, "pass@2": 0.75},
         "length_report": RP.length_report(gens_frame(), 100)}
    text = RP.format_summary(s)
    assert "6 questions x 2 sample(s)" in text and "7.0 generated tokens/s" in text and "pass@2: 0.750" in text
