#!/usr/bin/env bash
# Fuzz a reader with libFuzzer (AddressSanitizer + UBSan) for a while.
# Usage: scripts/fuzz.sh [seconds] [nifti|dicom]   (default 60 s, nifti)
#   nifti  the NIfTI reader (fuzz_nifti, seeds tests/fuzz/corpus)
#   dicom  what realign reads of DICOM without GDCM: the header walk, the Siemens CSA
#          header, mosaic de-tiling, slices stacked into volumes (fuzz_dicom, seeds
#          tests/fuzz/dicom_corpus)
# Installs clang-14 and libclang-rt-14-dev when missing, builds the target in build-fuzz/
# (REALIGN_FUZZ=ON), and runs it over a copy of its seed corpus. New interesting inputs
# stay in build-fuzz/corpus (nifti) or build-fuzz/dicom_corpus; a crash input is written to
# build-fuzz/crashes/ and the script exits non-zero. Replay one with
# build/fuzz_replay FILE (nifti) or build/fuzz_dicom_replay FILE (dicom).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECONDS_TO_RUN=${1:-60}
TARGET=${2:-nifti}
BUILD=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
usage() { echo "usage: $0 [seconds] [nifti|dicom]" >&2; exit 2; }
[[ $SECONDS_TO_RUN =~ ^[0-9]+$ ]] || usage
case $TARGET in
  # max_len: a NIfTI header and a few frames; a DICOM series of a few small files.
  nifti) CORPUS=corpus DICT=nifti.dict MAX_LEN=16384 ;;
  dicom) CORPUS=dicom_corpus DICT=dicom.dict MAX_LEN=32768 ;;
  *) usage ;;
esac

missing=()
for pkg in clang-14 libclang-rt-14-dev cmake; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$pkg")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  SUDO=()
  [[ $(id -u) -ne 0 ]] && SUDO=(sudo)
  echo "fuzz: installing ${missing[*]}"
  "${SUDO[@]}" apt-get update
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "${missing[@]}"
fi
bash "$ROOT/scripts/install-deps.sh"

cmake -S "$ROOT" -B "$BUILD" -DREALIGN_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
cmake --build "$BUILD" --target "fuzz_$TARGET" -j2

mkdir -p "$BUILD/$CORPUS" "$BUILD/crashes"
cp -n "$ROOT/tests/fuzz/$CORPUS"/* "$BUILD/$CORPUS/"
echo "fuzz: running fuzz_$TARGET for ${SECONDS_TO_RUN} s over $BUILD/$CORPUS"
status=0
# rss_limit: fuzz_nifti decodes at most 64 MiB per input, fuzz_dicom makes an image of at
# most 1 MiB per file (64 files an input), so more is a leak or a bomb.
"$BUILD/fuzz_$TARGET" -max_total_time="$SECONDS_TO_RUN" -max_len="$MAX_LEN" -rss_limit_mb=1024 \
  -timeout=10 -dict="$ROOT/tests/fuzz/$DICT" -print_final_stats=1 \
  -artifact_prefix="$BUILD/crashes/" "$BUILD/$CORPUS" ||
  status=$?
if [[ $status -ne 0 ]]; then
  echo "fuzz: FAILED (exit $status); crash inputs:" >&2
  ls -1 "$BUILD"/crashes/* 2>/dev/null >&2 || echo "  (none written)" >&2
  exit 1
fi
echo "fuzz: no crash in ${SECONDS_TO_RUN} s; corpus now $(ls "$BUILD/$CORPUS" | wc -l) inputs"
