#!/usr/bin/env bash
# Failures during a run: a write that hits a file-size limit, SIGTERM while estimating and
# while writing, SIGINT to mpirun, the scratch copy of a .nii.gz input, and the documented
# exit status of each kind of error.
# Every case must end with the documented status and an error line, leave the output
# directory empty (no temporaries, no partial results) and the input unchanged.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
need_mpirun

IN=$WORK/in.nii
# int16 in, float32 out: the output (67 MB; about 30 MB as .nii.gz) is larger than the
# input (33 MB), so a file-size limit below the output stops the write but not the read.
# Only the size and the time a run takes matter here: the frames of a short phantom, repeated.
need_python
big_series "$IN" 64 64 34 120
make_phantom "$WORK/const.nii" --dim 16 16 8 --frames 4 --noise 0 --max-trans 0 --max-rot 0
python3 - "$WORK/const.nii" <<'EOF' || fail "could not make the constant series"
import struct, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
off = int(struct.unpack("<f", b[108:112])[0])
b[off:] = bytes(len(b) - off)  # every voxel 0
open(p, "wb").write(b)
EOF
SUM=$(sha256sum "$IN" "$WORK/const.nii")

failures=0
problem() { log "  FAIL: $*"; failures=$((failures + 1)); }

# check NAME WANT_STATUS STATUS PATTERN OUTDIR: status, an error line matching PATTERN on
# stderr ($WORK/err), and an empty output directory.
check() {
  local name=$1 want=$2 got=$3 pattern=$4 out=$5
  local before=$failures
  [[ $got -eq $want ]] || problem "$name: exit status $got, expected $want"
  grep -q -- "$pattern" "$WORK/err" || problem "$name: stderr lacks '$pattern': $(head -c 400 "$WORK/err")"
  local left
  left=$(find "$out" -mindepth 1 | sed "s|^$out/||" | tr '\n' ' ')
  [[ -z $left ]] || problem "$name: files left behind: $left"
  [[ $failures -eq $before ]] && log "ok   $name: exit $got, nothing left"
}

# wait_for_file GLOB PID: returns 0 once a file matches GLOB, 1 if PID ended.
wait_for_file() {
  local i
  for ((i = 0; i < 12000; i++)); do
    compgen -G "$1" >/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.0025
  done
  return 1
}
# wait_for_temp DIR PID: once a temporary output exists in DIR.
wait_for_temp() { wait_for_file "$1/.realign-*" "$2"; }

# wait_for_line FILE PATTERN PID: returns 0 once FILE has a line matching PATTERN.
wait_for_line() {
  local i
  for ((i = 0; i < 6000; i++)); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.005
  done
  return 1
}

# --- A write beyond the file-size limit (ulimit -f is in KiB): status 3, one line naming
# the output, no output left.
out=$WORK/out_fsize
mkdir -p "$out"
status=0
(ulimit -f 40000 && exec "$REALIGN" -q "$IN" "$out/r.nii") 2>"$WORK/err" || status=$?
check "file-size limit" 3 $status "realign: error: $out/r.nii: write failed: File too large" "$out"
[[ $(grep -c '^realign: error: ' "$WORK/err") -eq 1 ]] || problem "file-size limit: expected one error line"

out=$WORK/out_fsize_mpi
mkdir -p "$out"
status=0
# Not much lower: Open MPI's own shared-memory files are under the same limit.
"${MPIRUN[@]}" -n 2 bash -c "ulimit -f 20000 && exec '$REALIGN' -q '$IN' '$out/r.nii.gz'" \
  2>"$WORK/err" || status=$?
check "file-size limit, mpirun -n 2, gzip" 3 $status "$out/r.nii.gz: write failed: File too large" "$out"

