#!/usr/bin/env bash
# Issue G's good-neighbour cases, as a user meets them: a plain `realign in out` (no
# mpirun, default threads) on a quiet machine and beside one CPU-bound loop of our own
# (stopped by its PID), and two runs started together with `xargs -P2` against a serial
# loop over the same two runs. Prints a Markdown table of medians over REPEATS.
#
#   scripts/bench-neighbour.sh [repeats=3]      (BIN=path/to/realign, default build/realign)
#
# Input: decnef_sub-1_run-2 from ../shared, else a phantom of its shape.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REPEATS=${1:-3}
BIN=${BIN:-$ROOT/build/realign}
PHANTOM=$(dirname "$BIN")/realign-phantom
WORK=$(mktemp -d "${TMPDIR:-/tmp}/realign-neighbour.XXXXXX")
busy=""
stop_busy() {
  if [[ -n $busy ]]; then
    kill "$busy" 2>/dev/null || true
    wait "$busy" 2>/dev/null || true
    busy=""
  fi
}
trap 'stop_busy; rm -rf "$WORK"' EXIT
# shellcheck source=lib/decnef-run.sh
source "$ROOT/scripts/lib/decnef-run.sh"

# seconds CMD...: wall time of one command (each realign is bounded by `timeout`, so a
# stuck run cannot hang the bench).
seconds() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

run_one() { timeout 600 "$BIN" -q --no-report "$RUN" "$WORK/$1.nii"; }
run_serial() { for k in 1 2; do run_one "s$k"; done; }
run_parallel() {
  export BIN RUN WORK
  printf '%s\n' 1 2 | xargs -P2 -I{} sh -c 'timeout 600 "$BIN" -q --no-report "$RUN" "$WORK/p{}.nii"'
}

quiet=() beside=() serial=() parallel=()
for ((i = 0; i < REPEATS; ++i)); do
  quiet+=("$(seconds run_one q)")
  bash -c 'while :; do :; done' &
  busy=$!
  beside+=("$(seconds run_one b)")
  stop_busy
  serial+=("$(seconds run_serial)")
  parallel+=("$(seconds run_parallel)")
done

q=$(median "${quiet[@]}") b=$(median "${beside[@]}")
s=$(median "${serial[@]}") p=$(median "${parallel[@]}")
echo "Good neighbour: $RUN_NAME, \`realign in.nii.gz out.nii --no-report\`, no mpirun, default"
echo "threads, $(nproc) cores, median of $REPEATS; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| case | wall s | ratio | target |"
echo "|---|---|---|---|"
printf '| one run, quiet machine | %.2f | 1 | |\n' "$q"
printf '| one run beside a CPU-bound loop | %.2f | %.2f | <= 2 |\n' "$b" "$(echo "$b / $q" | bc -l)"
printf '| two runs, serial loop | %.2f | 1 | |\n' "$s"
printf '| two runs, `xargs -P2` | %.2f | %.2f | <= 1.15 |\n' "$p" "$(echo "$p / $s" | bc -l)"
