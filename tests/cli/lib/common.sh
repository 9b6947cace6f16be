# shellcheck shell=bash disable=SC2034
# Shared helpers for the CLI tests in tests/cli/*.sh (sourced, not run).
#
# A test script is run as: bash tests/cli/NAME.sh <realign binary> <path to ../shared>
# and reports: exit 0 = pass, 77 = skipped, anything else = fail.
#
# After `source lib/common.sh "$@"` a test has:
#   REALIGN  absolute path of the realign binary
#   PHANTOM  the realign-phantom test tool beside it
#   SHARED   the shared data directory (may not exist)
#   ROOT     the repository root
#   WORK     a fresh temporary directory, removed on exit
#   MPIRUN   array: mpirun with the flags needed here (root, oversubscribe, quiet)

set -uo pipefail

TEST_NAME=$(basename "$0" .sh)

log() { printf '[%s] %s\n' "$TEST_NAME" "$*"; }
fail() { printf '[%s] FAIL: %s\n' "$TEST_NAME" "$*" >&2; exit 1; }
skip() { printf '[%s] SKIP: %s\n' "$TEST_NAME" "$*"; exit 77; }

if [[ $# -lt 1 || -z "${1:-}" ]]; then
  echo "usage: bash $0 <realign binary> [shared dir]" >&2
  exit 2
fi
REALIGN=$(cd "$(dirname "$1")" 2>/dev/null && pwd)/$(basename "$1")
SHARED=${2:-}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
[[ -x "$REALIGN" ]] || fail "realign binary not found or not executable: $1"
PHANTOM=$(dirname "$REALIGN")/realign-phantom
[[ -x "$PHANTOM" ]] || fail "realign-phantom not found beside $REALIGN"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/realign-${TEST_NAME}.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Open MPI refuses root and oversubscription without these (CTest sets them too).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# -q keeps mpirun's own "process exited with non-zero status" banner off stderr.
MPIRUN=(mpirun -q --oversubscribe)
[[ $(id -u) -eq 0 ]] && MPIRUN+=(--allow-run-as-root)

need_mpirun() { command -v mpirun >/dev/null 2>&1 || fail "mpirun not found (install openmpi-bin)"; }
need_python() { command -v python3 >/dev/null 2>&1 || fail "python3 not found"; }

# make_phantom OUT [phantom options...]: write a synthetic series (and OUT's _truth_rp.txt).
make_phantom() {
  local out=$1; shift
  "$PHANTOM" -q "$@" "$out" || fail "could not make phantom $out"
}

# realign_under NAME [launcher...] -- [realign args...]: realign -q with the args, started
# by the launcher's words (none, or "${MPIRUN[@]}" -n 2 and the like) within 120 s, after
# making $WORK/NAME for its outputs; fails the test when it does not exit 0.
realign_under() {
  local name=$1; shift
  local launcher=()
  while [[ $1 != -- ]]; do launcher+=("$1"); shift; done
  shift
  mkdir -p "$WORK/$name"
  log "run $name: ${launcher[*]:-(no launcher)} realign ${*//$WORK\//}"
  timeout 120 "${launcher[@]}" "$REALIGN" -q "$@" || fail "run $name exited with status $?"
}

# rp_close A B TOL: every number of rp files A and B within TOL (absolute), same shape.
rp_close() {
  awk -v tol="$3" '
    FNR == NR { for (i = 1; i <= NF; i++) a[FNR, i] = $i; na[FNR] = NF; ra = FNR; next }
    { rb = FNR
      if (NF != na[FNR]) { printf "row %d: %d vs %d columns\n", FNR, na[FNR], NF; bad = 1; exit }
      for (i = 1; i <= NF; i++) {
        d = a[FNR, i] - $i; if (d < 0) d = -d
        if (d > tol || d != d) { printf "row %d col %d: %s vs %s (diff %g)\n", FNR, i, a[FNR, i], $i, d; bad = 1; exit }
      } }
    END { if (!bad && ra != rb) { printf "%d vs %d rows\n", ra, rb; bad = 1 }; exit bad }' "$1" "$2"
}

# big_series OUT NX NY NZ FRAMES: a large int16 series (OUT a .nii) made cheaply, for tests
# that need a big input (a run that lasts seconds, files of tens of MB) but not an accurate
# phantom: a phantom of 6 frames (motion, spikes, noise) repeated up to FRAMES frames.
# Rendering every frame of a phantom costs seconds per hundred frames; this costs a tenth.
# No truth file.
big_series() {
  local out=$1 nx=$2 ny=$3 nz=$4 frames=$5
  local few
  few=$(mktemp "$WORK/few.XXXXXX") || fail "mktemp failed"
  make_phantom "$few.nii" --dim "$nx" "$ny" "$nz" --frames 6 --datatype int16 --truth "$few.rp"
  python3 - "$few.nii" "$out" "$frames" <<'PY' || fail "could not make the series $out"
import struct, sys
src, out, frames = sys.argv[1], sys.argv[2], int(sys.argv[3])
raw = open(src, "rb").read()
offset = int(struct.unpack("<f", raw[108:112])[0])
dim = list(struct.unpack("<8h", raw[40:56]))
have = dim[4]
frame_bytes = (len(raw) - offset) // have
dim[4] = frames
header = bytearray(raw[:offset])
struct.pack_into("<8h", header, 40, *dim)
with open(out, "wb") as f:
    f.write(header)
    for n in range(frames):
        k = n % have
        f.write(raw[offset + k * frame_bytes:offset + (k + 1) * frame_bytes])
PY
  rm -f "$few" "$few.nii" "$few.rp"
}
