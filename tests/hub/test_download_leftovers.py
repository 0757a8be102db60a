"""A download killed with SIGKILL while it writes a table leaves no partial table under the final name (a rerun
cannot take it for complete), and its temporary file is removed by the next download once it is stale (issue 25:
"temporary files of killed downloads stay until the next write of the same file")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd

from ddcf.io import STALE_TEMP_SECONDS
from ddcf.layout import Layout

# The download in a child process, its Parquet writer held after the first row group so the kill lands
# mid-write (as a kill during a real 15,946-row conversion would).
CHILD = textwrap.dedent("""
    import sys, time
    import pyarrow.parquet as pq
    real = pq.ParquetWriter.write_table
    def slow(self, *a, **k):
        real(self, *a, **k)
        print("WRITING", flush=True)
        time.sleep(120)
    pq.ParquetWriter.write_table = slow
    from ddcf.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def _temps(folder):
    return sorted(p for p in folder.iterdir() if p.name.startswith(".") and ".tmp" in p.name)


def test_a_killed_download_leaves_no_partial_table_and_its_temp_is_swept(repos, tmp_path):
    layout = Layout(tmp_path / "work")
    args = ["download", "--workdir", str(layout.root), "--which", "fullcorpus", "--fullcorpus_repo_id",
            str(repos.corpus), "--no_progress"]
    child = subprocess.Popen([sys.executable, "-c", CHILD, *args], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "WRITING"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    folder = layout.corpus_questions.parent
    assert not layout.corpus_questions.exists()  # nothing under the final name
    (temp,) = _temps(folder)
    assert str(child.pid) in temp.name and temp.stat().st_size > 0
    # a download of the seed table only: a fresh temp of a killed writer is kept (it could be a live download on
    # another machine sharing the folder) ...
    other = ["--which", "seed", "--seed_repo_id", str(repos.seed)]
    run = subprocess.run([sys.executable, "-m", "ddcf", *args[:3], *other, "--no_progress"], capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    assert _temps(folder) == [temp]
    # ... and once stale, any download sweeps it, though it writes another table; the warning says so
    old = time.time() - STALE_TEMP_SECONDS - 5
    os.utime(temp, (old, old))
    run = subprocess.run([sys.executable, "-m", "ddcf", *args[:3], *other, "--no_progress"], capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    assert _temps(folder) == [] and "left by a killed earlier download" in run.stdout + run.stderr
    # the rerun of the killed download writes the whole table
    run = subprocess.run([sys.executable, "-m", "ddcf", *args], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert len(pd.read_parquet(layout.corpus_questions)) == len(repos.corpus_pub)
