# shellcheck shell=bash
# Helpers for the `realign follow` tests (sourced after common.sh).

SIMULATE="$ROOT/scripts/simulate-scanner.sh"
HEADER=$'frame\ttrans_x\ttrans_y\ttrans_z\trot_x\trot_y\trot_z\tframewise_displacement\trmsd\tlatency_ms\tflagged'

# start_follow TSV LOG ARGS...: `realign follow ARGS` in the background (FOLLOW_PID), once
# it has printed its header line: it is watching. A script's background job starts with
# SIGINT ignored, which realign keeps (as for nohup); the tests need it delivered.
start_follow() {
  local tsv=$1 log=$2; shift 2
  python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$REALIGN" follow "$@" >"$tsv" 2>"$log" &
  FOLLOW_PID=$!
  for _ in $(seq 100); do
    [[ -s "$tsv" ]] && return 0
    kill -0 "$FOLLOW_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$log" >&2
  fail "realign follow did not start: $*"
}

# finish_follow: its exit status.
finish_follow() {
  local status=0
  wait "$FOLLOW_PID" || status=$?
  return "$status"
}

# lines_match TSV RP TOL [ROWS]: the lines' parameters (columns 2-7) equal the rp file's
# rows (or its rows ROWS, 1-based, comma-separated) within TOL; the header is exact, frame
# 1 has FD and rmsd n/a, every latency is a number >= 0.
lines_match() {
  python3 - "$@" <<'PY'
import math, sys
tsv, rp, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
lines = open(tsv).read().splitlines()
want = "frame trans_x trans_y trans_z rot_x rot_y rot_z framewise_displacement rmsd latency_ms flagged"
if lines[0] != want.replace(" ", "\t"):
    sys.exit("header is %r" % lines[0])
rows = [[float(x) for x in l.split()] for l in open(rp)]
if len(sys.argv) > 4:
    rows = [rows[int(k) - 1] for k in sys.argv[4].split(",")]
body = [l.split("\t") for l in lines[1:]]
if len(body) != len(rows):
    sys.exit("%d lines, %d rp rows" % (len(body), len(rows)))
for n, (cols, row) in enumerate(zip(body, rows), 1):
    if int(cols[0]) != n:
        sys.exit("line %d says frame %s" % (n, cols[0]))
    worst = max(abs(float(a) - b) * (1 if k < 3 else 50) for k, (a, b) in enumerate(zip(cols[1:7], row)))
    if worst > tol:
        sys.exit("frame %d: parameters differ by %g mm-equivalent" % (n, worst))
    if n == 1 and cols[7:9] != ["n/a", "n/a"]:
        sys.exit("frame 1: FD and rmsd are %s, not n/a" % cols[7:9])
    lat = float(cols[9])
    if not (lat >= 0 and math.isfinite(lat)):
        sys.exit("frame %d: latency %s" % (n, cols[9]))
    if cols[10] not in ("0", "1"):
        sys.exit("frame %d: flagged %s" % (n, cols[10]))
print("  %d lines match %s within %g" % (len(body), rp, tol))
PY
}

# rp_rows FILE ROWS OUT: the rows ROWS (1-based, comma-separated) of an rp file.
rp_rows() {
  awk -v rows="$2" 'BEGIN { n = split(rows, r, ","); for (i = 1; i <= n; i++) keep[r[i]] = 1 }
                    keep[FNR]' "$1" >"$3"
}
