#!/usr/bin/env bash
# Good time (FIRMM's) and the time to a criterion, against a count of their own made here
# from the FD the lines print and the TR in the header: OUTPUT_follow.json of a follow, the
# live view's status on a terminal (a pseudo-terminal from script(1)), and the batch QC
# report's good-time row for the same volumes; non-steady-state volumes (--dummy-scans) are
# neither counted nor good, volume 1 is good; --good-fd sets the thresholds.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
need_python
command -v script >/dev/null 2>&1 || skip "script(1) (util-linux) is not installed"

log "phantom 24x24x16, 80 frames at TR 1.5 s"
make_phantom "$WORK/ph.nii" --dim 24 24 16 --frames 80 --tr 1.5 --max-trans 1.2 --max-rot 0.8 \
  --spikes 6 --datatype float32
mkdir -p "$WORK/f" "$WORK/live" "$WORK/b" "$WORK/g"
# (Their warning that the reference, volume 1, is one of the non-steady-state volumes, to a
# file: the phantom has none, --dummy-scans only says so.)
timeout 120 "$REALIGN" follow -q --dummy-scans 2 --criterion-minutes 5 "$WORK/ph.nii" \
  "$WORK/f/out.nii" >"$WORK/f.tsv" 2>"$WORK/f.log" || fail "follow exited with $?"
# On a terminal: the same follow draws its live view.
timeout 120 script -qec "$REALIGN follow -q --dummy-scans 2 --criterion-minutes 5 $WORK/ph.nii \
  $WORK/live/out.nii 2>/dev/null" "$WORK/typescript" >/dev/null ||
  fail "follow on a terminal exited with $?"
"$REALIGN" -q --ref first --dummy-scans 2 "$WORK/ph.nii" "$WORK/b/out.nii" 2>"$WORK/b.log" ||
  fail "batch run failed"
timeout 120 "$REALIGN" follow -q --good-fd 0.5,0.25 "$WORK/ph.nii" "$WORK/g/out.nii" \
  >"$WORK/g.tsv" || fail "follow --good-fd exited with $?"

python3 - "$WORK" <<'PY' || fail "good time"
import json, re, struct, sys
w = sys.argv[1]
tr = struct.unpack("<f", open(w + "/ph.nii", "rb").read()[76 + 16:80 + 16])[0]  # pixdim[4]

def counted(tsv, thresholds, nonsteady, criterion=None):
    fd = [None if r[7] == "n/a" else float(r[7]) for r in
          (l.rstrip("\n").split("\t") for l in open(tsv).readlines()[1:])]
    frames = len(fd) - nonsteady
    out = []
    for t in thresholds:
        good = sum(1 for f in range(nonsteady, len(fd)) if f == 0 or fd[f] <= t)
        minutes = good * tr / 60
        further = None
        if criterion:
            further = 0.0 if minutes >= criterion else (criterion - minutes) / (good / frames)
        out.append((t, good, frames, minutes, further))
    return out

want = counted(w + "/f.tsv", [0.2, 0.3, 0.4], 2, 5.0)
print("  counted here: " + "; ".join("%g mm: %d of %d volumes, %.3f min, %.3f min more" % g for g in want))
if len({g[1] for g in want}) < 3 or want[-1][1] == want[-1][2]:
    sys.exit("the phantom's FD does not tell the thresholds apart: %s" % want)

# OUTPUT_follow.json
j = json.load(open(w + "/f/out_follow.json"))
if j["Volumes"] != 80 or j["NonSteadyStateVolumes"] != 2 or abs(j["RepetitionTime"] - tr) > 1e-9:
    sys.exit("follow.json: %s" % {k: j[k] for k in ("Volumes", "NonSteadyStateVolumes", "RepetitionTime")})
if j["CriterionMinutes"] != 5 or j["FramewiseDisplacement"] != "unfiltered":
    sys.exit("follow.json: criterion %s, FD %s" % (j["CriterionMinutes"], j["FramewiseDisplacement"]))
for g, (t, good, frames, minutes, further) in zip(j["GoodTime"], want):
    if (g["Threshold_mm"], g["GoodVolumes"]) != (t, good) or abs(g["GoodFraction"] - good / frames) > 1e-12 \
            or abs(g["GoodMinutes"] - minutes) > 1e-9 or abs(g["FurtherMinutes"] - further) > 1e-9:
        sys.exit("follow.json at %g mm: %s, counted %s" % (t, g, (good, minutes, further)))
print("  out_follow.json: the same")

# The live view's last status.
text = open(w + "/typescript", encoding="utf-8", errors="replace").read()
status = re.findall(r"good time ([\d.| ]+) min at FD \u2264 ([\d.| ]+) mm; 5 min in ([\d.| ]+) min more", text)
if not status:
    sys.exit("no good time in the live view: %r" % text[-400:])
minutes, thresholds, further = ([x.strip() for x in part.split("|")] for part in status[-1])
if thresholds != ["0.2", "0.3", "0.4"] or minutes != ["%.1f" % g[3] for g in want] \
        or further != ["%.1f" % g[4] for g in want]:
    sys.exit("live view: %s, counted %s" % (status[-1], want))
print("  live view: good time %s min, %s min more" % (" | ".join(minutes), " | ".join(further)))

# The batch report of the same volumes.
html = open(w + "/b/out_report.html", encoding="utf-8").read()
row = re.search(r'<tr id="good-time"><th>([^<]*)</th><td>([^<]*)</td>', html)
if not row:
    sys.exit("no good-time row in the report")
for t, good, frames, minutes, _ in want:
    part = "\u2264 %g mm: %.2f min (%d frames, %.1f%%)" % (t, minutes, good, 100.0 * good / frames)
    if part not in row.group(2):
        sys.exit("report: %r lacks %r" % (row.group(2), part))
if "of 78 frames after the non-steady-state ones" not in row.group(2):
    sys.exit("report: %r" % row.group(2))
print("  report: %s" % row.group(2))

# --good-fd 0.5,0.25: those thresholds, in ascending order; no criterion, no prediction.
g = json.load(open(w + "/g/out_follow.json"))
mine = counted(w + "/g.tsv", [0.25, 0.5], 0)
if [(x["Threshold_mm"], x["GoodVolumes"]) for x in g["GoodTime"]] != [(t, n) for t, n, *_ in mine] \
        or any("FurtherMinutes" in x for x in g["GoodTime"]) or "CriterionMinutes" in g:
    sys.exit("--good-fd 0.5,0.25: %s, counted %s" % (g["GoodTime"], mine))
print("  --good-fd 0.5,0.25: %s" % [(x["Threshold_mm"], x["GoodVolumes"]) for x in g["GoodTime"]])
PY
log "PASS"
