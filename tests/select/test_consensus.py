"""--stability consensus (issue 23): inclusion counting, the consensus order, and the stage option."""

import json

import numpy as np
import pytest

from ddcf.errors import DDCFError
from ddcf.select.consensus import (
    capped_prefix,
    consensus_kgreedy,
    consensus_order,
    inclusion_counts,
    perturbed,
)
from ddcf.select.kgreedy.engine import select as kgreedy

MODEL = "org/Target-7B"


def test_inclusion_counts_hand_computed():
    # n=5, k=3; three selections in pick order
    sels = [[0, 1, 2], [1, 3, 0], [1, 2, 4]]
    count, mean_rank = inclusion_counts(sels, 5)
    assert count.tolist() == [2, 3, 2, 1, 1]
    # mean 0-based rank, a selection without the row counting as rank k=3:
    # 0: (0 + 2 + 3)/3; 1: (1 + 0 + 0)/3; 2: (2 + 3 + 1)/3; 3: (3 + 1 + 3)/3; 4: (3 + 3 + 2)/3
    assert mean_rank == pytest.approx([5 / 3, 1 / 3, 2, 7 / 3, 8 / 3])
    # highest count first (1), then count 2 by mean rank: 0 (5/3) before 2 (2)
    assert consensus_order(sels, 5, 3).tolist() == [1, 0, 2]
    # the 4th: rows 3 and 4 both count 1; 3 has the lower mean rank
    assert consensus_order(sels, 5, 4).tolist() == [1, 0, 2, 3]


def test_consensus_ties_go_to_the_lower_row():
    # rows 2 and 5 are each picked once at rank 1: same count, same mean rank -> row 2 first
    sels = [[7, 5], [7, 2]]
    assert consensus_order(sels, 8, 2).tolist() == [7, 2]
    with pytest.raises(ValueError):
        inclusion_counts([[1, 1]], 3)


def test_consensus_order_p_breaks_ties_before_the_index():
    # rows 3 and 4: count 0, mean rank k; the lower p (row 4) first; rows 0 and 1: same count and rank, p decides too
    sels = [[0, 2], [1, 2]]
    assert consensus_order(sels, 5, p=[0.5, 0.4, 0.1, 0.9, 0.2]).tolist() == [2, 1, 0, 4, 3]
    assert consensus_order(sels, 5).tolist() == [2, 0, 1, 3, 4]


def test_capped_prefix_hand_computed():
    # unit vectors: row 1 is row 0's near twin (cos 0.96), row 2 orthogonal, row 3 at cos 0.6 to row 0
    x = np.array([[1, 0, 0], [0.96, 0.28, 0], [0, 0, 1], [0.6, 0.8, 0]], np.float32)
    assert capped_prefix(x, [0, 1, 2, 3], 3, cap=0.9).tolist() == [0, 2, 3]  # the twin skipped
    assert capped_prefix(x, [0, 1, 2, 3], 3, cap=0.5).tolist() == [0, 2]  # too few pass: fewer than k
    assert capped_prefix(x, [0, 1, 2, 3], 3, cap=1.0).tolist() == [0, 1, 2]  # cap 1: the order's prefix
    assert capped_prefix(x, [1, 0, 2, 3], 2, cap=0.9, chunk=1).tolist() == [1, 2]  # across chunks


def test_perturbed_draws():
    p = np.linspace(0.1, 0.9, 9).astype(np.float32).astype(np.float64)  # as the table stores p
    se = np.full(9, 0.05)
    draws = list(perturbed(p, se, 4, 2.0, seed=3))
    assert len(draws) == 4 and np.array_equal(draws[0], p)  # draw 0: the table's own p
    assert all(np.all((d >= 0) & (d <= 1)) for d in draws)
    assert not np.allclose(draws[1], p)
    again = list(perturbed(p, se, 4, 2.0, seed=3))
    assert all(np.array_equal(a, b) for a, b in zip(draws, again))
    z = np.random.default_rng(3).standard_normal(9)  # draw 1 is exactly p + noise * se * z, float32-rounded
    assert np.array_equal(draws[1], np.clip(p + 2.0 * se * z, 0, 1).astype(np.float32).astype(np.float64))
    assert all(np.array_equal(d, p) for d in perturbed(p, np.zeros(9), 3, 2.0, seed=0))  # no spread: p each time


