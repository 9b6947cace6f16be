#!/usr/bin/env bash
# Fuzz the NIfTI reader with libFuzzer (AddressSanitizer + UBSan) for a while.
# Usage: scripts/fuzz.sh [seconds]   (default 60)
# Installs clang-14 and libclang-rt-14-dev when missing, builds fuzz_nifti in build-fuzz/
# (REALIGN_FUZZ=ON), and runs it over a copy of tests/fuzz/corpus. New interesting inputs
# stay in build-fuzz/corpus; a crash input is written to build-fuzz/crashes/ and the
# script exits non-zero. Replay one with: build/fuzz_replay FILE
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECONDS_TO_RUN=${1:-60}
BUILD=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
[[ $SECONDS_TO_RUN =~ ^[0-9]+$ ]] || { echo "usage: $0 [seconds]" >&2; exit 2; }

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
cmake --build "$BUILD" --target fuzz_nifti -j2

mkdir -p "$BUILD/corpus" "$BUILD/crashes"
cp -n "$ROOT"/tests/fuzz/corpus/* "$BUILD/corpus/"
echo "fuzz: running fuzz_nifti for ${SECONDS_TO_RUN} s over $BUILD/corpus"
status=0
# rss_limit: the target decodes at most 64 MiB per input, so more is a leak or a bomb.
"$BUILD/fuzz_nifti" -max_total_time="$SECONDS_TO_RUN" -max_len=16384 -rss_limit_mb=1024 \
  -timeout=10 -dict="$ROOT/tests/fuzz/nifti.dict" -print_final_stats=1 \
  -artifact_prefix="$BUILD/crashes/" "$BUILD/corpus" ||
  status=$?
if [[ $status -ne 0 ]]; then
  echo "fuzz: FAILED (exit $status); crash inputs:" >&2
  ls -1 "$BUILD"/crashes/* 2>/dev/null >&2 || echo "  (none written)" >&2
  exit 1
fi
echo "fuzz: no crash in ${SECONDS_TO_RUN} s; corpus now $(ls "$BUILD/corpus" | wc -l) inputs"
