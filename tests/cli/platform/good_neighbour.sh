#!/usr/bin/env bash
# realign shares a machine politely: its OpenMP threads sleep while they wait (libgomp's
# own report, OMP_DISPLAY_ENV=verbose, shows a spin count of 0 in the image that runs),
# unless the user chose a wait policy; and its default thread count is what the process
# may use (affinity mask, SLURM_CPUS_PER_TASK) unless OMP_NUM_THREADS or --threads say
# otherwise. Checked through the -v log and libgomp's report, without timing anything.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
need_mpirun

make_phantom "$WORK/ph.nii.gz" --dim 32 32 16 --frames 6

# run_v NAME [env assignments...] -- [realign options...]: a -v run's stderr in NAME.log.
run_v() {
  local name=$1; shift
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  env -u OMP_NUM_THREADS -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u SLURM_CPUS_PER_TASK \
    "${envs[@]}" "$REALIGN" -v --no-report "$@" "$WORK/ph.nii.gz" "$WORK/$name.nii" \
    2>"$WORK/$name.log" || fail "$name: realign exited with $? ($(tail -n 3 "$WORK/$name.log"))"
}

# expect NAME TEXT: the run's log holds TEXT.
expect() {
  grep -qF -- "$2" "$WORK/$1.log" || fail "$1: no '$2' in: $(grep -E 'threads' "$WORK/$1.log")"
}

run_v default --
expect default "OpenMP wait policy passive"
log "default: $(grep -o 'threads: .*' "$WORK/default.log")"

cpu=$(taskset -pc $$ | sed -E 's/.*: *//; s/[-,].*//')
run_v pinned taskset -c "$cpu" --
expect pinned "threads: 1 (affinity 1 CPU,"
expect pinned "; 1 OpenMP threads"
log "taskset -c $cpu: one thread"

run_v slurm SLURM_CPUS_PER_TASK=1 --
expect slurm "threads: 1 (affinity"
expect slurm "SLURM_CPUS_PER_TASK 1)"
log "SLURM_CPUS_PER_TASK=1: one thread"

run_v omp OMP_NUM_THREADS=3 SLURM_CPUS_PER_TASK=1 --
expect omp "threads: 3 (OMP_NUM_THREADS;"
expect omp "; 3 OpenMP threads"
run_v option OMP_NUM_THREADS=3 -- --threads 2
expect option "threads: 2 (--threads;"
expect option "; 2 OpenMP threads"
log "OMP_NUM_THREADS beats the limits, --threads beats OMP_NUM_THREADS"

run_v active OMP_WAIT_POLICY=active --
expect active "OpenMP wait policy active (OMP_WAIT_POLICY, set by the user)"
run_v spin GOMP_SPINCOUNT=1000 --
expect spin "OpenMP wait policy GOMP_SPINCOUNT=1000 (set by the user)"
log "a wait policy the user set is kept and named"

# libgomp's report, once per program image: the one that runs is the last.
spincounts() { grep -oE "GOMP_SPINCOUNT = '[0-9]+'" "$1" | grep -oE '[0-9]+' | tr '\n' ' '; }
run_v display OMP_DISPLAY_ENV=verbose --
[[ $(spincounts "$WORK/display.log") == *" 0 " ]] ||
  fail "libgomp's spin counts per image: $(spincounts "$WORK/display.log"), want the last 0"
run_v display_user OMP_DISPLAY_ENV=verbose OMP_WAIT_POLICY=active --
[[ $(spincounts "$WORK/display_user.log") =~ ^[1-9][0-9]*\ $ ]] ||
  fail "with OMP_WAIT_POLICY=active: spin counts $(spincounts "$WORK/display_user.log")"
log "libgomp: spin count 0 by default (re-executed once), kept when the user chose"

# mpi_v NAME THREADS: a -v run on two ranks of THREADS OpenMP threads each, with libgomp's
# report (OMP_DISPLAY_ENV=verbose) and no wait policy of the user's; its stderr in NAME.log.
mpi_v() {
  env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "${MPIRUN[@]}" -n 2 -x OMP_DISPLAY_ENV=verbose \
    -x OMP_NUM_THREADS="$2" "$REALIGN" -v --no-report "$WORK/ph.nii.gz" "$WORK/$1.nii" \
    2>"$WORK/$1.log" || fail "mpirun -n 2, $2 threads: exited with $? ($(tail -n 3 "$WORK/$1.log"))"
}

# Under mpirun a rank that runs two threads re-executes itself (before MPI_Init) and waits
# passively; rank 0 alone logs the choice.
mpi_v mpi 2
zeros=$(grep -c "GOMP_SPINCOUNT = '0'" "$WORK/mpi.log")
((zeros == 2)) || fail "mpirun -n 2: $zeros images with spin count 0, want 2"
lines=$(grep -c "threads: " "$WORK/mpi.log")
((lines == 1)) || fail "mpirun -n 2: $lines 'threads:' lines, want rank 0's only"
cmp -s "$WORK/mpi_rp.txt" "$WORK/default_rp.txt" || fail "mpirun -n 2 rp differs from one rank's"
log "mpirun -n 2, two threads each: both ranks passive, one log line, same result"

# A rank of one thread (mpirun's binding to one core each, here OMP_NUM_THREADS=1) never
# waits for another thread: it starts once.
mpi_v mpi1 1
images=$(grep -c "OPENMP DISPLAY ENVIRONMENT BEGIN" "$WORK/mpi1.log")
((images == 2)) || fail "mpirun -n 2, one thread: $images program images, want 2 (no re-execution)"
grep -q "OpenMP wait policy none needed (one thread)" "$WORK/mpi1.log" ||
  fail "mpirun -n 2, one thread: the log does not say why the policy was left"
cmp -s "$WORK/mpi1_rp.txt" "$WORK/default_rp.txt" || fail "mpirun -n 2, one thread: rp differs"
log "mpirun -n 2, one thread each: started once, same result"
log "PASS"
