#!/usr/bin/env bash
# Reruns of `realign bids` resume and never destroy records: a finished dataset rerun skips
# every group with a log line and touches no file; --no-clobber on it exits 0 and records
# nothing as failed; other options redo the groups, --force redoes them; a run interrupted
# (SIGTERM) after its first group leaves the next group unrecorded, and the rerun skips the
# first and does the second. The BIDS-Apps form (participant) and dataset_description.json.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
need_python

B=$WORK/ds O=$WORK/out
series() { mkdir -p "$(dirname "$B/$1")"; make_phantom "$B/$1" "${@:2}"; rm -f "$B/${1%.nii*}_truth_rp.txt"; }
series sub-01/func/sub-01_task-rest_run-1_bold.nii.gz --dim 24 24 12 --frames 8 --seed 1
series sub-01/func/sub-01_task-rest_run-2_bold.nii.gz --dim 24 24 12 --frames 8 --seed 2
# The second group takes a few seconds, so that a signal can land in it.
series sub-02/func/sub-02_task-rest_bold.nii.gz --frames 40 --seed 3
echo '{"RepetitionTime": 2}' >"$B/task-rest_bold.json"
records() { find "$O" -name '*_desc-realign_qc.json' | sort | xargs cat | sha256sum; }
outputs() { find "$O" -type f ! -name index.html ! -name dataset_description.json | sort | xargs sha256sum; }

"$REALIGN" bids -q "$B" "$O" participant || fail "the first run failed"
grep -q '"DatasetType": "derivative"' "$O/dataset_description.json" &&
  grep -q '"CodeURL"' "$O/dataset_description.json" &&
  grep -q '"SourceDatasets"' "$O/dataset_description.json" || fail "dataset_description.json"
before=$(outputs)
"$REALIGN" bids "$B" "$O" >"$WORK/again.log" 2>&1 || fail "a rerun failed: $(cat "$WORK/again.log")"
[[ $(grep -c "complete, made by realign .* with the same options: skipped" "$WORK/again.log") -eq 2 ]] ||
  fail "a rerun did not skip both groups: $(cat "$WORK/again.log")"
[[ $(outputs) == "$before" ]] || fail "a rerun changed outputs"
log "a finished dataset rerun: both groups skipped, nothing written"

"$REALIGN" bids "$B" "$O" --no-clobber >"$WORK/nc.log" 2>&1
status=$?
[[ $status -eq 0 ]] || fail "--no-clobber on a finished dataset: exit $status: $(cat "$WORK/nc.log")"
grep -q '"Failed": true' "$O"/sub-*/func/*_qc.json && fail "--no-clobber recorded a failure"
grep -q "3 runs realigned, 0 failed" "$O/index.html" || fail "index after --no-clobber: $(grep -o '[0-9]* runs realigned[^<]*' "$O/index.html")"
[[ $(outputs) == "$before" ]] || fail "--no-clobber changed outputs"
log "--no-clobber on a finished dataset: exit 0, no failure recorded, nothing written"

"$REALIGN" bids "$B" "$O" --fwhm 6 >"$WORK/fwhm.log" 2>&1 || fail "a rerun with --fwhm 6 failed"
[[ $(grep -c "into one space" "$WORK/fwhm.log") -eq 2 ]] || fail "--fwhm 6 did not redo both groups"
grep -q '"fwhm_mm": 6' "$O/sub-02/func/sub-02_task-rest_desc-realign_qc.json" || fail "record's settings"
"$REALIGN" bids "$B" "$O" --fwhm 6 --force >"$WORK/force.log" 2>&1 || fail "--force failed"
[[ $(grep -c "into one space" "$WORK/force.log") -eq 2 ]] || fail "--force did not redo both groups"
log "other options redo every group, --force too"

# Interrupted after the first group: the second is left without a record (its outputs, if
# any were renamed, are not mistaken for complete), and the rerun does only it.
rm -rf "$O"
"$REALIGN" bids -q "$B" "$O" &
pid=$!
first=$O/sub-01/func/sub-01_task-rest_run-2_desc-realign_qc.json
for ((i = 0; i < 4000; i++)); do [[ -s $first ]] && break; sleep 0.005; done
kill -TERM "$pid" 2>/dev/null
wait "$pid"
status=$?
[[ -s $first ]] || fail "the first group's record never came"
[[ $status -eq 143 ]] || fail "the interrupted run exited $status, expected 143"
[[ -e $O/sub-02/func/sub-02_task-rest_desc-realign_qc.json ]] &&
  fail "the interrupted group has a record"
"$REALIGN" bids -q "$B" "$O" --index-only || fail "--index-only failed"
grep -q "2 runs realigned, 0 failed, 1 not yet done" "$O/index.html" &&
  grep -q "<li>sub-02_task-rest</li>" "$O/index.html" ||
  fail "--index-only does not list the run not yet done: $(grep -o '[0-9]* runs realigned[^<]*' "$O/index.html")"
ls -A "$O/sub-02/func" 2>/dev/null | grep -q '^\.realign-' && fail "temporaries left behind"
"$REALIGN" bids "$B" "$O" >"$WORK/resume.log" 2>&1 || fail "the resumed run failed"
grep -q "sub-01: complete" "$WORK/resume.log" || fail "the finished group was not skipped"
grep -q "sub-02: 1 run into one space" "$WORK/resume.log" || fail "the interrupted group was not done"
grep -q "3 runs realigned, 0 failed" "$O/index.html" || fail "index after the resumed run"
log "an interrupted run resumes: --index-only lists the run not done, the rerun skips the finished group and does the other"
log "PASS"
