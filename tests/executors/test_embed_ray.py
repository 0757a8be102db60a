"""get_question_embeddings.py --executor ray: the packaged MiniLM on a real local Ray instance writes the
same bytes as the local path, and a worker killed mid-run costs only its shard."""

import shutil

import pandas as pd
import pytest
from conftest import require_ray

from ddcf.embed.models import resolve_model
from ddcf.embed.stage import embed_tables
from ddcf.errors import DDCFError
from ddcf.executors import get_executor
from ddcf.io import write_parquet
from ddcf.layout import Layout

pytestmark = require_ray
OPTS = dict(shard_size=8, batch_size=4, shard_seconds=1e9, progress=False)  # 4 shards of 2 batches


def _work(root):
    layout = Layout(root)
    words = ["triangle", "integer", "probability", "sequence", "polynomial", "circle"]
    seed = [f"What is the {w} number {i}?" for i, w in enumerate(words)]
    # lengths differ a lot so the token order matters; two corpus texts repeat seed texts
    corpus = seed[:2] + [f"Find the {w} " + "and its neighbour " * (i % 4) + f"when x = {i}." for i, w in
                         enumerate(words * 4)]
    write_parquet(pd.DataFrame({"question_id": [f"s{i}" for i in range(len(seed))], "question": seed}),
                  layout.seed_questions)
    write_parquet(pd.DataFrame({"question_id": [f"c{i}" for i in range(len(corpus))], "question": corpus}),
                  layout.corpus_questions)
    return layout


def _outputs(layout):
    return {p.name: p.read_bytes() for p in (layout.seed_embeddings, layout.corpus_embeddings)}


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    layout = _work(tmp_path_factory.mktemp("local") / "work")
    res = embed_tables(layout, spec=resolve_model("auto", "cpu"), **OPTS)
    assert res[0].stats.n_embedded == 30
    return layout


def test_ray_embeddings_are_byte_identical(tmp_path, local_run, ray_instance):
    layout = _work(tmp_path / "work")
    res = embed_tables(layout, spec=resolve_model("auto", "cpu"), executor=get_executor("ray"), **OPTS)
    assert _outputs(layout) == _outputs(local_run)
    lines = res[0].stats.executor_lines
    assert lines[0].startswith("executor ray: 4 of 4 shard(s) computed now") and "node " in lines[1]


def test_killed_worker_then_rerun_identical_and_no_shard_twice(tmp_path, local_run, ray_instance, monkeypatch):
    from jobs_for_tests import DyingEmbedJob, writes

    import ddcf.embed.sharded as emb

    layout = _work(tmp_path / "work")
    log = tmp_path / "writes.log"
    monkeypatch.setattr(emb, "EmbedJob", lambda *a, **k: DyingEmbedJob(*a, **k, die_on=2, log=str(log)))
    with pytest.raises(DDCFError, match=r"Shard \d of embedding was lost with its Ray worker"):
        embed_tables(layout, spec=resolve_model("auto", "cpu"), executor=get_executor("ray", max_retries=0), **OPTS)
    first = writes(log)  # the shards that finished before the failure (how many: a matter of timing) are kept
    assert len(first) < 4
    res = embed_tables(layout, spec=resolve_model("auto", "cpu"), executor=get_executor("ray"), **OPTS)
    st = res[0].stats
    assert st.n_cache_hits + st.n_embedded == 30 and 6 <= st.n_embedded < 30  # only the unfinished shards
    assert len(writes(log)) == 4 and len(set(writes(log))) == 4  # each shard written exactly once
    assert _outputs(layout) == _outputs(local_run)


def test_local_run_resumes_a_ray_run(tmp_path, local_run, ray_instance, monkeypatch):
    from jobs_for_tests import DyingEmbedJob

    import ddcf.embed.sharded as emb

    layout = _work(tmp_path / "work")
    monkeypatch.setattr(emb, "EmbedJob", lambda *a, **k: DyingEmbedJob(*a, **k, die_on=0, log=str(tmp_path / "w.log")))
    with pytest.raises(DDCFError):
        embed_tables(layout, spec=resolve_model("auto", "cpu"), executor=get_executor("ray", max_retries=0), **OPTS)
    res = embed_tables(layout, spec=resolve_model("auto", "cpu"), **OPTS)  # the local path finishes it
    st = res[0].stats  # shard 0 at least (how many others the Ray run finished first: a matter of timing)
    assert st.n_cache_hits + st.n_embedded == 30 and 8 <= st.n_embedded < 30
    assert _outputs(layout) == _outputs(local_run)
    shutil.rmtree(layout.root)
