#!/usr/bin/env bash
# realign follow: a phantom replayed as a 4D stream and through the scanner simulator (by
# rename, and written in pieces as .nii.gz) gives one line per volume whose parameters are
# the batch `--ref first` run's, and final outputs byte for byte the batch's; --reslice-to
# writes each volume resliced as the batch does; a reference file and the mean of the first
# N volumes give what the batch gives with that reference. A shared real run too, when there.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
# shellcheck source-path=SCRIPTDIR source=../lib/follow.sh
source "$(dirname "$0")/../lib/follow.sh"
need_python

OUTS=(out.nii.gz out_mean.nii.gz out_rp.txt out_xfm.txt out_confounds.tsv)
# same_outputs DIR: DIR's outputs are byte for byte the batch run's.
same_outputs() {
  for f in "${OUTS[@]}"; do
    cmp -s "$WORK/batch/$f" "$1/$f" || fail "$1/$f differs from the batch run's"
  done
  [[ -s "$1/out_report.html" && -s "$1/out_motion.svg" ]] || fail "$1: no report or plot"
}

log "phantom 32x32x20, 10 frames, int16; batch --ref first"
make_phantom "$WORK/ph.nii.gz" --dim 32 32 20 --frames 10 --datatype int16
mkdir -p "$WORK/batch" "$WORK/stream" "$WORK/dir" "$WORK/gz" "$WORK/r"
"$REALIGN" -q --ref first "$WORK/ph.nii.gz" "$WORK/batch/out.nii.gz" || fail "batch run failed"

log "the 4D file as a stream"
"$REALIGN" follow -q "$WORK/ph.nii.gz" "$WORK/stream/out.nii.gz" >"$WORK/stream.tsv" ||
  fail "follow of a 4D file exited with $?"
lines_match "$WORK/stream.tsv" "$WORK/batch/out_rp.txt" 1e-6 || fail "stream lines"
same_outputs "$WORK/stream"

log "through the simulator at TR 0.05 s (rename), with --reslice-to"
start_follow "$WORK/dir.tsv" "$WORK/dir.log" --timeout 4 --reslice-to "$WORK/r" "$WORK/in" \
  "$WORK/dir/out.nii.gz"
"$SIMULATE" "$WORK/ph.nii.gz" "$WORK/in" --tr 0.05 || fail "simulator failed"
finish_follow || fail "follow exited with $?"
lines_match "$WORK/dir.tsv" "$WORK/batch/out_rp.txt" 1e-6 || fail "directory lines"
same_outputs "$WORK/dir"
grep -q "latency ms: median" "$WORK/dir.log" || fail "no latency summary in the log"
python3 - "$WORK" <<'PY' || fail "--reslice-to volumes differ from the batch's resliced frames"
import array, gzip, os, struct, sys
w = sys.argv[1]
def floats(path):
    raw = (gzip.open if path.endswith(".gz") else open)(path, "rb").read()
    off = int(struct.unpack("<f", raw[108:112])[0])
    a = array.array("f"); a.frombytes(raw[off:]); return a
series = floats(os.path.join(w, "batch", "out.nii.gz"))
n = len(series) // 10
for f in range(10):
    one = floats(os.path.join(w, "r", "rvol_%05d.nii" % (f + 1)))
    batch = series[f * n:(f + 1) * n]
    # The batch masks what some frame cannot see; elsewhere the values are the same.
    bad = sum(1 for a, b in zip(one, batch) if b == b and a != b)
    if len(one) != n or bad:
        sys.exit("frame %d: %d voxels differ" % (f + 1, bad))
print("  10 resliced volumes equal the batch's frames inside its mask")
PY

log "written in pieces as .nii.gz (--partial)"
start_follow "$WORK/gz.tsv" "$WORK/gz.log" --timeout 4 "$WORK/ingz" "$WORK/gz/out.nii.gz"
"$SIMULATE" "$WORK/ph.nii.gz" "$WORK/ingz" --tr 0.05 --gz --partial || fail "simulator failed"
finish_follow || fail "follow exited with $?"
lines_match "$WORK/gz.tsv" "$WORK/batch/out_rp.txt" 1e-6 || fail "partial-write lines"
same_outputs "$WORK/gz"

log "--ref FILE and --ref-volumes 3 against the batch with the same reference"
make_phantom "$WORK/f.nii" --dim 24 24 16 --frames 6 --datatype float32
python3 - "$WORK/f.nii" "$WORK/mean3.nii" <<'PY' || fail "could not write the mean of 3 frames"
import array, struct, sys
raw = open(sys.argv[1], "rb").read()
off = int(struct.unpack("<f", raw[108:112])[0])
dim = list(struct.unpack("<8h", raw[40:56]))
n = dim[1] * dim[2] * dim[3]
a = array.array("f"); a.frombytes(raw[off:off + 12 * n])
mean = array.array("f", [(0.0 + a[i] + a[n + i] + a[2 * n + i]) / 3 for i in range(n)])
h = bytearray(raw[:off]); dim[0], dim[4] = 3, 1
struct.pack_into("<8h", h, 40, *dim)
open(sys.argv[2], "wb").write(bytes(h) + mean.tobytes())
PY
mkdir -p "$WORK/bref" "$WORK/fref" "$WORK/fmean"
"$REALIGN" -q --ref "$WORK/mean3.nii" "$WORK/f.nii" "$WORK/bref/out.nii" || fail "batch --ref file"
"$REALIGN" follow -q --ref "$WORK/mean3.nii" "$WORK/f.nii" "$WORK/fref/out.nii" >/dev/null ||
  fail "follow --ref file"
"$REALIGN" follow -q --ref-volumes 3 "$WORK/f.nii" "$WORK/fmean/out.nii" >"$WORK/fmean.tsv" ||
  fail "follow --ref-volumes 3"
for d in fref fmean; do
  cmp -s "$WORK/bref/out_xfm.txt" "$WORK/$d/out_xfm.txt" || fail "$d: xfm differs from the batch's"
  cmp -s "$WORK/bref/out_rp.txt" "$WORK/$d/out_rp.txt" || fail "$d: rp differs from the batch's"
done
lines_match "$WORK/fmean.tsv" "$WORK/bref/out_rp.txt" 1e-6 || fail "--ref-volumes lines"

run=$SHARED/data/real/rtcloud_faces_run-01_bold.nii.gz
if [[ -f "$run" ]]; then
  log "shared run rtcloud_faces (64x64x27x10) through the simulator"
  mkdir -p "$WORK/rb" "$WORK/rf"
  "$REALIGN" -q --ref first --no-reslice "$run" "$WORK/rb/out.nii" || fail "batch on the shared run"
  start_follow "$WORK/rt.tsv" "$WORK/rt.log" --no-reslice --timeout 4 "$WORK/inrt" "$WORK/rf/out.nii"
  "$SIMULATE" "$run" "$WORK/inrt" --tr 0.05 || fail "simulator failed"
  finish_follow || fail "follow exited with $?"
  lines_match "$WORK/rt.tsv" "$WORK/rb/out_rp.txt" 1e-6 || fail "shared run lines"
  cmp -s "$WORK/rb/out_rp.txt" "$WORK/rf/out_rp.txt" || fail "shared run: rp differs from the batch's"
else
  log "no shared data: shared-run replay skipped"
fi
log "PASS"
