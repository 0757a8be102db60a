"""Stage 6: k-greedy difficulty/diversity selection of fine-tuning questions (paper eq. 5).

    python k_greedy_selection.py --model_name Qwen/Qwen2.5-Math-7B --lamda 0.2 --num_select 1000

Reads factorized_data/<model>.parquet, DDCF_data/embeddings/corpus.npy and
DDCF_data/corpus/questions.parquet; writes DDCF_data/selection/<model>/lamda<l>_k<k>/
(with select.config.yaml: rerun with --config that file).  Same as ``ddcf select``;
the code is ddcf/select/ (options: ddcf/select/config.py).
"""

from __future__ import annotations

from ddcf.cli import run_main
from ddcf.select.cli import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
