#!/usr/bin/env bash
# `realign bids --ref sbref` against the default reference, on phantoms whose single-band
# reference has another contrast: the run is a volume of a shared real run moved by known
# motion (60 frames, up to 2.5 mm and 2 degrees, spikes, 1% noise); the SBRef is the same
# volume at the run's first position, brighter with more gain where it is darker (no T1
# saturation, as --nonsteady draws it), with noise of its own. Each goes through a one-run
# BIDS dataset; the error is the mean and max displacement over a 50 mm sphere against the
# truth. Prints a Markdown table; the numbers are in docs/accuracy.md.
#
#   scripts/sbref-accuracy.sh [SEEDS]        (default 3 per run; needs ../shared and a build)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
REALIGN=$BUILD/realign PHANTOM=$BUILD/realign-phantom
REAL=$ROOT/../shared/data/real
SEEDS=${1:-3}
[[ -x $REALIGN && -x $PHANTOM ]] || { echo "sbref-accuracy.sh: build first" >&2; exit 1; }
[[ -d $REAL ]] || { echo "sbref-accuracy.sh: no shared real runs at $REAL" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RUNS=(decnef_sub-1_run-2_bold studyforrest_oneback_run-1_bold rtcloud_faces_run-01_bold
  dcmqa-mosaic_6_cmrr_Asc)
printf '0 0 0 0 0 0\n0 0 0 0 0 0\n' >"$WORK/still_rp.txt"

# first_volume IN OUT: frame 1 of IN as a 3D NIfTI.
first_volume() {
  python3 - "$1" "$2" <<'PY'
import gzip, struct, sys
raw = (gzip.open if sys.argv[1].endswith(".gz") else open)(sys.argv[1], "rb").read()
dims = struct.unpack("<8h", raw[40:56])
off = int(struct.unpack("<f", raw[108:112])[0])
n = dims[1] * dims[2] * dims[3] * (struct.unpack("<h", raw[72:74])[0] // 8)
head = bytearray(raw[:off])
head[40:56] = struct.pack("<8h", 3, dims[1], dims[2], dims[3], 1, 1, 1, 1)
open(sys.argv[2], "wb").write(bytes(head) + raw[off:off + n])
PY
}

echo "| run | seed | default (mean): mean / max mm | --ref sbref: mean / max mm |"
echo "|---|---|---|---|"
sum_default=0 sum_sbref=0 cases=0 worst_default=0 worst_sbref=0
for run in "${RUNS[@]}"; do
  for ((seed = 1; seed <= SEEDS; seed++)); do
    ds=$WORK/ds-$run-$seed
    func=$ds/sub-01/func
    mkdir -p "$func"
    frame=$((1 + (seed * 5) % 6))
    "$PHANTOM" -q --from "$REAL/$run.nii.gz" --frame "$frame" --frames 60 --max-trans 2.5 \
      --max-rot 2 --spikes 3 --noise 0.01 --seed "$seed" --datatype float32 "$WORK/bold.nii"
    "$PHANTOM" -q --from "$REAL/$run.nii.gz" --frame "$frame" --motion "$WORK/still_rp.txt" \
      --nonsteady 2 --nonsteady-gain 0.4 --noise 0.01 --seed "$((seed + 1000))" \
      --datatype float32 "$WORK/sbref2.nii"
    mv "$WORK/bold.nii" "$func/sub-01_task-x_bold.nii"
    first_volume "$WORK/sbref2.nii" "$func/sub-01_task-x_sbref.nii"
    echo '{"RepetitionTime": 2}' >"$ds/task-x_bold.json"
    row="| $run | $seed |"
    for ref in mean sbref; do
      "$REALIGN" bids -q --no-reslice --no-report --ref "$ref" "$ds" "$WORK/out-$ref" 2>/dev/null
      read -r mean max < <("$PHANTOM" compare "$WORK/bold_truth_rp.txt" \
        "$WORK/out-$ref/sub-01/func/sub-01_task-x_desc-rp_motion.txt" "$func/sub-01_task-x_bold.nii" |
        awk '{print $2, $4}')
      row+=" $(printf '%.4f / %.3f' "$mean" "$max") |"
      if [[ $ref == mean ]]; then
        sum_default=$(awk -v a="$sum_default" -v b="$mean" 'BEGIN{print a+b}')
        worst_default=$(awk -v a="$worst_default" -v b="$max" 'BEGIN{print (b>a)?b:a}')
      else
        sum_sbref=$(awk -v a="$sum_sbref" -v b="$mean" 'BEGIN{print a+b}')
        worst_sbref=$(awk -v a="$worst_sbref" -v b="$max" 'BEGIN{print (b>a)?b:a}')
      fi
      rm -rf "$WORK/out-$ref"
    done
    cases=$((cases + 1))
    echo "$row"
    rm -rf "$ds"
  done
done
awk -v a="$sum_default" -v b="$sum_sbref" -v n="$cases" -v wa="$worst_default" -v wb="$worst_sbref" \
  'BEGIN{printf "| all %d | | %.4f / %.3f | %.4f / %.3f |\n", n, a/n, wa, b/n, wb}'
