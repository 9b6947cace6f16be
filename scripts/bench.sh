#!/usr/bin/env bash
# Speed and memory of realign on this machine: medians of repeated runs, printed as
# Markdown tables (docs/benchmarks.md holds a copy of the last published run).
#
#   scripts/bench.sh [repeats=3]
#   BASELINE=/path/to/older/realign scripts/bench.sh   # and that binary, side by side
#
# Inputs: decnef_sub-1_run-2 from ../shared when present (else a phantom of the same
# shape), a long run made by putting that run three times back to back (627 frames),
# and a high-resolution phantom (104x104x72x300 at 2 mm).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
REPEATS=${1:-3}
BIN=${BUILD_DIR:-build}/realign
PHANTOM=${BUILD_DIR:-build}/realign-phantom
[[ -x "$BIN" ]] || scripts/build.sh >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
MPIRUN=(mpirun --bind-to hwthread --map-by core)
WORK=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/realign-bench.XXXXXX")}
mkdir -p "$WORK"
trap '[[ -z "${BENCH_DIR:-}" ]] && rm -rf "$WORK"' EXIT

SHARED="$ROOT/../shared/data/real/decnef_sub-1_run-2_bold.nii.gz"
if [[ -f "$SHARED" ]]; then
  RUN=$SHARED
  RUN_NAME="decnef_sub-1_run-2 (real, 64x64x34x209 int16)"
else
  "$PHANTOM" -q --dim 64 64 34 --frames 209 --datatype int16 "$WORK/run.nii.gz"
  RUN=$WORK/run.nii.gz
  RUN_NAME="phantom 64x64x34x209 int16 (../shared absent)"
fi

# One run: prints "wall read estimate reslice write total ranks_mb ratio job_mb job_ratio".
# job_mb is the peak resident memory of the whole job (mpirun and every rank, each at its
# peak, summed: scripts/job_memory.py); ranks_mb is realign's own sum over its ranks.
measure() {
  local out=$1
  shift
  local t0 t1 log
  log=$WORK/log.txt
  t0=$(date +%s.%N)
  python3 scripts/job_memory.py --out "$WORK/job.txt" "$@" "$out" 2>"$log" >/dev/null
  t1=$(date +%s.%N)
  python3 - "$t0" "$t1" "$log" "$WORK/job.txt" <<'PY'
import re, sys
t0, t1, log = float(sys.argv[1]), float(sys.argv[2]), open(sys.argv[3]).read()
job = float(open(sys.argv[4]).read().split()[1])
m = re.search(r"time: read ([\d.]+) s, estimate ([\d.]+) s, reslice ([\d.]+) s, write ([\d.]+) s, total ([\d.]+) s", log)
g = re.search(r"memory: peak (\d+) MB summed over ranks \(([\d.]+) x", log)
if not m or not g:
    sys.exit("could not parse realign's log:\n" + log)
series = float(g.group(1)) / float(g.group(2))
print("%.3f %s %s %s %s %s %s %s %.1f %.3f" % ((t1 - t0,) + m.groups() + g.groups() + (job, job / series)))
PY
}

