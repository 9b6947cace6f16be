#!/usr/bin/env bash
# The nipype interfaces (python/realign_nipype) under Debian's python3-nipype: the package
# installs with pip from the repository without network; its docstring examples hold; a
# nipype Workflow runs Realign on a phantom twice (--itk-xfm --par --other-echoes, and
# --no-reslice --no-report with estimation options), a downstream Function node reads each
# run's confounds TSV and returns the mean FD, which must equal the mean FD computed here
# from the rp file (Power: |dtrans| + 50 mm x |drot|, frame 1 n/a); ApplyXfm reslices
# another series with the first run's xfm. Every file a node wrote is a declared output and
# every declared output exists, and each equals the file the same realign command line
# writes when run directly (the QC report without its id="created" line).
# Skips when /usr/bin/python3 cannot import nipype (apt-get install python3-nipype).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"

# Debian's python (python3-nipype is for it), not whichever python3 is first on PATH.
PY=/usr/bin/python3
[[ -x $PY ]] || skip "$PY not found (apt-get install python3-nipype)"
nipype_version=$("$PY" -c 'import nipype; print(nipype.__version__)' 2>/dev/null) ||
  skip "$PY cannot import nipype (apt-get install python3-nipype)"
log "nipype $nipype_version under $PY"

export NIPYPE_NO_ET=1               # no version check over the network
export HOME=$WORK/home              # nipype's and matplotlib's configuration, not the user's
export NIPYPE_CONFIG_DIR=$HOME/.nipype
mkdir -p "$HOME"
cd "$WORK" || fail "cannot enter $WORK"

# --- the package, installed with pip from the repository ----------------------------------
if "$PY" -m pip --version >/dev/null 2>&1; then
  # pip builds in the source tree (build/, *.egg-info): build a copy, not the repository.
  cp -r "$ROOT/python" "$WORK/src" || fail "cannot copy $ROOT/python"
  "$PY" -m pip install --no-deps --no-build-isolation --no-index --no-cache-dir \
    --disable-pip-version-check --target "$WORK/site" "$WORK/src" >"$WORK/pip.log" 2>&1 ||
    { cat "$WORK/pip.log"; fail "pip install of $ROOT/python failed"; }
  PKG=$WORK/site
  log "installed with pip --no-deps --no-build-isolation --no-index into $PKG"
else
  PKG=$ROOT/python
  log "python3-pip missing: the pip install is not checked; importing from $PKG"
fi
export PYTHONPATH=$PKG
where=$("$PY" -c 'import realign_nipype; print(realign_nipype.__file__)') ||
  fail "cannot import realign_nipype from $PKG"
