#!/usr/bin/env bash
# Several runs of one subject: `realign RUN1 RUN2 -o DIR`. A phantom split in two files
# gives the rp rows of the whole series realigned as one run (SPM's convention: relative to
# frame 1 of the first run); every run's outputs are named after its input; FD is n/a at
# the first frame of each run; the outputs are byte-identical for 1 and 2 ranks; a run on
# another grid, or a missing one, is refused with one line naming it and nothing written.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
need_mpirun
need_python

log "making phantom 40x40x24, 12 frames, split into 5 + 7 frames"
make_phantom "$WORK/whole.nii" --dim 40 40 24 --frames 12 --max-trans 1.5 --max-rot 1.5
# split WHOLE OUT FIRST COUNT: frames [FIRST, FIRST + COUNT) of a .nii as a .nii.
split() {
  python3 - "$@" <<'PY' || fail "could not split $1"
import struct, sys
src, out, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
raw = open(src, "rb").read()
offset = int(struct.unpack("<f", raw[108:112])[0])
dim = list(struct.unpack("<8h", raw[40:56]))
frame_bytes = (len(raw) - offset) // dim[4]
dim[4] = count
header = bytearray(raw[:offset])
struct.pack_into("<8h", header, 40, *dim)
with open(out, "wb") as f:
    f.write(header)
    f.write(raw[offset + first * frame_bytes:offset + (first + count) * frame_bytes])
PY
}
split "$WORK/whole.nii" "$WORK/part1.nii" 0 5
split "$WORK/whole.nii" "$WORK/part2.nii" 5 7

# subject NAME [launcher...] -- [realign options...]: the two parts into $WORK/NAME.
subject() {
  local name=$1; shift
  realign_under "$name" "$@" "$WORK/part1.nii" "$WORK/part2.nii" -o "$WORK/$name"
}

subject first1 "${MPIRUN[@]}" -n 1 -- --ref first
subject first2 "${MPIRUN[@]}" -n 2 -- --ref first
subject mean1 "${MPIRUN[@]}" -n 1 -- --ref mean
subject mean2 "${MPIRUN[@]}" -n 2 -- --ref mean --threads 1

# Named as documented: OUTDIR/<input's file name> and its companions, and the report.
for stem in part1 part2; do
  for suffix in .nii _mean.nii _rp.txt _confounds.tsv _confounds.json _xfm.txt _motion.svg \
    _report.html; do
    [[ -s "$WORK/first1/$stem$suffix" ]] || fail "missing $stem$suffix"
  done
  grep -q '"ParametersRelativeTo"' "$WORK/first1/${stem}_confounds.json" \
    || fail "$stem: the sidecar does not state the convention"
  grep -q '"Run": "part1.nii"' "$WORK/first1/${stem}_confounds.json" \
    || fail "$stem: the sidecar does not name the first run"
  # FD (column 7) is n/a at each run's first frame and a number at its second.
  fd=$(awk -F'\t' 'NR == 2 || NR == 3 { printf "%s ", $7 }' "$WORK/first1/${stem}_confounds.tsv")
  [[ $fd == "n/a "[0-9]* ]] || fail "$stem: FD of frames 1 and 2 are '$fd'"
done
[[ -s "$WORK/first1/subject_report.html" ]] || fail "missing subject_report.html"
grep -q 'href="part2_report.html"' "$WORK/first1/subject_report.html" \
  || fail "the subject report does not link to part2's report"
log "check: outputs named after each input, sidecars state the convention, FD n/a per run"

# The whole series as one run, --ref first: the two runs' rows are its rows.
mkdir -p "$WORK/whole"
timeout 120 "$REALIGN" -q --ref first --no-reslice "$WORK/whole.nii" "$WORK/whole/w.nii" \
  || fail "whole run failed"
cat "$WORK/first1/part1_rp.txt" "$WORK/first1/part2_rp.txt" >"$WORK/joined_rp.txt"
line=$("$PHANTOM" compare "$WORK/whole/w_rp.txt" "$WORK/joined_rp.txt" "$WORK/whole.nii") \
  || fail "realign-phantom compare failed"
mean=$(awk '{ print $2 }' <<<"$line")
awk -v m="$mean" 'BEGIN { exit !(m <= 0.005) }' \
  || fail "two runs against the whole run: $line (limit 0.005 mm mean)"
log "check: part1 + part2 rp against the whole run's: $line"

# Byte-identical for 1 and 2 ranks (the run reports hold their creation time).
same_outputs() {
  local f base
  for f in "$1"/*; do
    base=$(basename "$f")
    if [[ $base == *_report.html ]]; then
      cmp -s <(grep -v 'id="created"' "$f") <(grep -v 'id="created"' "$2/$base") \
        || { echo "$base differs"; return 1; }
    else
      cmp -s "$f" "$2/$base" || { echo "$base differs"; return 1; }
    fi
  done
}
msg=$(same_outputs "$WORK/first1" "$WORK/first2") || fail "--ref first, 2 ranks: $msg"
msg=$(same_outputs "$WORK/mean1" "$WORK/mean2") || fail "--ref mean, 2 ranks, 1 thread: $msg"
log "check: 1 and 2 ranks give byte-identical outputs (--ref first and mean)"

# refused NAME STATUS FILE realign-arguments...: one line naming FILE, nothing written.
refused() {
  local name=$1 status=$2 file=$3; shift 3
  mkdir -p "$WORK/$name"
  "${MPIRUN[@]}" -n 2 "$REALIGN" -q "$@" -o "$WORK/$name" 2>"$WORK/$name.err"
  local got=$?
  [[ $got -eq $status ]] || fail "$name: status $got, expected $status: $(cat "$WORK/$name.err")"
  [[ $(wc -l <"$WORK/$name.err") -eq 1 ]] || fail "$name: not one line: $(cat "$WORK/$name.err")"
  grep -q "^realign: error: $file: " "$WORK/$name.err" \
    || fail "$name: the error does not name $file: $(cat "$WORK/$name.err")"
  [[ -z $(ls -A "$WORK/$name") ]] || fail "$name: left $(ls -A "$WORK/$name")"
  log "check $name: $(cat "$WORK/$name.err")"
}
make_phantom "$WORK/odd.nii" --dim 40 36 24 --frames 4
refused other_grid 1 "$WORK/odd.nii" "$WORK/part1.nii" "$WORK/part2.nii" "$WORK/odd.nii"
refused missing 1 "$WORK/nope.nii" "$WORK/part1.nii" "$WORK/nope.nii"

# Several runs without -o is a usage error.
"$REALIGN" "$WORK/part1.nii" "$WORK/part2.nii" "$WORK/x.nii" 2>"$WORK/usage.err"
[[ $? -eq 2 ]] || fail "three paths without -o: expected status 2"
grep -q -- "-o OUTDIR" "$WORK/usage.err" || fail "usage error: $(cat "$WORK/usage.err")"
log "pass"
