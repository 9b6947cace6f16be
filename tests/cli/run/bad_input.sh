#!/usr/bin/env bash
# Bad inputs and bad output paths must fail cleanly: exit status != 0, exactly one
# line on stderr, starting "realign: error:" and naming the offending file, nothing
# written to the output directory, and the input files unchanged. A few cases also
# run under `mpirun -n 2`, where the error must still be one line and nothing may hang.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
# shellcheck source=../lib/cases.sh
source "$(dirname "$0")/../lib/cases.sh"
need_python
need_mpirun

IN=$WORK/in
mkdir -p "$IN"

log "making inputs"
make_phantom "$IN/good.nii.gz" --dim 24 24 16 --frames 12
make_phantom "$IN/float.nii" --dim 24 24 16 --frames 12 --datatype float32

printf 'this is not a NIfTI image\n%.0s' {1..40} > "$IN/text.nii"
size=$(stat -c %s "$IN/good.nii.gz")
head -c $((size / 2)) "$IN/good.nii.gz" > "$IN/truncated.nii.gz"

python3 - "$IN" <<'EOF' || fail "could not make the bad inputs"
import gzip, os, struct, sys
d = sys.argv[1]
p = lambda name: os.path.join(d, name)

# corrupt gzip: flip 64 bytes in the middle of the compressed stream
z = bytearray(open(p("good.nii.gz"), "rb").read())
mid = len(z) // 2
for i in range(mid, mid + 64):
    z[i] ^= 0xFF
open(p("corrupt.nii.gz"), "wb").write(z)
# sanity: both damaged gzip files really are unreadable
for name in ("corrupt.nii.gz", "truncated.nii.gz"):
    try:
        gzip.decompress(open(p(name), "rb").read())
    except Exception:
        continue
    sys.exit("%s still decompresses" % name)

src = open(p("float.nii"), "rb").read()
hdr, data = bytearray(src[:352]), src[352:]
dim = list(struct.unpack("<8h", hdr[40:56]))
frame_bytes = dim[1] * dim[2] * dim[3] * 4

def with_dim(h, newdim):
    h = bytearray(h)
    h[40:56] = struct.pack("<8h", *newdim)
    return h

