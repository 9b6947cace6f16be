#!/usr/bin/env bash
# A short real run (rtcloud faces, 64x64x27x10) under `mpirun -n 2`: every output is
# written with the right shape, and the motion agrees with SPM12's to <= 0.03 mm mean
# displacement over a 50 mm sphere. Skipped (77) when the shared data is absent.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"

RUN=rtcloud_faces_run-01_bold
INPUT=$SHARED/data/real/$RUN.nii.gz
SPM_RP=$SHARED/data/reference/spm12/${RUN}_rtm1_rp.txt
[[ -n $SHARED && -d $SHARED/data/real ]] || skip "no shared data at '${SHARED}/data/real'"
[[ -f $INPUT ]] || skip "$INPUT is absent"
[[ -f $SPM_RP ]] || fail "$SPM_RP is absent but the real data is there"
need_mpirun
need_python

mkdir -p "$WORK/out"
OUT=$WORK/out/$RUN
log "run mpirun -n 2 realign $RUN.nii.gz"
start=$(date +%s)
timeout 120 "${MPIRUN[@]}" -n 2 "$REALIGN" -q "$INPUT" "$OUT.nii.gz" || fail "realign exited with status $?"
log "realign took $(( $(date +%s) - start )) s"

for suffix in .nii.gz _mean.nii.gz _rp.txt _confounds.tsv _confounds.json _xfm.txt _motion.svg \
  _report.html; do
  [[ -s $OUT$suffix ]] || fail "missing or empty output $RUN$suffix"
done
log "all 8 outputs present"

shape=$(awk 'NF { n++; if (NF != 6) bad++ } END { printf "%d %d", n, bad }' "$OUT"_rp.txt)
[[ $shape == "10 0" ]] || fail "rp: expected 10 rows of 6 numbers, got (rows, rows not of 6) = $shape"
log "rp has 10 rows of 6 numbers"

# 10 measure columns + the 24-parameter expansion's 18, then one-hot outlier columns (as
# many as the run has non-steady-state frames and frames above --fd-threshold).
tsv=$(awk -F'\t' 'NR == 1 { h = NF; for (i = 29; i <= NF; i++) if ($i !~ /_outlier_[0-9]+$/) odd++ }
  { n++; if (NF != h) bad++ } END { printf "%d %d %d %d", n, bad, (h >= 28), odd }' "$OUT"_confounds.tsv)
[[ $tsv == "11 0 1 0" ]] ||
  fail "confounds TSV: expected 11 lines of 28 columns + outliers, got (lines, ragged, >= 28, odd names) = $tsv"
log "confounds TSV has 11 lines of $(head -n 1 "$OUT"_confounds.tsv | awk -F'\t' '{ print NF }') tab-separated columns (10 + the 24-parameter expansion's 18 + outliers)"

result=$(python3 "$ROOT/scripts/compare_rp.py" "$OUT"_rp.txt "$SPM_RP" "$INPUT") || fail "compare_rp.py failed"
log "vs SPM12: $result"
mean_mm=$(awk '{ for (i = 1; i < NF; i++) if ($i == "mean_mm") print $(i + 1) }' <<<"$result")
[[ -n $mean_mm ]] || fail "could not read mean_mm from: $result"
awk -v m="$mean_mm" 'BEGIN { exit !(m <= 0.03) }' || fail "mean displacement vs SPM12 is $mean_mm mm > 0.03 mm"
log "PASS: mean_mm $mean_mm <= 0.03"
