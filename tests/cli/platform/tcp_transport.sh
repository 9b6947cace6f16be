#!/usr/bin/env bash
# Between nodes MPI has no shared memory: ranks talk over the network. Two ranks restricted
# to Open MPI's TCP transport (shared memory off; loopback, as this runs on one machine)
# must write byte-identical outputs to a one-rank run, for both work splits: the resliced
# series and mean, rp, par, xfm, confounds TSV and JSON, and the plot.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
need_mpirun

# ob1 is the point-to-point layer that uses the BTLs named here; forcing it keeps a UCX
# build from bypassing the btl setting. btl_tcp_if_include overrides Open MPI's default
# exclusion of loopback, the only network a single test machine is sure to have.
# shellcheck disable=SC2054  # "tcp,self" is one argument
TCP=(--mca pml ob1 --mca btl tcp,self --mca btl_tcp_if_include 127.0.0.1/8)

make_phantom "$WORK/ph.nii.gz" --dim 32 32 20 --frames 8
# run DIR MPIRUN_ARGS... -- REALIGN_ARGS...: the phantom into $WORK/DIR/out.nii.gz, with --par.
run() {
  local dir=$1; shift
  realign_under "$dir" "${MPIRUN[@]}" "$@" --par "$WORK/ph.nii.gz" "$WORK/$dir/out.nii.gz"
}
run one -n 1 --
run tcp -n 2 "${TCP[@]}" --
run tcp_points -n 2 "${TCP[@]}" -- --split points

files=(out.nii.gz out_mean.nii.gz out_rp.txt out.par out_xfm.txt out_confounds.tsv
  out_confounds.json out_motion.svg)
for dir in tcp tcp_points; do
  for f in "${files[@]}"; do
    [[ -s $WORK/one/$f ]] || fail "one rank: $f missing"
    cmp -s "$WORK/one/$f" "$WORK/$dir/$f" || fail "$dir: $f differs from the one-rank run"
  done
  log "$dir: all ${#files[@]} outputs byte-identical to one rank"
done
log "PASS"
