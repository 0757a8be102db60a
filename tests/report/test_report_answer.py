"""The report answers the user's question (issue 25): one colour per selection on every figure, a readable table
with directions and the best values marked, a verdict in words computed from the numbers, flags for
near-duplicates and for a predictor a baseline beats, no method named in ddcf/report/, progress, and side files
read through the validating reader."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from report_testlib import MODELS, fake_method

from ddcf.cli import main as ddcf
from ddcf.io import file_sha256, load_embeddings, write_json
from ddcf.layout import Layout
from ddcf.report import figures
from ddcf.report.cli import main
from ddcf.report.palette import selection_colours
from ddcf.report.present import comparison_view
from ddcf.report.steps import Steps
from ddcf.report.verdict import verdict_lines


def report(root, dirs, *extra, out):
    assert main(["--workdir", str(root), "--projection", "tsne", "--no_progress", "--output_dir", str(out),
                 *extra, *dirs]) == 0
    return json.loads((out / "report.json").read_text())


class FakeSel:
    def __init__(self, label, rows, k=3, model="m", lamda=None):
        self.label, self.rows, self.k, self.model, self.lamda = label, np.asarray(rows), k, model, lamda
        self.table = pd.DataFrame({"predicted_correctness": [0.5] * len(rows)})


def _captured(monkeypatch):
    figs = []

    def keep(fig, path):
        figs.append(fig)
        return path

    monkeypatch.setattr(figures, "_save", keep)
    return figs


def test_one_colour_per_selection_on_every_figure(monkeypatch, tmp_path):
    sels = [FakeSel("a · DDCF", [0, 1, 2], lamda=0.2), FakeSel("a · random", [3, 4, 5]),
            FakeSel("a · disf", [1, 5, 6])]
    colours = selection_colours([s.label for s in sels])
    assert len(set(colours.values())) == 3 and "#9a9a9a" not in colours.values()
    figs = _captured(monkeypatch)
    values = pd.Series(list("xxyyzzx"))
    figures.composition_figure(tmp_path / "c.png", values, sels, "dataset", colours)
    sweep = {"points": [{"lamda": 0.0, "mean_pairwise_similarity": 0.2, "mean_predicted_correctness": 0.6},
                        {"lamda": 0.2, "mean_pairwise_similarity": 0.3, "mean_predicted_correctness": 0.4,
                         "is_selection": True}], "selection": "a · DDCF", "model": "a", "k": 3, "max_score": 1.0}
    others = pd.DataFrame({"selection": ["a · random", "a · disf"], "mean_pairwise_similarity": [0.1, 0.15],
                           "mean_predicted_correctness": [0.5, 0.55]})
    figures.sweep_figure(tmp_path / "s.png", sweep, others, colours)
    figures.jaccard_figure(tmp_path / "j.png", np.eye(3), [s.label for s in sels], "t", colours)
    coords = np.random.default_rng(0).standard_normal((7, 2))
    figures.map_figure(tmp_path / "m.png", coords, np.arange(7), sels, {}, colours)
    import matplotlib.colors as mc

    hexof = (lambda c: mc.to_hex(c, keep_alpha=False))
    comp, sw, jac, mp = figs
    bars = {c.get_label(): hexof(c.patches[0].get_facecolor()) for c in comp.axes[0].containers}
    assert bars == {"corpus": "#9a9a9a", **colours}
    marks = {}
    for coll in sw.axes[0].collections:  # scatter markers: the selection's star and the others' squares
        marks[coll.get_label().split(" (λ=")[0]] = hexof(coll.get_facecolor()[0])
    assert marks == colours
    assert hexof(sw.axes[0].lines[0].get_color()) == colours["a · DDCF"]  # the sweep line: the swept selection's
    ticks = {t.get_text(): hexof(t.get_color()) for t in jac.axes[0].get_xticklabels()}
    assert ticks == colours
    frames = {ax.get_title().split("\n")[0]: hexof(ax.spines["left"].get_edgecolor()) for ax in mp.axes[:3]}
    assert frames == colours


def test_the_same_colours_are_recorded_for_the_whole_report(full_report):
    _, rep = full_report
    labels = [s["label"] for s in rep["selections"]]
    assert [s["colour"] for s in rep["selections"]] == [selection_colours(labels)[x] for x in labels]


def _table():
    return pd.DataFrame({
        "selection": ["m · DDCF", "m · random", "m · disf"], "model": ["m"] * 3,
        "method_label": ["DDCF", "random", "disf"], "k": [1000] * 3,
        "mean_predicted_correctness": [0.09, 0.48, 0.52], "mean_pairwise_similarity": [0.31, 0.30, 0.305],
        "max_pairwise_similarity": [0.99, 0.97, 0.97], "near_duplicate_pairs": [2, 0, 0],
        "coverage": [0.70, 0.80, 0.75], "subject_entropy_bits": [2.0, 2.5, 2.5],
        "mean_question_words": [60.0, 40.0, 45.0], "mean_response_words": [300.0, 200.0, 250.0],
        "annotation_cost": [0, 0, 0], "annotation_cost_text": ["0", "0", "0"]})


def test_table_readable_arrows_best_marked():
    view = comparison_view(_table(), "subject", 0.98)
    f = view.frame
    assert list(f.columns) == ["Measure", "m · DDCF", "m · random", "m · disf"]
    names = f["Measure"].tolist()
    assert not any("_" in n for n in names)  # readable, not column keys
    row = {n.split(" ↓")[0].split(" ↑")[0]: i for i, n in enumerate(names)}
    assert "↓ (lower = harder for the target)" in names[row["Mean predicted correctness"]]
    assert "↑ (higher = covers more)" in names[row["Coverage of the corpus (mean best cosine)"]]
    assert names[row["Question length (words)"]] == "Question length (words)"  # descriptive: no arrow
    best = view.best
    assert (row["Mean predicted correctness"], 1) in best  # 0.09 is lowest
    assert (row["Mean pairwise cosine"], 2) in best  # 0.30 is lowest
    assert (row["Coverage of the corpus (mean best cosine)"], 2) in best
    ent = row["Subject entropy (bits)"]
    assert {(ent, 2), (ent, 3)} <= best and (ent, 1) not in best  # a tie marks both
    assert not any(r == row["Annotation cost (model answers)"] for r, _ in best)  # all equal: nothing to mark
    assert not any(r == row["Question length (words)"] for r, _ in best)
    from ddcf.report.html import _html_table, _md_table

    page = _html_table(view)
    assert page.count('class="best"') == len(best) and "★" in page
    assert "**0.090** ★" in _md_table(view)


def test_verdict_in_words_from_the_numbers():
    assert verdict_lines(_table()) == [
        "DDCF: hardest on average (0.09 vs 0.48–0.52 predicted correctness for the others) at similar diversity "
        "(mean pairwise cosine 0.31 vs 0.30 for the others). random covers the corpus best (0.80 vs 0.70)."]
    t = _table().iloc[:2].copy()
    t.loc[1, "mean_pairwise_similarity"] = 0.20
    assert verdict_lines(t) == ["DDCF: hardest on average (0.09 vs 0.48 predicted correctness) but less diverse "
                                "(mean pairwise cosine 0.31 vs 0.20). random covers the corpus best (0.80 vs 0.70)."]
    t.loc[0, "mean_predicted_correctness"] = 0.472  # within 0.01: no winner
    assert verdict_lines(t)[0].startswith("DDCF and random: about as hard as each other (0.47 vs 0.48 ")
    one = _table().iloc[:1]
    ref = {"m · DDCF": {"mean_predicted_correctness": 0.5, "mean_pairwise_similarity": 0.32}}
    assert verdict_lines(one, ref) == ["DDCF: harder than a random subset of the same pool (0.09 vs 0.50 predicted "
                                       "correctness) at similar diversity (mean pairwise cosine 0.31 vs 0.32 for "
                                       "random)."]


def test_page_starts_with_the_verdict_computed_from_its_table(full_report):
    out, rep = full_report
    rows = pd.DataFrame(rep["table"])
    assert rep["verdict"] and len(rep["verdict"]) == rows["model"].nunique()
    # the verdict of the first target names its hardest selection with the table's own numbers
    first = rows[rows["model"] == MODELS[0]]
    hardest = first.loc[first["mean_predicted_correctness"].idxmin()]
    line = next(v for v in rep["verdict"] if MODELS[0] in v.split(":")[0])
    assert hardest["selection"] in line and f"{hardest['mean_predicted_correctness']:.2f}" in line
    page = (out / "index.html").read_text()
    assert page.index("<h2>Verdict</h2>") < page.index("<h2>Methods compared</h2>") < page.index("<h2>Corpus map")
    assert 'class="best"' in page and "↓" in page and "↑" in page
    md = (out / "report.md").read_text()
    assert md.index("## Verdict") < md.index("## Methods compared")


def test_near_duplicates_counted_and_flagged(work, tmp_path):
    layout, dirs = work
    rep = report(layout.root, dirs[:2], "--sweep_points", "0", "--duplicate_cosine", "0.6", out=tmp_path / "r")
    x, ids, _ = load_embeddings(layout.corpus_embeddings)
    x = np.asarray(x, np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    index = {q: i for i, q in enumerate(ids)}
    total = 0
    for d, row in zip(dirs[:2], rep["table"]):
        r = [index[q] for q in pd.read_parquet(Path(d) / "selection.parquet").question_id]
        g = x[r] @ x[r].T
        iu = np.triu_indices(len(r), 1)
        hit = g[iu] >= 0.6
        assert row["near_duplicate_pairs"] == int(hit.sum())
        assert row["near_duplicate_questions"] == len(set(iu[0][hit]) | set(iu[1][hit]))
        total += row["near_duplicate_pairs"]
    assert total > 0
    assert sum("near-duplicate pair" in f for f in rep["flags"]) == sum(r["near_duplicate_pairs"] > 0
                                                                        for r in rep["table"])
    assert "<h2>Flags</h2>" in (tmp_path / "r" / "index.html").read_text()
    # the default threshold 0.98: none in these selections, so no flag
    rep = report(layout.root, dirs[:2], "--sweep_points", "0", out=tmp_path / "r2")
    assert rep["flags"] == [] and "<h2>Flags</h2>" not in (tmp_path / "r2" / "index.html").read_text()


def test_flag_for_a_selection_from_a_predictor_a_baseline_beats(work, tmp_path):
    layout, dirs = work
    root = tmp_path / "w"
    shutil.copytree(layout.root, root)
    copy = Layout(root)
    sel_dirs = [str(root / Path(d).relative_to(layout.root)) for d in dirs[:2]]
    weights = copy.predictor_weights
    weights.parent.mkdir(parents=True, exist_ok=True)
    weights.write_bytes(b"weights")
    rep_path = Path(sel_dirs[0]) / "report.json"
    sel_report = json.loads(rep_path.read_text())
    sel_report.setdefault("inputs", {})["difficulty_provenance"] = {"predictor_weights_sha256": file_sha256(weights)}
    write_json(sel_report, rep_path)
    check = {"split": "test", "predictor": "predictor (factor)", "arch": "factor", "mean_model_auc": 0.55,
             "log_loss": 0.70, "matrix": {"models": 12, "questions": 400, "pairs": 4800},
             "beaten_by": [{"baseline": "base rate per model+dataset", "mean_model_auc": 0.60, "log_loss": 0.60}]}
    write_json({"baseline_check": check, "beaten_by": check["beaten_by"]}, copy.predictor_metrics)
    rep = report(root, sel_dirs, "--sweep_points", "0", out=tmp_path / "r")
    flagged = [f for f in rep["flags"] if "made from a predictor that a trivial baseline beats" in f]
    assert len(flagged) == 1 and flagged[0].startswith(rep["selections"][0]["label"])  # the other used no predictor
    assert "base rate per model+dataset" in flagged[0] and "12 models x 400 questions" in flagged[0]
    # other weights in the work dir now: said, not guessed
    weights.write_bytes(b"retrained")
    rep = report(root, sel_dirs, "--sweep_points", "0", out=tmp_path / "r2")
    assert any("other than those in" in f for f in rep["flags"])
    assert not any("made from a predictor that a trivial baseline beats" in f for f in rep["flags"])


def test_report_names_no_method():
    """ddcf/report/ holds no selector's name: labels, captions, costs and the sweep come from the registry or
    the selection's own files."""
    from ddcf.select.methods import METHODS

    src = "\n".join(p.read_text() for p in Path("ddcf/report").glob("*.py"))
    for name in METHODS:
        # (report.json's "random" block is the random subset `ddcf select` measures beside every selection)
        assert not re.search(rf"(?<![\[(])[\"']{re.escape(name)}[\"']", src), name


