#!/usr/bin/env bash
# Speed and memory of realign on this machine, next to a previous version measured in the
# same run: medians of repeated runs, printed as Markdown tables (docs/benchmarks.md holds
# a copy of the last published run). Old and new runs alternate, so a machine that gets
# busier mid-run slows both alike; the ratios new/old are the numbers to compare.
#
#   scripts/bench.sh [repeats=3] [quick]   (then scripts/bench-neighbour.sh, which it runs)
#
# quick: only the two rows of issue G's targets (decnef, mpirun -n 2, .nii and .nii.gz)
# and the kernels.
#
# The previous version: OLD_BIN=path/to/realign, or else OLD_REF (a git ref, default
# a915a16, the main that issue G started from) extracted with `git archive` and built
# once into $OLD_DIR (default build-old-REF/, kept for the next run). Its kernel
# benchmark is today's bench/kernels.cpp built against its libraries.
#
# AFNI_3DVOLREG=path/to/3dvolreg adds a table against AFNI's 3dvolreg (see below).
#
# Inputs: decnef_sub-1_run-2 from ../shared when present (else a phantom of the same
# shape), a long run made by putting that run three times back to back (627 frames),
# and a high-resolution phantom (104x104x72x150 at 2 mm).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
REPEATS=${1:-3}
QUICK=${2:-}
BUILD=${BUILD_DIR:-build}
BIN=$BUILD/realign
PHANTOM=$BUILD/realign-phantom
[[ -x "$BIN" ]] || scripts/build.sh >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
MPIRUN=(mpirun --bind-to hwthread --map-by core)
WORK=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/realign-bench.XXXXXX")}
mkdir -p "$WORK"
trap '[[ -z "${BENCH_DIR:-}" ]] && rm -rf "$WORK"' EXIT

# The previous version, built beside this one (its own sources, its own build tree).
OLD_REF=${OLD_REF:-a915a16}
OLD_DIR=${OLD_DIR:-$ROOT/build-old-$OLD_REF}
OLD_BIN_GIVEN=${OLD_BIN:-}
if [[ -z "${OLD_BIN:-}" ]]; then
  OLD_BIN=$OLD_DIR/build/realign
  if [[ ! -x $OLD_BIN ]]; then
    echo "building $OLD_REF in $OLD_DIR ..." >&2
    rm -rf "$OLD_DIR" && mkdir -p "$OLD_DIR/src"
    git archive "$OLD_REF" | tar -x -C "$OLD_DIR/src"
    cat >>"$OLD_DIR/src/CMakeLists.txt" <<EOF
find_package(benchmark QUIET)
if(benchmark_FOUND)
  add_executable(realign-bench-kernels $ROOT/bench/kernels.cpp)
  target_link_libraries(realign-bench-kernels PRIVATE realign_phantom benchmark::benchmark)
  set_target_properties(realign-bench-kernels PROPERTIES RUNTIME_OUTPUT_DIRECTORY \${CMAKE_BINARY_DIR})
endif()
EOF
    cmake -S "$OLD_DIR/src" -B "$OLD_DIR/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$OLD_DIR/build" -j"$(nproc)" --target realign >/dev/null
    cmake --build "$OLD_DIR/build" -j"$(nproc)" --target realign-bench-kernels >/dev/null 2>&1 ||
      echo "old kernel benchmark not built (API changed?): kernels shown without it" >&2
  fi
fi
OLD_KERNELS=$(dirname "$OLD_BIN")/realign-bench-kernels

# shellcheck source=lib/decnef-run.sh
source "$ROOT/scripts/lib/decnef-run.sh"

# One run: prints "wall read estimate reslice write total peak_mb ratio".
measure() {
  local out=$1
  shift
  local t0 t1 log
  log=$WORK/log.txt
  # The previous run's outputs go first, outside the clock: a run that replaces them also
  # pays for freeing them (0.1 s for 116 MB), which is the file system's time, not realign's.
  local stem=${out%.gz}
  rm -f "${stem%.nii}".* "${stem%.nii}"_*
  t0=$(date +%s.%N)
  "$@" "$out" 2>"$log" >/dev/null
  t1=$(date +%s.%N)
  python3 - "$t0" "$t1" "$log" <<'PY'
import re, sys
t0, t1, log = float(sys.argv[1]), float(sys.argv[2]), open(sys.argv[3]).read()
m = re.search(r"time: read ([\d.]+) s, estimate ([\d.]+) s, reslice ([\d.]+) s, write ([\d.]+) s, total ([\d.]+) s", log)
g = re.search(r"memory: peak (\d+) MB summed over ranks \(([\d.]+) x", log)
if not m or not g:
    sys.exit("could not parse realign's log:\n" + log)
print("%.3f %s %s %s %s %s %s %s" % ((t1 - t0,) + m.groups() + g.groups()))
PY
}

