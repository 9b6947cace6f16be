#!/usr/bin/env bash
# The Slurm job scripts, run here without Slurm: bash -n on both, then the array script
# with a fake array environment (SLURM_ARRAY_TASK_ID, SLURM_NTASKS, SLURM_CPUS_PER_TASK;
# no SLURM_JOB_ID and no srun, so it falls back to mpirun) over a list of two phantom runs
# and one bad run. The runs' outputs appear; the bad run is recorded with exit status 1; a
# second pass skips the complete runs without touching them and redoes an incomplete one.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
need_mpirun

SLURM_DIR="$ROOT/scripts/slurm"
for s in realign_one.sbatch realign_array.sbatch; do
  bash -n "$SLURM_DIR/$s" || fail "$s: syntax error"
done
log "bash -n: both scripts parse"

# A machine with Slurm installed would take the srun path; the fallback is what is tested.
launcher=()
command -v srun >/dev/null 2>&1 && launcher=(REALIGN_LAUNCHER=mpirun)

make_phantom "$WORK/a.nii.gz" --dim 24 24 16 --frames 6
make_phantom "$WORK/b.nii.gz" --dim 24 24 16 --frames 6 --seed 2
cat >"$WORK/runs.txt" <<EOF
# input output [options]

$WORK/a.nii.gz $WORK/out/a_r.nii.gz
$WORK/b.nii.gz $WORK/out/b_r.nii --ref first --par
$WORK/missing.nii.gz $WORK/out/c_r.nii.gz
EOF
mkdir -p "$WORK/out"

# What each started process saw: its MPI rank and size (set by mpirun) and OpenMP threads.
cat >"$WORK/realign-wrapper" <<WRAPPER
#!/bin/bash
echo "rank=\${OMPI_COMM_WORLD_RANK:-none} size=\${OMPI_COMM_WORLD_SIZE:-none} threads=\${OMP_NUM_THREADS:-unset}" >>"\$LAUNCHES"
exec "$REALIGN" "\$@"
WRAPPER
chmod +x "$WORK/realign-wrapper"

# task N [extra options]: the array script as Slurm would run array task N, with 2 ranks.
task() {
  local n=$1; shift
  (cd "$WORK" && env -u SLURM_JOB_ID -u SLURM_JOBID "${launcher[@]}" SLURM_ARRAY_TASK_ID="$n" \
    SLURM_ARRAY_JOB_ID=4242 SLURM_NTASKS=2 SLURM_CPUS_PER_TASK=1 \
    REALIGN="$WORK/realign-wrapper" LAUNCHES="$WORK/launches$n.txt" \
    bash "$SLURM_DIR/realign_array.sbatch" "$WORK/runs.txt" -q "$@" >"$WORK/task$n.log" 2>&1)
}

for n in 1 2; do
  task "$n" || { cat "$WORK/task$n.log"; fail "array task $n exited with $?"; }
  grep -q "launcher mpirun" "$WORK/task$n.log" || { cat "$WORK/task$n.log"; fail "task $n did not fall back to mpirun"; }
  got=$(grep -v "rank=none" "$WORK/launches$n.txt" | sort | tr '\n' ' ')
  [[ $got == "rank=0 size=2 threads=1 rank=1 size=2 threads=1 " ]] \
    || fail "task $n started '$got', expected ranks 0 and 1 of 2, one thread each"
done
for f in a_r.nii.gz a_r_rp.txt a_r_confounds.tsv a_r_motion.svg b_r.nii b_r_rp.txt b_r.par b_r_motion.svg; do
  [[ -s $WORK/out/$f ]] || fail "missing output $f"
done
grep -q "realign 0.1" "$WORK/task1.log" || fail "the log lacks realign --version"
log "tasks 1 and 2 wrote their outputs (per-run options applied: b_r.par exists)"

task 3 && fail "task 3 (missing input) exited 0"
status=$?
[[ $status -eq 1 ]] || { cat "$WORK/task3.log"; fail "task 3 exited $status, expected 1 (input refused)"; }
record=$(cat "$WORK/runs.txt.failed" 2>/dev/null)
[[ $record == $'3\t1\tinput refused\t'"$WORK/missing.nii.gz"$'\t'"$WORK/out/c_r.nii.gz"$'\t4242' ]] \
  || fail "failure record is '$record'"
log "task 3 failed with exit status 1 and is recorded in runs.txt.failed"

task 4 && fail "task 4 (past the end of the list) exited 0"
grep -q "has no run 4 (it lists 3)" "$WORK/task4.log" || fail "task 4: $(cat "$WORK/task4.log")"

# Second pass: complete runs are skipped and left as they are; a run with an output
# missing (here b's plot) is done again.
# realign renames a new file over each output, so a rewritten output has a new inode.
before=$(stat -c '%n %i %y %s' "$WORK"/out/a_r* | sort)
rm "$WORK/out/b_r_motion.svg"
task 1 || fail "second pass: task 1 exited with $?"
task 2 || fail "second pass: task 2 exited with $?"
grep -q "already complete, skipping" "$WORK/task1.log" || fail "task 1 was not skipped: $(cat "$WORK/task1.log")"
grep -q "launcher" "$WORK/task1.log" && fail "task 1 launched realign although complete"
[[ $(stat -c '%n %i %y %s' "$WORK"/out/a_r* | sort) == "$before" ]] || fail "skipped run's outputs changed"
grep -q "already complete" "$WORK/task2.log" && fail "task 2 was skipped with its plot missing"
[[ -s $WORK/out/b_r_motion.svg ]] || fail "task 2 did not write the missing plot again"
log "second pass: run 1 skipped untouched, run 2 (plot missing) done again"

# The one-run script, with the same fake environment.
(cd "$WORK" && env -u SLURM_JOB_ID -u SLURM_JOBID "${launcher[@]}" SLURM_NTASKS=2 SLURM_CPUS_PER_TASK=1 \
  REALIGN="$REALIGN" bash "$SLURM_DIR/realign_one.sbatch" "$WORK/a.nii.gz" "$WORK/one/a.nii.gz" -q \
  >"$WORK/one.log" 2>&1) && fail "realign_one.sbatch into a missing directory exited 0"
mkdir -p "$WORK/one"
(cd "$WORK" && env -u SLURM_JOB_ID -u SLURM_JOBID "${launcher[@]}" SLURM_NTASKS=2 SLURM_CPUS_PER_TASK=1 \
  REALIGN="$REALIGN" bash "$SLURM_DIR/realign_one.sbatch" "$WORK/a.nii.gz" "$WORK/one/a.nii.gz" -q \
  >"$WORK/one.log" 2>&1) || { cat "$WORK/one.log"; fail "realign_one.sbatch exited with $?"; }
cmp -s "$WORK/one/a_rp.txt" "$WORK/out/a_r_rp.txt" || fail "realign_one.sbatch's rp differs from the array run's"
log "realign_one.sbatch: the same rp as the array run; a missing output directory fails"
log "PASS"
