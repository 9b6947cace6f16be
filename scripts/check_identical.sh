#!/usr/bin/env bash
# Runs two realign binaries on the same inputs and settings and compares every output
# byte for byte (the QC report's creation time aside; .nii.gz files by the bytes they
# inflate to, so that a change of compression passes): the check that a refactoring
# changed no result.
#
#   scripts/check_identical.sh OLD_REALIGN NEW_REALIGN [PHANTOM_TOOL]
#
# HTML_ROWS='a|b': leave the QC reports' summary rows with these ids out of the comparison
# (rows whose wording a change meant to alter, e.g. 'n-over|max-trans|max-rot|plausible'
# against a main from before issue L). QUICK=1: only the commands after the single runs.
# Inputs: the shared real runs (../shared/data/real, when present) and phantoms made by
# PHANTOM_TOOL (default: realign-phantom beside NEW_REALIGN). Settings: 1-3 ranks, 1-2
# threads, both --split modes, the references, .nii.gz output, --datatype input and
# `apply`; then every other command: several runs of a subject (-o), a BIDS dataset
# (`bids`) and a replay (`follow`, its lines without the latency column). Prints one line
# per difference; exits 1 if there was any.
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

# A report without its creation time and the rows HTML_ROWS names.
html_rows() {
  grep -v 'id="created"' "$1" | grep -Ev "id=\"(${HTML_ROWS:-^})\"" || true
}

compare() {
  local a=$work/$1 b=$work/$2 label=$3
  for f in "$a"/*; do
    local g=$b/$(basename "$f")
    if [[ ! -f $g ]]; then echo "DIFF $label: $(basename "$f") missing in new"; differences=1; continue; fi
    if [[ $f == *.html ]]; then
      cmp -s <(html_rows "$f") <(html_rows "$g") && continue
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

# QUICK=1: the other commands only (a minute rather than many).
[[ -n ${QUICK:-} ]] && inputs=("${inputs[0]}")
for input in "${inputs[@]}"; do
  [[ -n ${QUICK:-} ]] && break
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
if [[ ${#inputs[@]} -gt 0 && -z ${QUICK:-} ]]; then
  mkdir -p "$work/x"
  "$new" -q --no-reslice "${inputs[0]}" "$work/x/est.nii" >/dev/null 2>&1
  check "${inputs[0]}" 2 1 apply --xfm "$work/x/est_xfm.txt"
fi

# The other commands, on phantoms of one grid: every file below the output folder.
compare_tree() {  # compare_tree A B LABEL
  local f rel
  while IFS= read -r f; do
    rel=${f#"$1"/}
    if [[ ! -f $2/$rel ]]; then echo "DIFF $3: $rel missing in new"; differences=1; continue; fi
    case $rel in
      *.html) cmp -s <(html_rows "$f" | grep -v Generated) <(html_rows "$2/$rel" | grep -v Generated) && continue ;;
      *.gz) cmp -s <(gzip -dc "$f") <(gzip -dc "$2/$rel") && continue ;;
      *) cmp -s "$f" "$2/$rel" && continue ;;
    esac
    echo "DIFF $3: $rel"
    differences=1
  done < <(find "$1" -type f | sort)
  [[ $(find "$1" -type f | wc -l) == $(find "$2" -type f | wc -l) ]] ||
    { echo "DIFF $3: file count"; differences=1; }
}
mkdir -p "$work/ds/sub-01/func" "$work/ds/sub-02/ses-1/func"
for r in 1 2; do
  "$phantom" -q --frames 12 --dim 32 32 16 --seed "$r" --tr 2 "$work/ds/sub-01/func/sub-01_task-rest_run-${r}_bold.nii.gz"
done
"$phantom" -q --frames 10 --dim 32 32 16 --seed 7 --tr 2 "$work/ds/sub-02/ses-1/func/sub-02_ses-1_task-rest_bold.nii"
rm -f "$work"/ds/sub-*/func/*truth* "$work"/ds/sub-*/*/func/*truth*
echo '{"RepetitionTime": 2.0}' >"$work/ds/task-rest_bold.json"
runs=("$work"/ds/sub-01/func/*_bold.nii.gz)
for ranks in 1 2; do
  for side in old new; do
    bin=${!side}
    mpi=()
    [[ $ranks -gt 1 ]] && mpi=(mpirun -q --allow-run-as-root --oversubscribe -n "$ranks")
    # The same output paths for both (dataset_description.json holds the command line).
    mkdir -p "$work/subject"
    "${mpi[@]}" "$bin" -q --ref first "${runs[@]}" -o "$work/subject" >/dev/null 2>&1
    "${mpi[@]}" "$bin" bids -q "$work/ds" "$work/bids" >/dev/null 2>&1
    mv "$work/subject" "$work/$side-subject" && mv "$work/bids" "$work/$side-bids"
  done
  compare_tree "$work/old-subject" "$work/new-subject" "subject -o, ranks=$ranks"
  compare_tree "$work/old-bids" "$work/new-bids" "bids, ranks=$ranks"
  rm -rf "$work"/old-* "$work"/new-*
done
echo "checked subject and bids"
for side in old new; do
  mkdir -p "$work/follow"
  "${!side}" follow -q "${runs[0]}" "$work/follow/f.nii.gz" 2>/dev/null | cut -f1-9,11 \
    >"$work/$side-lines.tsv"
  mv "$work/follow" "$work/$side-follow"
done
compare_tree "$work/old-follow" "$work/new-follow" "follow"
cmp -s "$work/old-lines.tsv" "$work/new-lines.tsv" || { echo "DIFF follow: lines"; differences=1; }
echo "checked follow"
[[ $differences == 0 ]] && echo "identical: every output of every case" || exit 1