[[ $where == "$PKG"/* ]] || fail "realign_nipype imported from $where, not from $PKG"
log "realign_nipype imported from $where"

# --- the docstring examples (they need the files they name) --------------------------------
mkdir -p "$WORK/doctest"
(cd "$WORK/doctest" && touch bold.nii.gz echo2.nii.gz echo3.nii.gz bold_realigned_xfm.txt &&
  "$PY" -c '
import doctest, sys
import realign_nipype, realign_nipype.interfaces as m
r = doctest.testmod(m)
print("  %d examples, %d failed" % (r.attempted, r.failed))
sys.exit(1 if r.failed or not r.attempted else 0)') || fail "docstring examples failed"

# --- every option the interfaces pass is one of realign's, with the same bounds ------------
# A bounded trait (traits.Range) must accept exactly what `realign --help` prints as the
# option's range (e.g. "--tol FLOAT:1e-09-1"), so that nipype refuses what realign refuses.
"$REALIGN" --help >"$WORK/help.txt" 2>&1
"$REALIGN" apply --help >>"$WORK/help.txt" 2>&1
"$PY" - "$WORK/help.txt" <<'PY' || fail "the nipype interfaces disagree with realign --help"
import re, sys
from traits.trait_types import BaseRange
import realign_nipype.interfaces as m
help_text = open(sys.argv[1]).read()
ranges = {o: (float(lo), float(hi)) for o, lo, hi in re.findall(
    r"(--[a-z0-9-]+) (?:INT|FLOAT):(-?[0-9.]+(?:e[-+]?[0-9]+)?)-([0-9.]+(?:e[-+]?[0-9]+)?)", help_text)}
bad, checked = [], 0
for spec in (m.RealignInputSpec, m.ApplyXfmInputSpec):
    for name, trait in spec().traits().items():
        argstr = trait.argstr
        if not argstr or not argstr.startswith("--"):
            continue
        option = argstr.split()[0]
        if option not in help_text:
            bad.append("%s.%s: %s is not in realign --help" % (spec.__name__, name, option))
            continue
        handler = trait.handler
        if isinstance(handler, BaseRange) and option in ranges:
            lo, hi = ranges[option]
            got = (float(handler._low), float(handler._high))
            checked += 1
            if got != (lo, hi):
                bad.append("%s.%s: range %g-%g, realign --help says %g-%g"
                           % (spec.__name__, name, got[0], got[1], lo, hi))
print("  %d bounded options checked against realign --help" % checked)
for b in bad:
    print("  " + b)
sys.exit(1 if bad or not checked else 0)
PY

# --- phantoms: a run, two more echoes on its grid, another series for ApplyXfm --------------
log "making phantoms: 12 frames of 32x32x16 (seeds 1-4)"
make_phantom "$WORK/bold.nii.gz" --frames 12 --dim 32 32 16 --seed 1
make_phantom "$WORK/echo2.nii.gz" --frames 12 --dim 32 32 16 --seed 2
make_phantom "$WORK/echo3.nii.gz" --frames 12 --dim 32 32 16 --seed 3
make_phantom "$WORK/other.nii.gz" --frames 12 --dim 32 32 16 --seed 4

# --- the Workflow ---------------------------------------------------------------------------
# In a file: nipype's Function node takes its function's source text, which stdin lacks.
cat >"$WORK/workflow.py" <<'EOF'
import json, os, sys
from nipype import Function, Node, Workflow
from nipype.interfaces.base import isdefined
from realign_nipype import ApplyXfm, Realign

work, realign = sys.argv[1:3]
data = lambda name: os.path.join(work, name)


def mean_fd(confounds_file):
    """Mean framewise displacement of a realign confounds TSV (frame 1 is n/a)."""
    try:
        import pandas
    except ImportError:
        import csv
        with open(confounds_file, newline="") as f:
            column = [row["framewise_displacement"] for row in csv.DictReader(f, delimiter="\t")]
        if column[0] != "n/a":
            raise ValueError("frame 1's framewise_displacement is not n/a")
        values = [float(v) for v in column[1:]]
        return sum(values) / len(values)
    fd = pandas.read_csv(confounds_file, sep="\t", na_values="n/a")["framewise_displacement"]
    if not fd.isna().iloc[0] or fd.iloc[1:].isna().any():
        raise ValueError("framewise_displacement: n/a expected at frame 1 only")
    return float(fd.iloc[1:].mean())


wf = Workflow(name="realign_wf", base_dir=data("wf"))
# Keep the outputs no node reads (nipype deletes them by default), to compare them all.
wf.config["execution"] = {"crashdump_dir": data("crash"), "remove_unnecessary_outputs": False}

full = Node(Realign(command=realign, in_file=data("bold.nii.gz"),
                    other_echoes=[data("echo2.nii.gz"), data("echo3.nii.gz")],
                    itk_xfm=True, par=True, est_degree=2, reslice_degree=3, quiet=True),
            name="full")
estimate = Node(Realign(command=realign, in_file=data("bold.nii.gz"), no_reslice=True,
                        no_report=True, ref="first", fwhm=6.0, sep=3.0, intensity="global",
                        fd_threshold=1.0, quiet=True),
                name="estimate_only")
apply = Node(ApplyXfm(command=realign, in_file=data("other.nii.gz"), quiet=True),
             name="apply")
fd_full = Node(Function(input_names=["confounds_file"], output_names=["mean_fd"],
                        function=mean_fd), name="fd_full")
fd_estimate = Node(Function(input_names=["confounds_file"], output_names=["mean_fd"],
                            function=mean_fd), name="fd_estimate_only")
wf.connect(full, "confounds_file", fd_full, "confounds_file")
wf.connect(estimate, "confounds_file", fd_estimate, "confounds_file")
wf.connect(full, "xfm_file", apply, "xfm_file")
graph = wf.run()

results = {}
for node in graph.nodes():
    result = node.result
    results[node.name] = {
        "dir": node.output_dir(),
        "cmdline": getattr(result.runtime, "cmdline", None),
        "outputs": {k: (v if isdefined(v) else None)
                    for k, v in result.outputs.trait_get().items()},
    }
    print("%s: %s" % (node.name, results[node.name]["cmdline"] or results[node.name]["outputs"]))
with open(data("results.json"), "w") as f:
    json.dump(results, f, indent=1)
EOF
log "running the nipype Workflow"
"$PY" "$WORK/workflow.py" "$WORK" "$REALIGN" >"$WORK/workflow.log" 2>&1 ||
  { cat "$WORK/workflow.log"; fail "the nipype Workflow failed"; }
sed 's/^/  /' "$WORK/workflow.log"

# --- the same command lines, run directly -------------------------------------------------------
log "running the same realign command lines directly"
mkdir -p "$WORK/direct/full" "$WORK/direct/estimate_only" "$WORK/direct/apply"
(cd "$WORK/direct/full" &&
  "$REALIGN" --est-degree 2 --itk-xfm --par --quiet --reslice-degree 3 \
    "$WORK/bold.nii.gz" bold_realigned.nii.gz \
    --other-echoes "$WORK/echo2.nii.gz" --other-echoes "$WORK/echo3.nii.gz") ||
  fail "realign --itk-xfm --par --other-echoes exited with $?"
(cd "$WORK/direct/estimate_only" &&
  "$REALIGN" --fd-threshold 1.0 --fwhm 6.0 --intensity global --no-report --no-reslice \
    --quiet --ref first --sep 3.0 "$WORK/bold.nii.gz" bold_realigned.nii.gz) ||
  fail "realign --no-reslice --no-report exited with $?"
(cd "$WORK/direct/apply" &&
  "$REALIGN" apply --xfm "$WORK/direct/full/bold_realigned_xfm.txt" --quiet \
    "$WORK/other.nii.gz" other_realigned.nii.gz) ||
  fail "realign apply exited with $?"

# --- compare --------------------------------------------------------------------------------
"$PY" - "$WORK" <<'EOF' || fail "the nipype outputs differ from the command line's"
import glob, gzip, json, os, sys

work = sys.argv[1]
results = json.load(open(os.path.join(work, "results.json")))
bad = []


def check(ok, what):
    print("  %s %s" % ("ok  " if ok else "FAIL", what))
    if not ok:
        bad.append(what)


# What nipype itself writes in a node's directory.
BOOKKEEPING = ("_report", "_node.pklz", "_inputs.pklz", "command.txt")


def written(directory):
    return sorted(n for n in os.listdir(directory)
                  if n not in BOOKKEEPING and not n.startswith(("result_", "_0x")))


def declared(outputs):
    files = []
    for value in outputs.values():
        files.extend(value if isinstance(value, list) else [value] if value else [])
    return files


def same(a, b):
    """How files a and b are equal ('' when they differ)."""
    x, y = open(a, "rb").read(), open(b, "rb").read()
    if x == y:
        return "bytes"
    if a.endswith(".gz") and gzip.decompress(x) == gzip.decompress(y):
        return "inflated bytes"
    if a.endswith("_report.html"):
        keep = lambda t: [l for l in t.splitlines() if b'id="created"' not in l]
        if keep(x) == keep(y):
            return "bytes but the created line"
    return ""


EXPECTED = {  # the outputs each run declares
    "full": {"out_file", "mean_file", "echo_files", "rp_file", "confounds_file",
             "confounds_json", "xfm_file", "itk_xfm_file", "par_file", "motion_plot",
             "report_file"},
    "estimate_only": {"rp_file", "confounds_file", "confounds_json", "xfm_file",
                      "motion_plot"},
    "apply": {"out_file", "mean_file"},
}
for name, expected in EXPECTED.items():
    node = results[name]
    outputs = node["outputs"]
    files = declared(outputs)
    print("%s: %s" % (name, node["cmdline"]))
    check({k for k, v in outputs.items() if v} == expected,
          "%s declares %s" % (name, ", ".join(sorted(expected))))
    check(all(os.path.dirname(f) == node["dir"] for f in files),
          "%s: every declared output is in the node's directory" % name)
    missing = [f for f in files if not os.path.isfile(f)]
    check(not missing, "%s: every declared output exists %s" % (name, missing or ""))
    names = written(node["dir"])
    check(sorted(os.path.basename(f) for f in files) == names,
          "%s: the node's directory holds exactly the declared outputs (%d files)"
          % (name, len(names)))
    direct = os.path.join(work, "direct", name)
    check(written(direct) == names,
          "%s: the direct run wrote the same files %s" % (name, written(direct)))
    for f in names:
        how = same(os.path.join(node["dir"], f), os.path.join(direct, f))
        check(bool(how), "%s: %s equals the direct run's (%s)" % (name, f, how or "differs"))

echoes = results["full"]["outputs"]["echo_files"] or []
check([os.path.basename(f) for f in echoes] ==
      ["bold_realigned_echo-2.nii.gz", "bold_realigned_echo-3.nii.gz"],
      "full: echo_files is the list OUT_echo-2, OUT_echo-3, in order")


def power_fd(rp_file, radius=50.0):
    rows = [[float(v) for v in line.split()] for line in open(rp_file) if line.strip()]
    fd = [sum(abs(b - a) for a, b in zip(p[:3], q[:3])) +
          radius * sum(abs(b - a) for a, b in zip(p[3:], q[3:]))
          for p, q in zip(rows, rows[1:])]
    return sum(fd) / len(fd), len(rows)


for name in ("full", "estimate_only"):
    want, frames = power_fd(os.path.join(work, "direct", name, "bold_realigned_rp.txt"))
    got = results["fd_" + name]["outputs"]["mean_fd"]
    check(frames == 12, "%s: the rp file has 12 rows" % name)
    check(got is not None and abs(got - want) <= 1e-6 * max(1.0, want),
          "fd_%s read mean FD %s mm from the confounds; from the rp file: %.9f mm"
          % (name, got, want))

if bad:
    sys.exit("%d checks failed" % len(bad))
EOF

log "the Workflow's outputs are declared, exist and equal the command line's"
