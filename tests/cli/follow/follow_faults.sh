#!/usr/bin/env bash
# realign follow in the scanner room's faults (and its usage errors): a missing number, a volume that never
# completes, a volume on another grid (each a warning, the follow goes on and the outputs
# hold the other volumes, equal to the batch's rows); the directory disappearing (an
# error, the partial outputs complete); SIGINT and SIGTERM (the outputs of what was seen).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
# shellcheck source-path=SCRIPTDIR source=../lib/follow.sh
source "$(dirname "$0")/../lib/follow.sh"
need_python

# frames_of NIFTI: dim[4] of a (possibly gzipped) NIfTI.
frames_of() {
  python3 -c 'import gzip,struct,sys; p=sys.argv[1]; h=(gzip.open if p.endswith(".gz") else open)(p,"rb").read(348); print(struct.unpack("<8h",h[40:56])[4])' "$1"
}

log "usage: two references, an output that is not NIfTI"
status=0
"$REALIGN" follow --ref "$WORK/x.nii" --ref-volumes 3 "$WORK/none" 2>/dev/null || status=$?
[[ $status == 2 ]] || fail "--ref FILE with --ref-volumes: exit status $status, not 2"
status=0
"$REALIGN" follow "$WORK/none" "$WORK/out.txt" >/dev/null 2>&1 || status=$?
[[ $status == 3 ]] || fail "an output that is not .nii: exit status $status, not 3"

log "phantom 32x32x20, 10 frames; batch --ref first"
make_phantom "$WORK/ph.nii.gz" --dim 32 32 20 --frames 10 --datatype int16
mkdir -p "$WORK/batch" "$WORK/gaps" "$WORK/gone" "$WORK/int" "$WORK/term"
"$REALIGN" -q --ref first "$WORK/ph.nii.gz" "$WORK/batch/out.nii.gz" || fail "batch run failed"

log "volume 3 missing, volume 5 never completes, volume 7 on another grid"
start_follow "$WORK/gaps.tsv" "$WORK/gaps.log" --timeout 4 --gap-wait 0.3 "$WORK/in" \
  "$WORK/gaps/out.nii.gz"
"$SIMULATE" "$WORK/ph.nii.gz" "$WORK/in" --tr 0.05 --skip 3 --truncate 5 --shift 7 ||
  fail "simulator failed"
finish_follow || fail "follow exited with $? after faults it should survive"
grep -q "volume number 3 is missing" "$WORK/gaps.log" || fail "no message about volume 3"
grep -q "vol_00005.nii: never completed" "$WORK/gaps.log" || fail "no message about volume 5"
grep -q "vol_00007.nii: on another grid" "$WORK/gaps.log" || fail "no message about volume 7"
rp_rows "$WORK/batch/out_rp.txt" 1,2,4,6,8,9,10 "$WORK/want_rp.txt"
lines_match "$WORK/gaps.tsv" "$WORK/want_rp.txt" 1e-6 || fail "lines after the faults"
cmp -s "$WORK/want_rp.txt" "$WORK/gaps/out_rp.txt" || fail "rp after the faults is not the batch's rows"
[[ $(frames_of "$WORK/gaps/out.nii.gz") == 7 ]] || fail "the resliced series does not hold 7 frames"

log "the directory disappears after volume 5"
start_follow "$WORK/gone.tsv" "$WORK/gone.log" --timeout 5 "$WORK/in2" "$WORK/gone/out.nii.gz"
"$SIMULATE" "$WORK/ph.nii.gz" "$WORK/in2" --tr 0.05 --remove-after 5 || fail "simulator failed"
status=0
finish_follow || status=$?
[[ $status == 1 ]] || fail "exit status $status, not 1, when the directory disappears"
grep -q "error: .*in2: the directory disappeared" "$WORK/gone.log" || fail "no clear message"
rp_rows "$WORK/batch/out_rp.txt" 1,2,3,4,5 "$WORK/want5_rp.txt"
cmp -s "$WORK/want5_rp.txt" "$WORK/gone/out_rp.txt" || fail "partial rp is not the batch's first 5 rows"
[[ $(frames_of "$WORK/gone/out.nii.gz") == 5 ]] || fail "partial series does not hold 5 frames"
[[ -s "$WORK/gone/out_report.html" ]] || fail "no report after the directory disappeared"

for sig in INT TERM; do
  dir=$WORK/$([[ $sig == INT ]] && echo int || echo term)
  log "SIG$sig after 6 volumes"
  start_follow "$dir.tsv" "$dir.log" "$dir.in" "$dir/out.nii.gz"
  "$SIMULATE" "$WORK/ph.nii.gz" "$dir.in" --tr 0.05 --frames 6 || fail "simulator failed"
  for _ in $(seq 100); do [[ $(wc -l <"$dir.tsv") -ge 7 ]] && break; sleep 0.05; done
  kill -s "$sig" "$FOLLOW_PID"
  finish_follow || fail "follow exited with $? on SIG$sig"
  rp_rows "$WORK/batch/out_rp.txt" 1,2,3,4,5,6 "$WORK/want6_rp.txt"
  cmp -s "$WORK/want6_rp.txt" "$dir/out_rp.txt" || fail "SIG$sig: rp is not the batch's first 6 rows"
  [[ $(frames_of "$dir/out.nii.gz") == 6 ]] || fail "SIG$sig: the series does not hold 6 frames"
  grep -q "stopped by SIG$sig" "$dir.log" || fail "SIG$sig: the log does not say why it stopped"
done
ls -a "$WORK"/*/ | grep -q '^\.realign' && fail "temporaries left behind"
log "PASS"
