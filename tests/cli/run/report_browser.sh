#!/usr/bin/env bash
# The QC report as a user sees it: realign (2 MPI ranks) writes <stem>_report.html for a
# phantom with motion spikes, headless Chromium renders it, and the checks read the
# screenshot's pixels and the browser's DOM:
#   - the file is well-formed XML, self-contained (no URL but the SVG namespace) and small;
#   - the summary table in the DOM holds the values computed here from the confounds TSV;
#   - the over-threshold marker colour appears in exactly as many distinct bands as the TSV
#     has runs of consecutive frames with FD above --fd-threshold, each through all five panels;
#   - six grey slice pictures rendered, at the proportions of their millimetres;
#   - the embedded pictures are exactly the centre slices of the mean of the input frames
#     (computed here from the input), of the written mean image, in the stated window, and
#     of their difference, each drawn larger by nearest neighbour (no blended grey levels).
# Skips (77) when Chromium is not installed.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
need_python
need_mpirun
# shellcheck source=../lib/browser.sh
source "$(dirname "$0")/../lib/browser.sh"

log "phantom 48x48x30, 60 frames, 3 spikes"
make_phantom "$WORK/ph.nii.gz" --dim 48 48 30 --frames 60 --spikes 3 --seed 5
log "realign on 2 ranks, --fd-threshold 0.4"
"${MPIRUN[@]}" -n 2 "$REALIGN" -q --fd-threshold 0.4 "$WORK/ph.nii.gz" "$WORK/out.nii.gz" ||
  fail "realign exited with $?"
[[ -s $WORK/out_report.html ]] || fail "no out_report.html"

log "rendering with $($CHROMIUM --version 2>/dev/null)"
render shot 1200,3000 "$WORK/out_report.html" --screenshot="$WORK/shot.png" >"$WORK/shot.log" 2>&1 ||
  fail "chromium --screenshot failed: $(tail -3 "$WORK/shot.log")"
[[ -s $WORK/shot.png ]] || fail "no screenshot"
render dom 1200,3000 "$WORK/out_report.html" --dump-dom >"$WORK/dom.html" 2>"$WORK/dom.log" ||
  fail "chromium --dump-dom failed: $(tail -3 "$WORK/dom.log")"

PYTHONPATH="$(dirname "$0")/../lib" python3 - "$WORK" <<'EOF' || fail "report checks failed"
import base64, gzip, math, os, re, struct, sys, zlib
import xml.etree.ElementTree as ET
from checks import check, finish
from html_tables import rows_by_id, tables
from png import png_decode

w = sys.argv[1]

def nifti(path):
    """(dims, float voxel values with scaling) of a NIfTI-1 .nii.gz, int16 or float32."""
    data = gzip.open(path, "rb").read()
    dim = struct.unpack("<8h", data[40:56])
    dtype = struct.unpack("<h", data[70:72])[0]
    slope, inter = struct.unpack("<2f", data[112:120])
    offset = int(struct.unpack("<f", data[108:112])[0])
    n = 1
    for d in dim[1:dim[0] + 1]:
        n *= d
    code = {4: "h", 16: "f"}[dtype]
    vals = struct.unpack("<%d%s" % (n, code), data[offset:offset + n * struct.calcsize(code)])
    if slope not in (0.0, 1.0) or inter != 0.0:
        vals = [v * slope + inter for v in vals]
    return dim, vals

def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]

html = open(os.path.join(w, "out_report.html"), encoding="utf-8").read()
size = os.path.getsize(os.path.join(w, "out_report.html"))
check(size < 1024 * 1024, "report is %d bytes (< 1 MiB)" % size)
try:
    ET.fromstring(html.replace("<!DOCTYPE html>", "", 1))
    check(True, "the report parses as XML")
except ET.ParseError as e:
    check(False, "the report parses as XML: %s" % e)
payloads = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]*)"', html)
rest = re.sub(r"base64,[A-Za-z0-9+/=]*", "base64,", html).replace('xmlns="http://www.w3.org/2000/svg"', "")
check("http" not in rest and "<script" not in rest and "url(" not in rest,
      "no URL but the SVG namespace, no script")

