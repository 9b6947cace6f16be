#!/usr/bin/env bash
# The output files: the resliced image keeps the input's geometry (pixdim incl. TR,
# qform/sform codes, srow), is float32 by default and int16 with --datatype input;
# the mean image is 3D; the SVG is an SVG; --no-reslice writes reports but no images (and
# its QC report says so); --no-report leaves the QC report out.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
need_python

log "making an oblique int16 phantom 32x32x20, 8 frames, TR 1.5 s"
make_phantom "$WORK/phantom.nii.gz" --dim 32 32 20 --frames 8 --tr 1.5 --oblique --datatype int16

log "run realign (default float32) -> .nii.gz"
mkdir -p "$WORK/f32" "$WORK/int" "$WORK/est"
"$REALIGN" -q "$WORK/phantom.nii.gz" "$WORK/f32/out.nii.gz" || fail "realign exited with $?"
log "run realign --datatype input -> .nii.gz"
"$REALIGN" -q --datatype input "$WORK/phantom.nii.gz" "$WORK/int/out.nii.gz" || fail "realign --datatype input exited with $?"

for f in out.nii.gz out_mean.nii.gz out_rp.txt out_confounds.tsv out_confounds.json out_xfm.txt out_motion.svg out_report.html; do
  [[ -s "$WORK/f32/$f" ]] || fail "missing or empty output $f"
done
log "all 8 outputs present"

PYTHONPATH="$(dirname "$0")/../lib" python3 - "$WORK" <<'EOF' || fail "header checks failed"
import gzip, os, struct, sys
from checks import check, finish

w = sys.argv[1]

def header(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        h = f.read(348)
    if len(h) != 348:
        sys.exit("%s: short header" % path)
    e = "<" if struct.unpack("<i", h[:4])[0] == 348 else ">"
    return {
        "dim": struct.unpack(e + "8h", h[40:56]),
        "datatype": struct.unpack(e + "h", h[70:72])[0],
        "pixdim": struct.unpack(e + "8f", h[76:108]),
        "xyzt_units": h[123],
        "codes": struct.unpack(e + "2h", h[252:256]),
        "quatern": struct.unpack(e + "6f", h[256:280]),
        "srow": struct.unpack(e + "12f", h[280:328]),
    }

def close(a, b, tol=1e-5):
    return all(abs(x - y) <= tol * max(1.0, abs(x), abs(y)) for x, y in zip(a, b))

src = header(os.path.join(w, "phantom.nii.gz"))
out = header(os.path.join(w, "f32", "out.nii.gz"))
mean = header(os.path.join(w, "f32", "out_mean.nii.gz"))
outi = header(os.path.join(w, "int", "out.nii.gz"))
print("  input: dim %s pixdim %s codes %s" % (src["dim"][:5], tuple(round(v, 4) for v in src["pixdim"][:5]), src["codes"]))

check(src["codes"] != (0, 0), "input phantom has a qform or sform (sanity)")
check(abs(src["pixdim"][4] - 1.5) < 1e-6, "input TR is 1.5 s (sanity)")
for name, h in (("resliced", out), ("resliced --datatype input", outi)):
    check(h["dim"][:5] == src["dim"][:5], "%s dim %s == input %s" % (name, h["dim"][:5], src["dim"][:5]))
    check(close(h["pixdim"][:5], src["pixdim"][:5]),
          "%s pixdim[0..4] %s == input (TR pixdim[4] = %g)" % (name, tuple(round(v, 4) for v in h["pixdim"][:5]), h["pixdim"][4]))
    check(h["codes"] == src["codes"], "%s qform/sform codes %s == input %s" % (name, h["codes"], src["codes"]))
    check(close(h["srow"], src["srow"]), "%s srow_x/y/z == input" % name)
    check(close(h["quatern"], src["quatern"], 1e-4), "%s quatern/qoffset == input" % name)
    check(h["xyzt_units"] == src["xyzt_units"], "%s xyzt_units %d == input %d" % (name, h["xyzt_units"], src["xyzt_units"]))
check(out["datatype"] == 16, "default output datatype is float32 (16), got %d" % out["datatype"])
check(outi["datatype"] == 4, "--datatype input output datatype is int16 (4), got %d" % outi["datatype"])
check(src["datatype"] == 4, "input datatype is int16 (4) (sanity)")
check(mean["dim"][0] == 3 and mean["dim"][1:4] == src["dim"][1:4],
      "mean image is 3D on the input grid: dim %s" % (mean["dim"][:5],))
check(close(mean["srow"], src["srow"]) and mean["codes"] == src["codes"], "mean image keeps the input's sform/qform")
finish("header checks")
EOF

head=$(head -c 5 "$WORK/f32/out_motion.svg")
[[ $head == "<?xml" || $head == "<svg"* ]] || fail "SVG starts with '$head', expected <?xml or <svg"
grep -q '</svg>' "$WORK/f32/out_motion.svg" || fail "SVG has no closing </svg>"
log "SVG starts with '$head' and is closed"

log "run realign --no-reslice"
"$REALIGN" -q --no-reslice "$WORK/phantom.nii.gz" "$WORK/est/out.nii.gz" || fail "realign --no-reslice exited with $?"
for f in out_rp.txt out_confounds.tsv out_confounds.json out_xfm.txt out_motion.svg out_report.html; do
  [[ -s "$WORK/est/$f" ]] || fail "--no-reslice: missing $f"
done
images=$(find "$WORK/est" -name '*.nii' -o -name '*.nii.gz' | tr '\n' ' ')
[[ -z $images ]] || fail "--no-reslice wrote images: $images"
log "--no-reslice wrote rp, confounds, xfm, svg and report, and no .nii files"
grep -q 'id="no-after"' "$WORK/est/out_report.html" || fail "--no-reslice report does not say there is no mean after"
[[ $(grep -o 'src="data:image/png' "$WORK/est/out_report.html" | wc -l) -eq 3 ]] \
  || fail "--no-reslice report should show the 3 slices of the mean before realignment"
grep -o 'src="data:image/png' "$WORK/f32/out_report.html" | wc -l | grep -qx 9 \
  || fail "the report should show 9 slices (mean before, after and their difference)"
log "the reports show 9 slices, or 3 and a note with --no-reslice"

log "run realign --no-reslice --no-report"
mkdir -p "$WORK/norep"
"$REALIGN" -q --no-reslice --no-report "$WORK/phantom.nii.gz" "$WORK/norep/out.nii.gz" || fail "realign --no-report exited with $?"
[[ -s "$WORK/norep/out_rp.txt" && ! -e "$WORK/norep/out_report.html" ]] || fail "--no-report: expected rp and no report"
log "--no-report wrote no report"
rows=$(awk 'NF == 6' "$WORK/est/out_rp.txt" | wc -l)
[[ $rows -eq 8 ]] || fail "--no-reslice rp has $rows rows of 6 numbers, expected 8"
msg=$(rp_close "$WORK/f32/out_rp.txt" "$WORK/est/out_rp.txt" 1e-6) \
  || fail "--no-reslice rp differs from the resliced run: $msg"
log "--no-reslice rp equals the full run's rp"
log "PASS"
