"""fullcorpus_difficulty_estimation.py --executor ray: the corpus scored in shards on a real local Ray instance
writes the same bytes as the local path (P(correct), the members' spread, the factorized embeddings), and a
worker killed mid-run costs only its shard."""

import predictor_synth as S
import pytest
from conftest import require_ray

from ddcf.difficulty import stage as difficulty_stage
from ddcf.difficulty.config import DifficultyConfig
from ddcf.difficulty.sharded import SHARDS_DIR
from ddcf.errors import DDCFError
from ddcf.layout import Layout
from ddcf.predictor import stage as predictor_stage
from ddcf.predictor.config import PredictorConfig

pytestmark = require_ray


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    layout = Layout(tmp_path_factory.mktemp("diffray") / "work")
    S.build(layout, n_models=3, n_questions=60, corpus_n=70)
    predictor_stage.run(layout, PredictorConfig(ensemble=2, max_epochs=5, baselines=[], threads=1, device="cpu",
                                                no_progress=True, no_plot=True))
    return layout


def _run(layout, **kw):
    # 70 corpus rows in chunks of 20: 4 shards, the last one short
    cfg = DifficultyConfig(all_models=True, chunk_size=20, device="cpu", no_plot=True, no_progress=True,
                           save_factorized_embeddings=True, **kw)
    return difficulty_stage.run(layout, cfg)


def _outputs(layout):
    return {p.name: p.read_bytes() for p in sorted(layout.factorized.glob("*.parquet"))
            + [layout.factorized_embeddings]}


def test_ray_scores_are_byte_identical_and_resume_after_a_killed_worker(work, ray_instance, monkeypatch, tmp_path):
    from jobs_for_tests import DyingDifficultyJob, writes

    import ddcf.difficulty.sharded as dj

    _run(work)
    local = _outputs(work)
    assert len(local) == 5  # 3 models, the factorized embeddings and their id list
    for p in work.factorized.glob("*.parquet"):
        p.unlink()

    rep = _run(work, executor="ray")
    assert _outputs(work) == local
    assert "executor ray: 4 of 4 shard(s) computed now" in rep.summary
    assert not any((work.factorized / SHARDS_DIR).iterdir())  # assembled shards are removed

    log = tmp_path / "writes.log"
    monkeypatch.setattr(dj, "DifficultyJob", lambda *a, **k: DyingDifficultyJob(*a, **k, die_on=1, log=str(log)))
    monkeypatch.setattr("ddcf.executors.ray.MAX_RETRIES", 0)
    with pytest.raises(DDCFError, match="Shard 1 of scoring was lost with its Ray worker"):
        _run(work, executor="ray")
    assert "1" not in writes(log)
    rep = _run(work, executor="ray")  # the rerun: the lost shard, and the ones never started, only
    assert sorted(writes(log)) == ["0", "1", "2", "3"]  # no shard written twice
    assert _outputs(work) == local
