#!/usr/bin/env bash
# GPU checks, for when a CUDA machine is at hand: offline, only locally built tiny models or random data, each check
# one PASS/FAIL/SKIP line with its figure, exit status 1 when any failed.  About 4-6 minutes on one H100
# (goal: <= 8), most of it the paper-scale data; see scripts/gpu_check.md for a bare image (the wheelhouse).
#
#   bash scripts/gpu_check.sh                 # every check on cuda, paper scale
#   bash scripts/gpu_check.sh --only sft,select
#   bash scripts/gpu_check.sh --device cpu --scale tiny   # the same code on the CPU (checks this script's logic)
#   bash scripts/gpu_check.sh --dry_run       # list the checks, run nothing
#
# Checks (code and what each proves: scripts/gpu_check.py): sft, select, embed, generate, hfgen, select_paper,
# predictor, difficulty.  Without a visible CUDA GPU (e.g. CUDA_VISIBLE_DEVICES=) every check is SKIP and the exit
# status is 0.  A ./wheelhouse folder (scripts/gpu_check.md) is installed first with --no-index --no-deps into a
# temporary folder put first on PYTHONPATH, so the image's own packages stay untouched.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-}
if [[ -z "$PYTHON" ]]; then
  if [[ -x "$HERE/.venv/bin/python" ]]; then PYTHON="$HERE/.venv/bin/python"; else PYTHON=python3; fi
fi
ALL="sft,select,embed,generate,hfgen,select_paper,predictor,difficulty"
CHECKS=$ALL
SCALE=paper
DEVICE=cuda
DRY=0
LIMIT=${GPU_CHECK_TIMEOUT:-300}  # seconds per check
while [[ $# -gt 0 ]]; do
  case "$1" in
    --only) CHECKS=$2; shift 2 ;;
    --device) DEVICE=$2; shift 2 ;;
    --scale) SCALE=$2; shift 2 ;;
    --dry_run) DRY=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "gpu_check.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
IFS=, read -r -a LIST <<< "$CHECKS"
for c in "${LIST[@]}"; do
  case ",$ALL," in *",$c,"*) ;; *) echo "gpu_check.sh: unknown check '$c'" >&2; exit 2 ;; esac
done

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ddcf_gpu_check.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# ddcf from this working tree (a bare image has it not installed), then the carried wheels, first on the path.
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
WHEELHOUSE=${WHEELHOUSE:-$HERE/wheelhouse}
if [[ $DRY == 0 && -d "$WHEELHOUSE" ]] && compgen -G "$WHEELHOUSE/*.whl" > /dev/null; then
  if "$PYTHON" -m pip install --quiet --no-index --no-deps --target "$TMP/site" "$WHEELHOUSE"/*.whl; then
    export PYTHONPATH="$TMP/site:$PYTHONPATH"
    echo "wheelhouse: $(ls "$WHEELHOUSE"/*.whl | wc -l) wheel(s) from $WHEELHOUSE installed into a temporary folder"
  else
    echo "wheelhouse: pip could not install $WHEELHOUSE; the checks that need its packages will SKIP"
  fi
fi

SKIP_ALL=""
if [[ $DRY == 1 ]]; then
  SKIP_ALL="dry run"
elif [[ $DEVICE != cpu ]]; then
  if ! "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2> /dev/null; then
    SKIP_ALL="no CUDA GPU visible to torch"
  fi
fi

START=$SECONDS
FAILED=0
for c in "${LIST[@]}"; do
  if [[ -n "$SKIP_ALL" ]]; then
    echo "SKIP $c: $SKIP_ALL"
    continue
  fi
  LOG="$TMP/$c.log"
  t0=$SECONDS
  timeout "$LIMIT" "$PYTHON" "$HERE/scripts/gpu_check.py" "$c" --device "$DEVICE" --scale "$SCALE" --tmp "$TMP/work" > "$LOG" 2>&1
  rc=$?
  line=$(grep -E '^(PASS|FAIL|SKIP) ' "$LOG" | tail -n 1)
  if [[ $rc -eq 124 ]]; then line="FAIL $c: timed out after ${LIMIT} s"; fi
  if [[ -z "$line" ]]; then line="FAIL $c: exit status $rc, no result line; last output: $(tail -n 3 "$LOG" | tr '\n' ' ')"; fi
  [[ $line == FAIL* ]] && FAILED=$((FAILED + 1))
  echo "$line ($((SECONDS - t0)) s)"
done
if [[ $DRY == 0 ]]; then  # what the figures above ran on
  "$PYTHON" - <<'PY' 2> /dev/null || echo "versions: python could not import torch"
import importlib.metadata as md, platform, torch
names = ("transformers", "trl", "datasets", "accelerate", "peft", "sentence-transformers", "vllm", "sglang")
def v(n):
    try:
        return md.version(n)
    except md.PackageNotFoundError:
        return "-"
gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA GPU"
print(f"versions: python {platform.python_version()}, torch {torch.__version__} ({gpu}), "
      + ", ".join(f"{n} {v(n)}" for n in names))
PY
fi
echo "gpu_check: ${#LIST[@]} check(s), $FAILED failed, $((SECONDS - START)) s"
[[ $FAILED -eq 0 ]]
