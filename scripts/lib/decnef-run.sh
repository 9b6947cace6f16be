# shellcheck shell=bash
# Sourced by the benchmark scripts: RUN and RUN_NAME, the shared decnef_sub-1_run-2 run
# (64x64x34x209 int16, TR 2 s) from ../shared, else a phantom of the same shape written
# into $WORK with $PHANTOM. Needs ROOT, WORK and PHANTOM.
RUN="$ROOT/../shared/data/real/decnef_sub-1_run-2_bold.nii.gz"
if [[ -f "$RUN" ]]; then
  RUN_NAME="decnef_sub-1_run-2 (real, 64x64x34x209 int16, TR 2 s)"
else
  "$PHANTOM" -q --dim 64 64 34 --frames 209 --datatype int16 "$WORK/run.nii.gz"
  RUN=$WORK/run.nii.gz
  RUN_NAME="phantom 64x64x34x209 int16, TR 2 s (../shared absent)"
fi
