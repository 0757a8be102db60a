"""ds2 and crowd against outputs of the released code (run outside the project; no released code is in ddcf).

DS2 (tests/select/data/ds2_released.json, ds2_released_x.npy) -- UCSC-REAL/DS2 at commit
8b2db1611d6a0345b51d1a5b9088a947bd1df38f: ``score_curation/docta`` (``DetectLabel.detect`` -> HOC ``estimator_hoc``
and SimiFeat-rank ``simi_feat_batch``; ``DetectFeature.rare_score``) with the settings of ``tulu_template.py``
(6 score classes, k = 10, HOC 50 rounds / 1,501 steps / lr 0.1, 51 detection epochs), on the pool concatenated with
itself as ``load_embedding(duplicate=True)`` does, then ``subset_generation.py``'s ``score_curating`` (confidence 0.5)
and ``extract_data`` (60 of 400).  Input: 400 rows of 16-d float32 embeddings around 6 Gaussian centres
(``numpy.random.default_rng(7)``; ``ds2_released_x.npy``), ratings = the centre's class, 30% moved by +-1 or +-2
(clipped to 0..5).  Global seeds: ``np.random.seed(0); torch.manual_seed(0)`` (the released code sets none).  The
harness ran on the CPU, so its one CUDA call was changed: ``.to('cuda').half()`` -> ``.double()`` and the distances'
``.float()`` -> ``.double()`` in ``core/hoc.py`` / ``core/core_utils.py`` (float64 cosine distances instead of
float16); ``subset_generation.py``'s unused imports (datasets, fire, matplotlib, seaborn) were stubbed.  Command:
``python harness_ds2.py 400 60 out.json`` with the project's Python 3.11 and numpy 2.4.6, torch 2.13.0+cpu.

CrowdSelect (tests/select/data/crowd_released.json) -- listentm/CROWDSELECT at commit
9b6b61de257831a7084c477190969589d1e8166a: ``choose_single/difficulty/get_diff_score.py``,
``choose_single/separability/get_sep_score.py``, ``get_stability`` of ``choose_single/stability/get_stability_score.py``
(its hard-coded 6 families of 3, 2, 3, 3, 3, 5 models, listed smallest first) and ``normalize_and_combine_scores`` of
``choose_multi/multi_choose.py`` (weights 1, 1, 1.5); merge-conflict markers in the released files resolved to their
HEAD side.  Input: 19 models x 300 questions of logistic scores (``numpy.random.default_rng(11)``, rounded to 6
decimals, the first 30 questions to 1 decimal so that families have equal scores), model names
``org<f>/Fam<f>-<size>B``.  ``released_picks_uuid_sorted``: ``select_top_uuids`` with 4 fixed clusters (row % 4),
10 each -- the released list is sorted by uuid, not by score (a bug ddcf does not copy).  Packages: numpy 2.4.6,
scipy 1.17.1, scikit-learn 1.9.1, pandas 3.1.1.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from ddcf.artifacts.embeddings import unit_rows
from ddcf.errors import DDCFError
from ddcf.select.methods import crowd, ds2

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def ds2_ref():
    ref = json.loads((DATA / "ds2_released.json").read_text())
    return ref, np.load(DATA / "ds2_released_x.npy", allow_pickle=False), np.array(ref["ratings"])


def test_ds2_matches_the_released_curation_and_picks_given_its_transition_matrix(ds2_ref):
    ref, x, rated = ds2_ref
    out = ds2.curate_scores(unit_rows(x), rated, 6, 10, 0, 0.5, show=False, fitted=(ref["T"], ref["p_clean"]))
    assert np.array_equal(out["long_tail"], ref["long_tail"])
    assert sorted(np.flatnonzero(np.round(out["noise"]) >= 1).tolist()) == ref["noisy"]
    assert np.array_equal(out["curated"], ref["curated"]) and (out["curated"] != rated).sum() == 33
    picks = ds2.order_picks(out["curated"], out["long_tail"], ref["num_select"])
    assert picks.tolist() == ref["picks"]  # the same 60, in the same order


def test_ds2_fits_the_released_transition_matrix_to_the_optimiser_precision(ds2_ref):
    ref, x, rated = ds2_ref
    out = ds2.curate_scores(unit_rows(x), rated, 6, 10, 0, 0.5, show=False)
    assert np.abs(out["T"] - np.array(ref["T"])).max() < 0.02  # Adam on a flat loss: see fit_transition
    assert (out["curated"] == np.array(ref["curated"])).mean() > 0.97  # identical here (numpy 2.4, torch 2.13)
    picks = ds2.order_picks(out["curated"], out["long_tail"], ref["num_select"])
    assert len(set(picks.tolist()) & set(ref["picks"])) >= 57


def test_ds2_neighbours_in_a_sample_of_the_doubled_pool_match_brute_force():
    rng = np.random.default_rng(1)
    u = unit_rows(rng.standard_normal((90, 5)))
    labels = rng.integers(0, 3, 90)
    pool = ds2.DoubledPool(u, labels, 4, show=False)
    pool.nb, pool.dist = pool.nb[:, :3], pool.dist[:, :3]  # too short a list: the exact fallback must answer
    twice = np.concatenate([u, u])
    for size in (170, 40):
        s = rng.choice(180, size, replace=False)
        lab, val = pool.knn(s, 6)
        d = 1.0 - twice[s] @ twice[s].T
        d[np.arange(size), np.arange(size)] = -1.0  # itself first
        order = np.argsort(d, axis=1, kind="stable")[:, :6]
        assert np.array_equal(lab, np.concatenate([labels, labels])[s][order])
        d[np.arange(size), np.arange(size)] = 1.0 - np.einsum("ij,ij->i", twice[s], twice[s])
        assert np.allclose(val, np.take_along_axis(d, order, 1), atol=1e-12)


def test_ds2_recovers_planted_noise():
    rng = np.random.default_rng(0)
    classes, per, d = 3, 150, 16
    true = np.repeat(np.arange(classes), per)
    x = np.eye(d)[:classes][true] * 6 + rng.standard_normal((classes * per, d))
    planted = np.array([[0.8, 0.15, 0.05], [0.1, 0.75, 0.15], [0.05, 0.15, 0.8]])
    rated = np.array([rng.choice(classes, p=planted[t]) for t in true])
    single = ds2.curate_scores(unit_rows(x), rated, classes, 10, 0, 0.5, show=False, twins=False)
    assert np.abs(single["T"] - planted).max() < 0.1
    assert (single["curated"] == true).mean() > (rated == true).mean() + 0.1
    # as released, each row's twin is a neighbour: the consensus looks cleaner, T is pulled towards the identity
    doubled = ds2.curate_scores(unit_rows(x), rated, classes, 10, 0, 0.5, show=False)
    assert (np.diag(doubled["T"]) > np.diag(planted) + 0.1).all()
    assert (doubled["curated"] == true).mean() > (rated == true).mean()


def test_ds2_refuses_continuous_ratings_and_keeps_unused_integer_scores():
    classes, labels = ds2.score_classes(np.array([0.0, 5.0, 3.0]), "r.csv")
    assert classes == [0, 1, 2, 3, 4, 5] and labels.tolist() == [0, 5, 3]
    with pytest.raises(DDCFError, match="distinct values"):
        ds2.score_classes(np.linspace(0, 1, 500), "r.csv")


@pytest.fixture(scope="module")
def crowd_ref():
    return json.loads((DATA / "crowd_released.json").read_text())


def test_crowd_metrics_and_combined_score_match_the_released_code(crowd_ref):
    p = np.array(crowd_ref["scores"])
    fams = crowd.families(crowd_ref["models"], None)
    assert [len(v) for v in fams.values()] == [3, 2, 3, 3, 3, 5]
    m = crowd.metrics(p, crowd.family_stability(p, fams))
    for name in crowd.METRICS:
        assert np.array_equal(m[name], crowd_ref[name]), name  # bit for bit
    assert np.abs(crowd.combine(m, [1, 1, 1.5]) - np.array(crowd_ref["final"])).max() < 1e-12


def test_crowd_picks_each_clusters_best_scores_not_the_released_uuid_order(crowd_ref):
    final = np.array(crowd_ref["final"])
    labels = np.arange(len(final)) % 4
    q = crowd.equal_quotas(np.bincount(labels), 40)
    ours = {f"q{r:03d}" for c in range(4) for r in np.flatnonzero(labels == c)[np.argsort(-final[labels == c])[:q[c]]]}
    released = set(crowd_ref["released_picks_uuid_sorted"])
    assert len(ours) == len(released) == 40
    assert released == {f"q{r:03d}" for c in range(4) for r in np.flatnonzero(labels == c)[-10:]}  # the largest ids
    assert final[[int(u[1:]) for u in ours]].mean() > final[[int(u[1:]) for u in released]].mean()


def test_crowd_families_from_names_and_from_a_table(tmp_path):
    assert crowd.family_of("Qwen/Qwen3-0.6B-Base") == ("qwen/qwen3-*-base", 0.6)
    assert crowd.family_of("google/gemma-2-27b") == ("google/gemma-2-*", 27.0)
    assert crowd.family_of("mistralai/Mistral-Nemo-Base-2407") is None
    models = ["google/gemma-2-9b", "google/gemma-2-2b", "meta-llama/Llama-3.1-8B", "mistralai/Mistral-Nemo-Base-2407"]
    assert crowd.families(models, None) == {"google/gemma-2-*": [(1, 2.0), (0, 9.0)]}
    table = tmp_path / "fam.csv"
    table.write_text("model,family,size\nmeta-llama/Llama-3.1-8B,llama,8\nmistralai/Mistral-Nemo-Base-2407,llama,12\n")
    assert crowd.families(models, str(table)) == {"llama": [(2, 8.0), (3, 12.0)]}


def test_crowd_stability_is_one_when_bigger_models_score_higher():
    p = np.array([[0.1, 0.9, 0.5], [0.5, 0.5, 0.5], [0.9, 0.1, 0.5]])  # sizes 1, 2, 3 (B) of one family
    fams = crowd.families(["o/F-1B", "o/F-2B", "o/F-3B"], None)
    # equal scores: the larger model ranks first, so a tie counts as "bigger is better"
    assert crowd.family_stability(p, fams).tolist() == [1.0, -1.0, 1.0]


def test_crowd_quotas():
    for sizes, k in (([50, 3, 1, 20], 4), ([5, 5, 5], 7), ([100, 1], 30)):
        for fn in (crowd.quotas, crowd.equal_quotas):
            q = fn(np.array(sizes), k)
            assert q.sum() == k and (q <= np.array(sizes)).all()
    assert crowd.equal_quotas(np.array([100, 2, 100]), 30).tolist() == [14, 2, 14]
    assert crowd.equal_quotas(np.array([10, 10, 10]), 10).tolist() == [4, 3, 3]
