#!/usr/bin/env bash
# realign follow on DICOM volumes (one multi-frame .dcm per volume, written by ITK's GDCM
# writer from an int16 phantom) through the scanner simulator, written in pieces, with
# volume 5 cut short: a line for every other volume equal to the batch run's row on the
# same int16 NIfTI, a warning naming the cut file, and the batch outputs of the rest. A
# single DICOM file as SOURCE is refused (exit 1, one line naming it).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
# shellcheck source-path=SCRIPTDIR source=../lib/follow.sh
source "$(dirname "$0")/../lib/follow.sh"
need_python
TO_DICOM=$(dirname "$REALIGN")/realign-test-dicom
[[ -x "$TO_DICOM" ]] || skip "realign-test-dicom not found beside $REALIGN"

log "phantom 32x32x20, 8 frames, int16, as NIfTI and as DICOM volumes; batch --ref first"
make_phantom "$WORK/ph.nii" --dim 32 32 20 --frames 8 --datatype int16
"$TO_DICOM" "$WORK/ph.nii" "$WORK/dcm" || fail "could not write the DICOM volumes"
mkdir -p "$WORK/batch" "$WORK/out"
"$REALIGN" -q --ref first "$WORK/ph.nii" "$WORK/batch/out.nii" || fail "batch run failed"

log "DICOM volumes written in pieces, volume 5 cut short"
start_follow "$WORK/f.tsv" "$WORK/f.log" --timeout 2 --gap-wait 0.3 "$WORK/in" "$WORK/out/out.nii"
"$SIMULATE" "$WORK/dcm" "$WORK/in" --tr 0.05 --partial --truncate 5 || fail "simulator failed"
finish_follow || fail "follow exited with $?"
grep -q "vol_00005.dcm: never completed (.*vol_00005.dcm: " "$WORK/f.log" ||
  fail "no message naming the cut DICOM file: $(cat "$WORK/f.log")"
rp_rows "$WORK/batch/out_rp.txt" 1,2,3,4,6,7,8 "$WORK/want_rp.txt"
lines_match "$WORK/f.tsv" "$WORK/want_rp.txt" 1e-6 || fail "DICOM lines differ from the batch's rows"
cmp -s "$WORK/want_rp.txt" "$WORK/out/out_rp.txt" || fail "rp is not the batch's rows"
[[ -s "$WORK/out/out.nii" && -s "$WORK/out/out_report.html" ]] || fail "no series or report"

log "a single DICOM file as SOURCE"
status=0
"$REALIGN" follow "$WORK/dcm/vol_00001.dcm" 2>"$WORK/one.log" >/dev/null || status=$?
[[ $status == 1 ]] || fail "a single DICOM file: exit status $status, not 1"
[[ $(wc -l <"$WORK/one.log") == 1 ]] && grep -q "vol_00001.dcm: a single DICOM file" "$WORK/one.log" ||
  fail "not one line naming the file: $(cat "$WORK/one.log")"
log "PASS"
