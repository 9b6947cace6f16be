#!/usr/bin/env bash
# `realign apply` with saved transforms, `--ref median`, and progress reporting.
#  - apply with a run's own _xfm.txt on its own input gives that run's images byte for
#    byte, with 1 and 2 ranks (the matrices are written with round-trip precision);
#  - apply on a second "echo" (the same voxels scaled by 0.5 through scl_slope) gives 0.5
#    times the first result, as reslicing is linear;
#  - --ref median picks the frame a hand-made series makes the median: frames are a base
#    image plus a constant per frame, so the voxel-wise median is base + median(constants);
#  - --other-echoes: further echoes resliced with the run's motion in the same command,
#    byte for byte what apply makes of the saved transforms, 1 and 2 ranks; an echo on
#    another grid or with other frames is refused with one line and nothing written;
#  - progress: a bar on a terminal, plain lines in a log, nothing with -q.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
need_mpirun
need_python

make_phantom "$WORK/in.nii" --dim 40 40 24 --frames 16 --datatype float32
mkdir -p "$WORK/run" "$WORK/apply1" "$WORK/apply2" "$WORK/echo"
"$REALIGN" -q "$WORK/in.nii" "$WORK/run/r.nii" || fail "the estimating run failed"

"$REALIGN" -q apply --xfm "$WORK/run/r_xfm.txt" "$WORK/in.nii" "$WORK/apply1/r.nii" ||
  fail "apply failed"
"${MPIRUN[@]}" -n 2 "$REALIGN" -q apply --xfm "$WORK/run/r_xfm.txt" "$WORK/in.nii" \
  "$WORK/apply2/r.nii" || fail "apply under mpirun -n 2 failed"
for d in apply1 apply2; do
  cmp -s "$WORK/run/r.nii" "$WORK/$d/r.nii" || fail "$d: resliced image differs from the run's"
  cmp -s "$WORK/run/r_mean.nii" "$WORK/$d/r_mean.nii" || fail "$d: mean differs from the run's"
  [[ $(find "$WORK/$d" -type f | wc -l) -eq 2 ]] || fail "$d: expected exactly the image and mean"
done
log "ok   apply reproduces the run byte for byte (1 and 2 ranks)"

# Multi-echo in one command: echo 2 (another phantom of the grid, as another contrast would
# be) resliced with echo 1's motion, as apply would, with 1 and 2 ranks.
make_phantom "$WORK/e2.nii.gz" --dim 40 40 24 --frames 16 --seed 9 --noise 0.05
mkdir -p "$WORK/me1" "$WORK/me2" "$WORK/me_apply"
"$REALIGN" -q --other-echoes "$WORK/e2.nii.gz" "$WORK/in.nii" "$WORK/me1/r.nii.gz" ||
  fail "a run with --other-echoes failed"
"${MPIRUN[@]}" -n 2 "$REALIGN" -q "$WORK/in.nii" "$WORK/me2/r.nii.gz" \
  --other-echoes "$WORK/e2.nii.gz" || fail "--other-echoes under mpirun -n 2 failed"
"$REALIGN" -q apply --xfm "$WORK/me1/r_xfm.txt" "$WORK/e2.nii.gz" "$WORK/me_apply/a.nii.gz" ||
  fail "apply on echo 2 failed"
for d in me1 me2; do
  cmp -s <(gzip -dc "$WORK/me_apply/a.nii.gz") <(gzip -dc "$WORK/$d/r_echo-2.nii.gz") ||
    fail "$d: echo 2 differs from apply of the run's transforms"
  cmp -s <(gzip -dc "$WORK/me1/r.nii.gz") <(gzip -dc "$WORK/$d/r.nii.gz") || fail "$d: echo 1 differs"
done
make_phantom "$WORK/short.nii.gz" --dim 40 40 24 --frames 12
mkdir -p "$WORK/me_bad"
status=0
"$REALIGN" -q --other-echoes "$WORK/short.nii.gz" "$WORK/in.nii" "$WORK/me_bad/r.nii" \
  2>"$WORK/err" || status=$?
[[ $status -eq 1 && $(wc -l <"$WORK/err") -eq 1 ]] && grep -q "short.nii.gz: has 12 frames" "$WORK/err" ||
  fail "an echo with other frames: exit $status, $(cat "$WORK/err")"
[[ -z $(ls -A "$WORK/me_bad") ]] || fail "an echo refused left $(ls "$WORK/me_bad")"
log "ok   --other-echoes: echo 2 equals apply of echo 1's transforms (1 and 2 ranks); a bad echo refused"