# one-frame 4D series
open(p("oneframe.nii"), "wb").write(with_dim(hdr, dim[:4] + [1] + dim[5:]) + data[:frame_bytes])
# a zero-sized dimension
open(p("zerodim.nii"), "wb").write(with_dim(hdr, dim[:2] + [0] + dim[3:]) + data)
# NaN voxels in frames 3 and 7
nan = struct.pack("<f", float("nan"))
v = bytearray(data)
for frame in (3, 7):
    for k in range(0, 40):
        off = frame * frame_bytes + (frame_bytes // 2) + 4 * k
        v[off:off + 4] = nan
open(p("nan.nii"), "wb").write(bytes(hdr) + bytes(v))

def nifti3d(path, nx, ny, nz, vox):
    """A plain 3D float32 NIfTI-1: 348-byte header, 4 zero bytes, then data."""
    h = bytearray(348)
    struct.pack_into("<i", h, 0, 348)
    struct.pack_into("<8h", h, 40, 3, nx, ny, nz, 1, 1, 1, 1)
    struct.pack_into("<hh", h, 70, 16, 32)            # datatype float32, bitpix
    struct.pack_into("<8f", h, 76, 1.0, vox, vox, vox, 0, 0, 0, 0)
    struct.pack_into("<f", h, 108, 352.0)             # vox_offset
    struct.pack_into("<f", h, 112, 1.0)               # scl_slope
    h[123] = 10                                       # xyzt_units: mm, s
    struct.pack_into("<hh", h, 252, 0, 2)             # qform_code, sform_code
    srow = [(vox, 0, 0, -vox * nx / 2), (0, vox, 0, -vox * ny / 2), (0, 0, vox, -vox * nz / 2)]
    for r, row in enumerate(srow):
        struct.pack_into("<4f", h, 280 + 16 * r, *row)
    h[344:348] = b"n+1\0"
    vals = []
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                r2 = ((i - nx / 2) / (nx / 3)) ** 2 + ((j - ny / 2) / (ny / 3)) ** 2 + ((k - nz / 2) / (nz / 3)) ** 2
                vals.append(100.0 if r2 < 1 else 0.0)
    open(path, "wb").write(bytes(h) + b"\0\0\0\0" + struct.pack("<%df" % len(vals), *vals))

nifti3d(p("volume3d.nii"), 24, 24, 16, 3.0)      # a 3D image as the series
nifti3d(p("ref_othergrid.nii"), 20, 22, 14, 3.5)  # a 3D reference on another grid
EOF

BEFORE=$(inputs_snapshot)

# expect_error NAME OFFENDING [launcher... --] realign-args...
#   OFFENDING: a string the error line must contain (the offending file's name)
# Starts the case; check_cases checks it.
expect_error() {
  local name=$1 offending=$2; shift 2
  local launcher=()
  if [[ " $* " == *" -- "* ]]; then
    while [[ $1 != -- ]]; do launcher+=("$1"); shift; done
    shift
  fi
  ncase=$((ncase + 1))
  local log_dir=$WORK/case/$name out=$WORK/out_$name
  mkdir -p "$log_dir" "$out"
  printf '%s\n' "$offending" >"$log_dir/offending"
  local args=("${@//@OUT@/$out}")
  log "case $name: ${launcher[*]} realign ${args[*]//$WORK\//}"
  wait_for_slot
  (
    status=0
    (cd "$WORK" && timeout 60 "${launcher[@]}" "$REALIGN" "${args[@]}" >"$log_dir/stdout" 2>"$log_dir/stderr") || status=$?
    echo "$status" >"$log_dir/status"
  ) &
  CASES+=("$name")
}

# check_cases: waits for every case started, then checks each.
check_cases() {
  wait
  local name
  for name in "${CASES[@]}"; do
    local log_dir=$WORK/case/$name out=$WORK/out_$name
    local offending status
    offending=$(cat "$log_dir/offending")
    read -r status <"$log_dir/status" || status=255
    local problems=()
    [[ $status -eq 124 ]] && problems+=("timed out after 60 s")
    [[ $status -eq 0 ]] && problems+=("exit status 0")
    local nlines
    nlines=$(wc -l < "$log_dir/stderr")
    [[ -s "$log_dir/stderr" && $(tail -c 1 "$log_dir/stderr" | od -An -c | tr -d ' ') != '\n' ]] && nlines=$((nlines + 1))
    [[ $nlines -eq 1 ]] || problems+=("$nlines lines on stderr, expected 1")
    local first
    first=$(head -n 1 "$log_dir/stderr")
    [[ $first == "realign: error:"* ]] || problems+=("stderr does not start with 'realign: error:'")
    [[ $first == *"$offending"* ]] || problems+=("error does not name '$offending'")
    local left
    left=$(find "$out" -mindepth 1 | sed "s|^$out/||" | tr '\n' ' ')
    [[ -z $left ]] || problems+=("left files in the output directory: $left")
    case_outcome "$name" "exit $status" "$log_dir/stderr" "${problems[@]}"
    rm -rf "$out"
  done
  inputs_unchanged "$BEFORE"  # no case may change the inputs
}

expect_error missing_file  missing.nii.gz  in/missing.nii.gz @OUT@/r.nii
expect_error text_as_nifti text.nii        in/text.nii @OUT@/r.nii
expect_error truncated_gz  truncated.nii.gz in/truncated.nii.gz @OUT@/r.nii
expect_error corrupt_gz    corrupt.nii.gz  in/corrupt.nii.gz @OUT@/r.nii
expect_error image_3d      volume3d.nii    in/volume3d.nii @OUT@/r.nii
expect_error one_frame     oneframe.nii    in/oneframe.nii @OUT@/r.nii
expect_error zero_dim      zerodim.nii     in/zerodim.nii @OUT@/r.nii
expect_error ref_other_grid ref_othergrid.nii --ref in/ref_othergrid.nii in/good.nii.gz @OUT@/r.nii
expect_error output_is_input float.nii     in/float.nii in/float.nii
expect_error output_dir_missing nodir/r.nii in/good.nii.gz @OUT@/nodir/r.nii
expect_error output_bad_ext r.txt          in/good.nii.gz @OUT@/r.txt
expect_error ref_out_of_range good.nii.gz  --ref 99 in/good.nii.gz @OUT@/r.nii

expect_error mpi_missing_file missing.nii.gz "${MPIRUN[@]}" -n 2 -- in/missing.nii.gz @OUT@/r.nii
expect_error mpi_corrupt_gz   corrupt.nii.gz "${MPIRUN[@]}" -n 2 -- in/corrupt.nii.gz @OUT@/r.nii
expect_error mpi_zero_dim     zerodim.nii    "${MPIRUN[@]}" -n 2 -- in/zerodim.nii @OUT@/r.nii
expect_error mpi_ref_out_of_range good.nii.gz "${MPIRUN[@]}" -n 2 -- --ref 99 in/good.nii.gz @OUT@/r.nii
check_cases

# NaN voxels are treated as missing (zero, as SPM does), with one warning naming the file.
nan_out=$(mktemp -d "$WORK/nanout.XXXX")
if "$REALIGN" "$IN/nan.nii" "$nan_out/r.nii" 2>"$nan_out/err" >/dev/null &&
   grep -q "nan.nii: 80 NaN/Inf voxels treated as missing" "$nan_out/err" &&
   awk 'NF != 6 { exit 1 } { for (i = 1; i <= 6; ++i) if ($i !~ /^-?[0-9]/) exit 1 }' "$nan_out/r_rp.txt"; then
  log "ok   nan_voxels: run completes, one warning, finite parameters"
else
  log "FAIL nan_voxels: expected success with a warning"; cat "$nan_out/err"
  failures=$((failures + 1))
fi

if [[ $failures -gt 0 ]]; then
  fail "$failures of $ncase cases failed (see above)"
fi
log "PASS: all $ncase cases failed cleanly"
