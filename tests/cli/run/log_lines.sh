#!/usr/bin/env bash
# What a new user reads in the log and the help, as issue L asked it to be:
#  - a run where most frames move warns, even with -q; a calm run says nothing with -q;
#  - non-steady-state frames are described as they matter for the reference in use: kept
#    out of a mean; a warning, with what to give instead, when the reference frame is one
#    of them; "frame 1", never "frames 1-1";
#  - the receive field is one plain sentence at info, its numbers only at debug;
#  - bids and follow --help list the options that apply to them and their own outputs;
#  - under mpirun -n 2 -v, info and warning lines come from rank 0 only.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"

make_phantom "$WORK/moving.nii.gz" --dim 32 32 16 --frames 10 --seed 1
make_phantom "$WORK/calm.nii.gz" --dim 32 32 16 --frames 10 --seed 2 --max-trans 0.05 \
  --max-rot 0.05 --spikes 0
mkdir -p "$WORK/o"

"$REALIGN" -q "$WORK/moving.nii.gz" "$WORK/o/m.nii" 2>"$WORK/err" || fail "moving run failed"
grep -q "warning: .*moving.nii.gz: most of the run moved: [0-9]* of 10 frames have FD above --fd-threshold 0.5 mm" "$WORK/err" ||
  fail "no warning with -q for a moving run: $(cat "$WORK/err")"
"$REALIGN" -q "$WORK/calm.nii.gz" "$WORK/o/c.nii" 2>"$WORK/err" || fail "calm run failed"
[[ ! -s $WORK/err ]] || fail "a calm run printed with -q: $(cat "$WORK/err")"
log "most frames moving: a warning even with -q; a calm run: silent"

"$REALIGN" --ref first --dummy-scans 2 "$WORK/calm.nii.gz" "$WORK/o/f.nii" 2>"$WORK/err" ||
  fail "--ref first run failed"
grep -q "warning: frames 1-2 are non-steady-state (--dummy-scans), and the reference, frame 1, is one of them: .*--ref mean leaves them out of the reference, --ref 3 takes the first steady frame" "$WORK/err" ||
  fail "--ref first among non-steady frames: $(grep -i steady "$WORK/err")"
grep -q "kept out of the reference" "$WORK/err" && fail "--ref first claims the frames are kept out of the reference"
"$REALIGN" --dummy-scans 1 "$WORK/calm.nii.gz" "$WORK/o/d.nii" 2>"$WORK/err" || fail "--dummy-scans 1 run failed"
grep -q "info: frame 1 is non-steady-state (--dummy-scans): kept out of the reference and flagged in the confounds" "$WORK/err" ||
  fail "--ref mean with one non-steady frame: $(grep -i steady "$WORK/err")"
grep -q "frames 1-1" "$WORK/err" "$WORK/o"/d_report.html && fail "'frames 1-1' written"
log "non-steady-state frames: true of the reference, with advice; frame 1 alone named so"

grep -q "info: receive coil profile: " "$WORK/err" || fail "no receive-field sentence at info"
grep "receive coil profile" "$WORK/err" | grep -qE '[0-9]e[-+]|coefficients' && fail "numbers in the info line"
"$REALIGN" -v "$WORK/calm.nii.gz" "$WORK/o/v.nii" 2>"$WORK/err" || fail "-v run failed"
grep -q "debug: receive field: log span .*; coefficients" "$WORK/err" || fail "no numbers at debug"
log "receive field: a sentence at info, the numbers at debug"

"$REALIGN" bids --help >"$WORK/bids.txt"
"$REALIGN" follow --help >"$WORK/follow.txt"
for o in --ref --fd-threshold --no-reslice --par --fwhm --threads; do
  grep -q -- "$o" "$WORK/bids.txt" || fail "bids --help lacks $o"
  grep -q -- "$o" "$WORK/follow.txt" || fail "follow --help lacks $o"
done
grep -q "_desc-preproc_bold.nii.gz" "$WORK/bids.txt" || fail "bids --help lacks its outputs' names"
grep -q "OUT_mean" "$WORK/bids.txt" && fail "bids --help lists the single-run names"
grep -q "latency_ms" "$WORK/follow.txt" || fail "follow --help lacks its lines"
log "bids and follow --help: their options and outputs"

need_mpirun
"${MPIRUN[@]}" -n 2 "$REALIGN" -v "$WORK/moving.nii.gz" "$WORK/o/mpi.nii" 2>"$WORK/err" ||
  fail "mpirun -n 2 -v failed"
[[ $(grep -c "info: reference: " "$WORK/err") -eq 1 ]] || fail "info lines from several ranks: $(grep -c "info: reference" "$WORK/err")"
[[ $(grep -c "warning: .*most of the run moved" "$WORK/err") -eq 1 ]] || fail "warnings from several ranks"
log "mpirun -n 2 -v: each info and warning line once"
log "PASS"
