#!/usr/bin/env bash
# Issue G, item 4: does realign scale with the length and resolution of a run? Times and
# peak memory of the whole job (mpirun and every rank, scripts/job_memory.py) on
#   - an HCP-like phantom, 90x104x72 at 2 mm, int16 .nii.gz, with 300, 600 and 1200 frames
#     (3.2 GB as float32 at 1200), default settings under `mpirun -n 2`, and the 1200
#     frames again with --split points;
#   - decnef_sub-1_run-2 put three times back to back (627 frames), when ../shared exists.
# Prints a Markdown table: seconds per frame should stay flat (time linear in frames) and
# the job's peak memory should stay a small, falling fraction of the float32 series.
#
#   scripts/bench-scale.sh [frames...]     (default: 300 600 1200)
#
# Needs about 2 x 3.2 GB of disk in $TMPDIR (the input and the float32 output).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${BUILD_DIR:-build}
BIN=$(realpath "$BUILD/realign")
PHANTOM=$(realpath "$BUILD/realign-phantom")
FRAMES=("$@")
[[ ${#FRAMES[@]} -gt 0 ]] || FRAMES=(300 600 1200)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
MPIRUN=(mpirun --bind-to hwthread --map-by core -n 2)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/realign-scale.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# One job: prints "| label | frames | wall | total | s/frame | job MB | series MB | x |".
measure() {
  local label=$1 frames=$2 voxels=$3 input=$4
  shift 4
  local t0 t1
  t0=$(date +%s.%N)
  python3 "$ROOT/scripts/job_memory.py" --out "$WORK/job.txt" "${MPIRUN[@]}" "$BIN" "$@" \
    "$input" "$WORK/out.nii" 2>"$WORK/log.txt" >/dev/null
  t1=$(date +%s.%N)
  python3 - "$label" "$frames" "$voxels" "$t0" "$t1" "$WORK/log.txt" "$WORK/job.txt" <<'PY'
import re, sys
label, frames, voxels = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t0, t1 = float(sys.argv[4]), float(sys.argv[5])
log, job = open(sys.argv[6]).read(), open(sys.argv[7]).read()
total = float(re.search(r"total ([\d.]+) s", log).group(1))
peak = float(re.search(r"job_peak_mb (\d+)", job).group(1))
series_mb = voxels * frames * 4 / 2**20
print("| %s | %d | %.1f | %.1f | %.1f | %.0f | %.0f | %.2f |" % (
    label, frames, t1 - t0, total, 1000 * total / frames, peak, series_mb, peak / series_mb))
PY
  rm -f "$WORK"/out*
}

echo "realign scale benchmark, $(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
echo "version: $(git rev-parse --short HEAD); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| input | frames | wall s | total s | ms per frame | peak MB (job) | series MB (float32) | job x series |"
echo "|---|---|---|---|---|---|---|---|"
for n in "${FRAMES[@]}"; do
  "$PHANTOM" -q --dim 90 104 72 --voxel 2 2 2 --frames "$n" --datatype int16 "$WORK/hcp.nii.gz"
  measure "phantom 90x104x72, 2 mm" "$n" $((90 * 104 * 72)) "$WORK/hcp.nii.gz"
  [[ $n != "${FRAMES[-1]}" ]] || measure "phantom 90x104x72, 2 mm, --split points" "$n" $((90 * 104 * 72)) \
    "$WORK/hcp.nii.gz" --split points
  rm -f "$WORK/hcp.nii.gz" "$WORK"/hcp_*
done

RUN="$ROOT/../shared/data/real/decnef_sub-1_run-2_bold.nii.gz"
if [[ -f $RUN ]]; then
  python3 "$ROOT/scripts/lib/repeat_run.py" "$RUN" "$WORK/long.nii" 3
  measure "decnef_sub-1_run-2 x3 (real, 64x64x34)" 627 $((64 * 64 * 34)) "$WORK/long.nii"
fi
