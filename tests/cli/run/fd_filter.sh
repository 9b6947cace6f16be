#!/usr/bin/env bash
# --fd-filter notch:LO-HI on a phantom whose motion is a slow drift plus a breathing-rate
# oscillation of known rate and amplitude (15 breaths per minute, 0.3 mm along y and 0.002
# rad of pitch, TR 0.8 s): the confounds' framewise_displacement_filtered comes down to the
# drift's FD (computed here from the drift alone), the unfiltered framewise_displacement,
# kept as it was, does not; the column is the sidecar's filter applied to the rp file's
# parameters (an implementation of its own here, forward from frame 1); the motion outliers
# follow the filtered FD; a follow of the same volumes prints the same filtered FD, and its
# outputs are the batch's; a band at or above the Nyquist frequency of the TR is refused
# with one line naming the TR (exit status 2), by a run and by a follow.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
need_python

log "phantom 32x32x20, 200 frames at TR 0.8 s: drift + breathing at 15 per minute"
make_phantom "$WORK/head.nii" --dim 32 32 20 --frames 2 --max-trans 0 --max-rot 0 --spikes 0 \
  --noise 0
python3 - "$WORK" <<'PY'
import math, sys
w, n, tr = sys.argv[1], 200, 0.8
drift, moving = [], []
for t in range(n):
    s = t / n
    d = [0.8 * s, 1.2 * s * s, -0.5 * math.sin(math.pi * s), 0.01 * s, -0.006 * s, 0.004 * s * s]
    b = math.sin(2 * math.pi * 15 / 60 * tr * t)
    m = list(d)
    m[1] += 0.3 * b
    m[3] += 0.002 * b
    drift.append(d)
    moving.append(m)
for name, rows in (("drift", drift), ("motion", moving)):
    with open("%s/%s.txt" % (w, name), "w") as f:
        for r in rows:
            f.write(" ".join("%.10e" % v for v in r) + "\n")
PY
make_phantom "$WORK/ph.nii" --from "$WORK/head.nii" --frame 1 --motion "$WORK/motion.txt" \
  --tr 0.8 --noise 0.005 --datatype float32

log "batch: --ref first --fd-filter notch:12-18 --fd-threshold 0.2"
mkdir -p "$WORK/b" "$WORK/plain"
"$REALIGN" -q --ref first --fd-filter notch:12-18 --fd-threshold 0.2 "$WORK/ph.nii" \
  "$WORK/b/out.nii" || fail "run with --fd-filter exited with $?"
"$REALIGN" -q --ref first --no-reslice --fd-threshold 0.2 "$WORK/ph.nii" "$WORK/plain/out.nii" ||
  fail "run without --fd-filter exited with $?"
python3 - "$WORK" <<'PY' || fail "filtered FD"
import json, math, sys
w = sys.argv[1]
rows = [l.rstrip("\n").split("\t") for l in open(w + "/b/out_confounds.tsv")]
col = {name: [r[k] for r in rows[1:]] for k, name in enumerate(rows[0])}
num = lambda v: float("nan") if v == "n/a" else float(v)
fd, fdf = [num(v) for v in col["framewise_displacement"]], [num(v) for v in col["framewise_displacement_filtered"]]
n, radius = len(fd), 50.0

def fd_of(rp):
    return [float("nan")] + [sum(abs(a - b) * (1 if k < 3 else radius) for k, (a, b) in enumerate(zip(p, q)))
                             for p, q in zip(rp[1:], rp[:-1])]

# The truth: the drift's own FD. Past the filter's start (40 frames, 32 s), the filtered FD
# is within the estimate's own noise of it; the unfiltered one carries the breathing.
drift = [[float(x) for x in l.split()] for l in open(w + "/drift.txt")]
truth = fd_of(drift)
steady = range(40, n)
off_f = sum(abs(fdf[t] - truth[t]) for t in steady) / len(steady)
off_u = sum(abs(fd[t] - truth[t]) for t in steady) / len(steady)
print("  mean |FD - drift's FD| from frame 41: filtered %.4f mm, unfiltered %.4f mm" % (off_f, off_u))
if not off_f < 0.03:
    sys.exit("the filtered FD is %.4f mm from the drift's" % off_f)
if not off_u > 0.2:
    sys.exit("the unfiltered FD is only %.4f mm from the drift's" % off_u)

# The unfiltered column is plain FD of the rp file, as without the filter.
plain = [l.rstrip("\n").split("\t") for l in open(w + "/plain/out_confounds.tsv")]
if [r[plain[0].index("framewise_displacement")] for r in plain[1:]] != col["framewise_displacement"]:
    sys.exit("framewise_displacement differs from a run without --fd-filter")
if "framewise_displacement_filtered" in plain[0]:
    sys.exit("a run without --fd-filter has the filtered column")

# The sidecar's filter, implemented here from its description: the second-order notch with
# its zero at the band's centre and its -3 dB points the band's width apart (the bilinear
# transform of s^2 + W0^2 over s^2 + B s + W0^2, frequencies prewarped), forward from
# frame 1, which starts the filter in its steady state.
side = json.load(open(w + "/b/out_confounds.json"))
f = side["framewise_displacement_filtered"]["FilterOfParameters"]
if f["Type"] != "notch" or f["StopBand_bpm"] != [12, 18]:
    sys.exit("sidecar's filter: %s" % f)
if side.get("MotionOutliersFrom") != "framewise_displacement_filtered":
    sys.exit("MotionOutliersFrom: %s" % side.get("MotionOutliersFrom"))
