#!/usr/bin/env bash
# The formats other tools read, end to end on a phantom: --par writes the rp columns in
# MCFLIRT's order (and only with --par); the confounds TSV's 24-parameter expansion equals
# the backward differences and squares recomputed here from the rp file; every TSV column
# is described in the JSON sidecar.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
need_python

make_phantom "$WORK/ph.nii.gz" --dim 32 32 20 --frames 10
"$REALIGN" -q --no-reslice --par "$WORK/ph.nii.gz" "$WORK/out.nii.gz" || fail "realign --par exited with $?"
[[ -s $WORK/out.par ]] || fail "--par did not write out.par"
"$REALIGN" -q --no-reslice "$WORK/ph.nii.gz" "$WORK/nopar.nii.gz" || fail "realign exited with $?"
[[ ! -e $WORK/nopar.par ]] || fail "nopar.par written without --par"
log "out.par written with --par, and not without"

python3 - "$WORK" <<'EOF' || fail "format checks failed"
import json, math, sys
w = sys.argv[1]
rp = [[float(x) for x in l.split()] for l in open(w + "/out_rp.txt") if l.strip()]
par = [[float(x) for x in l.split()] for l in open(w + "/out.par") if l.strip()]
bad = []
def close(a, b, rel):
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))

# .par: rotations (rp columns 4-6) then translations (rp columns 1-3), frame by frame.
if len(par) != len(rp) or any(len(r) != 6 for r in par):
    bad.append("par has %d rows (%s columns), rp %d" % (len(par), {len(r) for r in par}, len(rp)))
else:
    for n, (p, q) in enumerate(zip(par, rp)):
        want = q[3:] + q[:3]
        if not all(close(a, b, 2e-8) for a, b in zip(p, want)):
            bad.append("par row %d %s != rp reordered %s" % (n + 1, p, want))
print("  par: %d rows equal the rp rows reordered (rot_x rot_y rot_z trans_x trans_y trans_z)" % len(par))

lines = [l.rstrip("\n").split("\t") for l in open(w + "/out_confounds.tsv") if l.strip()]
head, rows = lines[0], lines[1:]
col = {name: [math.nan if r[i] == "n/a" else float(r[i]) for r in rows] for i, name in enumerate(head)}
names = ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]
for k, p in enumerate(names):
    for suffix in ("", "_derivative1", "_power2", "_derivative1_power2"):
        if p + suffix not in col:
            bad.append("TSV lacks %s" % (p + suffix))
    if bad:
        break
    x = [r[k] for r in rp]
    for t in range(len(rp)):
        ok = close(col[p][t], x[t], 2e-8) and close(col[p + "_power2"][t], x[t] ** 2, 5e-8)
        if t == 0:
            ok = ok and math.isnan(col[p + "_derivative1"][0]) and math.isnan(col[p + "_derivative1_power2"][0])
        else:
            d = x[t] - x[t - 1]
            ok = ok and close(col[p + "_derivative1"][t], d, 5e-8) and close(col[p + "_derivative1_power2"][t], d * d, 1e-7)
        if not ok:
            bad.append("%s row %d: expansion differs from the rp file" % (p, t + 1))
            break
print("  TSV: %d columns; the 18 expansion columns match the rp file" % len(head))

meta = json.load(open(w + "/out_confounds.json"))
missing = [c for c in head if c not in meta or "Description" not in meta[c] or "Units" not in meta[c]]
if missing:
    bad.append("JSON lacks a description or units for %s" % missing)
print("  JSON: every one of the %d columns has a Description and Units" % len(head))
if bad:
    print("\n".join(bad))
    sys.exit(1)
EOF
log "PASS"
