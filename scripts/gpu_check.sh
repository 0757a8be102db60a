#!/usr/bin/env bash
# GPU checks, for when a CUDA machine is at hand: offline, only locally built tiny models, each check one
# PASS/FAIL/SKIP line, exit status 1 when any failed.  About 2-5 minutes on one GPU.
#
#   bash scripts/gpu_check.sh                 # every check on cuda
#   bash scripts/gpu_check.sh --only sft,select
#   bash scripts/gpu_check.sh --device cpu    # the same code on the CPU (checks this script's logic; slow)
#   bash scripts/gpu_check.sh --dry_run       # list the checks, run nothing
#
# Checks (code: scripts/gpu_check.py): sft (SFT in bf16 on CUDA: loss falls, prompts carry no loss),
# select (ddcf.select.kgreedy_torch on CUDA = the CPU selector's picks), embed (get_question_embeddings.py
# --device cuda with the packaged MiniLM = the CPU embeddings), generate (sglang / vllm, those installed).
# Without a visible CUDA GPU (e.g. CUDA_VISIBLE_DEVICES=) every check is SKIP and the exit status is 0.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-}
if [[ -z "$PYTHON" ]]; then
  if [[ -x "$HERE/.venv/bin/python" ]]; then PYTHON="$HERE/.venv/bin/python"; else PYTHON=python3; fi
fi
CHECKS="sft,select,embed,generate"
DEVICE=cuda
DRY=0
LIMIT=${GPU_CHECK_TIMEOUT:-300}  # seconds per check
while [[ $# -gt 0 ]]; do
  case "$1" in
    --only) CHECKS=$2; shift 2 ;;
    --device) DEVICE=$2; shift 2 ;;
    --dry_run) DRY=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "gpu_check.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
IFS=, read -r -a LIST <<< "$CHECKS"
for c in "${LIST[@]}"; do
  case "$c" in sft|select|embed|generate) ;; *) echo "gpu_check.sh: unknown check '$c'" >&2; exit 2 ;; esac
done

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

SKIP_ALL=""
if [[ $DRY == 1 ]]; then
  SKIP_ALL="dry run"
elif [[ $DEVICE != cpu ]]; then
  if ! "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2> /dev/null; then
    SKIP_ALL="no CUDA GPU visible to torch"
  fi
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ddcf_gpu_check.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
START=$SECONDS
FAILED=0
for c in "${LIST[@]}"; do
  if [[ -n "$SKIP_ALL" ]]; then
    echo "SKIP $c: $SKIP_ALL"
    continue
  fi
  LOG="$TMP/$c.log"
  t0=$SECONDS
  timeout "$LIMIT" "$PYTHON" "$HERE/scripts/gpu_check.py" "$c" --device "$DEVICE" --tmp "$TMP/work" > "$LOG" 2>&1
  rc=$?
  line=$(grep -E '^(PASS|FAIL|SKIP) ' "$LOG" | tail -n 1)
  if [[ $rc -eq 124 ]]; then line="FAIL $c: timed out after ${LIMIT} s"; fi
  if [[ -z "$line" ]]; then line="FAIL $c: exit status $rc, no result line; last output: $(tail -n 3 "$LOG" | tr '\n' ' ')"; fi
  [[ $line == FAIL* ]] && FAILED=$((FAILED + 1))
  echo "$line ($((SECONDS - t0)) s)"
done
echo "gpu_check: ${#LIST[@]} check(s), $FAILED failed, $((SECONDS - START)) s"
[[ $FAILED -eq 0 ]]
