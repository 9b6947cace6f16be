#!/usr/bin/env python3
"""Writes the NIfTI fuzz seed corpus: tests/fuzz/corpus/{ok_,bad_}*.nii[.gz].

ok_* files are valid (every datatype, both byte orders, gzip, 1-4 dimensions, each
transform, scaling and "no value" encodings) and must be decoded; bad_* files break one
rule each and must be refused. fuzz_replay (CTest fuzz.replay) checks both, and the fuzzer
starts from them. Run from anywhere; the output is deterministic, and committed.
"""
import gzip
import math
import os
import shutil
import struct
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

# code: (struct format, bytes)
TYPES = {
    "uint8": (2, "B"), "int8": (256, "b"), "int16": (4, "h"), "uint16": (512, "H"),
    "int32": (8, "i"), "uint32": (768, "I"), "int64": (1024, "q"), "uint64": (1280, "Q"),
    "float32": (16, "f"), "float64": (64, "d"),
}


def header(dims=(4, 4, 3, 2, 2), dtype="int16", bo="<", **kw):
    """A 348-byte NIfTI-1 header; keyword arguments override fields."""
    code, fmt = TYPES.get(dtype, (dtype, "h")) if isinstance(dtype, str) else (dtype, "h")
    f = dict(sizeof_hdr=348, dim=list(dims) + [1] * (8 - len(dims)), datatype=code,
             bitpix=8 * struct.calcsize(fmt), pixdim=[1.0, 2.0, 2.5, 3.0, 1.5, 0, 0, 0],
             vox_offset=352.0, scl_slope=1.0, scl_inter=0.0, xyzt_units=10,
             qform_code=0, sform_code=1, quatern=(0.0, 0.0, 0.0), qoffset=(0.0, 0.0, 0.0),
             srow=((2, 0, 0, -4), (0, 2.5, 0, 3), (0, 0, 3, -6)), magic=b"n+1\0")
    f.update(kw)
    h = bytearray(348)
    struct.pack_into(bo + "i", h, 0, f["sizeof_hdr"])
    struct.pack_into(bo + "8h", h, 40, *f["dim"])
    struct.pack_into(bo + "hh", h, 70, f["datatype"], f["bitpix"])
    struct.pack_into(bo + "8f", h, 76, *f["pixdim"])
    struct.pack_into(bo + "fff", h, 108, f["vox_offset"], f["scl_slope"], f["scl_inter"])
    h[123] = f["xyzt_units"]
    struct.pack_into(bo + "hh", h, 252, f["qform_code"], f["sform_code"])
    struct.pack_into(bo + "3f", h, 256, *f["quatern"])
    struct.pack_into(bo + "3f", h, 268, *f["qoffset"])
    for r, row in enumerate(f["srow"]):
        struct.pack_into(bo + "4f", h, 280 + 16 * r, *row)
    h[344:348] = f["magic"]
    return bytes(h)


def voxels(dims, dtype, bo="<"):
    n = 1
    for d in dims[1:1 + dims[0]]:
        n *= d
    fmt = TYPES[dtype][1]
    vals = []
    for i in range(n):
        base = (i * 37) % 101
        if fmt in "fd":
            vals.append((base - 50) * 0.375)
        elif fmt.isupper():
            vals.append(base * 2)
        else:
            vals.append((base - 50) * 2)
    return struct.pack(bo + "%d%s" % (n, fmt), *vals)


