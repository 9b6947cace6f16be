#!/usr/bin/env python3
"""Mean and max displacement difference between two rp files over a sphere.

Usage: compare_rp.py A_rp.txt B_rp.txt image.nii[.gz] [radius_mm]

The sphere (default radius 50 mm) is centred on the image's grid centre, in world
(RAS) mm from its sform (or qform); points on a 2 mm lattice. Prints per-run
mean-over-frames of the per-frame mean displacement, and the max over frames.
Pure Python (no numpy) so it runs on a bare machine.
"""
import gzip
import math
import struct
import sys


def read_rp(path):
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if parts:
                rows.append([float(v) for v in parts[:6]])
    return rows


def spm_matrix(p):
    tx, ty, tz, a, b, c = p
    def mul(x, y):
        return [[sum(x[i][k] * y[k][j] for k in range(4)) for j in range(4)] for i in range(4)]
    T = [[1, 0, 0, tx], [0, 1, 0, ty], [0, 0, 1, tz], [0, 0, 0, 1]]
    R1 = [[1, 0, 0, 0], [0, math.cos(a), math.sin(a), 0], [0, -math.sin(a), math.cos(a), 0], [0, 0, 0, 1]]
    R2 = [[math.cos(b), 0, math.sin(b), 0], [0, 1, 0, 0], [-math.sin(b), 0, math.cos(b), 0], [0, 0, 0, 1]]
    R3 = [[math.cos(c), math.sin(c), 0, 0], [-math.sin(c), math.cos(c), 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    return mul(mul(mul(T, R1), R2), R3)


def grid_centre(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        h = f.read(348)
    endian = "<" if struct.unpack("<i", h[0:4])[0] == 348 else ">"
    dim = struct.unpack(endian + "8h", h[40:56])
    pixdim = struct.unpack(endian + "8f", h[76:108])
    qform_code, sform_code = struct.unpack(endian + "2h", h[252:256])
    srow = [struct.unpack(endian + "4f", h[280 + 16 * r:296 + 16 * r]) for r in range(3)]
    v = [(dim[1] - 1) / 2.0, (dim[2] - 1) / 2.0, (dim[3] - 1) / 2.0, 1.0]
    if sform_code > 0:
        return [sum(srow[r][c] * v[c] for c in range(4)) for r in range(3)]
    b, c, d = struct.unpack(endian + "3f", h[256:268])
    qx, qy, qz = struct.unpack(endian + "3f", h[268:280])
    a = math.sqrt(max(0.0, 1 - b * b - c * c - d * d))
    R = [[a*a+b*b-c*c-d*d, 2*(b*c-a*d), 2*(b*d+a*c)],
         [2*(b*c+a*d), a*a+c*c-b*b-d*d, 2*(c*d-a*b)],
         [2*(b*d-a*c), 2*(c*d+a*b), a*a+d*d-c*c-b*b]]
    qfac = -1.0 if pixdim[0] < 0 else 1.0
    s = [pixdim[1] * v[0], pixdim[2] * v[1], qfac * pixdim[3] * v[2]]
    return [sum(R[r][k] * s[k] for k in range(3)) + (qx, qy, qz)[r] for r in range(3)]


def main():
    a, b = read_rp(sys.argv[1]), read_rp(sys.argv[2])
    centre = grid_centre(sys.argv[3])
    radius = float(sys.argv[4]) if len(sys.argv) > 4 else 50.0
    if len(a) != len(b):
        sys.exit("row counts differ: %d vs %d" % (len(a), len(b)))
    pts = []
    n = int(radius // 2)  # 2 mm lattice
    for i in range(-n, n + 1):
        for j in range(-n, n + 1):
            for k in range(-n, n + 1):
                if (2 * i) ** 2 + (2 * j) ** 2 + (2 * k) ** 2 <= radius * radius:
                    pts.append((centre[0] + 2 * i, centre[1] + 2 * j, centre[2] + 2 * k))
    means, maxes = [], []
    for ra, rb in zip(a, b):
        ma, mb = spm_matrix(ra), spm_matrix(rb)
        D = [[ma[r][c] - mb[r][c] for c in range(4)] for r in range(3)]
        tot, mx = 0.0, 0.0
        for p in pts:
            dx = [D[r][0] * p[0] + D[r][1] * p[1] + D[r][2] * p[2] + D[r][3] for r in range(3)]
            d = math.sqrt(dx[0] ** 2 + dx[1] ** 2 + dx[2] ** 2)
            tot += d
            mx = max(mx, d)
        means.append(tot / len(pts))
        maxes.append(mx)
    print("mean_mm %.4f max_mm %.4f frames %d" % (sum(means) / len(means), max(maxes), len(means)))


if __name__ == "__main__":
    main()
