#!/usr/bin/env python
"""Stage 0: the paper's published seed questions and full corpus from the Hugging Face Hub.

    python download_ddcf_math_from_hf.py --which both                 # iNLP-Lab/DDCF-seed-math + -fullcorpus-math
    python download_ddcf_math_from_hf.py --which seed --seed_repo_id ./my_copy_of_the_repo
    HF_HUB_OFFLINE=1 python download_ddcf_math_from_hf.py             # from the local Hub cache

The options are in ddcf/download/config.py; the stage itself is ddcf/download/stage.py.
"""

from ddcf.cli import run_main
from ddcf.download.cli import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