def image(dims=(4, 4, 3, 2, 2), dtype="int16", bo="<", **kw):
    return header(dims, dtype, bo, **kw) + b"\0\0\0\0" + voxels(dims, dtype, bo)


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    files = {}
    for t in TYPES:
        files["ok_%s_le.nii" % t] = image(dtype=t)
    for t in ("int16", "uint16", "int64", "float32", "float64"):
        files["ok_%s_be.nii" % t] = image(dtype=t, bo=">")
    for t in ("uint8", "int16", "float32"):
        files["ok_%s.nii.gz" % t] = gz(image(dtype=t))
    files["ok_float64_be.nii.gz"] = gz(image(dtype="float64", bo=">"))
    good = image()
    # one gzip member for the header and one per frame, as realign writes
    files["ok_members.nii.gz"] = gz(good[:352]) + gz(good[352:352 + 96]) + gz(good[352 + 96:])
    files["ok_3d.nii"] = image(dims=(3, 4, 4, 3))
    files["ok_2d.nii"] = image(dims=(2, 5, 4), pixdim=[1.0, 2.0, 2.0, 0.0, 0, 0, 0, 0])
    files["ok_1d.nii"] = image(dims=(1, 7))
    files["ok_5d_singleton.nii"] = image(dims=(5, 4, 4, 3, 2, 1))
    files["ok_qform_oblique.nii"] = image(sform_code=0, qform_code=1, quatern=(0.1, -0.2, 0.3),
                                          qoffset=(10.0, -5.0, 2.0),
                                          pixdim=[-1.0, 2.0, 2.5, 3.0, 1.5, 0, 0, 0])
    files["ok_no_xform.nii"] = image(sform_code=0)
    files["ok_sform_template.nii"] = image(sform_code=5)
    files["ok_scaled.nii"] = image(scl_slope=0.5, scl_inter=10.0)
    files["ok_slope0.nii"] = image(scl_slope=0.0, scl_inter=7.0)
    files["ok_slope_nan.nii"] = image(scl_slope=math.nan)
    files["ok_inter_nan.nii"] = image(scl_slope=2.0, scl_inter=math.nan)
    files["ok_tr_nan.nii"] = image(pixdim=[1.0, 2.0, 2.5, 3.0, math.nan, 0, 0, 0])
    files["ok_tr_ms.nii"] = image(xyzt_units=18, pixdim=[1.0, 2.0, 2.5, 3.0, 1500, 0, 0, 0])
    ext = struct.pack("<ii", 32, 6) + b"realign seed extension!!"
    files["ok_extension.nii"] = (header(vox_offset=352.0 + len(ext)) + b"\1\0\0\0" + ext +
                                 voxels((4, 4, 3, 2, 2), "int16"))
    files["ok_trailing.nii"] = good + b"trailing bytes"
    files["ok_nan_voxels.nii"] = image(dtype="float32").replace(
        struct.pack("<f", -18.75), struct.pack("<f", math.nan))

    files["bad_truncated.nii"] = good[:-1]
    files["bad_short_header.nii"] = good[:200]
    files["bad_text.nii"] = b"this is not a NIfTI image\n" * 20
    files["bad_magic.nii"] = image(magic=b"n+2\0")
    files["bad_ni1_pair.nii"] = image(magic=b"ni1\0")
    files["bad_analyze.nii"] = image(magic=b"\0\0\0\0")
    files["bad_nifti2.nii"] = image(sizeof_hdr=540)
    files["bad_nifti2_be.nii"] = image(sizeof_hdr=540, bo=">")
    for d0 in (0, 8, -1):
        files["bad_dim0_%d.nii" % d0] = header(dims=(d0, 4, 4, 3, 2)) + b"\0" * 4 + good[352:]
    files["bad_dim_negative.nii"] = header(dims=(4, 4, -5, 3, 2)) + b"\0" * 4 + good[352:]
    files["bad_dim_zero_t.nii"] = header(dims=(4, 4, 4, 3, 0)) + b"\0" * 4
    files["bad_5d.nii"] = header(dims=(5, 4, 4, 3, 1, 2)) + b"\0" * 4 + good[352:]
    huge = header(dims=(4, 32767, 32767, 32767, 32767)) + b"\0" * 4
    files["bad_huge.nii"] = huge
    files["bad_huge.nii.gz"] = gz(huge)
    files["bad_datatype_unknown.nii"] = header(dtype=3, bitpix=16) + b"\0" * 4 + good[352:]
    files["bad_complex64.nii"] = header(dtype=32, bitpix=64) + b"\0" * 4 + good[352:] * 4
    files["bad_rgb24.nii"] = header(dtype=128, bitpix=24) + b"\0" * 4 + good[352:] * 2
    files["bad_float128.nii"] = header(dtype=1536, bitpix=128) + b"\0" * 4 + good[352:] * 8
    files["bad_bitpix.nii"] = image(bitpix=8)
    for name, v in (("nan", math.nan), ("m1", -1.0), ("100", 100.0), ("frac", 352.5),
                    ("1e30", 1e30)):
        files["bad_vox_offset_%s.nii" % name] = image(vox_offset=v)
    for name, p in (("0", 0.0), ("m1", -1.0), ("nan", math.nan)):
        files["bad_pixdim_%s.nii" % name] = image(pixdim=[1.0, 2.0, p, 3.0, 1.5, 0, 0, 0])
    files["bad_slope_inf.nii"] = image(scl_slope=math.inf)
    files["bad_inter_inf.nii"] = image(scl_slope=2.0, scl_inter=-math.inf)
    files["bad_qform_code.nii"] = image(qform_code=99)
    files["bad_sform_code.nii"] = image(sform_code=-3)
    files["bad_sform_zero.nii"] = image(srow=((0,) * 4,) * 3)
    files["bad_sform_nan.nii"] = image(srow=((2, 0, 0, 0), (0, math.nan, 0, 0), (0, 0, 3, 0)))
    files["bad_qform_nan.nii"] = image(sform_code=0, qform_code=1,
                                       quatern=(0.0, math.nan, 0.0))
    files["bad_gzip_bomb.nii.gz"] = gz(good + b"\0" * 200000)
    files["bad_gzip_short.nii.gz"] = gz(good[:-10])
    z = gz(good)
    files["bad_gzip_cut.nii.gz"] = z[:len(z) // 2]
    files["bad_gzip_crc.nii.gz"] = z[:-8] + bytes([z[-8] ^ 0x55]) + z[-7:]
    files["bad_empty.nii"] = b""

    for name, data in sorted(files.items()):
        assert len(data) <= 8192, name
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(files), OUT))


if __name__ == "__main__":
    sys.exit(main())
