"""Stage 7: fine-tune the target model on its selection with TRL's SFTTrainer.

    python train/sft.py --model_name Qwen/Qwen2.5-Math-7B --lamda 0.2 --num_select 1000
    accelerate launch --config_file train/accelerate/zero3_8gpu.yaml train/sft.py --model_name ...

Reads the selection's dataset/ (or --train_file_path); writes DDCF_data/sft/<model>/lamda<l>_k<k>/ (or
--output_dir) with sft.config.yaml (rerun with --config that file).  Same as ``ddcf sft``; the code is
ddcf/sft/ (options: ddcf/sft/config.py).  train/run.sh runs select -> SFT -> eval for one target.
"""

from __future__ import annotations

from ddcf.cli import run_main
from ddcf.sft.cli import main

if __name__ == "__main__":
    raise SystemExit(run_main(main))
