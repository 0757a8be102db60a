#!/usr/bin/env python
"""Derive the bundled demo data (data/bundled/) from the shared real-data folder.

    python scripts/build_bundled_data.py --shared_data ../shared/data
    python scripts/build_bundled_data.py --embedding_cache_from demo_run   # after stage 3 ran with --no_embedding_cache
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ddcf.bundled.files import BUNDLED_DIR, build_bundled_data, export_corpus_embedding_cache
from ddcf.cli import run_main


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shared_data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"),
                   help="folder with seed_outputs/ and corpus/ (default: ../shared/data)")
    p.add_argument("--out_dir", default=str(BUNDLED_DIR), help="where to write the bundled tables")
    p.add_argument("--embedding_cache_from", default=None,
                   help="work directory of a finished run (stage 3 done on the bundled corpus with the packaged "
                   "MiniLM); its corpus vectors become data/bundled/embedding_cache/ (float16)")
    args = p.parse_args(argv)
    if args.embedding_cache_from:
        print(f"embedding cache    {export_corpus_embedding_cache(Path(args.embedding_cache_from))}")
        return 0
    paths = build_bundled_data(Path(args.shared_data), Path(args.out_dir))
    for name, path in paths.items():
        print(f"{name:18s} {path}  ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main(main))