median() {  # rows of numbers on stdin -> the median of each column
  python3 -c '
import sys, statistics
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
print(" ".join("%.3f" % statistics.median(c) for c in zip(*rows)))'
}

# row LABEL OUT ARGS...: ARGS is a command line with "@BIN@" where realign goes; runs it
# REPEATS times with each binary, alternating, and prints one table row.
row() {
  local label=$1 out=$2
  shift 2
  local new=() old=() a
  for ((i = 0; i < REPEATS; ++i)); do
    new+=("$(measure "$out" "${@/@BIN@/$BIN}")")
    old+=("$(measure "$out" "${@/@BIN@/$OLD_BIN}")")
  done
  read -r wall rd est res wr tot mem ratio <<<"$(printf '%s\n' "${new[@]}" | median)"
  read -r owall ord oest ores owr otot omem oratio <<<"$(printf '%s\n' "${old[@]}" | median)"
  printf '| %s | %s | %s | %.2f | %s | %s | %.2f | %s | %s | %s | %s | %.0f | %s |\n' "$label" \
    "$wall" "$owall" "$(echo "$wall / $owall" | bc -l)" "$tot" "$otot" "$(echo "$tot / $otot" | bc -l)" \
    "$rd" "$est" "$res" "$wr" "$mem" "$ratio"
}

echo "realign benchmark, $(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), median of $REPEATS runs"
# With OLD_BIN the old version is that binary (its REV file beside it names its commit, if any).
old_name=$OLD_REF
[[ -n ${OLD_BIN_GIVEN:-} ]] && old_name=$(cat "$(dirname "$OLD_BIN")/REV" 2>/dev/null | cut -c1-7 || true)
echo "new: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src include || echo ' + uncommitted changes'); old: ${old_name:-a binary} ($OLD_BIN)"
echo "input: $RUN_NAME; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| configuration | wall s | old wall s | wall new/old | total s | old total s | total new/old | read s | estimate s | reslice s | write s | peak MB (all ranks) | x series |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
row "mpirun -n 2, defaults" "$WORK/a.nii" "${MPIRUN[@]}" -n 2 @BIN@ "$RUN"
row "mpirun -n 2, .nii.gz output" "$WORK/f.nii.gz" "${MPIRUN[@]}" -n 2 @BIN@ "$RUN"
[[ $QUICK == quick ]] || {
row "mpirun -n 1, defaults" "$WORK/b.nii" "${MPIRUN[@]}" -n 1 @BIN@ "$RUN"
row "no mpirun, --threads 2" "$WORK/c.nii" @BIN@ --threads 2 "$RUN"
row "no mpirun, --threads 2, .nii.gz output" "$WORK/c.nii.gz" @BIN@ --threads 2 "$RUN"
row "no mpirun, --threads 1" "$WORK/d.nii" @BIN@ --threads 1 "$RUN"
row "mpirun -n 2, --split points" "$WORK/e.nii" "${MPIRUN[@]}" -n 2 @BIN@ --split points "$RUN"

# The long run: the same series three times back to back.
python3 "$ROOT/scripts/lib/repeat_run.py" "$RUN" "$WORK/long.nii" 3
row "long run (x3 frames), mpirun -n 2" "$WORK/g.nii" "${MPIRUN[@]}" -n 2 @BIN@ "$WORK/long.nii"

# The size of many multiband protocols (issue K's second run).
"$PHANTOM" -q --dim 104 104 72 --voxel 2 2 2 --frames 150 --datatype int16 "$WORK/hires.nii.gz"
row "high-res phantom 104x104x72x150, mpirun -n 2" "$WORK/h.nii" "${MPIRUN[@]}" -n 2 @BIN@ "$WORK/hires.nii.gz"
row "high-res phantom 104x104x72x150, no mpirun, --threads 2" "$WORK/i.nii" @BIN@ --threads 2 "$WORK/hires.nii.gz"
}

