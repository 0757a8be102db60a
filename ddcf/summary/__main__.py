"""``python -m ddcf.summary --workdir DIR --model_name M``: the one-screen summary of a run."""

from ddcf.cli import run_main
from ddcf.summary.cli import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
