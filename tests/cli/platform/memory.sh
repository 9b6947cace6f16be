#!/usr/bin/env bash
# Memory within the input: no rank holds the series, so the peak resident memory of the
# whole job (mpirun and both ranks, each at its peak, summed by scripts/job_memory.py)
# stays below the float32 size of a long series, for .nii and .nii.gz input and output
# and for both work splits. (The previous design held the series 2.3 to 4.7 times over.)
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
need_mpirun
need_python
# AddressSanitizer's shadow memory and quarantine are not realign's: measure a plain build.
if ldd "$REALIGN" 2>/dev/null | grep libasan >/dev/null; then
  skip "AddressSanitizer build: memory is measured on a plain build"
fi

IN=$WORK/long.nii
big_series "$IN" 64 64 34 240  # 133 MB as float32, 67 MB as stored (int16)
gzip -1 -c "$IN" >"$IN.gz"
series_mb=$(python3 -c 'print(64 * 64 * 34 * 240 * 4 / 2**20)')

# peak NAME INPUT OUTPUT [options]: the job's peak over the series, checked below 1.
peak() {
  local name=$1 in=$2 out=$3
  shift 3
  python3 "$ROOT/scripts/job_memory.py" --out "$WORK/job.txt" "${MPIRUN[@]}" -n 2 "$REALIGN" \
    --threads 1 --no-report --ref first "$@" "$in" "$WORK/$out" 2>"$WORK/err" >/dev/null ||
    fail "$name: exit status $?: $(head -c 300 "$WORK/err")"
  local mb ratio
  mb=$(awk '{print $2}' "$WORK/job.txt")
  ratio=$(python3 -c "print('%.2f' % ($mb / $series_mb))")
  python3 -c "import sys; sys.exit(0 if $mb < $series_mb else 1)" ||
    fail "$name: the job's peak is $mb MB, ${ratio}x the float32 series ($series_mb MB)"
  log "ok   $name: job peak $mb MB, ${ratio}x the float32 series"
  rm -f "$WORK/$out"
}
peak ".nii in, .nii out" "$IN" a.nii
peak ".nii.gz in, .nii.gz out, --split points" "$IN.gz" b.nii.gz --split points
log "PASS"
