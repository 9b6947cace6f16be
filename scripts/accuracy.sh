#!/usr/bin/env bash
# The accuracy sweep behind docs/accuracy.md: phantoms made from volumes of the shared real
# runs (every run with 20 slices or more), moved by known motion, realigned with the default
# settings and the options, and measured against their truth; plus realign against SPM12's
# own rp files on the real runs. Prints the Markdown tables on stdout.
#
#   scripts/accuracy.sh [SEEDS] > tables.md        (default 10 seeds per run)
#
# Seeds 1..SEEDS/2 make plain phantoms (60 frames, up to 2.5 mm and 2 degrees with drift,
# oscillation and three spikes, 1% noise); the other half add the realism options: a
# stationary receive field of +-20%, 3% activation in blocks of 10 frames and 0.5 mm of
# task-correlated motion. A separate set adds three non-steady-state frames.
# When SPM12 runs under Octave here (SPM_RUNNER, default /opt/spm_runner/run_spm.sh: a
# wrapper that takes IN.nii OUT_rp.txt and runs spm_realign with its defaults), its
# error on the same phantoms is measured too. Needs ../shared/data/real and a build.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
REALIGN=$BUILD/realign PHANTOM=$BUILD/realign-phantom
REAL=$ROOT/../shared/data/real
SPM_REF=$ROOT/../shared/data/reference/spm12
SPM_RUNNER=${SPM_RUNNER:-/opt/spm_runner/run_spm.sh}
SEEDS=${1:-10}
[[ -x $REALIGN && -x $PHANTOM ]] || { echo "accuracy.sh: build first (scripts/build.sh)" >&2; exit 1; }
[[ -d $REAL ]] || { echo "accuracy.sh: no shared real runs at $REAL" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RUNS=(decnef_sub-1_run-2_bold studyforrest_oneback_run-1_bold rtcloud_faces_run-01_bold
  dcmqa-mosaic_6_cmrr_Asc)
REALISM=(--receive-field 0.2 --activation 0.03 --task-motion 0.5 --block 10)
CONFIGS=("default" "--intensity global" "--robust" "--intensity linear")
HAVE_SPM=0
[[ -x $SPM_RUNNER ]] && HAVE_SPM=1

# frames_of RUN.nii.gz: dim[4] of its header.
frames_of() {
  python3 - "$1" <<'PY'
import gzip, struct, sys
p = sys.argv[1]
h = (gzip.open if p.endswith(".gz") else open)(p, "rb").read(348)
print(struct.unpack("<8h", h[40:56])[4])
PY
}

# phantom NAME RUN SEED [options]: the frame moved varies with the seed.
phantom() {
  local name=$1 run=$2 seed=$3
  shift 3
  local n frame
  n=$(frames_of "$REAL/$run.nii.gz")
  frame=$((1 + ((seed - 1) * 7) % n))
  "$PHANTOM" -q --from "$REAL/$run.nii.gz" --frame "$frame" --frames 60 --max-trans 2.5 \
    --max-rot 2 --spikes 3 --noise 0.01 --seed "$seed" --datatype float32 "$@" "$WORK/$name.nii"
}

# measure NAME CONFIG [compare options]: "mean max [task]" of one estimate.
measure() {
  local name=$1 config=$2 tag
  shift 2
  tag=$(tr -c 'a-z0-9' '_' <<<"$config")
  local est=$WORK/${name}_$tag
  if [[ $config == spm12 ]]; then
    "$SPM_RUNNER" "$WORK/$name.nii" "${est}_rp.txt" >/dev/null 2>&1
  else
    local args=()
    [[ $config != default ]] && read -ra args <<<"$config"
    "$REALIGN" -q --no-reslice --no-report "${args[@]}" "$WORK/$name.nii" "$est.nii"
  fi
  "$PHANTOM" compare "$WORK/${name}_truth_rp.txt" "${est}_rp.txt" "$WORK/$name.nii" "$@" |
    awk '{ printf "%s %s", $2, $4; if ($7 == "task_mm") printf " %s", $8; print "" }'
}

configs=("${CONFIGS[@]}")
((HAVE_SPM)) && configs=(spm12 "${CONFIGS[@]}")
declare -A sum max count task
half=$((SEEDS / 2))
for run in "${RUNS[@]}"; do
  for seed in $(seq 1 "$SEEDS"); do
    kind=plain opts=()
    ((seed > half)) && kind=realism opts=("${REALISM[@]}")
    name=${run%%_*}_$seed
    phantom "$name" "$run" "$seed" "${opts[@]}"
    for c in "${configs[@]}"; do
      read -r m x t < <(measure "$name" "$c" --block 10)
      key="$run|$kind|$c"
      sum[$key]=$(awk -v a="${sum[$key]:-0}" -v b="$m" 'BEGIN { print a + b }')
      max[$key]=$(awk -v a="${max[$key]:-0}" -v b="$x" 'BEGIN { print (b > a ? b : a) }')
      count[$key]=$((${count[$key]:-0} + 1))
      task[$key]=$(awk -v a="${task[$key]:-0}" -v b="$t" 'BEGIN { print a + b }')
      echo "$name $kind [$c] mean $m max $x task $t" >&2
    done
    rm -f "$WORK/$name"*
  done
done

echo "### Error against the truth: mean of the per-phantom mean displacement / largest max (mm)"
echo
printf '| source run | phantoms |'
for c in "${configs[@]}"; do printf ' %s |' "$c"; done
echo
printf '|---|---|'
for c in "${configs[@]}"; do printf -- '---|'; done
echo
for run in "${RUNS[@]}" all; do
  for kind in plain realism; do
    printf '| %s | %s |' "${run%%_*}" "$kind"
    for c in "${configs[@]}"; do
      if [[ $run == all ]]; then
        s=0 n=0 x=0
        for r in "${RUNS[@]}"; do
          k="$r|$kind|$c"
          s=$(awk -v a="$s" -v b="${sum[$k]}" 'BEGIN { print a + b }')
          n=$((n + ${count[$k]}))
          x=$(awk -v a="$x" -v b="${max[$k]}" 'BEGIN { print (b > a ? b : a) }')
        done
      else
        k="$run|$kind|$c"
        s=${sum[$k]} n=${count[$k]} x=${max[$k]}
      fi
      awk -v s="$s" -v n="$n" -v x="$x" 'BEGIN { printf " %.4f / %.3f |", s / n, x }'
    done
    echo
  done
done
echo
echo "### Task-correlated error on the realism phantoms: mean over phantoms (mm per unit of the boxcar)"
echo
printf '| source run |'
for c in "${configs[@]}"; do printf ' %s |' "$c"; done
echo
printf '|---|'
for c in "${configs[@]}"; do printf -- '---|'; done
echo
for run in "${RUNS[@]}"; do
  printf '| %s |' "${run%%_*}"
  for c in "${configs[@]}"; do
    k="$run|realism|$c"
    awk -v s="${task[$k]}" -v n="${count[$k]}" 'BEGIN { printf " %.4f |", s / n }'
  done
  echo
done

echo
echo "### Non-steady-state frames: three bright first frames (40%, other contrast)"
echo
echo "| source run | detected | steady frames, mean / max (mm) | same phantom without them | all frames (relative to frame 1) |"
echo "|---|---|---|---|---|"
for run in "${RUNS[@]}"; do
  name=${run%%_*}_ns
  phantom "$name" "$run" 3 --nonsteady 3 --nonsteady-gain 0.4
  phantom "${name}0" "$run" 3
  "$REALIGN" --no-reslice --no-report "$WORK/$name.nii" "$WORK/${name}_est.nii" 2>"$WORK/log"
  detected=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['NonSteadyStateVolumes'])" \
    "$WORK/${name}_est_confounds.json")
  steady=$("$PHANTOM" compare "$WORK/${name}_truth_rp.txt" "$WORK/${name}_est_rp.txt" "$WORK/$name.nii" --from-frame 4)
  all=$("$PHANTOM" compare "$WORK/${name}_truth_rp.txt" "$WORK/${name}_est_rp.txt" "$WORK/$name.nii")
  "$REALIGN" -q --no-reslice --no-report "$WORK/${name}0.nii" "$WORK/${name}0_est.nii"
  clean=$("$PHANTOM" compare "$WORK/${name}0_truth_rp.txt" "$WORK/${name}0_est_rp.txt" "$WORK/${name}0.nii" --from-frame 4)
  f() { awk '{ printf "%s / %s", $2, $4 }' <<<"$1"; }
  echo "| ${run%%_*} | $detected of 3 | $(f "$steady") | $(f "$clean") | $(f "$all") |"
  rm -f "$WORK/$name"*
done

echo
echo "### realign against SPM12 on the real runs: mean / max displacement difference (mm)"
echo
echo "| run | --ref mean vs rtm1 | --ref first vs rtm0 |"
echo "|---|---|---|"
for run in decnef_sub-1_run-2_bold studyforrest_oneback_run-1_bold rtcloud_faces_run-01_bold \
  dcmqa-mosaic_6_cmrr_Asc nipy_functional; do
  row="| ${run%%_*} |"
  for pair in "mean rtm1" "first rtm0"; do
    read -r ref spm <<<"$pair"
    "$REALIGN" -q --no-reslice --no-report --ref "$ref" "$REAL/$run.nii.gz" "$WORK/r.nii" 2>/dev/null
    row+=" $("$PHANTOM" compare "$SPM_REF/${run}_${spm}_rp.txt" "$WORK/r_rp.txt" "$REAL/$run.nii.gz" |
      awk '{ printf "%s / %s", $2, $4 }') |"
  done
  echo "$row"
done
