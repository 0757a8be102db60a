#!/usr/bin/env bash
# Stage 1 for every collaborative model: generate + verify answers to the seed questions.
#
#   bash run_infer_all_models.sh [--model_order CSV] [--log_dir DIR] [infer.py options ...]
#
# Runs `python infer.py --model_name M <options>` once per model listed in the `model` column of
# DDCF_data/model_order.csv (in file order), each in its own process with its own log file.
# Models that are already complete are skipped by infer.py; a model that fails does not stop the
# others: failures are listed with their error at the end and the exit status is 1.
# Ctrl-C stops the whole run; rerunning resumes (finished models are skipped, a half-done model
# resumes from its last finished shard).
#
# Every option this script does not know is passed through to infer.py, e.g.
#   bash run_infer_all_models.sh --backend vllm --tensor_parallel_size 2 --workdir /data/ddcf
#
# Environment: PYTHON (interpreter, default: python), MODEL_ORDER, LOG_DIR, INFER_SCRIPT.
set -u
set -o pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python_bin="${PYTHON:-python}"
model_order="${MODEL_ORDER:-$here/DDCF_data/model_order.csv}"
log_dir="${LOG_DIR:-}"
infer_script="${INFER_SCRIPT:-$here/infer.py}"
workdir="${DDCF_WORKDIR:-.}"
passthrough=()

usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "run_infer_all_models.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --model_order) [ $# -ge 2 ] || die "--model_order needs a path"; model_order="$2"; shift 2 ;;
    --model_order=*) model_order="${1#*=}"; shift ;;
    --log_dir) [ $# -ge 2 ] || die "--log_dir needs a path"; log_dir="$2"; shift 2 ;;
    --log_dir=*) log_dir="${1#*=}"; shift ;;
    --workdir) [ $# -ge 2 ] || die "--workdir needs a path"; workdir="$2"; passthrough+=("$1" "$2"); shift 2 ;;
    --workdir=*) workdir="${1#*=}"; passthrough+=("$1"); shift ;;
    --model_name|--model_name=*) die "--model_name is set per model from the model list; remove it" ;;
    -h|--help) usage; exit 0 ;;
    *) passthrough+=("$1"); shift ;;
  esac
done

command -v "$python_bin" >/dev/null 2>&1 || die "no Python interpreter '$python_bin' (set PYTHON=/path/to/python)"
[ -f "$infer_script" ] || die "cannot find $infer_script (set INFER_SCRIPT or run from the repository)"
[ -f "$model_order" ] || die "the model list $model_order does not exist (pass --model_order CSV)"
[ -n "$log_dir" ] || log_dir="$workdir/DDCF_data/logs/infer"
mkdir -p "$log_dir" || die "cannot create the log folder $log_dir"

# Read the `model` column with Python's csv module (quoted names, any column order).  A name holding a control
# character (a newline would make one name two models) is refused; each model's log is named by ddcf's injective
# file naming (ddcf.names.safe_name, as its verdict table is), so no two models share a log.
models_txt="$("$python_bin" - "$model_order" "$here" <<'PY'
import csv, sys
path = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from ddcf.names import safe_name

with open(path, newline="", encoding="utf-8") as fh:
    rows = list(csv.DictReader(fh))
if not rows or "model" not in rows[0]:
    sys.exit(f"{path} needs a header with a 'model' column (model_id,model) and at least one row")
seen = set()
for i, r in enumerate(rows, start=1):
    m = (r.get("model") or "").strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in m):
        sys.exit(f"{path} data row {i}: the model name {m!r} holds a control character (a newline or tab); "
                 "fix the name in the model list")
    if m and m not in seen:
        seen.add(m)
        print(f"{safe_name(m)}\t{m}")
PY
)" || die "could not read the model list $model_order"
models=(); safes=()
while IFS=$'\t' read -r safe line; do
  [ -n "$line" ] && { models+=("$line"); safes+=("$safe"); }
done <<< "$models_txt"
[ "${#models[@]}" -gt 0 ] || die "no models in $model_order"

n="${#models[@]}"
echo "run_infer_all_models: $n model(s) from $model_order; logs in $log_dir"
ok=(); skipped=(); failed=(); failed_logs=()
i=0
t_all=$(date +%s)
for model in "${models[@]}"; do
  safe="${safes[$i]}"
  i=$((i + 1))
  log="$log_dir/$safe.log"
  printf '[%d/%d] %s ... ' "$i" "$n" "$model"
  t0=$(date +%s)
  {
    echo "# $(date '+%Y-%m-%d %H:%M:%S') $python_bin $infer_script --model_name $model ${passthrough[*]+${passthrough[*]}}"
  } >"$log"
  if "$python_bin" "$infer_script" --model_name "$model" ${passthrough[@]+"${passthrough[@]}"} >>"$log" 2>&1; then
    rc=0
  else
    rc=$?
  fi
  dt=$(( $(date +%s) - t0 ))
  if [ "$rc" -eq 130 ] || [ "$rc" -eq 143 ]; then
    echo "interrupted (exit $rc)"
    echo "run_infer_all_models: stopped at $model; rerun the same command to resume." >&2
    exit "$rc"
  elif [ "$rc" -eq 0 ]; then
    if grep -q -e "already complete" -e "; skipping" "$log"; then
      echo "skipped (already complete)"
      skipped+=("$model")
    else
      echo "ok (${dt}s)"
      ok+=("$model")
    fi
  else
    echo "FAILED (exit $rc, ${dt}s; log: $log)"
    failed+=("$model")
    failed_logs+=("$log")
  fi
done

echo
echo "run_infer_all_models: ${#ok[@]} done, ${#skipped[@]} skipped, ${#failed[@]} failed of $n in $(( $(date +%s) - t_all ))s"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "failed models:" >&2
  for k in "${!failed[@]}"; do
    echo "  - ${failed[$k]} (log: ${failed_logs[$k]})" >&2
    # The one-paragraph DDCFError if there is one, else the end of the log (a traceback).
    err="$(grep -A 6 '^error (' "${failed_logs[$k]}" | head -n 8)"
    [ -n "$err" ] || err="$(tail -n 8 "${failed_logs[$k]}")"
    printf '%s\n' "$err" | sed 's/^/      /' >&2
  done
  exit 1
fi
exit 0
