#!/usr/bin/env bash
# A scanner for `realign follow`: writes a 4D run's volumes one by one into a directory at
# a given TR, as a scanner export or a DICOM-to-NIfTI converter fills it in real time.
#
#   scripts/simulate-scanner.sh RUN.nii[.gz] DIR --tr S [options]
#
# RUN may also be a directory of per-volume files (DICOM volumes, say, as
# build/realign-test-dicom writes them): its files in name order are the volumes, written
# under the same names as NIfTI volumes with their own extension (vol_00001.dcm ...);
# --gz and --shift do not apply to them.
#
#   --tr S           seconds between volumes (0: as fast as possible)
#   --partial        write each file in place in pieces over a third of the TR (slow
#                    writers), instead of under a hidden name renamed into place when complete
#   --gz             write .nii.gz volumes (default .nii)
#   --frames N       only the first N volumes (--repeat makes more than the run has)
#   --repeat         cycle through the run's frames until --frames volumes are written
#   --name PREFIX    file names PREFIX00001.nii ... (default vol_)
#   --log FILE       one line per volume: its number and when it was complete (Unix s)
#   faults, for tests (1-based volume numbers):
#   --skip N         never write volume N (a missing number)
#   --truncate N     write half of volume N and never finish it
#   --shift N        write volume N with its position moved by 10 mm (another grid)
#   --remove-after N remove DIR a TR (at least 0.2 s) after volume N is written
#
# DIR is created if needed. Prints nothing; exit 0 when every volume is written.
set -euo pipefail

if [[ $# -lt 2 ]]; then
  sed -n '2,26p' "$0" >&2
  exit 2
fi
exec python3 - "$@" <<'PY'
import gzip, os, shutil, struct, sys, time, zlib

args = sys.argv[1:]
run, out = args[0], args[1]
opt = {"tr": None, "partial": False, "gz": False, "frames": None, "repeat": False,
       "name": "vol_", "log": None, "skip": set(), "truncate": set(), "shift": set(), "remove": None}
i = 2
while i < len(args):
    a = args[i]
    val = args[i + 1] if i + 1 < len(args) else None
    if a == "--tr": opt["tr"] = float(val); i += 2
    elif a == "--partial": opt["partial"] = True; i += 1
    elif a == "--gz": opt["gz"] = True; i += 1
    elif a == "--repeat": opt["repeat"] = True; i += 1
    elif a == "--frames": opt["frames"] = int(val); i += 2
    elif a == "--name": opt["name"] = val; i += 2
    elif a == "--log": opt["log"] = open(val, "w", buffering=1); i += 2
    elif a == "--skip": opt["skip"].add(int(val)); i += 2
    elif a == "--truncate": opt["truncate"].add(int(val)); i += 2
    elif a == "--shift": opt["shift"].add(int(val)); i += 2
    elif a == "--remove-after": opt["remove"] = int(val); i += 2
    else: sys.exit("simulate-scanner: unknown option " + a)
if opt["tr"] is None:
    sys.exit("simulate-scanner: --tr S is required")

files = None
if os.path.isdir(run):
    files = sorted(f for f in os.listdir(run) if not f.startswith("."))
    if not files:
        sys.exit("simulate-scanner: no files in " + run)
    if opt["gz"] or opt["shift"]:
        sys.exit("simulate-scanner: --gz and --shift need a NIfTI run")
    have = len(files)
else:
    raw = (gzip.open if run.endswith(".gz") else open)(run, "rb").read()
    e = "<" if struct.unpack("<i", raw[:4])[0] == 348 else ">"
    dim = list(struct.unpack(e + "8h", raw[40:56]))
    bitpix = struct.unpack(e + "h", raw[72:74])[0]
    offset = int(struct.unpack(e + "f", raw[108:112])[0])
    have = dim[4] if dim[0] >= 4 else 1
    frame_bytes = dim[1] * dim[2] * dim[3] * bitpix // 8
count = opt["frames"] or have
if count > have and not opt["repeat"]:
    count = have

def header(shifted):
    h = bytearray(raw[:offset])
    d = list(dim)
    d[0], d[4] = 3, 1
    struct.pack_into(e + "8h", h, 40, *d)
    if shifted:  # qoffset_x and srow_x[3] 10 mm further
        for at in (268, 292):
            struct.pack_into(e + "f", h, at, struct.unpack(e + "f", h[at:at + 4])[0] + 10.0)
    return bytes(h)

def extension(n):
    if files is None:
        return ".nii.gz" if opt["gz"] else ".nii"
    name = files[(n - 1) % have]
    return name[name.index("."):] if "." in name else ""
def volume(n):  # n is 1-based
    k = (n - 1) % have
    if files is not None:
        data = open(os.path.join(run, files[k]), "rb").read()
        return data[:len(data) // 2] if n in opt["truncate"] else data
    data = header(n in opt["shift"]) + raw[offset + k * frame_bytes:offset + (k + 1) * frame_bytes]
    if opt["gz"]:
        c = zlib.compressobj(1, zlib.DEFLATED, 31)
        data = c.compress(data) + c.flush()
    if n in opt["truncate"]:
        data = data[:len(data) // 2]
    return data

def write_partial(path, data, seconds):
    pieces = 8
    step = (len(data) + pieces - 1) // pieces
    with open(path, "wb") as f:
        for p in range(0, len(data), step):
            f.write(data[p:p + step])
            f.flush()
            time.sleep(seconds / pieces)

os.makedirs(out, exist_ok=True)
tr = opt["tr"]
start = time.monotonic()
for n in range(1, count + 1):
    data = volume(n)
    wait = start + (n - 1) * tr - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    if n in opt["skip"]:
        continue
    name = "%s%05d%s" % (opt["name"], n, extension(n))
    final = os.path.join(out, name)
    if opt["partial"] or n in opt["truncate"]:
        write_partial(final, data, tr / 3.0)
    else:
        tmp = os.path.join(out, "." + name + ".part")
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, final)
    if opt["log"]:
        opt["log"].write("%d %.6f\n" % (n, time.time()))
    if opt["remove"] == n:
        time.sleep(max(tr, 0.2))  # as the next volume would have come
        shutil.rmtree(out)
        break
PY