def test_a_new_selector_needs_no_edit_in_the_report(work, tmp_path, monkeypatch):
    from ddcf.select import methods

    layout, dirs = work
    toy = methods.Method("ddcf.select.methods.random_sample", "toy inputs", "yes", label="TOY",
                         caption="a toy selector of the test", annotation_cost="corpus_pass")
    monkeypatch.setitem(methods.METHODS, "toy", toy)
    toy_dir = fake_method(layout, dirs[0], "toy", np.arange(100, 130), "toy")
    rep = report(layout.root, [dirs[0], toy_dir], "--sweep_points", "3", out=tmp_path / "r")
    labels = [s["label"] for s in rep["selections"]]
    assert labels == [f"{MODELS[0]} · DDCF", f"{MODELS[0]} · TOY"]
    assert rep["table"][1]["annotation_cost"] == 260 and rep["table"][1]["lamda"] is None
    assert rep["sweep"]["selection"] == labels[0]  # the sweep goes to the method whose entry has the trade-off
    page = (tmp_path / "r" / "index.html").read_text()
    assert "a toy selector of the test" in page and "TOY" in page


def test_progress_lines_and_heartbeat(work, tmp_path, capsys):
    steps = Steps(total=2, enabled=True, heartbeat_s=0.05)
    import time

    with steps.step("slow step"):
        time.sleep(0.4)
    with steps.step("fast step"):
        pass
    steps.close()
    err = capsys.readouterr().err
    assert err.count("slow step (") >= 3  # heartbeats inside one long call
    assert "fast step" in err and "2/2" in err
    layout, dirs = work
    assert main(["--workdir", str(layout.root), "--projection", "tsne", "--output_dir", str(tmp_path / "r"),
                 "--sweep_points", "2", *dirs[:2]]) == 0
    err = capsys.readouterr().err
    for what in ("reading 2 selection(s)", "corpus map", "comparison table", "lambda sweep: k-greedy at lambda=0.2",
                 "figure map.png", "figure jaccard.png", "pages"):
        assert what in err, what


