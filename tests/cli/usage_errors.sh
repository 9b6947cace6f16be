#!/usr/bin/env bash
# The command line as a new user meets it. Every usage error: exit status 2, two lines on
# stderr, the first "realign: error: ..." naming the option (or what is missing) and what it
# accepts, the second pointing to --help; nothing written. Then what is accepted: --ref
# middle (MCFLIRT's reference, frame n/2 counted from 0), an extension in capitals, existing
# outputs replaced with a warning or, with --no-clobber, refused before any work.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh" "$@"

IN=$WORK/in.nii.gz
make_phantom "$IN" --dim 24 24 16 --frames 9
OUT=$WORK/out
mkdir -p "$OUT"
failures=0
problem() { log "  FAIL: $*"; failures=$((failures + 1)); }

# usage NAME "EXPECTED TEXT"... -- ARGS...: a usage error whose first line holds every text
# and whose second points to the help of the command used (POINTER, default realign --help).
usage() {
  local name=$1; shift
  local wants=()
  while [[ $1 != -- ]]; do wants+=("$1"); shift; done
  shift
  local status=0
  "$REALIGN" "$@" >"$WORK/stdout" 2>"$WORK/err" || status=$?
  local first second
  first=$(sed -n 1p "$WORK/err")
  second=$(sed -n 2p "$WORK/err")
  local before=$failures
  [[ $status -eq 2 ]] || problem "$name: exit status $status, expected 2"
  [[ $(wc -l <"$WORK/err") -eq 2 ]] || problem "$name: $(wc -l <"$WORK/err") stderr lines, expected 2"
  [[ $first == "realign: error: "* ]] || problem "$name: first line '$first'"
  local w
  for w in "${wants[@]}"; do
    [[ $first == *"$w"* ]] || problem "$name: '$first' lacks '$w'"
  done
  local command=realign
  case ${1:-} in apply | follow | bids) command="realign $1" ;; esac
  [[ $second == "Run '$command --help' for the options and what they accept." ]] ||
    problem "$name: no pointer to $command --help: '$second'"
  [[ -z $(find "$OUT" -mindepth 1) ]] || problem "$name: wrote $(ls "$OUT")"
  [[ $failures -eq $before ]] && log "ok   $name: $first"
}

usage "no arguments" "missing the input series and the output path" -- 
usage "no output" "missing the output path after $IN" -- "$IN"
usage "negative --fwhm" "--fwhm" "a number from 0 to 50" "'-1'" -- --fwhm -1 "$IN" "$OUT/r.nii"
usage "word for --fwhm" "--fwhm" "a number from 0 to 50" "'abc'" -- --fwhm abc "$IN" "$OUT/r.nii"
usage "zero --sep" "--sep" "from 0.1 to 100" -- --sep 0 "$IN" "$OUT/r.nii"
usage "fraction for a degree" "--est-degree" "a whole number from 1 to 5" -- \
  --est-degree 2.5 "$IN" "$OUT/r.nii"
usage "negative --threads" "--threads" "from 0 to 4096" -- --threads -1 "$IN" "$OUT/r.nii"
usage "unknown --intensity" "--intensity" "one of coil, global, linear" "'cubic'" -- \
  --intensity cubic "$IN" "$OUT/r.nii"
usage "option without value" "--fwhm: needs a value" -- "$IN" "$OUT/r.nii" --fwhm
usage "unknown option" "unknown option" "--bogus" -- --bogus "$IN" "$OUT/r.nii"
usage "typo in --ref" "--ref" "'meen'" "mean, first, middle, median" -- --ref meen "$IN" "$OUT/r.nii"
usage "apply without --xfm" "apply: --xfm is required" -- apply "$IN" "$OUT/r.nii"
usage "typo of an option" "unknown option --fhwm; did you mean --fwhm?" -- --fhwm 4 "$IN" "$OUT/r.nii"
usage "typo in a subcommand" "bids: unknown option --partcipant-label" \
  "did you mean --participant-label?" -- bids "$WORK" "$OUT" --partcipant-label 01
usage "extra word after bids" "bids: analysis level 'anything'" "participant" -- \
  bids "$WORK" "$OUT" anything
usage "group level" "bids: analysis level 'group'" -- bids "$WORK" "$OUT" group
usage "bids without OUT_DIR" "bids: missing BIDS_DIR and OUT_DIR" -- bids
usage "--fd-filter without its kind" "--fd-filter" "expects notch:LO-HI" "'12-18'" -- \
  --fd-filter 12-18 "$IN" "$OUT/r.nii"
usage "--fd-filter band upside down" "--fd-filter" "0 < LO < HI" "'notch:18-12'" -- \
  --fd-filter notch:18-12 "$IN" "$OUT/r.nii"
