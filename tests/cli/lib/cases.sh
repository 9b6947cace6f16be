# shellcheck shell=bash disable=SC2034
# Many runs of realign side by side, each a case that ends well or fails alone (sourced
# after common.sh; bad_input.sh, broken_corpus.sh). A test starts each case in the
# background once a slot is free (wait_for_slot: at most JOBS at a time, as a case's time is
# mostly start-up, Open MPI's even for a single process, not CPU), waits for all, then
# checks them one by one in the order they started: case_outcome reports each, and
# inputs_unchanged that no case changed the inputs under $IN. failures counts what failed.

JOBS=4
CASES=()
ncase=0
failures=0

# inputs_snapshot: a checksum line for every file under $IN.
inputs_snapshot() { (cd "$IN" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }

# wait_for_slot: returns once fewer than JOBS cases run.
wait_for_slot() { while [[ $(jobs -rp | wc -l) -ge $JOBS ]]; do wait -n; done; }

# case_outcome NAME SUMMARY STDERR [PROBLEM...]: "ok NAME (SUMMARY)" with the first line of
# the case's stderr when there is no problem; otherwise "FAIL NAME (SUMMARY)", each problem
# and the start of the stderr, counted in failures.
case_outcome() {
  local name=$1 summary=$2 stderr=$3; shift 3
  if [[ $# -eq 0 ]]; then
    local first
    first=$(head -n 1 "$stderr")
    log "ok   $name ($summary)${first:+: $first}"
    return
  fi
  failures=$((failures + 1))
  log "FAIL $name ($summary):"
  local p
  for p in "$@"; do log "    - $p"; done
  sed 's/^/    stderr| /' "$stderr" | head -n 20
}

# inputs_unchanged BEFORE: counts a failure, and shows what changed, when the files under
# $IN are not those of the snapshot BEFORE.
inputs_unchanged() {
  local now
  now=$(inputs_snapshot)
  [[ "$now" == "$1" ]] && return
  failures=$((failures + 1))
  log "FAIL input files changed:"
  diff <(echo "$1") <(echo "$now") | sed 's/^/    /'
}
