#!/usr/bin/env bash
# The result must not depend on how the work is split: MPI ranks (1, 2, 3, and 4 for 3
# frames), OpenMP threads (1, 2, no mpirun) and --split frames|points must give the same
# outputs, byte for byte.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
need_mpirun

log "making phantom 40x40x24, 12 frames"
make_phantom "$WORK/phantom.nii.gz" --dim 40 40 24 --frames 12 --noise 0.01 \
  --max-trans 1.5 --max-rot 1.5

# run NAME [launcher...] -- [realign options...]: the phantom into $WORK/NAME/out.nii.
run() {
  local name=$1; shift
  realign_under "$name" "$@" "$WORK/phantom.nii.gz" "$WORK/$name/out.nii"
  [[ -s "$WORK/$name/out_rp.txt" && -s "$WORK/$name/out_mean.nii" ]] \
    || fail "run $name: missing out_rp.txt or out_mean.nii"
}

run np1 "${MPIRUN[@]}" -n 1 --
run np2 "${MPIRUN[@]}" -n 2 --
run np3 "${MPIRUN[@]}" -n 3 --
run threads1 -- --threads 1
run threads2 -- --threads 2
run np2_points "${MPIRUN[@]}" -n 2 -- --split points

rows=$(awk 'NF' "$WORK/np1/out_rp.txt" | wc -l)
[[ $rows -eq 12 ]] || fail "np1: rp has $rows rows, expected 12"

# same_outputs A B: every output of run A byte-identical to run B's (the QC report holds
# its creation time, so it is compared without that line).
same_outputs() {
  local f base
  for f in "$1"/*; do
    base=$(basename "$f")
    if [[ $base == *_report.html ]]; then
      cmp -s <(grep -v 'id="created"' "$f") <(grep -v 'id="created"' "$2/$base") || return 1
    else
      cmp -s "$f" "$2/$base" || { echo "$base differs"; return 1; }
    fi
  done
}

for name in np2 np3 threads1 threads2 np2_points; do
  msg=$(same_outputs "$WORK/np1" "$WORK/$name") || fail "$name differs from np1: $msg"
  log "check $name: every output byte-identical to np1"
done
# The resliced series encoded on their own ranks (gzip, int16) does not depend on the
# split either.
for ranks in 1 3; do
  mkdir -p "$WORK/gz$ranks"
  timeout 120 "${MPIRUN[@]}" -n "$ranks" "$REALIGN" -q --datatype input "$WORK/phantom.nii.gz" \
    "$WORK/gz$ranks/out.nii.gz" || fail "gz run with $ranks ranks failed"
done
msg=$(same_outputs "$WORK/gz1" "$WORK/gz3") || fail ".nii.gz int16 outputs differ between 1 and 3 ranks: $msg"
log "check: .nii.gz int16 outputs from 1 and 3 ranks byte-identical"
# More ranks than frames: the last ranks have nothing to do and nobody waits for them.
make_phantom "$WORK/three.nii" --dim 64 64 34 --frames 3
mkdir -p "$WORK/few1" "$WORK/few4"
timeout 120 "${MPIRUN[@]}" -n 1 "$REALIGN" -q "$WORK/three.nii" "$WORK/few1/out.nii" \
  || fail "3 frames on 1 rank failed"
timeout 120 "${MPIRUN[@]}" -n 4 "$REALIGN" -q "$WORK/three.nii" "$WORK/few4/out.nii" \
  || fail "3 frames on 4 ranks failed or hung (status $?)"
msg=$(same_outputs "$WORK/few1" "$WORK/few4") || fail "3 frames: 4 ranks differ from 1: $msg"
log "check: 3 frames on 4 ranks agree with 1 rank"
log "PASS: all runs agree"
