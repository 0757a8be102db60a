"""`ddcf report` on selections of the bundled corpus slice: every number against a direct computation."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_testlib import MODELS, fake_method

from ddcf.cli import main as ddcf
from ddcf.errors import DDCFError
from ddcf.io import load_embeddings, write_json, write_parquet
from ddcf.report.cli import main
from ddcf.report.overlap import family_of


def report(layout, dirs, *extra, out=None):
    out = out or layout.root / "rep"
    assert main(["--workdir", str(layout.root), "--projection", "tsne", "--no_progress", "--output_dir", str(out),
                 *extra, *dirs]) == 0
    return out, json.loads((out / "report.json").read_text())


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_report_numbers_and_files(work, full_report):
    layout, dirs = work
    out, rep = full_report
    x, ids, _ = load_embeddings(layout.corpus_embeddings)
    x = np.asarray(x, dtype=np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    index = {q: i for i, q in enumerate(ids)}
    corpus = pd.read_parquet(layout.corpus_questions).set_index("question_id").loc[ids]
    tables = [pd.read_parquet(Path(d) / "selection.parquet") for d in dirs]
    rows = {r["selection"]: r for r in rep["table"]}
    assert [s["method"] for s in rep["selections"]] == ["ddcf"] * 3 + ["random", "perplexity"]
    for sel, table, row in zip(rep["selections"], tables, rep["table"]):
        assert row["selection"] == sel["label"]
        r = np.array([index[q] for q in table.question_id])
        gram = x[r] @ x[r].T
        iu = np.triu_indices(len(r), 1)
        assert row["mean_pairwise_similarity"] == pytest.approx(gram[iu].mean(), abs=1e-5)
        assert row["max_pairwise_similarity"] == pytest.approx(gram[iu].max(), abs=1e-5)
        assert row["coverage"] == pytest.approx((x @ x[r].T).max(axis=1).mean(), abs=1e-5)
        assert row["mean_predicted_correctness"] == pytest.approx(table.predicted_correctness.mean(), abs=1e-6)
        p = corpus.subject.iloc[r].value_counts(normalize=True).to_numpy()
        assert row["subject_entropy_bits"] == pytest.approx(-(p * np.log2(p)).sum(), abs=1e-9)
        assert row["mean_question_words"] == pytest.approx(corpus.question.iloc[r].str.split().str.len().mean())
    assert [r["annotation_cost"] for r in rep["table"]] == [0, 0, 0, 0, 260]
    assert len(rows) == 5

    # Jaccard against sets; families: the two Llamas are one family, Qwen another
    sets = [set(t.question_id) for t in tables]
    jac = np.array(rep["jaccard"]["matrix"])
    for i in range(5):
        for j in range(5):
            assert jac[i, j] == pytest.approx(len(sets[i] & sets[j]) / len(sets[i] | sets[j]))
    assert rep["jaccard"]["families"] == {MODELS[0]: "llama", MODELS[1]: "llama", MODELS[2]: "qwen"}
    assert rep["jaccard"]["intra_family_mean"] == pytest.approx(jac[0, 1])
    assert rep["jaccard"]["inter_family_mean"] == pytest.approx((jac[0, 2] + jac[1, 2]) / 2)

    # the sweep: 0, 0.1, ..., 1 (0.2 is the selection's own and reproduces it); lambda = 1 is the k hardest
    sweep = rep["sweep"]
    assert [p["lamda"] for p in sweep["points"]] == [round(v, 6) for v in np.linspace(0, 1, 11)]
    own = [p for p in sweep["points"] if p.get("is_selection")]
    assert len(own) == 1 and own[0]["lamda"] == 0.2 and own[0]["reproduces_selection"] is True
    pc = pd.read_parquet(layout.difficulty(MODELS[0])).predicted_correctness.to_numpy(np.float64)
    assert sweep["points"][-1]["mean_predicted_correctness"] == pytest.approx(np.sort(pc)[:30].mean())
    assert own[0]["mean_predicted_correctness"] == pytest.approx(rows[rep["selections"][0]["label"]]
                                                                 ["mean_predicted_correctness"], abs=1e-6)

    # the page: every <img> is a non-empty PNG beside it; the same figures in report.md
    page = (out / "index.html").read_text()
    srcs = re.findall(r'<img src="([^"]+)"', page)
    assert sorted(srcs) == sorted(["map.png", "composition_dataset.png", "composition_subject.png",
                                   "lamda_sweep.png", "jaccard.png"])
    for src in srcs:
        w, h = png_size(out / src)
        assert (out / src).stat().st_size > 5000 and w >= 400 and h >= 300, src
        assert f"]({src})" in (out / "report.md").read_text()
    assert "Methods compared" in page and "260 corpus answers (one scoring pass)" in page
    assert (out / "report.config.yaml").is_file()


def test_projection_cached_and_keyed(work):
    layout, dirs = work
    _, first = report(layout, dirs[:1])
    _, again = report(layout, dirs[:1])
    assert again["projection"]["cached"] is True
    cache = sorted(layout.projection_cache("x").parent.glob("tsne-*.npy"))  # the shared work dir may hold a UMAP map
    assert len(cache) == 1
    coords, ids, manifest = load_embeddings(cache[0])
    assert coords.shape == (260, 2) and manifest["method"] == "tsne" and manifest["kind"] == "corpus map"
    # fitting on a sample is another key; every corpus row is still placed
    _, sampled = report(layout, dirs[:1], "--fit_points", "150", "--map_points", "100", "--sweep_points", "0")
    assert sampled["projection"]["cached"] is False and sampled["projection"]["fit_points"] == 150
    assert sampled["map_background_points"] == 100 and sampled["sweep"] is None
    assert len(list(cache[0].parent.glob("tsne-*.npy"))) == 2


def test_one_selection_default_folder_and_ddcf_command(work):
    layout, dirs = work
    assert ddcf(["report", "--workdir", str(layout.root), "--projection", "tsne", "--no_progress",
                     "--sweep_points", "3", dirs[2]]) == 0
    out = layout.report_dir(f"{MODELS[2]}__lamda0.2_k30")
    rep = json.loads((out / "report.json").read_text())
    assert rep["jaccard"] is None and [p["lamda"] for p in rep["sweep"]["points"]] == [0.0, 0.2, 0.5, 1.0]
    assert "jaccard.png" not in (out / "index.html").read_text()


def test_family_rule_and_map(work, tmp_path):
    assert family_of("meta-llama/Meta-Llama-3-8B-Instruct") == "meta"
    assert family_of("gemma-2-9b-it") == "gemma" and family_of("Qwen2-7B-Instruct") == "qwen"
    assert family_of("gpt-4o-2024-05-13") == "gpt" and family_of("claude-3-haiku-20240307") == "claude"
    layout, dirs = work
    fmap = tmp_path / "families.yaml"
    fmap.write_text(f"{MODELS[2]}: llama\n")
    _, rep = report(layout, dirs[:3], "--family_map", str(fmap), "--sweep_points", "0", out=tmp_path / "r1")
    assert rep["jaccard"]["inter_family_mean"] is None and rep["jaccard"]["intra_family_pairs"] == 3
    csv = tmp_path / "families.csv"
    pd.DataFrame({"model": ["Llama-3.2-3B-Instruct"], "family": ["small"]}).to_csv(csv, index=False)
    _, rep = report(layout, dirs[:3], "--family_map", str(csv), "--sweep_points", "0", out=tmp_path / "r2")
    assert rep["jaccard"]["families"][MODELS[1]] == "small" and rep["jaccard"]["intra_family_pairs"] == 0


def test_method_field_missing_or_unknown(work, tmp_path):
    layout, dirs = work
    old = fake_method(layout, dirs[0], "ddcf_missing", np.arange(40, 60), "old")  # report.json without method
    new = fake_method(layout, dirs[0], "brand_new", np.arange(60, 80), "new")
    _, rep = report(layout, [old, new], "--sweep_points", "0", out=tmp_path / "r")
    assert [r["method"] for r in rep["table"]] == ["ddcf", "brand_new"]
    assert [r["annotation_cost_text"] for r in rep["table"]] == ["0", "unknown"]


def test_refuses_selections_of_different_corpora(work, tmp_path):
    layout, dirs = work
    other = fake_method(layout, dirs[0], "random", np.arange(10), "othercorpus")
    table = pd.read_parquet(Path(other) / "selection.parquet")
    write_parquet(table, Path(other) / "selection.parquet", metadata={"model": MODELS[0],
                                                                      "corpus_embeddings_ids_sha256": "ab" * 32})
    with pytest.raises(DDCFError, match="different corpora"):
        report(layout, [dirs[0], other], out=tmp_path / "r")
    with pytest.raises(DDCFError, match="other than the one of the corpus embeddings"):
        report(layout, [other], out=tmp_path / "r")
    # no recorded hash: the ids decide
    foreign = fake_method(layout, dirs[0], "random", np.arange(10), "foreign")
    t = pd.read_parquet(Path(foreign) / "selection.parquet").assign(question_id=[f"seed/{i}" for i in range(10)])
    write_parquet(t, Path(foreign) / "selection.parquet", metadata={"model": MODELS[0]})
    with pytest.raises(DDCFError, match="not in the corpus embeddings"):
        report(layout, [foreign], out=tmp_path / "r")


def test_bad_input(work, tmp_path, capsys):
    layout, dirs = work

    def err():  # the message, unwrapped
        return " ".join(capsys.readouterr().err.split())

    w = ["report", "--workdir", str(layout.root), "--no_progress"]
    assert ddcf(w) == 2 and "No selection folder" in err()
    assert ddcf([*w, str(tmp_path / "nope")]) == 2 and "does not exist" in err()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep")
    assert ddcf([*w, "--output_dir", str(busy), dirs[0]]) == 2
    assert "not part of a report" in err() and (busy / "notes.txt").exists()
    bad = tmp_path / "fam.yaml"
    bad.write_text("- a list\n")
    assert ddcf([*w, "--family_map", str(bad), "--output_dir", str(tmp_path / "x"), dirs[0]]) == 2
    assert "--family_map" in err()
    write_json({"model": MODELS[0]}, tmp_path / "report.json")  # a folder without selection.parquet
    assert ddcf([*w, str(tmp_path)]) == 2 and "selection.parquet" in err()


def test_a_half_written_map_cache_is_rebuilt(work, tmp_path):
    """A kill after the map cache's vectors were written but before its manifest: the next report rebuilds it
    (it used to refuse every rerun, pointing at the corpus embeddings)."""
    from ddcf.io import manifest_path

    layout, dirs = work
    report(layout, dirs[:1], "--fit_points", "120", "--sweep_points", "0")
    cache = [p for p in layout.projection_cache("x").parent.glob("tsne-*.npy")
             if json.loads(manifest_path(p).read_text()).get("fit_points") == 120]
    assert len(cache) == 1
    manifest_path(cache[0]).unlink()
    _, again = report(layout, dirs[:1], "--fit_points", "120", "--sweep_points", "0")
    assert again["projection"]["cached"] is False and manifest_path(cache[0]).is_file()
    _, third = report(layout, dirs[:1], "--fit_points", "120", "--sweep_points", "0")
    assert third["projection"]["cached"] is True
