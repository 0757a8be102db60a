"""ddcf distill --executor ray: the dummy teacher on Ray workers (verification rounds in the worker) writes the
local path's shards and SFT dataset; a Ray run and a local run resume each other."""

import sys
from pathlib import Path

import pandas as pd
from conftest import require_ray

HERE = Path(__file__).resolve().parent
for sub in ("select", "distill"):
    sys.path.insert(0, str(HERE.parent / sub))
from distill_testlib import MODEL, K, N, right  # noqa: E402
from helpers_select import write_layout  # noqa: E402

from ddcf.cli import run_main  # noqa: E402
from ddcf.distill.cli import main as distill_main  # noqa: E402
from ddcf.io import write_parquet  # noqa: E402
from ddcf.layout import Layout  # noqa: E402
from ddcf.runs.folder import read_shards  # noqa: E402
from ddcf.select.cli import main as select_main  # noqa: E402

pytestmark = require_ray
# sampled, verified against the golds, re-sampled up to 3 rounds: the rounds run inside the shard's worker
OPTS = ("--temperature", "0.7", "--verify_responses", "--max_attempts", "3", "--workers", "1", "--shard_size", "3")


def _selection(root: Path):
    """A selection of K questions from an unannotated corpus with golds (as tests/distill's fixture)."""
    layout = Layout(root)
    corpus, _, _ = write_layout(layout, n=N, model=MODEL)
    corpus = corpus.drop(columns="response")
    corpus["question"] = [f"Question {i}: what is the value of {i}?" for i in range(N)]
    corpus["answer"] = [str(i) if right(i) else str(i + 1000) for i in range(N)]
    corpus["dataset"] = "math"
    write_parquet(corpus, layout.corpus_questions)
    assert select_main(["--workdir", str(layout.root), "--model_name", MODEL, "--no_progress", "--num_select",
                        str(K)]) == 0
    return layout, layout.selection_dir(MODEL, 0.2, K)


def _distill(layout, sel, *extra) -> int:
    return run_main(distill_main, [str(sel), "--teacher", "dummy-teacher", "--backend", "dummy", "--workdir",
                                   str(layout.root), "--no_progress", "--max_new_tokens", "400", *OPTS, *extra])


def _outputs(layout, sel):
    from datasets import load_from_disk

    shards = read_shards(layout.distill_shards(sel), -(-K // 3))
    return shards, load_from_disk(str(layout.distill_dataset(sel))).to_pandas()


def test_ray_distillation_matches_the_local_path_and_resumes(tmp_path, ray_instance, capsys):
    local, sel_local = _selection(tmp_path / "local")
    assert _distill(local, sel_local) == 0
    remote, sel = _selection(tmp_path / "ray")
    capsys.readouterr()
    assert _distill(remote, sel, "--executor", "ray") == 0
    out = capsys.readouterr().out
    assert "executor ray: 4 of 4 shard(s) computed now" in out
    want, got = _outputs(local, sel_local), _outputs(remote, sel)
    pd.testing.assert_frame_equal(want[0], got[0])
    pd.testing.assert_frame_equal(want[1], got[1])
    assert got[0]["verified"].all() and got[0]["accepted"].any() and (got[0]["attempts"] == 3).any()

    # a local run resumes a Ray run that lost two shards, and computes only those
    for i in (1, 3):
        remote.distill_shards(sel).joinpath(f"shard-{i:05d}.parquet").unlink()
    assert _distill(remote, sel) == 0
    assert "shards: 2 generated now, 2 finished before" in capsys.readouterr().out
    pd.testing.assert_frame_equal(want[0], _outputs(remote, sel)[0])
