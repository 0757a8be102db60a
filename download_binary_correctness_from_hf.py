#!/usr/bin/env python
"""Stage 0': the paper's published binary correctness (one verdict per model and seed question).

    python download_ddcf_math_from_hf.py --which seed                 # first: the seed questions
    python download_binary_correctness_from_hf.py                     # iNLP-Lab/DDCF-binary-correctness-math
    python download_binary_correctness_from_hf.py --models Qwen/Qwen2.5-7B,meta-llama/Llama-3.1-8B

The options are in ddcf/download_correctness/config.py; the stage itself is ddcf/download_correctness/stage.py.
"""

from ddcf.cli import run_main
from ddcf.download_correctness.cli import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