python3 - "$WORK/in.nii" "$WORK/echo/in.nii" <<'EOF2' || fail "could not make the echo"
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
struct.pack_into("<ff", b, 112, 0.5, 0.0)  # scl_slope, scl_inter
open(sys.argv[2], "wb").write(b)
EOF2
"$REALIGN" -q apply --xfm "$WORK/run/r_xfm.txt" "$WORK/echo/in.nii" "$WORK/echo/r.nii" ||
  fail "apply on the echo failed"
python3 - "$WORK/run/r.nii" "$WORK/echo/r.nii" <<'EOF2' || fail "the echo is not half the run"
import math, struct, sys
def floats(p):
    b = open(p, "rb").read()
    off = int(struct.unpack("<f", b[108:112])[0])
    return struct.unpack("<%df" % ((len(b) - off) // 4), b[off:])
a, e = floats(sys.argv[1]), floats(sys.argv[2])
assert len(a) == len(e), "sizes differ"
peak = max(abs(v) for v in a if not math.isnan(v))
worst = 0.0
for x, y in zip(a, e):
    if math.isnan(x) or math.isnan(y):
        assert math.isnan(x) and math.isnan(y), "masks differ"
        continue
    worst = max(worst, abs(0.5 * x - y))
print("largest |0.5 run - echo| = %.3g (peak %.3g)" % (worst, peak))
sys.exit(0 if worst <= 1e-5 * peak else 1)
EOF2
log "ok   apply on a scaled echo gives the scaled result"

# The first 7 of 16 transforms (a comment line, then 5 lines per frame).
head -n 36 "$WORK/run/r_xfm.txt" > "$WORK/short_xfm.txt"
status=0
"$REALIGN" -q apply --xfm "$WORK/short_xfm.txt" "$WORK/in.nii" "$WORK/echo/y.nii" \
  2>"$WORK/err" || status=$?
[[ $status -eq 1 ]] || fail "short xfm: exit $status, expected 1"
grep -q "short_xfm.txt: holds 7 transforms, .*in.nii has 16 frames" "$WORK/err" ||
  fail "short xfm: unexpected message: $(cat "$WORK/err")"
[[ ! -e "$WORK/echo/y.nii" ]] || fail "short xfm: output written"
log "ok   apply refuses a transform file of the wrong length"

# --ref median on base + constant per frame: constants 40 -25 3 18 -9 0.5 30 -14 7; median 3
# is frame 3.
python3 - "$WORK/in.nii" "$WORK/median.nii" <<'EOF2' || fail "could not make the median series"
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
off = int(struct.unpack("<f", b[108:112])[0])
dim = struct.unpack("<8h", b[40:56])
nv = dim[1] * dim[2] * dim[3]
base = struct.unpack("<%df" % nv, b[off:off + 4 * nv])
consts = [40, -25, 3, 18, -9, 0.5, 30, -14, 7]
struct.pack_into("<8h", b, 40, 4, dim[1], dim[2], dim[3], len(consts), 1, 1, 1)
data = b"".join(struct.pack("<%df" % nv, *[v + c for v in base]) for c in consts)
open(sys.argv[2], "wb").write(bytes(b[:off]) + data)
EOF2
"$REALIGN" --ref median "$WORK/median.nii" "$WORK/echo/m.nii" 2>"$WORK/err" ||
  fail "--ref median run failed: $(cat "$WORK/err")"
grep -q "reference: frame 3 (closest to the run's median)" "$WORK/err" ||
  fail "--ref median: expected frame 3: $(grep reference "$WORK/err")"
log "ok   --ref median picks frame 3 and says so"

# Progress: plain lines when stderr is a file, none with -q, a bar on a terminal.
grep -q "estimating: 100%" "$WORK/err" && grep -q "reslicing and writing: 100%" "$WORK/err" ||
  fail "no progress lines in a log: $(cat "$WORK/err")"
! grep -q $'\r' "$WORK/err" || fail "carriage returns in a log file"
"$REALIGN" -q "$WORK/in.nii" "$WORK/echo/q.nii" 2>"$WORK/err" || fail "-q run failed"
# -q leaves warnings only (this phantom moves at most frames, which is one).
! grep -qv '^realign: warning: ' "$WORK/err" || fail "-q run printed: $(cat "$WORK/err")"
if command -v script >/dev/null 2>&1; then
  script -qec "'$REALIGN' '$WORK/in.nii' '$WORK/echo/t.nii'" "$WORK/tty.log" >/dev/null ||
    fail "run under a terminal failed"
  grep -q $'\rrealign: estimating, pass 1 of 2 *\[#' "$WORK/tty.log" ||
    fail "no progress bar on a terminal: $(head -c 600 "$WORK/tty.log")"
  log "ok   progress: bar on a terminal, lines in a log, silent with -q"
else
  log "ok   progress: lines in a log, silent with -q (no 'script' to make a terminal)"
fi
log "PASS"
