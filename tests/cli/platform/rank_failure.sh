#!/usr/bin/env bash
# An MPI rank that dies mid-run: the job must end (no hang), exit non-zero, and leave
# nothing half-written behind: no temporaries, and either no outputs or (when the rank
# died after rank 0 had moved every finished file into place) all of them.
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
need_mpirun
need_python
# A run that lasts long enough to kill a rank in: the frames of a short phantom, repeated.
big_series "$WORK/in.nii" 64 64 34 120
SUM=$(sha256sum "$WORK/in.nii")
for delay in 0.3 0.8 1.5; do
  out=$WORK/out-$delay
  mkdir -p "$out"
  status=0
  timeout 60 "${MPIRUN[@]}" -n 2 "$REALIGN" "$WORK/in.nii" "$out/r.nii" >"$out.log" 2>&1 &
  job=$!
  sleep "$delay"
  # The second realign process is rank 1 (or the last to start); kill it hard.
  victim=$(pgrep -f -n "$REALIGN $WORK/in.nii" || true)
  [[ -n "$victim" ]] && kill -9 "$victim" 2>/dev/null || true
  wait "$job" || status=$?
  if [[ -z "$victim" ]]; then
    log "delay $delay: run finished before a rank could be killed (status $status)"
    continue
  fi
  [[ $status -ne 124 ]] || fail "delay $delay: the job hung after a rank died"
  [[ $status -ne 0 ]] || fail "delay $delay: exit status 0 after a rank died"
  temps=$(find "$out" -name '.realign-*' | wc -l)
  [[ $temps -eq 0 ]] || fail "delay $delay: temporary files left behind: $(find "$out" -name '.realign-*')"
  # Nothing, or (the rank died after rank 0 had finished) every output of a run.
  left=$(find "$out" -type f | wc -l)
  if [[ $left -ne 0 ]]; then
    for f in r.nii r_mean.nii r_rp.txt r_confounds.tsv r_confounds.json r_xfm.txt \
      r_motion.svg r_report.html; do
      [[ -s "$out/$f" ]] || fail "delay $delay: a partial set of outputs (no $f): $(find "$out" -type f)"
    done
    [[ $left -eq 8 ]] || fail "delay $delay: unexpected files: $(find "$out" -type f)"
  fi
  [[ "$(sha256sum "$WORK/in.nii")" == "$SUM" ]] || fail "delay $delay: the input changed"
  log "ok   delay $delay: exit $status, $left finished outputs, no temporaries, input unchanged"
done
log "PASS"
