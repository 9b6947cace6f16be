#!/usr/bin/env bash
# realign follow on DICOM volumes (one multi-frame .dcm per volume, written by ITK's GDCM
# writer from an int16 phantom) through the scanner simulator, written in pieces, with
# volume 5 cut short: a line for every other volume equal to the batch run's row on the
# same int16 NIfTI, a warning naming the cut file, and the batch outputs of the rest. A
# single DICOM file as SOURCE is refused (exit 1, one line naming it). The scanners' own
# files through the simulator: one file per slice under GE's names (no extension, written
# in pieces) and Siemens mosaics, each followed with the batch's rows on the same files and
# on dcm2niix's NIfTI of them; the real Prisma mosaics, copied in one by one.
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
# Waits long enough for a loaded machine (the sanitized suite, two tests at once): a volume
# written in pieces 0.01-0.05 s apart was given up after 0.3 s there once.
start_follow "$WORK/f.tsv" "$WORK/f.log" --timeout 4 --gap-wait 1.5 "$WORK/in" "$WORK/out/out.nii"
"$SIMULATE" "$WORK/dcm" "$WORK/in" --tr 0.05 --partial --truncate 5 || fail "simulator failed"
finish_follow || fail "follow exited with $?"
grep -q "vol_00005.dcm: never completed (.*vol_00005.dcm: " "$WORK/f.log" ||
  fail "no message naming the cut DICOM file: $(cat "$WORK/f.log")"
rp_rows "$WORK/batch/out_rp.txt" 1,2,3,4,6,7,8 "$WORK/want_rp.txt"
lines_match "$WORK/f.tsv" "$WORK/want_rp.txt" 1e-6 || fail "DICOM lines differ from the batch's rows"
cmp -s "$WORK/want_rp.txt" "$WORK/out/out_rp.txt" || fail "rp is not the batch's rows"
[[ -s "$WORK/out/out.nii" && -s "$WORK/out/out_report.html" ]] || fail "no series or report"

# follow_run NAME SOURCE_DIR [simulator options...]: the DICOM files of SOURCE_DIR written
# into $WORK/NAME.in by the simulator and followed into $WORK/NAME/out.nii; the lines in
# $WORK/NAME.tsv must match the batch's rows on SOURCE_DIR itself, and (with dcm2niix) on
# the NIfTI dcm2niix makes of it; nothing refused, nothing left incomplete.
follow_run() {
  local name=$1 source=$2; shift 2
  mkdir -p "$WORK/$name" "$WORK/$name.batch"
  "$REALIGN" -q --ref first "$source" "$WORK/$name.batch/out.nii" ||
    fail "$name: batch run on the DICOM directory failed"
  start_follow "$WORK/$name.tsv" "$WORK/$name.log" --timeout 4 --gap-wait 1.5 \
    "$WORK/$name.in" "$WORK/$name/out.nii"
  "$SIMULATE" "$source" "$WORK/$name.in" "$@" || fail "$name: simulator failed"
  finish_follow || fail "$name: follow exited with $?"
  if grep -q "refused\|never completed\|missing" "$WORK/$name.log"; then
    fail "$name: $(cat "$WORK/$name.log")"
  fi
  lines_match "$WORK/$name.tsv" "$WORK/$name.batch/out_rp.txt" 1e-6 ||
    fail "$name: lines differ from the batch's rows on the same files"
  cmp -s "$WORK/$name/out_rp.txt" "$WORK/$name.batch/out_rp.txt" ||
    fail "$name: the follow's rp is not the batch's"
  if command -v dcm2niix >/dev/null 2>&1; then
    mkdir -p "$WORK/$name.d2n"
    dcm2niix -z n -f conv -o "$WORK/$name.d2n" "$source" >/dev/null 2>&1 ||
      fail "$name: dcm2niix failed"
    "$REALIGN" -q --ref first "$WORK/$name.d2n/conv.nii" "$WORK/$name.d2n/out.nii" ||
      fail "$name: batch run on dcm2niix's NIfTI failed"
    lines_match "$WORK/$name.tsv" "$WORK/$name.d2n/out_rp.txt" 1e-5 ||
      fail "$name: lines differ from the batch's rows on dcm2niix's NIfTI"
  else
    log "$name: dcm2niix not installed: not compared with its NIfTI"
  fi
}

log "one file per slice under GE's names (I00001 ...), written in pieces"
"$TO_DICOM" "$WORK/ph.nii" "$WORK/slices" --slices --names I || fail "could not write the slices"
follow_run slices "$WORK/slices" --tr 0.01 --partial --name I

log "one Siemens mosaic per volume"
"$TO_DICOM" "$WORK/ph.nii" "$WORK/mosaics" --mosaic || fail "could not write the mosaics"
follow_run mosaics "$WORK/mosaics" --tr 0.05

REAL=$SHARED/data/dicom/siemens-mosaic_decnef_sub-1_run-2
if [[ -d "$REAL" ]]; then
  log "the real Prisma mosaics, copied in one by one"
  follow_run prisma "$REAL" --tr 0.1
else
  log "shared DICOM data absent: the real mosaics not followed"
fi

log "a single DICOM file as SOURCE"
status=0
"$REALIGN" follow "$WORK/dcm/vol_00001.dcm" 2>"$WORK/one.log" >/dev/null || status=$?
[[ $status == 1 ]] || fail "a single DICOM file: exit status $status, not 1"
[[ $(wc -l <"$WORK/one.log") == 1 ]] && grep -q "vol_00001.dcm: a single DICOM file" "$WORK/one.log" ||
  fail "not one line naming the file: $(cat "$WORK/one.log")"
log "PASS"
