#!/usr/bin/env python3
"""A longer series from a real one: `repeat_run.py SRC.nii[.gz] DST.nii N` writes SRC's
frames N times back to back (header and extensions kept, dim[4] multiplied), for the
benchmarks' long runs."""
import gzip
import struct
import sys

src, dst, times = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = (gzip.open if src.endswith(".gz") else open)(src, "rb").read()
hdr = bytearray(data[:348])
dim = list(struct.unpack("<8h", hdr[40:56]))
offset = int(struct.unpack("<f", hdr[108:112])[0])
dim[4] *= times
hdr[40:56] = struct.pack("<8h", *dim)
with open(dst, "wb") as f:
    f.write(hdr + data[348:offset] + data[offset:] * times)
