#!/usr/bin/env bash
# A corpus of broken and odd NIfTI files, each run through realign under a memory limit
# (ulimit -v) and a timeout. Every case must end in one of two ways:
#   exit 0, with the complete set of outputs, or
#   exit 1, with exactly one stderr line "realign: error: <input file>: ..." and nothing
#   left in the output directory;
# never a signal, a timeout or a changed input. Each case also says which of the two it
# expects. The "no value" encodings (scl_slope 0 or NaN, TR NaN) must give the same motion
# parameters as the plain file. A few refusals also run under mpirun -n 2 (without the
# memory limit: Open MPI reserves address space), where they must end quickly.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh" "$@"
# shellcheck source=../lib/cases.sh
source "$(dirname "$0")/../lib/cases.sh"
need_python
need_mpirun

# A 20x20x12x6 run needs under 100 MB of address space (measured: 50 MB fails inside MPI
# start-up, 100 MB passes); 512 MB leaves room and still refuses any gigabyte allocation.
LIMIT_KB=${REALIGN_TEST_VMEM_KB:-524288}
# AddressSanitizer reserves terabytes of address space for its shadow memory, so a
# sanitized build (scripts/test.sh --sanitize) cannot run under ulimit -v at all; there
# ASan's own allocation checks stand in for the limit.
# (grep reads all of ldd's output: with pipefail, grep -q could stop early and the SIGPIPE
# ldd then gets would make the test false.)
if ldd "$REALIGN" 2>/dev/null | grep libasan >/dev/null; then
  LIMIT_KB=unlimited
  log "AddressSanitizer build: no ulimit -v"
fi
IN=$WORK/in
mkdir -p "$IN"

log "making inputs"
make_phantom "$WORK/float.nii" --dim 20 20 12 --frames 6 --datatype float32
python3 - "$WORK/float.nii" "$IN" <<'PY' || fail "could not make the corpus"
import gzip, math, os, struct, sys
src, out = sys.argv[1], sys.argv[2]
raw = open(src, "rb").read()
hdr, data = bytes(raw[:352]), raw[352:]
dim = struct.unpack("<8h", hdr[40:56])
frame_bytes = dim[1] * dim[2] * dim[3] * 4

def edit(h=hdr, **fields):
    h = bytearray(h)
    at = {"sizeof_hdr": (0, "i"), "dim": (40, "8h"), "datatype": (70, "h"), "bitpix": (72, "h"),
          "pixdim": (76, "8f"), "vox_offset": (108, "f"), "scl_slope": (112, "f"),
          "scl_inter": (116, "f"), "qform_code": (252, "h"), "sform_code": (254, "h"),
          "quatern": (256, "3f"), "srow": (280, "12f")}
    for k, v in fields.items():
        if k == "magic":
            h[344:348] = v
            continue
        off, fmt = at[k]
        struct.pack_into("<" + fmt, h, off, *(v if isinstance(v, (list, tuple)) else [v]))
    return bytes(h)

def pix(i, v):
    p = list(struct.unpack("<8f", hdr[76:108]))
    p[i] = v
    return p

def dims(**d):
    x = list(dim)
    for k, v in d.items():
        x[int(k[1:])] = v
    return x

def put(name, h, body=data):
    open(os.path.join(out, name), "wb").write(h + body)

def putz(name, blob):
    open(os.path.join(out, name), "wb").write(gzip.compress(blob, mtime=0))

put("plain.nii", hdr)
put("slope1.nii", edit(scl_slope=1.0, scl_inter=0.0))
put("slope0.nii", edit(scl_slope=0.0, scl_inter=5.0))
put("slope_nan.nii", edit(scl_slope=math.nan, scl_inter=5.0))
put("tr_nan.nii", edit(pixdim=pix(4, math.nan)))
putz("plain_gz.nii.gz", hdr + data)