# Median of each column over REPEATS runs. With BASELINE set (another realign binary, such
# as the previous main), each repeat runs it right after this build on the same command,
# and a second line gives its medians: ratios between the two lines are measured side by
# side, in one benchmark run.
median_of() {
  local out=$1
  shift
  local rows=() base=()
  for ((i = 0; i < REPEATS; ++i)); do
    rows+=("$(measure "$out" "$@")")
    [[ -n ${BASELINE:-} ]] && base+=("$(measure "$out" "${@/#$BIN/$BASELINE}")")
  done
  local med='
import sys, statistics
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
print(" ".join("%.3f" % statistics.median(c) for c in zip(*rows)))'
  printf '%s\n' "${rows[@]}" | python3 -c "$med"
  [[ -n ${BASELINE:-} ]] && printf '%s\n' "${base[@]}" | python3 -c "$med"
  return 0
}

row() {  # label, then one line of medians (two with BASELINE: this build, then the baseline)
  local label=$1 tag=""
  shift
  while read -r wall rd est res wr tot mem ratio job jratio; do
    [[ -z $wall ]] && continue
    printf '| %s%s | %s | %s | %s | %s | %s | %s | %.0f | %.0f | %s |\n' "$label" "$tag" "$wall" "$tot" "$rd" "$est" \
      "$res" "$wr" "$mem" "$job" "$jratio"
    tag=" (baseline)"
  done <<<"$*"
}

echo "realign benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, median of $REPEATS runs"
echo "input: $RUN_NAME"
echo
[[ -n ${BASELINE:-} ]] && echo "baseline: $BASELINE, measured in the same repeats"
echo
echo "| configuration | wall s | total s | read s | estimate s | reslice s | write s | peak MB (ranks) | peak MB (job) | job x series |"
echo "|---|---|---|---|---|---|---|---|---|---|"
row "mpirun -n 2, defaults" "$(median_of "$WORK/a.nii" "${MPIRUN[@]}" -n 2 "$BIN" "$RUN")"
row "mpirun -n 1, defaults" "$(median_of "$WORK/b.nii" "${MPIRUN[@]}" -n 1 "$BIN" "$RUN")"
row "no mpirun, --threads 2" "$(median_of "$WORK/c.nii" "$BIN" --threads 2 "$RUN")"
row "no mpirun, --threads 1" "$(median_of "$WORK/d.nii" "$BIN" --threads 1 "$RUN")"
row "mpirun -n 2, --split points" "$(median_of "$WORK/e.nii" "${MPIRUN[@]}" -n 2 "$BIN" --split points "$RUN")"
row "mpirun -n 2, .nii.gz output" "$(median_of "$WORK/f.nii.gz" "${MPIRUN[@]}" -n 2 "$BIN" "$RUN")"
# The same run uncompressed, in and out.
python3 -c 'import gzip, shutil, sys; shutil.copyfileobj(gzip.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
  "$RUN" "$WORK/run.nii"
row "mpirun -n 2, .nii input" "$(median_of "$WORK/i.nii" "${MPIRUN[@]}" -n 2 "$BIN" "$WORK/run.nii")"
row "mpirun -n 2, .nii input, .nii.gz output" "$(median_of "$WORK/j.nii.gz" "${MPIRUN[@]}" -n 2 "$BIN" "$WORK/run.nii")"

# The long run: the same series three times back to back.
python3 - "$RUN" "$WORK/long.nii" <<'PY'
import gzip, struct, sys
src, dst = sys.argv[1], sys.argv[2]
data = (gzip.open if src.endswith(".gz") else open)(src, "rb").read()
hdr = bytearray(data[:348])
dim = list(struct.unpack("<8h", hdr[40:56]))
offset = int(struct.unpack("<f", hdr[108:112])[0])
dim[4] *= 3
hdr[40:56] = struct.pack("<8h", *dim)
body = data[offset:]
with open(dst, "wb") as f:
    f.write(hdr + data[348:offset] + body + body + body)
PY
row "long run (x3 frames), mpirun -n 2" "$(median_of "$WORK/g.nii" "${MPIRUN[@]}" -n 2 "$BIN" "$WORK/long.nii")"
gzip -1 -c "$WORK/long.nii" >"$WORK/long.nii.gz"
row "long run (x3 frames), .nii.gz in and out, mpirun -n 2" "$(median_of "$WORK/k.nii.gz" "${MPIRUN[@]}" -n 2 "$BIN" "$WORK/long.nii.gz")"
row "long run (x3 frames), mpirun -n 2, --split points" "$(median_of "$WORK/l.nii" "${MPIRUN[@]}" -n 2 "$BIN" --split points "$WORK/long.nii")"

"$PHANTOM" -q --dim 104 104 72 --voxel 2 2 2 --frames 300 --datatype int16 "$WORK/hires.nii.gz"
row "high-res phantom 104x104x72x300, mpirun -n 2" "$(median_of "$WORK/h.nii" "${MPIRUN[@]}" -n 2 "$BIN" "$WORK/hires.nii.gz")"