# ---- Summary values in the browser's DOM against the confounds TSV.
rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(w, "out_confounds.tsv"))]
col = rows[0].index("framewise_displacement")
fd = [float(r[col]) if r[col] != "n/a" else float("nan") for r in rows[1:]]
over = [n + 1 for n, v in enumerate(fd) if v > 0.4]
finite = [v for v in fd if not math.isnan(v)]
summary = rows_by_id(tables(os.path.join(w, "dom.html")))
def cell(i):
    """The value of the summary row with id i: its one data cell after the label."""
    row = summary.get(i)
    return row[1]["text"] if row and len(row) == 2 and row[0]["th"] else None
print("  frames over 0.4 mm (from the TSV): %s" % over)
check(len(over) >= 3, "the spikes put at least 3 frames above 0.4 mm (sanity)")
check(cell("frames") == "60", "frames: %s" % cell("frames"))
check(cell("tr") == "2 s", "TR: %s" % cell("tr"))
runs = []  # consecutive frames as ranges, "3-9, 12"
for n in over:
    if runs and n == runs[-1][1] + 1:
        runs[-1][1] = n
    else:
        runs.append([n, n])
listed = ", ".join(str(a) if a == b else "%d-%d" % (a, b) for a, b in runs)
check(cell("over") == listed, "listed frames: %s" % cell("over"))
check(cell("n-over") == "%d (%.1f%% of frames)" % (len(over), 100.0 * len(over) / 60),
      "count: %s" % cell("n-over"))
imax = max(range(len(fd)), key=lambda n: -1 if math.isnan(fd[n]) else fd[n])
check(cell("max-fd") == "%.3f mm (frame %d)" % (fd[imax], imax + 1), "max FD: %s" % cell("max-fd"))
check(cell("mean-fd") == "%.3f mm" % (sum(finite) / len(finite)), "mean FD: %s" % cell("mean-fd"))
check(cell("unconverged") == "none", "unconverged: %s" % cell("unconverged"))

# ---- The screenshot.
W, H, ch, px = png_decode(open(os.path.join(w, "shot.png"), "rb").read())
print("  screenshot %dx%d, %d channels" % (W, H, ch))
def rgb(x, y):
    i = (y * W + x) * ch
    return px[i], px[i + 1], px[i + 2]

# Marker bands (one per run of consecutive frames over the threshold): colour #fdae6b, full
# panel height, so the legend's short stroke does not count.
marker = (0xfd, 0xae, 0x6b)
count = [0] * W
for y in range(H):
    row = px[y * W * ch:(y + 1) * W * ch]
    for x in range(W):
        i = x * ch
        if row[i] == 0xfd and row[i + 1] == 0xae and row[i + 2] == 0x6b:
            count[x] += 1
cols = [x for x in range(W) if count[x] >= 300]
runs = []
for x in cols:
    if runs and x == runs[-1][-1] + 1:
        runs[-1].append(x)
    else:
        runs.append([x])
check(len(runs) == len(listed.split(", ")),
      "marker colour in %d distinct bands, %d runs of frames over the threshold (%s)"
      % (len(runs), len(listed.split(", ")), listed))
