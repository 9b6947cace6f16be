#!/usr/bin/env bash
# `realign bids` under mpirun: a BIDS tree of phantoms (two subjects, sessions, tasks and
# runs, a truncated run, a run without sidecar) gives a derivative dataset whose runs equal
# those of one process byte for byte, exit status 5 with the failed run listed in the
# index; usage errors; --list-groups; and scripts/slurm/realign_bids.sbatch with a fake
# array environment (one subject per task), then --index-only over both tasks' records.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
need_mpirun

B=$WORK/ds
run() { mkdir -p "$(dirname "$B/$1")"; make_phantom "$B/$1" --dim 24 24 12 --frames 8 --tr 2 --max-trans 1 --max-rot 1 --seed "$2"; rm -f "$B/${1%.nii*}_truth_rp.txt"; }
run sub-01/ses-1/func/sub-01_ses-1_task-rest_run-1_bold.nii.gz 1
run sub-01/ses-1/func/sub-01_ses-1_task-rest_run-2_bold.nii.gz 2
run sub-01/ses-2/func/sub-01_ses-2_task-nback_bold.nii 3
run sub-02/func/sub-02_task-rest_bold.nii.gz 4
run sub-02/func/sub-02_task-motor_bold.nii.gz 5
head -c 20000 "$B/sub-02/func/sub-02_task-motor_bold.nii.gz" >"$B/sub-02/func/sub-02_task-broken_bold.nii.gz"
echo '{"RepetitionTime": 2.5}' >"$B/task-rest_bold.json"
echo '{"RepetitionTime": 2}' >"$B/task-nback_bold.json"
log "a BIDS tree of 6 runs (one truncated, motor without sidecar)"

"${MPIRUN[@]}" -n 2 "$REALIGN" bids "$B" "$WORK/out2" >"$WORK/mpi.log" 2>&1
status=$?
[[ $status -eq 5 ]] || { cat "$WORK/mpi.log"; fail "mpirun -n 2 realign bids exited $status, expected 5"; }
"$REALIGN" bids -q "$B" "$WORK/out1" >"$WORK/one.log" 2>&1
[[ $? -eq 5 ]] || { cat "$WORK/one.log"; fail "realign bids (one process) did not exit 5"; }
grep -q "sub-02_task-broken_bold.nii.gz: truncated" "$WORK/mpi.log" || fail "no error line for the broken run"
grep -q "1 of 6 runs failed" "$WORK/mpi.log" || fail "no failure count in the log"
grep -q "sub-02_task-motor_bold.nii.gz: no RepetitionTime" "$WORK/mpi.log" || fail "no warning for the missing sidecar"
log "exit status 5, the broken run's error and the missing sidecar in the log"

for p in sub-01/ses-1/func/sub-01_ses-1_task-rest_run-1 sub-01/ses-1/func/sub-01_ses-1_task-rest_run-2 \
  sub-01/ses-2/func/sub-01_ses-2_task-nback sub-02/func/sub-02_task-rest sub-02/func/sub-02_task-motor; do
  for t in _desc-preproc_bold.nii.gz _boldref.nii.gz _desc-confounds_timeseries.tsv _desc-confounds_timeseries.json \
    _desc-realign_xfm.txt _from-orig_to-boldref_mode-image_desc-hmc_xfm.txt _desc-hmc_boldref.nii.gz \
    _desc-brain_mask.nii.gz _desc-rp_motion.txt _desc-motion_bold.svg; do
    [[ -s $WORK/out2/$p$t ]] || fail "missing $p$t"
    cmp -s "$WORK/out1/$p$t" "$WORK/out2/$p$t" || fail "$p$t differs between 1 and 2 ranks"
  done
done
[[ -e $WORK/out2/sub-02/func/sub-02_task-broken_desc-preproc_bold.nii.gz ]] && fail "the broken run has an image"
ls -A "$WORK/out2/sub-02/func" | grep -q '^\.realign-' && fail "temporaries left behind"
grep -q 'class="failed"' "$WORK/out2/index.html" || fail "index.html lists no failed run"
grep -q 'sub-02_task-broken_bold.nii.gz: truncated' "$WORK/out2/index.html" || fail "index.html lacks the error"
grep -q '"DatasetType": "derivative"' "$WORK/out2/dataset_description.json" || fail "dataset_description.json"
log "5 runs complete, identical for 1 and 2 ranks; the failure is in index.html"

