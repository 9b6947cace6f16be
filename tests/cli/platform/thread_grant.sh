#!/usr/bin/env bash
# Every command honours the thread count the machine grants (SLURM_CPUS_PER_TASK here, the
# way a cluster job grants it; the other sources go through the same choice, tested in
# tests/app/platform/test_threads.cpp): a run, several runs with -o, apply, bids and follow,
# each as one process. What is counted is what ran, not what was decided: the threads alive
# at the end (libgomp keeps the workers of the largest team it started), from -v's last
# line. With a grant of 1 every command must end with 1 thread; with 2 CPUs granted, with 2.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"

IN1=$WORK/r1.nii.gz IN2=$WORK/r2.nii.gz
# The default grid (64x64x34): large enough that every stage runs a full team.
make_phantom "$IN1" --frames 6 --seed 1
make_phantom "$IN2" --frames 6 --seed 2
mkdir -p "$WORK/ds/sub-01/func" "$WORK/src"
cp "$IN1" "$WORK/ds/sub-01/func/sub-01_task-rest_bold.nii.gz"
echo '{"RepetitionTime": 2}' >"$WORK/ds/task-rest_bold.json"
for f in 1 2 3; do cp "$IN1" "$WORK/src/vol_$f.nii.gz"; done  # follow reads 3D volumes: below

# The volumes follow reads: frames of the phantom as 3D files.
"$REALIGN" -q --no-reslice --no-report "$IN1" "$WORK/est.nii.gz" || fail "a run to make volumes failed"
python3 - "$IN1" "$WORK/src" <<'PY' || fail "could not write the volumes"
import gzip, struct, sys
raw = gzip.open(sys.argv[1]).read()
dims = list(struct.unpack("<8h", raw[40:56]))
off = int(struct.unpack("<f", raw[108:112])[0])
bpv = struct.unpack("<h", raw[72:74])[0] // 8
n = dims[1] * dims[2] * dims[3] * bpv
for f in range(4):
    head = bytearray(raw[:off])
    head[40:56] = struct.pack("<8h", 3, dims[1], dims[2], dims[3], 1, 1, 1, 1)
    open(f"{sys.argv[2]}/vol_{f + 1:04d}.nii", "wb").write(bytes(head) + raw[off + f * n: off + (f + 1) * n])
PY
rm -f "$WORK"/src/vol_?.nii.gz

# args_of COMMAND: its arguments, writing into $WORK/out.
args_of() {
  local out=$WORK/out
  case $1 in
    run) echo "$IN1 $out/r.nii.gz" ;;
    subject) echo "$IN1 $IN2 -o $out" ;;
    apply) echo "apply --xfm $WORK/est_xfm.txt $IN2 $out/a.nii.gz" ;;
    bids) echo "bids $WORK/ds $out participant" ;;
    follow) echo "follow --timeout 1 $WORK/src $out/f.nii.gz" ;;
  esac
}

# threads_of COMMAND ENV... [-- OPTIONS...]: the threads alive at the end of a successful
# `realign -v OPTIONS COMMAND'S ARGUMENTS`, into a fresh output folder.
threads_of() {
  local command=$1; shift
  local env=() options=()
  while [[ $# -gt 0 && $1 != -- ]]; do env+=("$1"); shift; done
  [[ $# -gt 0 ]] && { shift; options=("$@"); }
  rm -rf "$WORK/out" && mkdir -p "$WORK/out"
  local log=$WORK/$command.log status=0
  # shellcheck disable=SC2046
  env -u OMP_NUM_THREADS -u SLURM_CPUS_PER_TASK "${env[@]}" "$REALIGN" -v "${options[@]}" \
    $(args_of "$command") 2>"$log" >/dev/null || status=$?
  [[ $status -eq 0 ]] || fail "$command ${env[*]} ${options[*]}: exit $status: $(grep error "$log")"
  local n
  n=$(sed -n 's/.*threads alive at the end: \([0-9]*\).*/\1/p' "$log" | tail -n1)
  [[ -n $n ]] || fail "$command: no thread count in its log: $(tail -n3 "$log")"
  echo "$n"
}

for grant in 1 2; do
  if [[ $grant -gt $(nproc) ]]; then log "only $(nproc) CPU here: grant $grant not tried"; continue; fi
  for c in run subject apply bids follow; do
    n=$(threads_of "$c" SLURM_CPUS_PER_TASK=$grant) || exit 1
    [[ $n -eq $grant ]] || fail "$c with SLURM_CPUS_PER_TASK=$grant ended with $n threads"
    log "$c: SLURM_CPUS_PER_TASK=$grant, $n thread(s)"
  done
done
# OMP_NUM_THREADS and --threads go the same way, for the command the issue found wrong.
n=$(threads_of subject OMP_NUM_THREADS=1) || exit 1
[[ $n -eq 1 ]] || fail "subject with OMP_NUM_THREADS=1 ended with $n threads"
n=$(threads_of subject -- --threads 1) || exit 1
[[ $n -eq 1 ]] || fail "subject with --threads 1 ended with $n threads"
log "subject: OMP_NUM_THREADS=1 and --threads 1 give 1 thread"
log "PASS"