# Against AFNI's 3dvolreg (issue K's yardstick), when AFNI_3DVOLREG names one (built from
# AFNI's source; this script does not build it): its default job (register to frame 1,
# Fourier interpolation, writing .nii and the parameters) against realign's default job,
# wall time, the three alternating, median of REPEATS, on the two runs of issue K.
wall_of() {  # wall seconds of a command whose output goes first, outside the clock
  local out=$1
  shift
  rm -f "${out%.nii}".* "${out%.nii}"_*
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
afni_row() {
  local label=$1 input=$2 afni=() one=() ranks=()
  for ((i = 0; i < REPEATS; ++i)); do
    afni+=("$(wall_of "$WORK/v.nii" "$AFNI_3DVOLREG" -prefix "$WORK/v.nii" -1Dfile "$WORK/v.1D" -base 0 "$input")")
    ranks+=("$(wall_of "$WORK/m.nii" "${MPIRUN[@]}" -n 2 "$BIN" -q "$input" "$WORK/m.nii")")
    one+=("$(wall_of "$WORK/o.nii" "$BIN" -q "$input" "$WORK/o.nii")")
  done
  local a r o
  a=$(printf '%s\n' "${afni[@]}" | median)
  r=$(printf '%s\n' "${ranks[@]}" | median)
  o=$(printf '%s\n' "${one[@]}" | median)
  printf '| %s | %.2f | %.2f | %.1fx | %.2f | %.1fx |\n' "$label" "$a" "$r" "$(echo "$a / $r" | bc -l)" \
    "$o" "$(echo "$a / $o" | bc -l)"
}
if [[ -n ${AFNI_3DVOLREG:-} ]]; then
  echo
  echo "Against AFNI 3dvolreg ($AFNI_3DVOLREG), whole default jobs writing .nii, wall s, median of $REPEATS:"
  echo
  echo "| run | 3dvolreg | realign, mpirun -n 2 | AFNI / realign | realign, one process | AFNI / realign |"
  echo "|---|---|---|---|---|---|"
  afni_row "$RUN_NAME" "$RUN"
  [[ -f $WORK/hires.nii.gz ]] ||
    "$PHANTOM" -q --dim 104 104 72 --voxel 2 2 2 --frames 150 --datatype int16 "$WORK/hires.nii.gz"
  afni_row "high-res phantom 104x104x72x150" "$WORK/hires.nii.gz"
fi

# The kernels (Google Benchmark, one thread, median CPU time of REPEATS repetitions).
# Prints "name,µs" per kernel (JSON: the CSV reporter refuses counters on some kernels only).
kernels() {
  OMP_NUM_THREADS=1 "$1" --benchmark_repetitions="$REPEATS" --benchmark_report_aggregates_only=true \
    --benchmark_format=json 2>/dev/null | python3 -c '
import json, sys
for b in json.load(sys.stdin)["benchmarks"]:
    if b.get("aggregate_name") == "median":
        print("%s,%.1f" % (b["run_name"], b["cpu_time"]))'
}
if [[ -x $BUILD/realign-bench-kernels ]]; then
  echo
  echo "Kernels on one 64x64x34 frame (bench/kernels.cpp), one thread, median CPU time of $REPEATS:"
  echo
  echo "| kernel | µs | old µs | new/old |"
  echo "|---|---|---|---|"
  new_k=$(kernels "$BUILD/realign-bench-kernels")
  old_k=$([[ -x $OLD_KERNELS ]] && kernels "$OLD_KERNELS" || true)
  while IFS=, read -r name t; do
    o=$(grep -F "$name," <<<"$old_k" | cut -d, -f2 || true)
    if [[ -n $o ]]; then
      printf '| %s | %.0f | %.0f | %.2f |\n' "$name" "$t" "$o" "$(echo "$t / $o" | bc -l)"
    else
      printf '| %s | %.0f | - | - |\n' "$name" "$t"
    fi
  done <<<"$new_k"
fi

# Beside other work: a busy loop, and two runs at once (issue G's good-neighbour targets).
echo
BIN=$(realpath "$BIN") bash "$ROOT/scripts/bench-neighbour.sh" "$REPEATS"
