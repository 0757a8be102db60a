#!/usr/bin/env bash
# Select -> fine-tune -> evaluate one target model, like the reference's train/run.sh.
#
#   bash train/run.sh TARGET LAMDA K [more train/sft.py options]
#   bash train/run.sh Qwen/Qwen2.5-Math-7B 0.2 1000
#
# TARGET is the model name the selection is made for (as in the correctness matrix / stage 5).  Environment:
#   DDCF_WORKDIR        work directory (default: the current directory)
#   SFT_MODEL           model folder or Hub id to fine-tune (default: TARGET); another model than TARGET gets its
#                       own folder, DDCF_data/sft/TARGET/lamda<l>_k<k>__<model> (python -m ddcf.sft.paths)
#   ACCELERATE_CONFIG   accelerate config for the SFT step (default: train/accelerate/zero3_8gpu.yaml with one
#                       process per GPU when more than one GPU is visible, else accelerate's default config when
#                       `accelerate config` was run, else plain python on one device)
#   BENCHMARKS          benchmarks to evaluate (default: all); EVAL_ARGS: more eval/evaluate.py options
#   PYTHON              interpreter (default: .venv/bin/python when present, else python3)
#   EVAL_SCRIPT         evaluation entry point (default: eval/evaluate.py)
#   TEACHER             unannotated mode (the paper's Section 5): the corpus has no responses, so after the
#                       selection `ddcf distill SELECTION_DIR --teacher $TEACHER $DISTILL_ARGS` writes them and SFT
#                       trains on SELECTION_DIR/distilled/dataset (select -> distill -> SFT -> eval)
#   DISTILL_ARGS        more ddcf distill options (e.g. "--verify_responses --thinking on")
# Every path comes from ddcf's Layout (python -m ddcf.sft.paths).  Resumable, and keyed on what made each output:
#   selection  skipped when its report and dataset exist (the folder is named by TARGET, lamda and k)
#   distill    skipped when its report and dataset exist (ddcf distill checks its own run config)
#   SFT        skipped only when the folder's finished run has the same model, options and training data
#              (a SHA-256 of its files); other settings are refused, naming them (python -m ddcf.sft.finished);
#              an interrupted SFT resumes from its newest complete checkpoint
#   eval       skipped only when run_sh_eval.json in EVAL_DIR names the same fine-tune (its sft_report.json),
#              BENCHMARKS and EVAL_ARGS; an evaluation of an earlier fine-tune is deleted and redone, said in the
#              log (python -m ddcf.sft.evalstate); an interrupted evaluation resumes from its last finished shard
set -euo pipefail

if [[ $# -lt 3 ]]; then
  echo "usage: bash train/run.sh TARGET LAMDA K [train/sft.py options]" >&2
  exit 2
fi
TARGET=$1 LAMDA=$2 K=$3
shift 3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x "$HERE/.venv/bin/python" ]]; then PYTHON="$HERE/.venv/bin/python"; else PYTHON=python3; fi
fi
WORKDIR=${DDCF_WORKDIR:-$PWD}
SFT_MODEL=${SFT_MODEL:-$TARGET}
EVAL_SCRIPT=${EVAL_SCRIPT:-$HERE/eval/evaluate.py}

PATHS=$("$PYTHON" -m ddcf.sft.paths --workdir "$WORKDIR" --model_name "$TARGET" --lamda "$LAMDA" --num_select "$K" \
  --sft_model "$SFT_MODEL")
eval "$PATHS"

echo "== 1/3 selection: $SELECTION_DIR"
if [[ -f "$SELECTION_REPORT" && -d "$DATASET_DIR" ]]; then
  echo "   done before: skipped"
else
  "$PYTHON" "$HERE/k_greedy_selection.py" --workdir "$WORKDIR" --model_name "$TARGET" --lamda "$LAMDA" \
    --num_select "$K"
fi

SFT_ARGS=(--workdir "$WORKDIR" --model_name "$SFT_MODEL" --selection_model "$TARGET" --lamda "$LAMDA"
          --num_select "$K" --output_dir "$SFT_DIR")
