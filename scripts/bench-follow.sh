#!/usr/bin/env bash
# Latency and memory of `realign follow` on one core: a shared run replayed through the
# scanner simulator at its TR and at ten times its rate, estimation alone, with
# --reslice-to, and with everything of issue M on (--send to a listener that reads, then to
# one that has stopped reading, --fd-filter, --criterion-minutes; good time is counted at
# every volume in any case; the same volumes as Siemens mosaic DICOM files too), and a
# 2000-volume replay for memory. Prints Markdown tables (a
# copy lives in docs/benchmarks.md, "Real time").
#
#   scripts/bench-follow.sh [--at-tr-volumes N=60] [--long-volumes N=2000]
#
# Stage columns are medians in ms (detect: from the file's last change to the follower
# picking it up; CPU: the follower's CPU time for estimate and reslice, which waiting for a
# busy machine's CPU does not inflate). Latency is measured twice: as realign reports it (latency_ms: from the file's last
# change on disk to the line) and end to end, from the simulator's rename to the moment a
# reader of the pipe has the line; with --send, a third time, to the moment the listener (on
# the simulator's core) has the JSON object. Input: decnef_sub-1_run-2 (64x64x34x209, TR 2
# s) from ../shared, else a phantom of the same shape.
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

# A listener for --send, as a feedback program is: MODE read stamps each object on arrival
# (OUT: time, then the object), MODE stall accepts and never reads (its receive buffer made
# small, as a program that has stopped reading soon has a full one).
LISTENER_PY='import os, socket, sys, time
mode, portfile, out = sys.argv[1:4]
s = socket.socket()
if mode == "stall":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
s.bind(("127.0.0.1", 0)); s.listen(1)
open(portfile + ".tmp", "w").write("%d\n" % s.getsockname()[1]); os.rename(portfile + ".tmp", portfile)
conn, _ = s.accept()
if mode == "stall":
    time.sleep(3600)
buf = b""
with open(out, "w") as f:
    while True:
        d = conn.recv(65536)
        if not d: break
        t = time.time(); buf += d
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            f.write("%.6f\t%s\n" % (t, line.decode()))'

# replay NAME TR VOLUMES [follow options...]: the follower reading a directory the simulator
# fills; leaves NAME.tsv (lines stamped on arrival), NAME.sim (rename times), NAME.log and
# NAME.rss (resident KB every 0.25 s). With LISTEN=read or LISTEN=stall, --send to a
# listener on the simulator's core (NAME.sent: the objects stamped on arrival). SRC: another
# source for the simulator (a directory of per-volume files) instead of RUN.
replay() {
  local name=$1 tr=$2 volumes=$3; shift 3
  local dir=$WORK/$name.in
  rm -rf "$dir" "$WORK/$name.r" "$WORK/$name.port"; mkdir -p "$WORK/$name.r"
  local send=() listener=""
  if [[ -n ${LISTEN:-} ]]; then
    taskset -c 1 python3 -c "$LISTENER_PY" "$LISTEN" "$WORK/$name.port" "$WORK/$name.sent" &
    listener=$!
    for _ in $(seq 100); do [[ -s "$WORK/$name.port" ]] && break; sleep 0.05; done
    send=(--send "127.0.0.1:$(cat "$WORK/$name.port")")
  fi
  python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "${CORE[@]}" "$BIN" follow --threads 1 --timeout 3 "$@" \
    "${send[@]}" "$dir" 2>"$WORK/$name.log" |
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
  taskset -c 1 "$ROOT/scripts/simulate-scanner.sh" "${SRC:-$RUN}" "$dir" --tr "$tr" --frames "$volumes" \
    --log "$WORK/$name.sim" "${extra[@]}"
  wait "$pipeline" || true
  wait "$sampler" || true
  if [[ -n $listener ]]; then
    [[ $LISTEN == stall ]] && kill "$listener" 2>/dev/null
    wait "$listener" || true
  fi
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

# Row of the --send table for replay NAME: from the rename to the listener's receipt, and
# what the follow's log says was sent and dropped.
send_row() {
  python3 - "$WORK/$1" "$2" <<'PY'
import json, re, sys
base, label = sys.argv[1], sys.argv[2]
done = {}
for l in open(base + ".sim"):
    n, t = l.split(); done[int(n)] = float(t)
got = []
try:
    for l in open(base + ".sent"):
        t, obj = l.rstrip("\n").split("\t", 1)
        got.append((float(t) - done[json.loads(obj)["frame"]]) * 1000.0)
except FileNotFoundError:
    pass
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, max(0, int(round(p * len(v) + 0.4999)) - 1))]
m = re.search(r"(\d+) lines sent; (\d+) dropped while the listener was not reading, (\d+) while none", open(base + ".log").read())
sent, stalled, none = m.groups() if m else ("?", "?", "?")
print("| %s | %s | %s | %s | %s | %s |" % (label, sent, stalled, none,
      "%.1f" % pct(got, .5) if got else "-", "%.1f" % pct(got, .99) if got else "-"))
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
# Everything of issue M: --send, the breathing filter (a band below the Nyquist frequency of
# TR 2 s, 15 per minute), the time to a criterion; good time is counted in every replay.
ALL=(--fd-filter notch:10-14 --criterion-minutes 12.5)
LISTEN=read replay attr_m "$TR" "$AT_TR" "${ALL[@]}"
latency_row attr_m "at TR ($TR s), all of issue M (--send to a reader)"
LISTEN=read replay fast_m "$fast" 209 "${ALL[@]}"
latency_row fast_m "10x ($fast s), all of issue M (--send to a reader)"
LISTEN=stall replay fast_ms "$fast" 209 "${ALL[@]}"
latency_row fast_ms "10x ($fast s), all of issue M, the listener stalled"
LISTEN=read replay fast_mr "$fast" 209 "${ALL[@]}" --reslice-to "$WORK/fast_mr.r"
latency_row fast_mr "10x ($fast s), all of issue M + --reslice-to"
# The same volumes as Siemens mosaics (384x384 images of 36 tiles, CSA header), as a Prisma
# exports them in real time: the DICOM walk, the CSA header and the de-tiling on the way.
"$(dirname "$BIN")/realign-test-dicom" "$RUN" "$WORK/mosaics" --mosaic >/dev/null
SRC=$WORK/mosaics replay attr_mm "$TR" "$AT_TR" "${ALL[@]}"
latency_row attr_mm "at TR ($TR s), Siemens mosaics, all of issue M"
SRC=$WORK/mosaics LISTEN=read replay fast_mm "$fast" 209 "${ALL[@]}"
latency_row fast_mm "10x ($fast s), Siemens mosaics, all of issue M (--send to a reader)"
echo
echo "--send: lines sent and dropped (the follow's log), and from the simulator's rename to the listener having the object:"
echo
echo "| replay | sent | dropped, not reading | dropped, none connected | to the listener median ms | p99 ms |"
echo "|---|---|---|---|---|---|"
send_row attr_m "at TR ($TR s), a reader"
send_row fast_m "10x ($fast s), a reader"
send_row fast_ms "10x ($fast s), stalled"
send_row fast_mr "10x ($fast s), a reader, + --reslice-to"
echo
echo "Memory over a $LONG-volume replay (the run repeated) at 0.02 s per volume, lines only:"
echo
echo "| volumes | RSS 2nd quarter MB | RSS last quarter MB | peak MB | growth MB |"
echo "|---|---|---|---|---|"
replay long 0.02 "$LONG"
memory_row long
