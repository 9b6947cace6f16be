#!/usr/bin/env bash
# realign follow --send HOST:PORT against listeners of the test's own (tests/cli/lib/
# listener.py, 127.0.0.1 on a port the system chose): every JSON object received equals the
# stdout line of its volume, field for field, with the volume's file name; a listener that
# reads gets every line; one that listens late gets every line from its first on; one that
# stops reading loses lines (counted, one warning); one that hangs up is a warning and gets
# the later lines on its next connection. Whatever the listener does, the lines (but their
# latency) and every output file are those of the same follow without --send. Every wait is
# bounded (timeout, the listener's own 90 s); latency itself is measured by
# scripts/bench-follow.sh, not here.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
# shellcheck source-path=SCRIPTDIR source=../lib/follow.sh
source "$(dirname "$0")/../lib/follow.sh"
need_python
LISTENER=$ROOT/tests/cli/lib/listener.py

# listen NAME MODE [ARG]: a listener in the background (LISTENER_PID), once its port is
# known (PORT).
listen() {
  local name=$1; shift
  python3 "$LISTENER" "$WORK/$name.port" "$WORK/$name.got" "$@" &
  LISTENER_PID=$!
  for _ in $(seq 100); do
    [[ -s "$WORK/$name.port" ]] && break
    sleep 0.05
  done
  PORT=$(cat "$WORK/$name.port") || fail "listener $name did not start"
}

# received_match TSV GOT [all|tail]: every object in GOT (the listener's lines) equals the
# line of its frame in TSV, every field with the same value and "file" the volume's; with
# all, every line was received once, in order; with tail, every line from the first
# received on. Prints how many were received.
received_match() {
  python3 - "$@" <<'PY'
import json, sys
tsv, got, want = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else ""
rows = [l.rstrip("\n").split("\t") for l in open(tsv)]
header, lines = rows[0], {int(r[0]): r for r in rows[1:]}
objects = [json.loads(l) for l in open(got) if not l.startswith("#")]
frames = []
for o in objects:
    keys = list(o)
    if keys != header + ["file"]:
        sys.exit("object keys %s, not the header's and file" % keys)
    line = lines.get(o["frame"])
    if line is None:
        sys.exit("frame %s was received but not printed" % o["frame"])
    for name, text in zip(header, line):
        value = o[name]
        same = value is None if text == "n/a" else value == (int(text) if name in ("frame", "flagged") else float(text))
        if not same:
            sys.exit("frame %d: %s is %r in the object, %s in the line" % (o["frame"], name, value, text))
    frames.append(o["frame"])
if not frames:
    sys.exit("nothing received")
if frames != sorted(set(frames)):
    sys.exit("frames received out of order or twice: %s" % frames)
printed = sorted(lines)
if want == "all" and frames != printed:
    sys.exit("received %d of %d lines" % (len(frames), len(printed)))
if want == "tail" and frames != printed[printed.index(frames[0]):]:
    sys.exit("lines missing after the first received, frame %d" % frames[0])
print("  %d objects equal their lines (frames %d-%d of %d)%s" % (
    len(frames), frames[0], frames[-1], len(printed), "; every object names its file" if all(o["file"] for o in objects) else ""))
PY
}