"$REALIGN" bids "$B" >/dev/null 2>&1
[[ $? -eq 2 ]] || fail "a missing OUT_DIR is not a usage error"
"$REALIGN" bids "$WORK/none" "$WORK/o" >"$WORK/none.log" 2>&1
[[ $? -eq 1 ]] || fail "a missing BIDS_DIR does not exit 1"
grep -q "none: is not a directory" "$WORK/none.log" || fail "missing BIDS_DIR: $(cat "$WORK/none.log")"
"$REALIGN" bids "$B" "$WORK/o" --participant-label 09 >"$WORK/nine.log" 2>&1
[[ $? -eq 1 ]] || fail "a label matching nothing does not exit 1"
grep -q "no BOLD run has sub-09" "$WORK/nine.log" || fail "no warning for label 09"
[[ -e $WORK/o ]] && fail "OUT_DIR created although nothing ran"
groups=$("$REALIGN" bids -q "$B" "$WORK/o" --list-groups 2>/dev/null)
want=$'0\tsub-01 ses-1\tsub-01_ses-1_task-rest_run-1_bold.nii.gz sub-01_ses-1_task-rest_run-2_bold.nii.gz\n'
want+=$'1\tsub-01 ses-2\tsub-01_ses-2_task-nback_bold.nii\n'
want+=$'2\tsub-02\tsub-02_task-broken_bold.nii.gz sub-02_task-motor_bold.nii.gz sub-02_task-rest_bold.nii.gz'
[[ $groups == "$want" ]] || fail "--list-groups: $groups"
log "usage and input errors; --list-groups"

# The Slurm array script: task 0 is sub-01, task 1 sub-02 (no srun here: mpirun).
launcher=()
command -v srun >/dev/null 2>&1 && launcher=(REALIGN_LAUNCHER=mpirun)
bash -n "$ROOT/scripts/slurm/realign_bids.sbatch" || fail "realign_bids.sbatch: syntax error"
for n in 0 1; do
  (cd "$WORK" && env -u SLURM_JOB_ID -u SLURM_JOBID "${launcher[@]}" SLURM_ARRAY_TASK_ID=$n SLURM_NTASKS=2 \
    SLURM_CPUS_PER_TASK=1 REALIGN="$REALIGN" bash "$ROOT/scripts/slurm/realign_bids.sbatch" "$B" "$WORK/slurm" -q \
    >"$WORK/task$n.log" 2>&1)
  echo $? >"$WORK/status$n"
done
[[ $(cat "$WORK/status0") -eq 0 ]] || { cat "$WORK/task0.log"; fail "array task 0 (sub-01) did not exit 0"; }
[[ $(cat "$WORK/status1") -eq 5 ]] || { cat "$WORK/task1.log"; fail "array task 1 (sub-02, a broken run) did not exit 5"; }
grep -q "array task 1: sub-02" "$WORK/task1.log" || fail "task 1 did not take sub-02"
[[ -s $WORK/slurm/sub-01/ses-2/func/sub-01_ses-2_task-nback_desc-preproc_bold.nii.gz ]] || fail "task 0 outputs missing"
[[ -e $WORK/slurm/sub-02/func/sub-01_ses-1_task-rest_run-1_desc-preproc_bold.nii.gz ]] && fail "task 1 did sub-01"
(cd "$WORK" && env -u SLURM_JOB_ID -u SLURM_JOBID "${launcher[@]}" REALIGN_BIDS_BY=group SLURM_ARRAY_TASK_ID=1 \
  SLURM_NTASKS=1 REALIGN="$REALIGN" bash "$ROOT/scripts/slurm/realign_bids.sbatch" "$B" "$WORK/group" -q \
  >"$WORK/group.log" 2>&1) || { cat "$WORK/group.log"; fail "REALIGN_BIDS_BY=group task 1 failed"; }
[[ $(find "$WORK/group" -name '*_desc-preproc_bold.nii.gz' -printf '%f\n') == sub-01_ses-2_task-nback_desc-preproc_bold.nii.gz ]] \
  || fail "REALIGN_BIDS_BY=group task 1 did not run group 1 (sub-01 ses-2) alone"
rm "$WORK/slurm/index.html"
(cd "$WORK" && env -u SLURM_ARRAY_TASK_ID "${launcher[@]}" SLURM_NTASKS=1 REALIGN="$REALIGN" \
  bash "$ROOT/scripts/slurm/realign_bids.sbatch" "$B" "$WORK/slurm" -q --index-only >"$WORK/index.log" 2>&1) \
  || { cat "$WORK/index.log"; fail "--index-only job failed"; }
grep -q "5 runs realigned, 1 failed" "$WORK/slurm/index.html" || fail "the rebuilt index does not hold both tasks' runs"
log "realign_bids.sbatch: one subject per array task; --index-only joins their records"
log "PASS"
