#!/usr/bin/env bash
# The reports above a single run, as a user sees them in a browser: the subject report of
# `realign RUN1 RUN2 -o DIR` and the dataset index of `realign bids`. Headless Chromium
# renders both; the checks read the browser's DOM and the screenshot's pixels:
#   - every page is self-contained (no URL but the SVG namespace);
#   - the subject report has a row per run whose frames and max FD are those of the run's
#     confounds TSV, and its links lead to the runs' own reports;
#   - the index lists every realigned run with the mean and max FD of its TSV and a link
#     to its report that exists, and the broken run in the table of failed runs;
#   - the screenshots are not blank.
# Skips (77) when Chromium is not installed.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
need_python
need_mpirun
# shellcheck source=../lib/browser.sh
source "$(dirname "$0")/../lib/browser.sh"

log "two phantom runs on one grid, 20 frames each"
make_phantom "$WORK/run1.nii.gz" --dim 40 40 20 --frames 20 --seed 3
make_phantom "$WORK/run2.nii.gz" --dim 40 40 20 --frames 20 --seed 4
mkdir -p "$WORK/subject"
"${MPIRUN[@]}" -n 2 "$REALIGN" -q "$WORK/run1.nii.gz" "$WORK/run2.nii.gz" -o "$WORK/subject" ||
  fail "realign RUN1 RUN2 -o DIR exited with $?"
[[ -s $WORK/subject/subject_report.html ]] || fail "no subject_report.html"

log "a BIDS tree: sub-01 with two runs, sub-02 with one run and a broken one"
func1=$WORK/ds/sub-01/func
func2=$WORK/ds/sub-02/func
mkdir -p "$func1" "$func2"
cp "$WORK/run1.nii.gz" "$func1/sub-01_task-rest_run-1_bold.nii.gz"
cp "$WORK/run2.nii.gz" "$func1/sub-01_task-rest_run-2_bold.nii.gz"
cp "$WORK/run2.nii.gz" "$func2/sub-02_task-rest_bold.nii.gz"
head -c 20000 "$WORK/run1.nii.gz" >"$func2/sub-02_task-motor_bold.nii.gz"
echo '{"RepetitionTime": 2.0}' >"$WORK/ds/task-rest_bold.json"
status=0
"${MPIRUN[@]}" -n 2 "$REALIGN" -q bids "$WORK/ds" "$WORK/out" 2>"$WORK/bids.log" || status=$?
[[ $status == 5 ]] || fail "realign bids exited with $status, expected 5 (one run failed)"
[[ -s $WORK/out/index.html ]] || fail "no index.html"

for page in subject/subject_report out/index; do
  name=$(basename "$page")
  log "rendering $page.html"
  render "$name-shot" 1200,1600 "$WORK/$page.html" --screenshot="$WORK/$name.png" >"$WORK/$name.log" 2>&1 ||
    fail "chromium --screenshot of $page.html failed: $(tail -3 "$WORK/$name.log")"
  render "$name-dom" 1200,1600 "$WORK/$page.html" --dump-dom >"$WORK/$name.dom.html" 2>>"$WORK/$name.log" ||
    fail "chromium --dump-dom of $page.html failed: $(tail -3 "$WORK/$name.log")"
done

PYTHONPATH="$(dirname "$0")/../lib" python3 - "$WORK" <<'EOF' || fail "report checks failed"
import csv, os, re, sys
from checks import check, finish
from html_tables import data_rows, tables
from png import png_decode

w = sys.argv[1]

def fd_column(tsv):
    rows = list(csv.DictReader(open(tsv), delimiter="\t"))
    return [float(r["framewise_displacement"]) for r in rows if r["framewise_displacement"] != "n/a"], len(rows)

def self_contained(path):
    urls = re.findall(r"(?:https?|ftp)://[^\s\"'<>)]+", open(path, encoding="utf-8").read())
    return [u for u in urls if not u.startswith("http://www.w3.org/")]

def png_ink(path):
    """Share of pixels that are not white."""
    width, height, ch, px = png_decode(open(path, "rb").read())
    ink = sum(1 for i in range(0, len(px), ch) if min(px[i:i + min(ch, 3)]) < 240)
    return ink / (width * height)

# The subject report.
subj = os.path.join(w, "subject")
check(not self_contained(os.path.join(subj, "subject_report.html")), "subject report fetches nothing")
runs = [t for t in tables(os.path.join(w, "subject_report.dom.html")) if "runs" in t["class"]]
check(len(runs) == 1, "subject report: one table of runs")
rows = data_rows(runs[0]) if runs else []
check(len(rows) == 2, "subject report: a row per run (%d)" % len(rows))
for k, row in enumerate(rows):
    fd, frames = fd_column(os.path.join(subj, "run%d_confounds.tsv" % (k + 1)))
    check(int(row[1]["text"]) == frames, "run %d: %s frames, the TSV has %d" % (k + 1, row[1]["text"], frames))
    check(abs(float(row[3]["text"]) - max(fd)) < 6e-4,
          "run %d: max FD %s, the TSV's %.4f" % (k + 1, row[3]["text"], max(fd)))
    href = row[0]["href"]
    check(href is not None and os.path.isfile(os.path.join(subj, href)),
          "run %d links to its report (%s)" % (k + 1, href))

# The dataset index.
out = os.path.join(w, "out")
check(not self_contained(os.path.join(out, "index.html")), "index fetches nothing")
idx = tables(os.path.join(w, "index.dom.html"))
runs = [t for t in idx if "runs" in t["class"]]
failed = [t for t in idx if "failed" in t["class"]]
rows = data_rows(runs[0]) if runs else []
check(len(rows) == 3, "index: three realigned runs (%d)" % len(rows))
for row in rows:
    href = row[0]["href"] or ""
    check(os.path.isfile(os.path.join(out, href)), "index links %s, which exists" % href)
    tsv = os.path.join(out, href.replace("_desc-realign_report.html", "_desc-confounds_timeseries.tsv"))
    fd, frames = fd_column(tsv)
    mean_v = float(row[6]["v"]) if row[6]["v"] else float(row[6]["text"])
    max_v = float(row[7]["v"]) if row[7]["v"] else float(row[7]["text"])
    check(abs(mean_v - sum(fd) / len(fd)) < 1e-3 and abs(max_v - max(fd)) < 1e-3,
          "%s: mean / max FD %.4f / %.4f, the TSV's %.4f / %.4f" %
          (os.path.basename(href), mean_v, max_v, sum(fd) / len(fd), max(fd)))
frows = data_rows(failed[0]) if failed else []
check(len(frows) == 1 and "sub-02_task-motor_bold.nii.gz" in frows[0][1]["text"],
      "index: the broken run among the failed, with its error")

for name in ("subject_report", "index"):
    ink = png_ink(os.path.join(w, name + ".png"))
    check(ink > 0.02, "%s screenshot is not blank (%.1f%% of pixels inked)" % (name, 100 * ink))

finish()
EOF
log "ok"