tr = side["RepetitionTime"]
w0 = 2 * math.pi * 15 / 60 * tr
width = 2 * math.pi * 6 / 60 * tr
W0 = math.tan(w0 / 2)
B = (1 + W0 * W0) * math.tan(width / 2)
den = 1 + B + W0 * W0
b = [(1 + W0 * W0) / den, (2 * W0 * W0 - 2) / den, (1 + W0 * W0) / den]
a = [1, (2 * W0 * W0 - 2) / den, (1 - B + W0 * W0) / den]
rp = [[float(x) for x in l.split()] for l in open(w + "/b/out_rp.txt")]
filtered = []
for k in range(6):
    x = [r[k] for r in rp]
    y = [x[0], x[0]]  # the steady state: the output was x[0] for ever
    xs = [x[0], x[0]]
    for t in range(1, n):
        xs.append(x[t])
        y.append(b[0] * xs[-1] + b[1] * xs[-2] + b[2] * xs[-3] - a[1] * y[-1] - a[2] * y[-2])
    filtered.append(y[1:])
mine = fd_of([[filtered[k][t] for k in range(6)] for t in range(n)])
worst = max(abs(mine[t] - fdf[t]) for t in range(1, n))
if worst > 1e-6:
    sys.exit("the column differs from the sidecar's filter by %g mm" % worst)
print("  the column is the sidecar's notch applied forward to the rp file (within %.1g mm)" % worst)

# Outliers: the frames whose filtered FD is above --fd-threshold, not those of the unfiltered.
outliers = [c for c in rows[0] if c.startswith("motion_outlier_")]
want = sum(1 for v in fdf if v > 0.2)
raw = sum(1 for v in fd if v > 0.2)
if len(outliers) != want or not raw > 2 * want:
    sys.exit("%d motion_outlier columns; filtered FD > 0.2 at %d frames, unfiltered at %d" % (len(outliers), want, raw))
print("  %d motion outliers by the filtered FD (%d by the unfiltered)" % (want, raw))
PY
grep -q 'id="fd-filter"' "$WORK/b/out_report.html" || fail "the report does not name the filter"
grep -q "Frames with filtered FD" "$WORK/b/out_report.html" || fail "the report's n-over row"

log "follow of the same volumes: the same filtered FD in its lines, the batch's outputs"
mkdir -p "$WORK/f"
timeout 120 "$REALIGN" follow -q --fd-filter notch:12-18 --fd-threshold 0.2 "$WORK/ph.nii" \
  "$WORK/f/out.nii" >"$WORK/f.tsv" || fail "follow with --fd-filter exited with $?"
python3 - "$WORK" <<'PY' || fail "follow's filtered FD"
import sys
w = sys.argv[1]
lines = [l.rstrip("\n").split("\t") for l in open(w + "/f.tsv")]
if lines[0][-1] != "framewise_displacement_filtered" or len(lines[0]) != 12:
    sys.exit("header %s" % lines[0])
rows = [l.rstrip("\n").split("\t") for l in open(w + "/b/out_confounds.tsv")]
k = rows[0].index("framewise_displacement_filtered")
for line, row in zip(lines[1:], rows[1:]):
    if line[11] == "n/a" or row[k] == "n/a":
        if line[11] != row[k]:
            sys.exit("frame %s: %s vs %s" % (line[0], line[11], row[k]))
        continue
    if abs(float(line[11]) - float(row[k])) > 1.5e-6:
        sys.exit("frame %s: follow %s, batch %s" % (line[0], line[11], row[k]))
    if line[10] != ("1" if float(line[11]) > 0.2 else "0"):
        sys.exit("frame %s: flagged %s with filtered FD %s" % (line[0], line[10], line[11]))
print("  %d lines: filtered FD as the batch's, flagged by it" % (len(lines) - 1))
PY
for f in out.nii out_rp.txt out_confounds.tsv out_confounds.json; do
  cmp -s "$WORK/b/$f" "$WORK/f/$f" || fail "follow's $f differs from the batch's"
done

log "a band at or above the Nyquist frequency (37.5 per minute at TR 0.8 s) is refused"
mkdir -p "$WORK/n"
for cmd in run follow; do
  args=(--fd-filter notch:42-45 "$WORK/ph.nii" "$WORK/n/out.nii")
  [[ $cmd == follow ]] && args=(follow "${args[@]}")
  status=0
  "$REALIGN" -q "${args[@]}" >/dev/null 2>"$WORK/err" || status=$?
  [[ $status == 2 ]] || fail "$cmd: exit status $status, not 2: $(cat "$WORK/err")"
  [[ $(wc -l <"$WORK/err") == 1 ]] || fail "$cmd: not one line: $(cat "$WORK/err")"
  grep -q "notch:42-45: above the Nyquist frequency for TR 0.8 s (37.5 breaths per minute)" \
    "$WORK/err" || fail "$cmd: $(cat "$WORK/err")"
  grep -q "give --fd-filter notch:30-33" "$WORK/err" || fail "$cmd: no aliased band: $(cat "$WORK/err")"
  [[ -z $(ls "$WORK/n") ]] || fail "$cmd: wrote $(ls "$WORK/n")"
  log "  $cmd: $(cat "$WORK/err")"
done
status=0
"$REALIGN" --fd-filter 12-18 "$WORK/ph.nii" "$WORK/n/out.nii" 2>"$WORK/err" || status=$?
[[ $status == 2 ]] && grep -q "expects notch:LO-HI" "$WORK/err" || fail "--fd-filter 12-18: exit $status"
log "PASS"
