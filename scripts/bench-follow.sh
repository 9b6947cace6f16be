#!/usr/bin/env bash
# Latency and memory of `realign follow` on one core: a shared run replayed through the
# scanner simulator at its TR and at ten times its rate, estimation alone and with
# --reslice-to, and a 2000-volume replay for memory. Prints Markdown tables (a copy lives
# in docs/benchmarks.md, "Real time").
#
#   scripts/bench-follow.sh [--at-tr-volumes N=60] [--long-volumes N=2000]
#
# Stage columns are medians in ms (detect: from the file's last change to the follower
# picking it up; CPU: the follower's CPU time for estimate and reslice, which waiting for a
# busy machine's CPU does not inflate). Latency is measured twice: as realign reports it (latency_ms: from the file's last
# change on disk to the line) and end to end, from the simulator's rename to the moment a
# reader of the pipe has the line. Input: decnef_sub-1_run-2 (64x64x34x209, TR 2 s) from
# ../shared, else a phantom of the same shape.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
AT_TR=60
LONG=2000
while [[ $# -gt 0 ]]; do
  case $1 in
    --at-tr-volumes) AT_TR=$2; shift 2 ;;
    --long-volumes) LONG=$2; shift 2 ;;
    *) echo "usage: $0 [--at-tr-volumes N] [--long-volumes N]" >&2; exit 2 ;;
  esac
done
BIN=$ROOT/${BUILD_DIR:-build}/realign
PHANTOM=$ROOT/${BUILD_DIR:-build}/realign-phantom
[[ -x "$BIN" ]] || scripts/build.sh >/dev/null
WORK=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/realign-bench-follow.XXXXXX")}
mkdir -p "$WORK"
trap '[[ -z "${BENCH_DIR:-}" ]] && rm -rf "$WORK"' EXIT
# One core: every process of the follow (and its OpenMP) on CPU 0, the simulator apart.
CORE=(taskset -c 0)
export OMP_NUM_THREADS=1

# shellcheck source=lib/decnef-run.sh
source "$ROOT/scripts/lib/decnef-run.sh"
TR=2.0

# replay NAME TR VOLUMES [follow options...]: the follower reading a directory the simulator
# fills; leaves NAME.tsv (lines stamped on arrival), NAME.sim (rename times), NAME.log and
# NAME.rss (resident KB every 0.25 s).
replay() {
  local name=$1 tr=$2 volumes=$3; shift 3
  local dir=$WORK/$name.in
  rm -rf "$dir" "$WORK/$name.r"; mkdir -p "$WORK/$name.r"
  python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "${CORE[@]}" "$BIN" follow --threads 1 --timeout 3 "$@" \
    "$dir" 2>"$WORK/$name.log" |
    python3 -u -c 'import sys, time
for line in sys.stdin:
    sys.stdout.write("%.6f\t%s" % (time.time(), line))' >"$WORK/$name.tsv" &
  local pipeline=$!
  local pid=""
  for _ in $(seq 100); do
    pid=$(pgrep -n -f "realign follow --threads 1 --timeout 3 .*$dir" || true)
    [[ -n "$pid" && -s "$WORK/$name.tsv" ]] && break
    sleep 0.1
  done
  (while kill -0 "$pid" 2>/dev/null; do
     awk '/VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null; sleep 0.25
   done) >"$WORK/$name.rss" &
  local sampler=$!
  local extra=()
  [[ $volumes -gt 209 ]] && extra=(--repeat)
  taskset -c 1 "$ROOT/scripts/simulate-scanner.sh" "$RUN" "$dir" --tr "$tr" --frames "$volumes" \
    --log "$WORK/$name.sim" "${extra[@]}"
  wait "$pipeline" || true
  wait "$sampler" || true
  rm -rf "$dir" "$WORK/$name.r"
}

# Row of the latency table for replay NAME.
latency_row() {
  python3 - "$WORK/$1" "$2" <<'PY'
import re, sys
base, label = sys.argv[1], sys.argv[2]
done = {}
for l in open(base + ".sim"):
    n, t = l.split(); done[int(n)] = float(t)
own, e2e = [], []
for l in open(base + ".tsv"):
    cols = l.rstrip("\n").split("\t")
    if cols[1] == "frame": continue
    frame = int(cols[1])
    own.append(float(cols[10]))
    e2e.append((float(cols[0]) - done[frame]) * 1000.0)
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, max(0, int(round(p * len(v) + 0.4999)) - 1))]
log = open(base + ".log").read()
m = re.search(r"stage medians: detect ([\d.]+), read ([\d.]+), estimate ([\d.]+), reslice ([\d.]+); CPU per volume \(estimate \+ reslice, main thread\) ([\d.]+)", log)
stages = m.groups() if m else ("?",) * 5
# Frame 1 also builds the reference (smoothing, sample points, Jacobian): shown apart.
print("| %s | %d | %.1f | %.1f | %.1f | %.1f | %.0f | %s | %s | %s | %s | %s |" % (
    label, len(own), pct(own, .5), pct(own, .99), pct(e2e, .5), pct(e2e, .99), own[0], *stages))
PY
}

memory_row() {
  python3 - "$WORK/$1.rss" "$WORK/$1.tsv" <<'PY'
import sys
rss = [int(x) for x in open(sys.argv[1]) if x.strip()]
lines = sum(1 for _ in open(sys.argv[2])) - 1
if len(rss) < 8:
    sys.exit("too few memory samples")
q = len(rss) // 4
early, late = rss[q:2 * q], rss[-q:]
print("| %d | %.1f | %.1f | %.1f | %.1f |" % (lines, max(early) / 1024, max(late) / 1024,
      max(rss) / 1024, (max(late) - max(early)) / 1024))
PY
}

fast=$(python3 -c "print($TR / 10)")
echo "Input: $RUN_NAME; follower pinned to one core (--threads 1), simulator on another."
echo
echo "| replay | volumes | realign median ms | realign p99 ms | end-to-end median ms | end-to-end p99 ms | frame 1 ms | detect | read | estimate | reslice | CPU |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
replay attr "$TR" "$AT_TR"
latency_row attr "at TR ($TR s), estimation"
replay attr_r "$TR" "$AT_TR" --reslice-to "$WORK/attr_r.r"
latency_row attr_r "at TR ($TR s), + --reslice-to"
replay fast "$fast" 209
latency_row fast "10x ($fast s), estimation"
replay fast_r "$fast" 209 --reslice-to "$WORK/fast_r.r"
latency_row fast_r "10x ($fast s), + --reslice-to"
replay fast_r1 "$fast" 209 --reslice-to "$WORK/fast_r1.r" --reslice-degree 1
latency_row fast_r1 "10x ($fast s), + --reslice-to, --reslice-degree 1"
echo
echo "Memory over a $LONG-volume replay (the run repeated) at 0.02 s per volume, lines only:"
echo
echo "| volumes | RSS 2nd quarter MB | RSS last quarter MB | peak MB | growth MB |"
echo "|---|---|---|---|---|"
replay long 0.02 "$LONG"
memory_row long
