"""Model names -> file names: injective, and unchanged for the names existing work directories use."""

import hashlib
import itertools
import re
from pathlib import Path

import pandas as pd
import pytest

from ddcf.errors import DDCFError
from ddcf.layout import Layout
from ddcf.names import safe_name

ROOT = Path(__file__).resolve().parents[2]


def old_safe_name(name: str) -> str:
    """The mapping before names became injective: the oracle for names whose files must keep their names."""
    stem = name.strip().replace("/", "__")
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).lstrip(".") or "_"
    cleaned = cleaned[:150]
    if cleaned != stem:
        cleaned += "-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return cleaned


@pytest.mark.parametrize("a, b", [
    ("org/m", "org__m"), ("a/b", "a__b"), ("a_/b", "a/_b"), ("a//b", "a____b"), ("a/__b", "a__/b"),
    ("a b", "a_b"), ("a:b", "a_b"), (" a/b", "a/b"), ("a/b ", "a/b"), (".a", "a"), ("..a", "a"),
    ("x" * 150 + "1", "x" * 150 + "2"), ("/a", "__a"),
])
def test_adversarial_pairs_get_different_file_names(a, b):
    assert safe_name(a) != safe_name(b)


def test_injective_over_every_short_name():
    """Every name of up to 4 characters over the characters that make names ambiguous: no two share a stem."""
    seen: dict[str, str] = {}
    for n in range(1, 5):
        for chars in itertools.product("a_/.- :", repeat=n):
            name = "".join(chars)
            if not name.strip():
                continue
            stem = safe_name(name)
            assert re.fullmatch(r"[A-Za-z0-9._-]+", stem) and not stem.startswith("."), name
            assert seen.setdefault(stem, name) == name, (name, seen[stem], stem)
    assert len(seen) == 7 + 7**2 + 7**3 + 7**4 - 4  # every name but the 4 all-space ones


def bundled_names() -> list[str]:
    order = pd.read_csv(ROOT / "DDCF_data" / "model_order.csv")["model"].tolist()
    seed = pd.read_parquet(ROOT / "data" / "bundled" / "seed_completions.parquet", columns=["model"])
    return sorted(set(order) | set(seed["model"]))


def test_bundled_and_typical_names_keep_their_file_names():
    names = bundled_names()
    assert len(names) >= 80
    typical = ["Qwen/Qwen2.5-Math-7B", "meta-llama/Llama-3.1-8B", "org/Target-7B", "packaged:all-MiniLM-L6-v2"]
    for name in names + typical:
        assert safe_name(name) == old_safe_name(name), name
    assert safe_name("Qwen/Qwen2.5-Math-7B") == "Qwen__Qwen2.5-Math-7B"
    assert safe_name("claude-3-5-sonnet-20241022") == "claude-3-5-sonnet-20241022"
    # the folder of the bundled embedding cache (data/bundled/embedding_cache/) is named by it
    assert (ROOT / "data" / "bundled" / "embedding_cache" / safe_name("packaged:all-MiniLM-L6-v2")).is_dir()


def test_check_distinct_paths_refuses_a_case_only_clash(tmp_path):
    layout = Layout(tmp_path)
    models = ["org/model-a", "Org/Model-A"]
    assert safe_name(models[0]) != safe_name(models[1])  # distinct stems, one file on macOS/Windows
    with pytest.raises(DDCFError, match="'org/model-a' and 'Org/Model-A'"):
        Layout.check_distinct_paths(models, layout.difficulty)
    paths = Layout.check_distinct_paths(["a/b", "a__b", "a/b"], layout.verdicts)
    assert paths == [layout.verdicts("a/b"), layout.verdicts("a__b")]
    with pytest.raises(DDCFError, match="same file"):  # any clash a path function could produce
        Layout.check_distinct_paths(["x", "y"], lambda m: tmp_path / "one.parquet")


@pytest.mark.parametrize("model", ["x.passrate", "x.PASSRATE", "org/x.passrate"])
def test_a_name_ending_in_a_layout_suffix_does_not_name_another_models_file(model, tmp_path):
    layout = Layout(tmp_path)
    base = model[: -len(".passrate")]
    assert layout.verdicts(model) != layout.passrates(base)
    assert not layout.verdicts(model).name.lower().endswith(".passrate.parquet")
