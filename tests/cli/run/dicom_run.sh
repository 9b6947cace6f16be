#!/usr/bin/env bash
# The batch on a run exported as DICOM (a directory: one Siemens mosaic per volume, or one
# file per slice): the rows of the batch on the NIfTI dcm2niix makes of the same files, and
# outputs whose header places them as dcm2niix's NIfTI (float32); the same bytes under
# mpirun -n 2 as alone; a directory it cannot read refused with one line naming the file,
# exit 1, nothing written.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
need_python
need_mpirun
TO_DICOM=$(dirname "$REALIGN")/realign-test-dicom
[[ -x "$TO_DICOM" ]] || skip "realign-test-dicom not found beside $REALIGN"

log "phantom 24x20x10, 6 frames, oblique, int16; as mosaics and as one file per slice"
make_phantom "$WORK/ph.nii" --dim 24 20 10 --voxel 3 2.5 4 --frames 6 --oblique --datatype int16
"$TO_DICOM" "$WORK/ph.nii" "$WORK/mosaics" --mosaic || fail "could not write the mosaics"
"$TO_DICOM" "$WORK/ph.nii" "$WORK/slices" --slices || fail "could not write the slices"

# same_sform OURS THEIRS: OURS is float32 and its sform within 1e-3 mm of THEIRS's.
same_sform() {
  python3 - "$1" "$2" <<'PY'
import struct, sys
def header(path):
    b = open(path, "rb").read(348)
    return struct.unpack("<12f", b[280:328]), struct.unpack("<h", b[70:72])[0]
(ours, datatype), (theirs, _) = header(sys.argv[1]), header(sys.argv[2])
if datatype != 16:
    sys.exit("datatype %d, not float32" % datatype)
worst = max(abs(a - b) for a, b in zip(ours, theirs))
if worst > 1e-3:
    sys.exit("sform differs by %g mm: %s vs %s" % (worst, ours, theirs))
print("  sform within %.2g mm of dcm2niix's" % worst)
PY
}

for kind in mosaics slices; do
  realign_under "$kind" -- --ref first "$WORK/$kind" "$WORK/$kind/r.nii"
  [[ -s "$WORK/$kind/r_mean.nii" && -s "$WORK/$kind/r_report.html" ]] || fail "$kind: outputs missing"
  realign_under "$kind.2" "${MPIRUN[@]}" -n 2 -- --ref first "$WORK/$kind" "$WORK/$kind.2/r.nii"
  for out in r.nii r_rp.txt r_mean.nii; do
    cmp -s "$WORK/$kind/$out" "$WORK/$kind.2/$out" || fail "$kind: $out differs under mpirun -n 2"
  done
  if command -v dcm2niix >/dev/null 2>&1; then
    mkdir -p "$WORK/$kind.d2n"
    dcm2niix -z n -f conv -o "$WORK/$kind.d2n" "$WORK/$kind" >/dev/null 2>&1 ||
      fail "$kind: dcm2niix failed"
    realign_under "$kind.conv" -- --ref first "$WORK/$kind.d2n/conv.nii" "$WORK/$kind.conv/r.nii"
    rp_close "$WORK/$kind/r_rp.txt" "$WORK/$kind.conv/r_rp.txt" 1e-6 ||
      fail "$kind: rp differs from the batch's on dcm2niix's NIfTI"
    same_sform "$WORK/$kind/r.nii" "$WORK/$kind.d2n/conv.nii" || fail "$kind: header"
  else
    log "$kind: dcm2niix not installed: not compared with its NIfTI"
  fi
done

log "a cut file in the directory: one line naming it, exit 1, nothing written"
mkdir -p "$WORK/cut" "$WORK/cut_out"
cp "$WORK/mosaics"/*.dcm "$WORK/cut/"
head -c 2000 "$WORK/mosaics/vol_00004.dcm" >"$WORK/cut/vol_00004.dcm"
status=0
"$REALIGN" --ref first "$WORK/cut" "$WORK/cut_out/r.nii" >/dev/null 2>"$WORK/cut.log" || status=$?
[[ $status == 1 ]] || fail "a cut file: exit status $status, not 1: $(cat "$WORK/cut.log")"
[[ $(grep -c . "$WORK/cut.log") == 1 ]] && grep -q "vol_00004.dcm: cut short" "$WORK/cut.log" ||
  fail "not one line naming the cut file: $(cat "$WORK/cut.log")"
[[ -z $(ls -A "$WORK/cut_out") ]] || fail "something was written: $(ls -A "$WORK/cut_out")"
log "PASS"
