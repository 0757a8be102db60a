"""eval/compare.py over two run folders; the seed/benchmark overlap warning."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from eval_testlib import OracleBackend, eval_config

from ddcf.errors import DDCFError
from ddcf.evaluate.compare_cli import command as compare
from ddcf.evaluate.stage import run
from ddcf.io import write_parquet
from ddcf.layout import Layout


def _fake_run(folder, scores: dict[str, float]):
    from ddcf.evaluate.benchmarks import BY_NAME

    folder.mkdir(parents=True)
    benches = {n: {"column": BY_NAME[n].column, "role": BY_NAME[n].role, "headline": v,
                   "headline_metric": "pass@32" if BY_NAME[n].k else "pass@1"} for n, v in scores.items()}
    (folder / "results.json").write_text(json.dumps({"model": folder.name, "benchmarks": benches}))
    return folder


def test_compare_marks_best_and_draws(tmp_path, layout):
    a = _fake_run(tmp_path / "base", {"gsm8k": 0.5, "math500": 0.3, "aime24": 0.1})
    b = _fake_run(tmp_path / "ddcf", {"gsm8k": 0.7, "math500": 0.2})
    out = tmp_path / "cmp"
    assert compare.main([str(a), str(b), "--output_dir", str(out), "--workdir", str(layout.root)]) == 0
    md = (out / "comparison.md").read_text()
    assert "| base | **10.0** | **30.0** | — | 50.0 |" in md  # the only AIME24 value is the best
    assert "| ddcf | — | 20.0 | — | **70.0** |" in md
    assert "AIME24 (pass@32)" in md
    assert Layout.compare_plot(out).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    csv = pd.read_csv(out / "comparison.csv")
    assert csv["GSM8k"].tolist() == [50.0, 70.0]


def test_compare_refuses_a_folder_without_results(tmp_path, layout):
    with pytest.raises(DDCFError, match="no evaluation run folder"):
        compare.main([str(tmp_path), "--workdir", str(layout.root)])


@pytest.mark.parametrize("content, words", [
    ("[1, 2]", "a list"),  # not an object
    ('{"model": "m", "benchmarks": {"gsm8k": 0.5}}', "not an object of objects"),
    ('{"model": "m", "benchmarks": {}, "warnings": "oops"}', "not a list of texts"),
    (b"\xff\xfe{", "UTF-8"),
])
def test_compare_refuses_results_of_the_wrong_shape(tmp_path, layout, content, words):
    """issue 25: a results.json of the wrong shape is one clear error naming the file, never a traceback."""
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "results.json").write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(DDCFError, match=words) as ei:
        compare.main([str(folder), "--workdir", str(layout.root)])
    assert "results.json" in str(ei.value)


def test_overlap_with_the_seed_questions_warns(tmp_path, layout):
    from ddcf.evaluate import benchmarks as B

    gsm = B.load(B.BY_NAME["gsm8k"], 2)
    # the model was fine-tuned on a selection of another work directory whose seeds are GSM8K test questions
    other = Layout(tmp_path / "other")
    write_parquet(pd.DataFrame({"question_id": ["s0"], "question": ["  " + gsm["question"][0].upper() + " "],
                                "gold": ["1"], "dataset": ["gsm8k"]}), other.seed_questions)
    model = tmp_path / "sft_model"
    model.mkdir()
    sel = other.selection_dir("m", 0.2, 10) / "dataset"
    (model / "sft.config.yaml").write_text(f"train_file_path: {sel}\n")
    cfg = eval_config(tmp_path, model_name_or_path=str(model), benchmarks=["gsm8k", "svamp"])
    rep = run(layout, cfg, backend=OracleBackend(lambda b, i, s: True), log=lambda m: None)
    warns = [w for w in rep.warnings if "seed questions" in w]
    assert len(warns) == 1 and "1 of the 2 GSM8k questions" in warns[0] and "sft.config.yaml" in warns[0]
    assert rep.details["results"]["benchmarks"]["gsm8k"]["seed_overlap"] == 1
    assert "100.0†" in Layout.eval_results(tmp_path / "run", "md").read_text()
