#!/usr/bin/env bash
# Runs two realign binaries on the same inputs and settings and compares every output
# byte for byte (the QC report's creation time aside; .nii.gz files by the bytes they
# inflate to, so that a change of compression passes): the check that a refactoring
# changed no result.
#
#   scripts/check_identical.sh OLD_REALIGN NEW_REALIGN [PHANTOM_TOOL]
#
# Inputs: the shared real runs (../shared/data/real, when present) and phantoms made by
# PHANTOM_TOOL (default: realign-phantom beside NEW_REALIGN). Settings: 1-3 ranks, 1-2
# threads, both --split modes, the references, .nii.gz output, --datatype input and
# `apply`. Prints one line per difference; exits 1 if there was any.
set -uo pipefail
old=$(realpath "$1") new=$(realpath "$2")
phantom=${3:-$(dirname "$new")/realign-phantom}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=$root/../shared/data/real
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
differences=0

inputs=()
"$phantom" -q --frames 24 --seed 3 "$work/synthetic.nii.gz" && inputs+=("$work/synthetic.nii.gz")
"$phantom" -q --frames 16 --seed 5 --oblique --datatype float32 "$work/oblique.nii" &&
  inputs+=("$work/oblique.nii")
for run in rtcloud_faces_run-01_bold dcmqa-mosaic_6_cmrr_Asc nipy_functional sct_spinalcord_fmri \
  pymvpa_haxby_sub1_1slice_12runs_bold decnef_sub-1_run-2_bold studyforrest_oneback_run-1_bold; do
  [[ -f $shared/$run.nii.gz ]] && inputs+=("$shared/$run.nii.gz")
done

# run BIN TAG INPUT RANKS THREADS ARGS...: outputs in $work/TAG/
run() {
  local bin=$1 tag=$2 input=$3 ranks=$4 threads=$5
  shift 5
  mkdir -p "$work/$tag"
  local cmd=("$bin" -q --threads "$threads" "$@")
  [[ $ranks -gt 1 ]] && cmd=(mpirun -q --allow-run-as-root --oversubscribe -n "$ranks" "${cmd[@]}")
  "${cmd[@]}" "$input" "$work/$tag/out.nii${GZ:-}" >/dev/null 2>&1
  echo $? >"$work/$tag/status"
}

compare() {
  local a=$work/$1 b=$work/$2 label=$3
  for f in "$a"/*; do
    local g=$b/$(basename "$f")
    if [[ ! -f $g ]]; then echo "DIFF $label: $(basename "$f") missing in new"; differences=1; continue; fi
    if [[ $f == *.html ]]; then
      cmp -s <(grep -v 'id="created"' "$f") <(grep -v 'id="created"' "$g") && continue
    elif [[ $f == *.gz ]]; then  # the data, whatever the compression
      cmp -s <(gzip -dc "$f") <(gzip -dc "$g") && continue
    else
      cmp -s "$f" "$g" && continue
    fi
    echo "DIFF $label: $(basename "$f")"
    differences=1
  done
  [[ $(ls "$a" | wc -l) == $(ls "$b" | wc -l) ]] || { echo "DIFF $label: file count"; differences=1; }
}

case_no=0
check() {  # check INPUT RANKS THREADS ARGS...
  case_no=$((case_no + 1))
  run "$old" "o$case_no" "$@"
  run "$new" "n$case_no" "$@"
  compare "o$case_no" "n$case_no" "$(basename "$1") ranks=$2 threads=$3 ${*:4}"
  rm -rf "$work/o$case_no" "$work/n$case_no"
}

for input in "${inputs[@]}"; do
  name=$(basename "$input")
  case $name in
    decnef* | studyforrest* | pymvpa*)  # large: two settings
      check "$input" 2 1
      check "$input" 1 2 --split points --no-report
      ;;
    *)
      for ranks in 1 2 3; do
        for threads in 1 2; do check "$input" "$ranks" "$threads"; done
      done
      check "$input" 2 1 --split points
      check "$input" 3 2 --split points --ref first
      check "$input" 1 2 --ref median --datatype input
      check "$input" 2 1 --ref 3 --par
      check "$input" 1 1 --no-reslice
      GZ=.gz check "$input" 2 2
      ;;
  esac
  echo "checked $name"
done
# apply: reslice with the transforms of a run.
if [[ ${#inputs[@]} -gt 0 ]]; then
  mkdir -p "$work/x"
  "$new" -q --no-reslice "${inputs[0]}" "$work/x/est.nii" >/dev/null 2>&1
  check "${inputs[0]}" 2 1 apply --xfm "$work/x/est_xfm.txt"
fi
[[ $differences == 0 ]] && echo "identical: every output of every case" || exit 1