if [[ -n "${TEACHER:-}" ]]; then
  eval "$("$PYTHON" -m ddcf.distill.paths "$SELECTION_DIR")"
  echo "== 1b/3 distill with $TEACHER: $DISTILLED_DATASET"
  if [[ -f "$DISTILL_REPORT" && -d "$DISTILLED_DATASET" ]]; then
    echo "   done before: skipped"
  else
    # shellcheck disable=SC2086  # DISTILL_ARGS is a list of options on purpose
    "$PYTHON" -m ddcf distill "$SELECTION_DIR" --teacher "$TEACHER" --workdir "$WORKDIR" ${DISTILL_ARGS:-}
  fi
  SFT_ARGS+=(--train_file_path "$DISTILLED_DATASET")
fi
SFT_ARGS+=("$@")

echo "== 2/3 fine-tuning $SFT_MODEL: $SFT_DIR"
# exit 0: a finished run with these settings (skipped, said); 3: not finished; else other settings (refused, said)
SFT_STATE=0
"$PYTHON" -m ddcf.sft.finished "${SFT_ARGS[@]}" || SFT_STATE=$?
if [[ $SFT_STATE -ne 0 && $SFT_STATE -ne 3 ]]; then exit "$SFT_STATE"; fi
if [[ $SFT_STATE -eq 3 ]]; then
  NGPU=0
  if command -v nvidia-smi > /dev/null 2>&1; then NGPU=$(nvidia-smi -L 2> /dev/null | grep -c '^GPU' || true); fi
  if [[ -n "${CUDA_VISIBLE_DEVICES+x}" ]]; then
    NGPU=$(awk -F, '{print ($0 == "" ? 0 : NF)}' <<< "$CUDA_VISIBLE_DEVICES")
  fi
  DEFAULT_ACC="${HF_HOME:-$HOME/.cache/huggingface}/accelerate/default_config.yaml"
  if [[ -n "${ACCELERATE_CONFIG:-}" ]]; then
    LAUNCH=("$PYTHON" -m accelerate.commands.launch --config_file "$ACCELERATE_CONFIG")
  elif [[ "$NGPU" -gt 1 ]]; then
    LAUNCH=("$PYTHON" -m accelerate.commands.launch --config_file "$HERE/train/accelerate/zero3_8gpu.yaml"
            --num_processes "$NGPU")
  elif [[ -f "$DEFAULT_ACC" ]]; then
    LAUNCH=("$PYTHON" -m accelerate.commands.launch)
  else
    LAUNCH=("$PYTHON")
  fi
  echo "   launch: ${LAUNCH[*]} train/sft.py"
  "${LAUNCH[@]}" "$HERE/train/sft.py" "${SFT_ARGS[@]}"
fi

echo "== 3/3 evaluation: $EVAL_DIR"
if [[ ! -f "$EVAL_SCRIPT" ]]; then
  echo "error: $EVAL_SCRIPT is missing; evaluate later with: python eval/evaluate.py --model_name_or_path" \
       "$SFT_DIR --benchmarks ${BENCHMARKS:-all} --output_dir $EVAL_DIR" >&2
  exit 1
fi
# exit 0: this fine-tune was evaluated with these BENCHMARKS/EVAL_ARGS (skipped); 3: evaluate (an evaluation of
# an earlier fine-tune in EVAL_DIR is deleted first, said)
EVAL_STATE=0
"$PYTHON" -m ddcf.sft.evalstate check "$SFT_DIR" "$EVAL_DIR" "${BENCHMARKS:-all}" "${EVAL_ARGS:-}" || EVAL_STATE=$?
if [[ $EVAL_STATE -ne 0 && $EVAL_STATE -ne 3 ]]; then exit "$EVAL_STATE"; fi
if [[ $EVAL_STATE -eq 3 ]]; then
  # shellcheck disable=SC2086  # EVAL_ARGS is a list of options on purpose
  "$PYTHON" "$EVAL_SCRIPT" --model_name_or_path "$SFT_DIR" --benchmarks "${BENCHMARKS:-all}" \
    --output_dir "$EVAL_DIR" ${EVAL_ARGS:-}
  "$PYTHON" -m ddcf.sft.evalstate done "$SFT_DIR" "$EVAL_DIR" "${BENCHMARKS:-all}" "${EVAL_ARGS:-}"
fi

echo
echo "run.sh: $TARGET, lamda $LAMDA, k $K"
echo "  selection:        $SELECTION_DIR (dataset: $DATASET_DIR)"
echo "  fine-tuned model: $SFT_DIR (report: $SFT_REPORT)"
echo "  evaluation:       $EVAL_DIR (results: ${EVAL_RESULTS%.json}.md)"