usage "negative --good-fd" "--good-fd" "thresholds in mm, each above 0" "'0.2,-1'" -- \
  --good-fd 0.2,-1 "$IN" "$OUT/r.nii"
usage "--send without a port" "--send" "expects HOST:PORT" "'localhost'" -- \
  follow "$WORK" --send localhost
usage "--criterion-minutes 0" "--criterion-minutes" "from 0.01 to 10000" -- \
  follow "$WORK" --criterion-minutes 0
usage "a run's option follow does not take" "follow: --split is not used by follow" -- \
  follow "$WORK" --split points
usage "follow's reference" "--ref: 'mean' is not a file, nor first" -- follow "$WORK" --ref mean
usage "follow without a source" "follow: missing SOURCE" -- follow

# A run, then `apply` refusing what it would ignore.
"$REALIGN" -q --ref middle "$IN" "$OUT/R.NII.GZ" 2>"$WORK/err" || problem "--ref middle run failed: $(cat "$WORK/err")"
[[ -f $OUT/R_rp.txt && -f $OUT/R_mean.NII.GZ ]] || problem "OUT.NII.GZ: outputs $(ls "$OUT")"
gzip -t "$OUT/R.NII.GZ" 2>/dev/null || problem "R.NII.GZ is not gzip data"
# The middle of 9 frames counted from 0 is frame 4, the fifth: the same run as --ref 5.
"$REALIGN" -q --ref 5 "$IN" "$OUT/five.nii" 2>"$WORK/err" || problem "--ref 5 run failed"
cmp -s "$OUT/R_rp.txt" "$OUT/five_rp.txt" || problem "--ref middle differs from --ref 5 (frame 9/2 + 1)"
[[ $failures -eq 0 ]] && log "ok   --ref middle is frame 5 of 9; OUT.NII.GZ written as gzip"
XFM=$OUT/R_xfm.txt
mkdir -p "$WORK/keep" && mv "$OUT"/* "$WORK/keep/"
usage "apply with --fwhm" "apply: --fwhm is not used by apply" "--reslice-degree" -- \
  apply --xfm "$WORK/keep/R_xfm.txt" --fwhm 4 "$IN" "$OUT/a.nii"
usage "apply with --par" "apply: --par is not used by apply" -- \
  apply --xfm "$WORK/keep/R_xfm.txt" --par "$IN" "$OUT/a.nii"

# Output paths checked before any work: a directory, a place this process cannot write.
mkdir -p "$WORK/d.nii"
status=0
"$REALIGN" "$IN" "$WORK/d.nii" 2>"$WORK/err" || status=$?
[[ $status -eq 3 ]] && grep -q "is a directory" "$WORK/err" && log "ok   output is a directory: exit 3" ||
  problem "output is a directory: exit $status, $(cat "$WORK/err")"
if [[ $(id -u) -ne 0 ]]; then
  mkdir -p "$WORK/ro" && chmod a-w "$WORK/ro"
  status=0
  "$REALIGN" "$IN" "$WORK/ro/r.nii" 2>"$WORK/err" || status=$?
  [[ $status -eq 3 ]] && grep -q "cannot write in" "$WORK/err" && log "ok   unwritable directory: exit 3" ||
    problem "unwritable directory: exit $status, $(cat "$WORK/err")"
else
  log "     (root: every directory is writable; the unwritable case is not tried)"
fi

# Existing outputs: replaced with a warning naming them; --no-clobber refuses, unchanged.
"$REALIGN" -q "$IN" "$OUT/r.nii" 2>/dev/null || problem "first run failed"
sum=$(sha256sum "$OUT/r_rp.txt")
touch -d '2000-01-01' "$OUT/r_rp.txt"
status=0
"$REALIGN" -q --no-clobber "$IN" "$OUT/r.nii" 2>"$WORK/err" || status=$?
[[ $status -eq 3 ]] && grep -q "outputs exist (r.nii, r_mean.nii, r_rp.txt" "$WORK/err" &&
  [[ $(stat -c %Y "$OUT/r_rp.txt") -eq $(date -d '2000-01-01' +%s) ]] &&
  log "ok   --no-clobber: exit 3, outputs untouched" ||
  problem "--no-clobber: exit $status, $(cat "$WORK/err")"
"$REALIGN" -q "$IN" "$OUT/r.nii" 2>"$WORK/err" || problem "second run failed"
grep -q "warning: replacing existing outputs: r.nii, r_mean.nii" "$WORK/err" &&
  [[ $(sha256sum "$OUT/r_rp.txt") == "$sum" ]] && log "ok   rerun: replaced, with a warning" ||
  problem "rerun: $(cat "$WORK/err")"

[[ $failures -eq 0 ]] || fail "$failures problems (see above)"
log "PASS"