def _problem(n=120, d=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    p = rng.uniform(0, 1, n).astype(np.float32).astype(np.float64)
    se = rng.uniform(0.01, 0.08, n)
    return x, p, se


def test_one_draw_is_plain_kgreedy():
    x, p, se = _problem()
    plain = kgreedy(x, p, 20, 0.3, device="cpu").indices
    r = consensus_kgreedy(x, p, se, 20, 0.3, kgreedy, draws=1, device="cpu")
    assert r.indices.tolist() == plain.tolist()  # same questions, same order
    assert r.stats["shared_with_plain"] == 1.0 and r.stats["picks_in_every_draw"] == 1.0


def test_fixed_seed_same_picks_other_seed_other_picks():
    x, p, se = _problem()
    kw = dict(draws=9, noise=3.0, device="cpu")
    a = consensus_kgreedy(x, p, se, 25, 0.5, kgreedy, seed=1, **kw)
    b = consensus_kgreedy(x, p, se, 25, 0.5, kgreedy, seed=1, **kw)
    c = consensus_kgreedy(x, p, se, 25, 0.5, kgreedy, seed=2, **kw)
    assert np.array_equal(a.indices, b.indices) and np.array_equal(a.count, b.count)
    assert not np.array_equal(a.indices, c.indices)
    # the result is the consensus of the draws' own k-greedy selections, recomputed here independently
    runs = [kgreedy(x, q, 25, 0.5, device="cpu") for q in perturbed(p, se, 9, 3.0, seed=1)]
    sels = [r.indices for r in runs]
    cap = float(np.nanmax(runs[0].max_similarity))
    assert a.cap == cap
    assert a.indices.tolist() == capped_prefix(x, consensus_order(sels, len(p), p=p), 25, cap).tolist()
    assert a.count.tolist() == [sum(int(r in s) for s in sels) for r in a.indices]


# --- the stage option -------------------------------------------------------------------------------------------

def _select(layout, *extra, k=12, lamda=0.3):
    from ddcf.select.cli import main

    return main(["--workdir", str(layout.root), "--model_name", MODEL, "--no_progress", "--num_select", str(k),
                 "--lamda", str(lamda), *extra])


def _with_se(layout, se):
    import pandas as pd

    from ddcf.io import read_parquet_metadata, write_parquet

    path = layout.difficulty(MODEL)
    df = pd.read_parquet(path)
    df["predicted_correctness_se"] = np.asarray(se, np.float32)
    write_parquet(df, path, metadata=read_parquet_metadata(path))


def test_stage_option_own_folder_default_unchanged(layout):
    import pandas as pd
    from helpers_select import write_layout

    _, x, pc = write_layout(layout, n=80)
    with pytest.raises(DDCFError, match="predicted_correctness_se"):  # no members' spread: one clear paragraph
        _select(layout, "--stability", "consensus")
    _with_se(layout, np.full(80, 0.05))
    assert _select(layout) == 0
    plain_dir = layout.selection_dir(MODEL, 0.3, 12)
    plain = pd.read_parquet(layout.selection_table(plain_dir))
    assert plain["question_id"].tolist() == [f"q{i:04d}" for i in kgreedy(x, pc.astype(np.float64), 12, 0.3,
                                                                             device="cpu").indices]
    assert _select(layout, "--stability", "consensus", "--consensus_draws", "5") == 0
    cons_dir = plain_dir.with_name(plain_dir.name + "_consensus5")
    cons = pd.read_parquet(layout.selection_table(cons_dir))
    # the default folder was not replaced
    assert pd.read_parquet(layout.selection_table(plain_dir))["question_id"].tolist() == plain["question_id"].tolist()
    se = np.full(80, np.float32(0.05)).astype(np.float64)
    want = consensus_kgreedy(x, pc.astype(np.float64), se, 12, 0.3, kgreedy, draws=5, device="cpu").indices
    assert cons["question_id"].tolist() == [f"q{i:04d}" for i in want]
    rep = json.loads(layout.selection_report(cons_dir).read_text())
    assert rep["algorithm_stats"]["stability"] == "consensus" and rep["algorithm_stats"]["draws"] == 5
    # the stability block describes the consensus, never the plain rule's re-selection
    st = rep["stability"]
    assert st["rule"] == "consensus" and st["draws"] == 5 and "reselect_overlap" not in st
    assert rep["method_label"] == "DDCF (consensus of 5)"
    assert st["picks_in_every_draw"] == rep["algorithm_stats"]["picks_in_every_draw"]
    plain_rep = json.loads(layout.selection_report(plain_dir).read_text())
    assert "rule" not in plain_rep["stability"] and "reselect_overlap" in plain_rep["stability"]
    # cost column keeps eq. 5's meaning for the final order: lamda p + (1 - lamda) max(0, max sim to earlier picks)
    sim = np.nan_to_num(np.maximum(cons["max_similarity"].to_numpy(), 0), nan=0.0)
    assert np.allclose(cons["cost"], 0.3 * cons["predicted_correctness"].astype(np.float64) + 0.7 * sim, atol=1e-6)
    # one draw: the plain selection, in its own folder
    assert _select(layout, "--stability", "consensus", "--consensus_draws", "1") == 0
    one = pd.read_parquet(layout.selection_table(plain_dir.with_name(plain_dir.name + "_consensus1")))
    assert one["question_id"].tolist() == plain["question_id"].tolist()


def test_benchmark_consensus_rows(tmp_path, capsys):
    """benchmarks/bench_selection_stability.py --consensus M: a consensus row after each k-greedy row, its figures
    recomputable from its picks."""
    import itertools
    import sys
    from pathlib import Path

    import predictor_synth as S

    from ddcf.layout import Layout
    from ddcf.select.stability import overlap

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import bench_selection_stability as B

    work = tmp_path / "work"
    synth = S.build(Layout(work), n_models=4, n_questions=120, corpus_n=60, test_frac=0.2, seed=2)
    out = tmp_path / "out.json"
    assert B.main(["--workdir", str(work), "--target", synth.models[1], "--seeds", "1,2", "--lamdas", "0.5",
                   "--ks", "10", "--set", "ensemble=2", "--set", "max_epochs=5", "--noise", "", "--consensus", "3",
                   "--json", str(out)]) == 0
    assert "consensus3" in capsys.readouterr().out
    rows = json.loads(out.read_text())["archs"]["factor"]["rows"]
    assert [r["rule"] for r in rows] == ["kgreedy", "consensus3"]
    plain, cons = rows
    pairs = [overlap(a, b) for a, b in itertools.combinations(cons["picks"], 2)]
    assert cons["shared_mean"] == sum(p["shared_frac"] for p in pairs) / len(pairs)
    assert cons["with_plain"] == sum(overlap(a, b)["shared_frac"] for a, b in zip(cons["picks"], plain["picks"])) / 2
    assert 0 < cons["max_cos"] <= 1 and 0 <= cons["mean_p"] <= 1