# --- SIGTERM while estimating (before any output exists) and while writing; Ctrl-C on a run
# without mpirun (SIGINT); SIGTERM while a .nii.gz input is inflated (below).
# stop_case NAME DIR SIGNAL INPUT WAIT...: a run of INPUT into $WORK/out_DIR, waited on with
# WAIT (given the output dir and the pid) until the moment to stop it, then sent SIGNAL: it
# must exit with 128 + the signal's number, say that SIGNAL interrupted it, and leave
# nothing. Job control is on while it starts: a background job of a script starts with
# SIGINT ignored. $WORK/err is emptied here, not only by the child's redirection: the
# previous case's lines must not be seen before this run has started (a signal before exec
# would end the shell's child, which runs this script's EXIT trap).
stop_case() {
  local name=$1 out=$WORK/out_$2 signal=$3 input=$4; shift 4
  mkdir -p "$out"
  : >"$WORK/err"
  set -m
  "$REALIGN" --threads 1 "$input" "$out/r.nii" 2>"$WORK/err" >/dev/null &
  local pid=$!
  set +m
  if "$@" "$out" $pid; then
    kill -"$signal" $pid
    local status=0
    wait $pid || status=$?
    check "$name" $((128 + $(kill -l "$signal"))) $status "interrupted by SIG$signal" "$out"
  else
    wait $pid
    problem "$name: the run ended before it could be stopped"
  fi
}
started_estimating() { wait_for_line "$WORK/err" "frames, TR" "$2"; }
stop_case "SIGTERM while estimating" term_est TERM "$IN" started_estimating
stop_case "SIGINT while estimating" int INT "$IN" started_estimating
stop_case "SIGTERM while writing" term_write TERM "$IN" wait_for_temp

# --- mpirun stopped mid-run, by SIGTERM (as a batch scheduler cancels a job) and by
# SIGINT (Ctrl-C; job control on, or the shell would start it with SIGINT ignored):
# mpirun passes the signal on as SIGTERM; the job ends non-zero and leaves nothing. The
# signal goes to mpirun once both ranks have been running for a moment (their output
# reaches the log only through mpirun, too late to time anything by); a run that ends
# before that is tried again. mpirun takes up to a second to pass a signal on, so these
# runs use a larger series that takes several seconds.
BIG=$WORK/big.nii
big_series "$BIG" 80 80 48 150
BIG_SUM=$(sha256sum "$BIG")
# Anchored: mpirun's own command line holds the same words after its options.
ranks_of() { pgrep -f -- "^$REALIGN --threads 1 $BIG $1" | wc -l; }
for sig in TERM INT; do
  stopped=0
  for attempt in 1 2 3; do
    out=$WORK/out_mpi_${sig}_$attempt
    mkdir -p "$out"
    set -m
    "${MPIRUN[@]}" -n 2 "$REALIGN" --threads 1 "$BIG" "$out/r.nii" 2>"$WORK/err" >/dev/null &
    pid=$!
    set +m
    for ((i = 0; i < 2000; i++)); do
      [[ $(ranks_of "$out/r.nii") -eq 2 ]] && break
      kill -0 $pid 2>/dev/null || break
      sleep 0.005
    done
    sleep 0.2
    if [[ $(ranks_of "$out/r.nii") -eq 2 ]]; then
      kill -$sig $pid
      stopped=1
    fi
    status=0
    # Until mpirun ends, looked at every 0.1 s (tail's default is every second).
    timeout 30 tail -s 0.1 --pid=$pid -f /dev/null || problem "SIG$sig to mpirun: job still running after 30 s"
    wait $pid || status=$?
    [[ $stopped -eq 1 ]] && break
    log "     SIG$sig to mpirun: attempt $attempt finished before the signal; again"
  done
  if [[ $stopped -eq 0 ]]; then
    problem "SIG$sig to mpirun: every run ended before it could be stopped"
    continue
  fi
  [[ $status -ne 0 ]] || problem "SIG$sig to mpirun: exit status 0"
  left=$(find "$out" -mindepth 1 | tr '\n' ' ')
  [[ -z $left ]] || problem "SIG$sig to mpirun: files left behind: $left"
  [[ -z $left && $status -ne 0 ]] && log "ok   SIG$sig to mpirun: exit $status, nothing left"
  # mpirun's own status on SIGINT/SIGTERM is 1 whatever the ranks return (Open MPI's abort
  # handler); the ranks' last word says what happened.
  grep -q "interrupted by SIGTERM" "$WORK/err" && log "     the log says: $(grep interrupted "$WORK/err" | head -n 1)"
