#!/usr/bin/env bash
# The DICOM reader is a module that realign loads when it reads a DICOM volume, not a
# library it links (GDCM would build its DICOM dictionary at every start): nothing realign
# loads at start is GDCM, while the module beside it needs GDCM's reader; installed
# (bin/realign, lib/realign/the module) realign still reads DICOM volumes; and a realign
# without its module ends a follow of DICOM volumes with one error line naming the file
# (exit 1), rather than waiting on the file as on a partial one.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
BUILD=$(dirname "$REALIGN")
TO_DICOM=$BUILD/realign-test-dicom
[[ -x "$TO_DICOM" ]] || skip "realign-test-dicom not found beside $REALIGN"
command -v readelf >/dev/null 2>&1 || skip "readelf not found (binutils)"
MODULE=$(find "$BUILD" -maxdepth 1 -name '*realign_dicom*.so' | head -n 1)
[[ -n "$MODULE" ]] || fail "no DICOM module beside $REALIGN"

log "realign loads no GDCM at start; the module needs GDCM's reader"
loaded=$(ldd "$REALIGN") || fail "ldd $REALIGN failed"
if grep -qi gdcm <<<"$loaded"; then
  fail "realign loads GDCM at start: $(grep -i gdcm <<<"$loaded" | tr '\n' ' ')"
fi
readelf -d "$MODULE" | grep NEEDED | grep -q 'libITKIOGDCM' ||
  fail "$MODULE does not need libITKIOGDCM: $(readelf -d "$MODULE" | grep NEEDED)"

log "three DICOM volumes, followed by the installed realign"
make_phantom "$WORK/ph.nii" --dim 24 24 12 --frames 3 --datatype int16
"$TO_DICOM" "$WORK/ph.nii" "$WORK/dcm" || fail "could not write the DICOM volumes"
cmake --install "$BUILD" --prefix "$WORK/inst" >"$WORK/install.log" ||
  fail "cmake --install failed: $(cat "$WORK/install.log")"
[[ -x "$WORK/inst/bin/realign" && -n $(find "$WORK/inst/lib/realign" -name '*.so') ]] ||
  fail "not installed as bin/realign and lib/realign/: $(cat "$WORK/install.log")"
"$WORK/inst/bin/realign" follow --timeout 1 --settle 0 "$WORK/dcm" >"$WORK/inst.tsv" \
  2>"$WORK/inst.log" || fail "installed realign: follow failed: $(cat "$WORK/inst.log")"
[[ $(wc -l <"$WORK/inst.tsv") == 4 ]] ||
  fail "installed realign: not a header and 3 lines: $(cat "$WORK/inst.tsv" "$WORK/inst.log")"

log "realign alone, without its module: one line naming the file, exit 1"
mkdir -p "$WORK/alone/bin"
cp "$REALIGN" "$WORK/alone/bin/"
status=0
"$WORK/alone/bin/realign" follow --timeout 1 --settle 0 "$WORK/dcm" >"$WORK/alone.tsv" \
  2>"$WORK/alone.log" || status=$?
[[ $status == 1 ]] || fail "without the module: exit status $status, not 1: $(cat "$WORK/alone.log")"
if [[ $(grep -c '^realign: error:' "$WORK/alone.log") != 1 ]] ||
  ! grep -q "vol_00001.dcm: DICOM support is missing: .* not found (looked in $WORK/alone/bin " \
    "$WORK/alone.log"; then
  fail "not one error line naming the file: $(cat "$WORK/alone.log")"
fi
log "PASS"