def test_side_files_go_through_the_validating_reader(work, tmp_path, capsys):
    layout, dirs = work
    bad = fake_method(layout, dirs[0], "random", np.arange(5), "badjson")
    (Path(bad) / "report.json").write_text("[1, 2]")
    assert ddcf(["report", "--workdir", str(layout.root), "--no_progress", "--output_dir", str(tmp_path / "r"),
                 bad]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "selection report" in err and "report.json" in err and "a list" in err and "Traceback" not in err
    (Path(bad) / "report.json").write_bytes(b'{"model": "\xff"}')
    assert ddcf(["report", "--workdir", str(layout.root), "--no_progress", "--output_dir", str(tmp_path / "r"),
                 bad]) == 2
    assert "not UTF-8" in " ".join(capsys.readouterr().err.split())


def test_jaccard_figure_fits_long_selection_labels(tmp_path):
    """Two selections of one method differ only by folder, so their labels are long; the figure wraps them and
    grows instead of matplotlib warning that the tight layout cannot be applied."""
    import warnings

    import numpy as np

    from ddcf.report.figures import jaccard_figure

    labels = ["Meta-Llama-3-8B-Instruct · DDCF · k=1000 λ=0.2 · lamda0.2_k1000",
              "Meta-Llama-3-8B-Instruct · DDCF · k=1000 λ=0.2 · lamda0.2_k1000_consensus32"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = jaccard_figure(tmp_path / "j.png", np.array([[1.0, 0.7], [0.7, 1.0]]), labels, "Jaccard",
                             {labels[0]: "#1f77b4", labels[1]: "#ff7f0e"})
    assert out.is_file() and out.stat().st_size > 0


def test_family_text_names_only_the_averages_that_exist():
    """A one-target report has no pairs of one method across targets: the Jaccard figure's title then says
    nothing about families instead of 'no pairs' twice."""
    from ddcf.report.overlap import family_text

    none = {"intra_family_mean": None, "intra_family_pairs": 0, "inter_family_mean": None, "inter_family_pairs": 0}
    assert family_text(none) == ""
    one = {**none, "inter_family_mean": 0.25, "inter_family_pairs": 2}
    assert family_text(one) == "inter-family mean 0.250 over 2 pair(s)"
    both = {**one, "intra_family_mean": 0.5, "intra_family_pairs": 1}
    assert family_text(both) == "intra-family mean 0.500 over 1 pair(s); inter-family mean 0.250 over 2 pair(s)"