done
[[ "$(sha256sum "$BIG")" == "$BIG_SUM" ]] || problem "the large input changed"
rm -f "$BIG"

# --- Exit statuses of refused runs.
run_status() {
  local out=$1; shift
  mkdir -p "$out"
  local s=0
  "$@" 2>"$WORK/err" >/dev/null || s=$?
  echo $s
}
out=$WORK/out_usage
check "unknown option" 2 "$(run_status "$out" "$REALIGN" --no-such-option "$IN" "$out/r.nii")" \
  "no-such-option" "$out"
out=$WORK/out_memory
check "--max-memory too small" 1 "$(run_status "$out" "$REALIGN" --max-memory 10 "$IN" "$out/r.nii")" \
  "in.nii: needs about .* MB of memory, 10 MB allowed by --max-memory" "$out"
out=$WORK/out_memory_mpi
check "--max-memory, mpirun -n 2" 1 \
  "$(run_status "$out" "${MPIRUN[@]}" -n 2 "$REALIGN" --max-memory 10 "$IN" "$out/r.nii")" \
  "in.nii: needs about" "$out"
out=$WORK/out_const
check "constant series" 1 "$(run_status "$out" "$REALIGN" "$WORK/const.nii" "$out/r.nii")" \
  "const.nii: frame 1, the reference of the first pass, is constant" "$out"
out=$WORK/out_nodir
check "missing output directory" 3 \
  "$(run_status "$out" "$REALIGN" "$IN" "$out/missing/r.nii")" "missing/r.nii: output directory does not exist" "$out"

# --- A .nii.gz input is inflated into a scratch file beside the output, whose name goes
# as soon as every rank has it open: nothing of it is left after a run, after a corrupt
# stream, or after SIGTERM while it is being written.
gzip -1 -c "$IN" >"$WORK/in.nii.gz"
out=$WORK/out_gz_ok
mkdir -p "$out"
status=0
"${MPIRUN[@]}" -n 2 "$REALIGN" --threads 1 --no-report "$WORK/in.nii.gz" "$out/r.nii" 2>"$WORK/err" >/dev/null ||
  status=$?
left=$(find "$out" -mindepth 1 -name '.*' | tr '\n' ' ')
[[ $status -eq 0 && -s $out/r.nii && -z $left ]] && log "ok   .nii.gz input, mpirun -n 2: no scratch left" ||
  problem ".nii.gz input: exit $status, hidden files left: $left"
head -c 9000000 "$WORK/in.nii.gz" >"$WORK/cut.nii.gz"
out=$WORK/out_gz_cut
status=$(run_status "$out" "${MPIRUN[@]}" -n 2 "$REALIGN" "$WORK/cut.nii.gz" "$out/r.nii")
check "cut .nii.gz, mpirun -n 2" 1 "$status" "cut.nii.gz: truncated" "$out"
# One process inflates into a scratch file whose name it removes as soon as it has it open:
# the moment to stop it is when it holds that file, deleted, among its open files.
inflating() {
  local i
  for ((i = 0; i < 12000; i++)); do
    ls -l "/proc/$2/fd" 2>/dev/null | grep -q '/\.r\.nii\.inflated-.* (deleted)' && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.0025
  done
  return 1
}
stop_case "SIGTERM while inflating" gz_term TERM "$WORK/in.nii.gz" inflating
rm -f "$WORK/in.nii.gz" "$WORK/cut.nii.gz"

[[ "$(sha256sum "$IN" "$WORK/const.nii")" == "$SUM" ]] || problem "an input changed"
[[ $failures -eq 0 ]] || fail "$failures problems (see above)"
log "PASS"