# same_follow A B: follows A and B printed the same lines but for their latency, and wrote
# the same files byte for byte (the QC report but for the time it was made).
same_follow() {
  cmp -s <(cut -f1-9,11- "$WORK/$1.tsv") <(cut -f1-9,11- "$WORK/$2.tsv") ||
    fail "$2: its lines differ from $1's"
  local f g
  for f in "$WORK/$1"/*; do
    g=$WORK/$2/$(basename "$f")
    if [[ $f == *.html ]]; then
      cmp -s <(grep -v 'id="created"' "$f") <(grep -v 'id="created"' "$g")
    else
      cmp -s "$f" "$g"
    fi || fail "$2: $(basename "$f") differs from $1's"
  done
  [[ $(ls "$WORK/$1" | wc -l) == $(ls "$WORK/$2" | wc -l) ]] || fail "$2: not $1's files"
}

log "phantom 24x24x16, 160 frames; its replay without --send"
make_phantom "$WORK/ph.nii" --dim 24 24 16 --frames 160 --datatype float32
make_phantom "$WORK/short.nii" --dim 24 24 16 --frames 40 --datatype float32 --seed 2
mkdir -p "$WORK/base" "$WORK/dirbase" "$WORK"/src{0,1,2,3}
timeout 120 "$REALIGN" follow -q "$WORK/ph.nii" "$WORK/base/out.nii" >"$WORK/base.tsv" ||
  fail "follow without --send exited with $?"
start_follow "$WORK/dirbase.tsv" "$WORK/dirbase.log" --timeout 1.5 "$WORK/src0/in" "$WORK/dirbase/out.nii"
"$SIMULATE" "$WORK/short.nii" "$WORK/src0/in" --tr 0.05 || fail "simulator failed"
finish_follow || fail "follow of a directory without --send exited with $?"

log "a listener that reads, volumes written at TR 0.05 s: every line"
listen read read
mkdir -p "$WORK/read"
start_follow "$WORK/read.tsv" "$WORK/read.log" --timeout 1.5 --send "127.0.0.1:$PORT" "$WORK/src1/in" \
  "$WORK/read/out.nii"
"$SIMULATE" "$WORK/short.nii" "$WORK/src1/in" --tr 0.05 || fail "simulator failed"
finish_follow || fail "follow --send exited with $?"
wait "$LISTENER_PID" || fail "the listener exited with $?"
received_match "$WORK/read.tsv" "$WORK/read.got" all || fail "a reading listener"
grep -q '"file":"vol_00001.nii"' "$WORK/read.got" || fail "no file name vol_00001.nii received"
same_follow dirbase read
grep -q "40 lines sent; 0 dropped" "$WORK/read.log" || fail "no count of the lines sent: $(cat "$WORK/read.log")"

log "a listener that listens after volume 10: every line from then on"
listen late late "$WORK/go"
mkdir -p "$WORK/late"
start_follow "$WORK/late.tsv" "$WORK/late.log" --timeout 1.5 --send "127.0.0.1:$PORT" "$WORK/src2/in" \
  "$WORK/late/out.nii"
"$SIMULATE" "$WORK/short.nii" "$WORK/src2/in" --tr 0.1 &
simulator=$!
for _ in $(seq 200); do [[ $(wc -l <"$WORK/late.tsv") -ge 11 ]] && break; sleep 0.05; done
touch "$WORK/go"
wait "$simulator" || fail "simulator failed"
finish_follow || fail "follow --send to a late listener exited with $?"
wait "$LISTENER_PID" || fail "the late listener exited with $?"
received_match "$WORK/late.tsv" "$WORK/late.got" tail || fail "a late listener"
[[ $(grep -vc '^#' "$WORK/late.got") -lt 40 ]] || fail "the late listener got lines from before it listened"
[[ $(grep -c "no listener" "$WORK/late.log") == 1 ]] || fail "not one warning about no listener"
same_follow dirbase late

log "a listener that stops reading: lines lost, counted, one warning; nothing else changes"
listen stall stall "$WORK/unstall"
mkdir -p "$WORK/stall"
timeout 120 "$REALIGN" follow --send "127.0.0.1:$PORT" "$WORK/ph.nii" "$WORK/stall/out.nii" \
  >"$WORK/stall.tsv" 2>"$WORK/stall.log" || fail "follow --send to a stalled listener exited with $?"
touch "$WORK/unstall"
wait "$LISTENER_PID" || fail "the stalled listener exited with $?"
[[ $(grep -c "listener is not reading" "$WORK/stall.log") == 1 ]] || fail "not one warning of a stalled listener"
lost=$(sed -n 's/.* lines sent; \([0-9]*\) dropped while the listener was not reading.*/\1/p' "$WORK/stall.log")
[[ ${lost:-0} -gt 0 ]] || fail "no lines counted as lost: $(grep -- --send "$WORK/stall.log")"
log "  $lost of 160 lines dropped"
received_match "$WORK/stall.tsv" "$WORK/stall.got" || fail "a stalled listener"
same_follow base stall

log "a listener that hangs up after 5 lines, then takes 5 more and goes away"
listen vanish vanish 5
mkdir -p "$WORK/vanish"
start_follow "$WORK/vanish.tsv" "$WORK/vanish.log" --timeout 1.5 --send "127.0.0.1:$PORT" \
  "$WORK/src3/in" "$WORK/vanish/out.nii"
"$SIMULATE" "$WORK/short.nii" "$WORK/src3/in" --tr 0.05 || fail "simulator failed"
finish_follow || fail "follow --send to a vanishing listener exited with $?"
wait "$LISTENER_PID" || fail "the vanishing listener exited with $?"
received_match "$WORK/vanish.tsv" "$WORK/vanish.got" || fail "a vanishing listener"
grep -q "^# connection 2" "$WORK/vanish.got" || fail "no second connection"
[[ $(sed -n '/^# connection 2/,$p' "$WORK/vanish.got" | grep -vc '^#') == 5 ]] ||
  fail "not 5 lines on the second connection"
[[ $(grep -c "listener went away" "$WORK/vanish.log") == 2 ]] || fail "not a warning per hang-up"
grep -q "connected again" "$WORK/vanish.log" || fail "no reconnection logged"
same_follow dirbase vanish
log "PASS"
