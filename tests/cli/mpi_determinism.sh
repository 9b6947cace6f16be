#!/usr/bin/env bash
# The result must not depend on how the work is split: MPI ranks (1, 2, 3), OpenMP
# threads (1, 2, no mpirun) and --split frames|points must give the same motion
# parameters (within 1e-6) and the same mean image (identical, or within 1e-4 relative).
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh" "$@"
need_mpirun
need_python

log "making phantom 40x40x24, 12 frames"
make_phantom "$WORK/phantom.nii.gz" --dim 40 40 24 --frames 12 --noise 0.01 \
  --max-trans 1.5 --max-rot 1.5

# run NAME [launcher...] -- [realign options...]
run() {
  local name=$1; shift
  local launcher=()
  while [[ $1 != -- ]]; do launcher+=("$1"); shift; done
  shift
  mkdir -p "$WORK/$name"
  log "run $name: ${launcher[*]:-(no mpirun)} realign $*"
  timeout 120 "${launcher[@]}" "$REALIGN" -q "$@" "$WORK/phantom.nii.gz" "$WORK/$name/out.nii" \
    || fail "run $name exited with status $?"
  [[ -s "$WORK/$name/out_rp.txt" && -s "$WORK/$name/out_mean.nii" ]] \
    || fail "run $name: missing out_rp.txt or out_mean.nii"
}

run np1 "${MPIRUN[@]}" -n 1 --
run np2 "${MPIRUN[@]}" -n 2 --
run np3 "${MPIRUN[@]}" -n 3 --
run threads1 -- --threads 1
run threads2 -- --threads 2
run np2_points "${MPIRUN[@]}" -n 2 -- --split points

rows=$(awk 'NF' "$WORK/np1/out_rp.txt" | wc -l)
[[ $rows -eq 12 ]] || fail "np1: rp has $rows rows, expected 12"

for name in np2 np3 threads1 threads2 np2_points; do
  log "check $name rp == np1 rp within 1e-6"
  msg=$(rp_close "$WORK/np1/out_rp.txt" "$WORK/$name/out_rp.txt" 1e-6) \
    || fail "$name rp differs from np1: $msg"

  a=$WORK/np1/out_mean.nii b=$WORK/$name/out_mean.nii
  if cmp -s "$a" "$b"; then
    log "check $name mean image: identical to np1"
    continue
  fi
  log "check $name mean image: not byte-identical, comparing within 1e-4 relative"
  python3 - "$a" "$b" <<'EOF' || fail "$name mean image differs from np1"
import struct, sys
a, b = (open(p, "rb").read() for p in sys.argv[1:3])
if a[:352] != b[:352]:
    sys.exit("headers differ")
if len(a) != len(b):
    sys.exit("sizes differ: %d vs %d" % (len(a), len(b)))
if struct.unpack("<h", a[70:72])[0] != 16:
    sys.exit("mean image is not float32")
n = (len(a) - 352) // 4
va = struct.unpack("<%df" % n, a[352:352 + 4 * n])
vb = struct.unpack("<%df" % n, b[352:352 + 4 * n])
# voxels outside the mask are NaN (float output): they must be NaN in both
nan_a = [i for i, v in enumerate(va) if v != v]
nan_b = [i for i, v in enumerate(vb) if v != v]
if nan_a != nan_b:
    sys.exit("NaN voxels differ: %d vs %d" % (len(nan_a), len(nan_b)))
pairs = [(x, y) for x, y in zip(va, vb) if x == x]
scale = max([abs(x) for x, _ in pairs] + [1e-30])
worst = max([abs(x - y) for x, y in pairs] + [0.0]) / scale
print("  %d NaN voxels in both; max abs difference / max |value| = %.3g" % (len(nan_a), worst))
if not worst <= 1e-4:
    sys.exit("difference %.3g > 1e-4" % worst)
EOF
done
# The resliced series (frames encoded on their own ranks when gzip or int16) and the
# confounds (DVARS computed per block) do not depend on the split either.
for ranks in 1 3; do
  mkdir -p "$WORK/gz$ranks"
  timeout 120 "${MPIRUN[@]}" -n "$ranks" "$REALIGN" -q --datatype input "$WORK/phantom.nii.gz" \
    "$WORK/gz$ranks/out.nii.gz" || fail "gz run with $ranks ranks failed"
done
log "check: .nii.gz int16 series and confounds from 1 and 3 ranks"
python3 - "$WORK/gz1" "$WORK/gz3" "$WORK/np1" "$WORK/np3" <<'EOF' || fail "outputs differ between 1 and 3 ranks"
import gzip, sys
g1, g3, n1, n3 = sys.argv[1:5]
a = gzip.open(g1 + "/out.nii.gz").read()
b = gzip.open(g3 + "/out.nii.gz").read()
if a != b:
    sys.exit("decompressed int16 series differ")
for d1, d3 in ((g1, g3), (n1, n3)):
    rows1 = [l.split("\t") for l in open(d1 + "/out_confounds.tsv").read().split("\n") if l]
    rows3 = [l.split("\t") for l in open(d3 + "/out_confounds.tsv").read().split("\n") if l]
    if rows1[0] != rows3[0] or len(rows1) != len(rows3):
        sys.exit("confounds shape differs")
    for r1, r3 in zip(rows1[1:], rows3[1:]):
        for x, y in zip(r1, r3):
            if x == "n/a" or y == "n/a":
                if x != y:
                    sys.exit("n/a mismatch: %s vs %s" % (x, y))
            elif abs(float(x) - float(y)) > 1e-5 * max(1.0, abs(float(x))):
                sys.exit("confounds differ: %s vs %s" % (x, y))
print("  series identical, confounds agree")
EOF
# More ranks than frames: the last ranks have nothing to do and nobody waits for them.
make_phantom "$WORK/three.nii" --dim 64 64 34 --frames 3
mkdir -p "$WORK/few1" "$WORK/few4"
timeout 120 "${MPIRUN[@]}" -n 1 "$REALIGN" -q "$WORK/three.nii" "$WORK/few1/out.nii" \
  || fail "3 frames on 1 rank failed"
timeout 120 "${MPIRUN[@]}" -n 4 "$REALIGN" -q "$WORK/three.nii" "$WORK/few4/out.nii" \
  || fail "3 frames on 4 ranks failed or hung (status $?)"
msg=$(rp_close "$WORK/few1/out_rp.txt" "$WORK/few4/out_rp.txt" 1e-6) \
  || fail "3 frames: 4 ranks differ from 1: $msg"
cmp -s "$WORK/few1/out_confounds.tsv" "$WORK/few4/out_confounds.tsv" \
  || fail "3 frames: confounds differ between 1 and 4 ranks"
log "check: 3 frames on 4 ranks agree with 1 rank"
log "PASS: all runs agree"