put("truncated_data.nii", hdr, data[:-1000])
z = gzip.compress(hdr + data, mtime=0)
open(os.path.join(out, "truncated.nii.gz"), "wb").write(z[: len(z) * 2 // 3])
open(os.path.join(out, "bad_crc.nii.gz"), "wb").write(z[:-8] + bytes([z[-8] ^ 1]) + z[-7:])
put("wrong_magic.nii", edit(magic=b"n+9\0"))
put("pair_magic.nii", edit(magic=b"ni1\0"))
put("nifti2.nii", edit(sizeof_hdr=540))
for v in (0, 8, -1):
    put("dim0_%d.nii" % v, edit(dim=dims(d0=v)))
put("dim_minus5.nii", edit(dim=dims(d2=-5)))
put("dims_32767.nii", edit(dim=[4, 32767, 32767, 32767, 32767, 1, 1, 1]), b"")
putz("dims_32767.nii.gz", edit(dim=[4, 32767, 32767, 32767, 32767, 1, 1, 1]))
put("datatype_unknown.nii", edit(datatype=99))
put("datatype_complex.nii", edit(datatype=32, bitpix=64), data * 2)
put("bitpix_mismatch.nii", edit(bitpix=16))
for name, v in (("nan", math.nan), ("m1", -1.0), ("100", 100.0), ("1e30", 1e30)):
    put("vox_offset_%s.nii" % name, edit(vox_offset=v))
for name, v in (("0", 0.0), ("m1", -1.0), ("nan", math.nan)):
    put("pixdim_%s.nii" % name, edit(pixdim=pix(1, v)))
put("slope_inf.nii", edit(scl_slope=math.inf))
put("qform_code_99.nii", edit(qform_code=99))
put("sform_code_m3.nii", edit(sform_code=-3))
put("sform_zero.nii", edit(sform_code=1, srow=[0.0] * 12))
put("sform_nan.nii", edit(sform_code=1, srow=[math.nan] * 12))
# a bomb: the header promises one run, the stream inflates to 64 MB more
with gzip.GzipFile(os.path.join(out, "bomb.nii.gz"), "wb", mtime=0) as g:
    g.write(hdr + data)
    zeros = bytes(1 << 20)
    for _ in range(64):
        g.write(zeros)
put("volume3d.nii", edit(dim=dims(d0=3, d4=1)), data[:frame_bytes])
put("one_frame.nii", edit(dim=dims(d4=1)), data[:frame_bytes])
n = len(data) // 4
put("all_nan.nii", hdr, struct.pack("<%df" % n, *([math.nan] * n)))
put("constant.nii", hdr, struct.pack("<%df" % n, *([100.0] * n)))
PY

BEFORE=$(inputs_snapshot)
OUTPUTS="r.nii r_confounds.json r_confounds.tsv r_mean.nii r_motion.svg r_report.html r_rp.txt r_xfm.txt"

# run_case NAME EXPECT FILE [launcher...]: EXPECT is ok, refuse, or late: refused only
# where the fault is reached (one process reads a .nii.gz as its threads fit the frames,
# so a fault past the last frame comes after the log's progress lines; the error is still
# one line, the last, and nothing is written). Starts the case.
run_case() {
  local name=$1 expect=$2 file=$3; shift 3
  local launcher=("$@")
  local log_dir=$WORK/case/$name out=$WORK/out/$name
  mkdir -p "$log_dir" "$out"
  printf '%s %s %s\n' "$expect" "$file" "${#launcher[@]}" >"$log_dir/case"
  wait_for_slot
  (
    status=0 t0=$SECONDS
    if [[ ${#launcher[@]} -eq 0 ]]; then
      # Two threads: each thread's stack and malloc arena count against the limit.
      (ulimit -v "$LIMIT_KB" && OMP_NUM_THREADS=2 exec timeout 60 "$REALIGN" "$IN/$file" "$out/r.nii") \
        >"$log_dir/stdout" 2>"$log_dir/stderr" || status=$?
    else
      timeout 60 "${launcher[@]}" "$REALIGN" "$IN/$file" "$out/r.nii" \
        >"$log_dir/stdout" 2>"$log_dir/stderr" || status=$?
    fi
    echo "$status $((SECONDS - t0))" >"$log_dir/status"
  ) &
  CASES+=("$name")
  ncase=$((ncase + 1))
}

# check_cases: waits for every case started, then checks each.
check_cases() {
  wait
  local name
  for name in "${CASES[@]}"; do
    local log_dir=$WORK/case/$name out=$WORK/out/$name
    local expect file nlauncher status seconds
    read -r expect file nlauncher <"$log_dir/case"
    read -r status seconds <"$log_dir/status" || status=255
    local problems=() first
    first=$(head -n 1 "$log_dir/stderr")
    local left
    left=$(cd "$out" && find . -mindepth 1 | sed 's|^\./||' | sort | tr '\n' ' ')
    if [[ $status -eq 124 ]]; then
      problems+=("timed out after 60 s")
    elif [[ $status -gt 128 ]]; then
      problems+=("killed by signal $((status - 128))")
    elif [[ $status -eq 0 ]]; then
      [[ $expect == ok ]] || problems+=("accepted; expected a refusal")
      [[ "$left" == "$OUTPUTS " ]] || problems+=("outputs are '$left', expected '$OUTPUTS'")
    else
      [[ $expect != ok ]] || problems+=("refused; expected success")
      [[ $status -eq 1 || $nlauncher -gt 0 ]] || problems+=("exit $status, expected 1")
      local nlines others
      nlines=$(grep -c '' "$log_dir/stderr")
      if [[ $expect == late ]]; then
        first=$(tail -n 1 "$log_dir/stderr")
        others=$(head -n -1 "$log_dir/stderr" | grep -vc '^realign: info: ')
        [[ $others -eq 0 ]] || problems+=("$others lines before the error that are not info")
      else
        [[ $nlines -eq 1 ]] || problems+=("$nlines lines on stderr, expected 1")
      fi
      [[ $first == "realign: error: "*"$file"* ]] ||
        problems+=("error line does not start 'realign: error:' and name $file")
      [[ -z $left ]] || problems+=("left files in the output directory: $left")
    fi
    case_outcome "$name" "exit $status, $seconds s" "$log_dir/stderr" "${problems[@]}"
  done
  # No case may change its input (each case reads its own file, except the mpi_ ones).
  inputs_unchanged "$BEFORE"
}

run_case plain            ok     plain.nii
run_case plain_gz         ok     plain_gz.nii.gz
run_case slope1           ok     slope1.nii
run_case slope0           ok     slope0.nii
run_case slope_nan        ok     slope_nan.nii
run_case tr_nan           ok     tr_nan.nii
run_case truncated_data   refuse truncated_data.nii
run_case truncated_gz     refuse truncated.nii.gz
run_case bad_crc          refuse bad_crc.nii.gz
run_case wrong_magic      refuse wrong_magic.nii
run_case pair_magic       refuse pair_magic.nii
run_case nifti2           refuse nifti2.nii
run_case dim0_0           refuse dim0_0.nii
run_case dim0_8           refuse dim0_8.nii
run_case dim0_m1          refuse dim0_-1.nii
run_case dim_minus5       refuse dim_minus5.nii
run_case dims_32767       refuse dims_32767.nii
run_case dims_32767_gz    refuse dims_32767.nii.gz
run_case datatype_unknown refuse datatype_unknown.nii
run_case datatype_complex refuse datatype_complex.nii
run_case bitpix_mismatch  refuse bitpix_mismatch.nii
run_case vox_offset_nan   refuse vox_offset_nan.nii
run_case vox_offset_m1    refuse vox_offset_m1.nii
run_case vox_offset_100   refuse vox_offset_100.nii
run_case vox_offset_1e30  refuse vox_offset_1e30.nii
run_case pixdim_0         refuse pixdim_0.nii
run_case pixdim_m1        refuse pixdim_m1.nii
run_case pixdim_nan       refuse pixdim_nan.nii
run_case slope_inf        refuse slope_inf.nii
run_case qform_code_99    refuse qform_code_99.nii
run_case sform_code_m3    refuse sform_code_m3.nii
run_case sform_zero       refuse sform_zero.nii
run_case sform_nan        refuse sform_nan.nii
run_case gzip_bomb        late   bomb.nii.gz
run_case volume_3d        refuse volume3d.nii
run_case one_frame        refuse one_frame.nii
run_case all_nan          refuse all_nan.nii
run_case constant         refuse constant.nii

# A few refusals also under mpirun -n 2 (without the memory limit).
run_case mpi_dims_32767 refuse dims_32767.nii.gz "${MPIRUN[@]}" -n 2
run_case mpi_gzip_bomb  refuse bomb.nii.gz "${MPIRUN[@]}" -n 2
run_case mpi_vox_offset refuse vox_offset_nan.nii "${MPIRUN[@]}" -n 2
run_case mpi_sform_zero refuse sform_zero.nii "${MPIRUN[@]}" -n 2
check_cases

# The "no value" encodings read exactly as the plain file.
for name in slope0 slope_nan tr_nan slope1 plain_gz; do
  if ! cmp -s "$WORK/out/plain/r_rp.txt" "$WORK/out/$name/r_rp.txt"; then
    failures=$((failures + 1))
    log "FAIL $name: motion parameters differ from the plain file's"
  fi
done

[[ $failures -eq 0 ]] || fail "$failures of $ncase cases failed (see above)"
log "PASS: all $ncase cases ended cleanly"