for r in runs:
    x = r[len(r) // 2]
    # Spans of the marker colour down the column; a trace crossing it leaves a short gap,
    # the space between two panels a long one.
    spans = []
    for y in range(H):
        if rgb(x, y) == marker:
            if spans and y - spans[-1][1] <= 40:
                spans[-1][1] = y
            else:
                spans.append([y, y])
    panels = [s for s in spans if s[1] - s[0] >= 100]
    if len(panels) != 5:
        check(False, "marker at x=%d runs through %d panels, expected 5" % (x, len(panels)))
        break
else:
    check(bool(runs), "every marker runs through all 5 panels")
# The traces rendered too: the three trace colours.
for name, c in (("blue", (0x1f, 0x77, 0xb4)), ("green", (0x2c, 0xa0, 0x2c)), ("red", (0xd6, 0x27, 0x28))):
    n = sum(1 for y in range(0, H, 2) for x in range(0, W, 2) if rgb(x, y) == c)
    check(n > 50, "%s trace pixels present (%d sampled)" % (name, n))

# Slice pictures: connected regions of grey (r = g = b, not white) that fill their box.
seen = bytearray(W * H)
def grey(i):
    j = i * ch
    return px[j] == px[j + 1] == px[j + 2] and px[j] < 255
boxes = []
for start in range(W * H):
    if seen[start] or not grey(start):
        continue
    seen[start] = 1
    stack, n = [start], 0
    x0 = x1 = start % W
    y0 = y1 = start // W
    levels = set()
    while stack:
        i = stack.pop()
        n += 1
        x, y = i % W, i // W
        levels.add(px[i * ch])
        x0, x1, y0, y1 = min(x0, x), max(x1, x), min(y0, y), max(y1, y)
        for j in (i - 1 if x > 0 else -1, i + 1 if x + 1 < W else -1, i - W, i + W):
            if 0 <= j < W * H and not seen[j] and grey(j):
                seen[j] = 1
                stack.append(j)
    bw, bh = x1 - x0 + 1, y1 - y0 + 1
    if bw >= 60 and bh >= 40 and n >= 0.85 * bw * bh:
        boxes.append((y0, x0, bw, bh, len(levels)))
boxes.sort()
print("  grey pictures (y, x, width, height, grey levels): %s" % boxes)
imgs = re.findall(r'<img class="(\w+)" width="(\d+)" height="(\d+)"', html)
check(len(boxes) >= 6 and len(imgs) == 9,
      "slice pictures: 6 means rendered (%d grey boxes), 9 embedded with the difference (%d)"
      % (len(boxes), len(imgs)))
boxes = boxes[:6]
# Millimetres: 48 x 48 x 30 voxels of 3 x 3 x 3.5 mm.
ratio = {"axial": 1.0, "coronal": 144 / 105.0, "sagittal": 144 / 105.0}
for (y0, x0, bw, bh, levels), (plane, iw, ih) in zip(boxes, imgs):
    check(abs(bw - int(iw)) <= 2 and abs(bh - int(ih)) <= 2 and abs(bw / bh - ratio[plane]) < 0.03
          and levels > 40, "%s picture %dx%d px (element %sx%s), %d grey levels"
          % (plane, bw, bh, iw, ih, levels))

# ---- The embedded pictures are the centre slices of the two means, in one window.
dim, series = nifti(os.path.join(w, "ph.nii.gz"))
nx, ny, nz, nt = dim[1:5]
nv = nx * ny * nz
before = [f32(sum(series[v + t * nv] for t in range(nt)) / nt) for v in range(nv)]
_, after = nifti(os.path.join(w, "out_mean.nii.gz"))
nonzero = sorted(v for v in before if v != 0 and math.isfinite(v))
lo, hi = nonzero[int(0.01 * (len(nonzero) - 1))], nonzero[int(0.99 * (len(nonzero) - 1))]
def grey_level(v):
    if math.isnan(v):
        return 0
    return int(math.floor(min(1.0, max(0.0, (v - lo) / (hi - lo))) * 255.0 + 0.5))
def slices(vol):
    at = lambda i, j, k: grey_level(vol[(k * ny + j) * nx + i])
    # RAS storage: neurological axial/coronal (right on the right), sagittal anterior left.
    kc, jc, ic = (nz - 1) // 2, (ny - 1) // 2, (nx - 1) // 2
    axial = (nx, ny, [at(i, ny - 1 - r, kc) for r in range(ny) for i in range(nx)])
    coronal = (nx, nz, [at(i, jc, nz - 1 - r) for r in range(nz) for i in range(nx)])
    sagittal = (ny, nz, [at(ic, ny - 1 - c, nz - 1 - r) for r in range(nz) for c in range(ny)])
    return [axial, coronal, sagittal]
expected = slices(before) + slices(after)
# The difference row: after minus before at +-1/4 of the window, mid-grey for none.
d = f32((hi - lo) / 4.0)
lo, hi = -d, d
expected += slices([f32(a - b) for a, b in zip(after, before)])
check(len(payloads) == 9, "nine embedded PNGs")
for k, (b64, (ew, eh, epx)) in enumerate(zip(payloads, expected)):
    pw, ph, pch, ppx = png_decode(base64.b64decode(b64))
    # Drawn larger by nearest neighbour: the centre of each voxel's block is that voxel.
    sampled = [ppx[int((r + 0.5) * ph / eh) * pw + int((c + 0.5) * pw / ew)]
               for r in range(eh) for c in range(ew)]
    same = pch == 1 and pw >= ew and ph >= eh and sampled == epx and set(ppx) <= set(epx)
    check(same, "embedded picture %d (%s, %s) is the centre slice of %s" %
          (k + 1, ["axial", "coronal", "sagittal"][k % 3], "%dx%d" % (pw, ph),
           ["the mean before realignment", "out_mean.nii.gz", "their difference"][k // 3]))
finish()
EOF
log "PASS"
