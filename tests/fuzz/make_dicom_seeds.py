#!/usr/bin/env python3
"""Writes the DICOM fuzz seed corpus: tests/fuzz/dicom_corpus/{ok_,part_,bad_}*.dcm.

Small DICOM files written here from the standard's layout (a 128-byte preamble, "DICM",
the file meta group, then the data set's elements in tag order; explicit or implicit VR
little endian) and Siemens CSA headers in their SV10 layout, as fuzz_dicom reads them: one
file, or the files of a series joined by the marker %REALIGN-NEXT-FILE%.

ok_* seeds must give a volume (a mosaic de-tiled, a volume stacked from its slices),
part_* seeds be read no further than their headers (several frames, slices that never
complete a volume), bad_* seeds be refused (each breaks one rule). fuzz_dicom_replay
(CTest fuzz.dicom_replay) checks all three, and the fuzzer starts from them. Run from
anywhere; the output is deterministic, and committed.
"""
import os
import shutil
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dicom_corpus")
NEXT = b"%REALIGN-NEXT-FILE%"
EXPLICIT, IMPLICIT, BIG = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2"
LONG_VRS = {"OB", "OW", "OF", "SQ", "UN", "UT"}
UNDEFINED = 0xFFFFFFFF


def element(group, elem, vr, value, explicit=True):
    """One data element; value is bytes, text, or None for undefined length (then the
    caller appends the items and the delimiter)."""
    if isinstance(value, str):
        value = value.encode()
    length = UNDEFINED if value is None else len(value)
    if value is not None and length % 2:
        value += b"\0" if vr in ("UI", "OB") else b" "
        length += 1
    value = value or b""
    if not explicit:
        return struct.pack("<HHI", group, elem, length) + value
    if vr in LONG_VRS:
        return struct.pack("<HH2sHI", group, elem, vr.encode(), 0, length) + value
    return struct.pack("<HH2sH", group, elem, vr.encode(), length) + value


def dicom(elements, syntax=EXPLICIT, tail=b""):
    """A Part 10 file: the elements (group, element, VR, value) sorted by tag, then tail."""
    meta = element(0x0002, 0x0010, "UI", syntax)
    meta = element(0x0002, 0x0000, "UL", struct.pack("<I", len(meta))) + meta
    explicit = syntax != IMPLICIT
    body = b"".join(element(g, e, vr, v, explicit) for g, e, vr, v in sorted(elements))
    return b"\0" * 128 + b"DICM" + meta + body + tail


def csa(entries, count=None, mark=b"SV10"):
    """An SV10 CSA header: entries are (name, VR, [values]); count overrides the number of
    elements it claims."""
    out = mark + b"\4\3\2\1" + struct.pack("<II", len(entries) if count is None else count, 77)
    for name, vr, values in entries:
        items = max(6, len(values))
        out += name.encode().ljust(64, b"\0") + struct.pack("<i", len(values))
        out += vr.encode().ljust(4, b"\0") + struct.pack("<iii", 3, items, 77)
        for k in range(items):
            v = (values[k].encode() + b"\0") if k < len(values) else b""
            out += struct.pack("<iiii", len(v), len(v), 77 if v else 205, len(v))
            out += v.ljust((len(v) + 3) // 4 * 4, b"\0")
    return out


def mosaic_csa(images=3, normal=("0.0", "0.0", "1.0")):
    return csa([("NumberOfImagesInMosaic", "US", [str(images)]),
                ("SliceNormalVector", "FD", list(normal))])


def image(rows, columns, position, instance=1, acquisition=1, image_type="ORIGINAL\\PRIMARY\\M\\ND",
          orientation="1\\0\\0\\0\\1\\0", frames=None, per_volume=None, extra=(), pixels=None,
          samples=1, series="1.2.3.4"):
    """The elements of a 16-bit greyscale image, its pixels counting up."""
    if pixels is None:
        pixels = b"".join(struct.pack("<H", i % 65536) for i in range(rows * columns))
    e = [(0x0008, 0x0008, "CS", image_type), (0x0008, 0x0060, "CS", "MR"),
         (0x0018, 0x0050, "DS", "3.0"), (0x0018, 0x0080, "DS", "2000"),
         (0x0018, 0x0088, "DS", "3.5"), (0x0020, 0x000E, "UI", series),
         (0x0020, 0x0012, "IS", str(acquisition)), (0x0020, 0x0013, "IS", str(instance)),
         (0x0020, 0x0032, "DS", "\\".join(str(p) for p in position)),
         (0x0020, 0x0037, "DS", orientation), (0x0028, 0x0002, "US", struct.pack("<H", samples)),
         (0x0028, 0x0010, "US", struct.pack("<H", rows)),
         (0x0028, 0x0011, "US", struct.pack("<H", columns)),
         (0x0028, 0x0030, "DS", "2.0\\2.5"), (0x0028, 0x0100, "US", struct.pack("<H", 16)),
         (0x7FE0, 0x0010, "OW", pixels)]
    if frames is not None:
        e.append((0x0028, 0x0008, "IS", str(frames)))
    if per_volume is not None:
        e.append((0x0020, 0x1002, "IS", str(per_volume)))
    return e + list(extra)


def mosaic(csa_bytes=None, tiles=2, tile=3, syntax=EXPLICIT, orientation="1\\0\\0\\0\\1\\0"):
    """A mosaic of tiles x tiles tiles of tile x tile pixels, with its CSA header."""
    extra = [(0x0029, 0x0010, "LO", "SIEMENS CSA HEADER")]
    if csa_bytes is not None:
        extra.append((0x0029, 0x1010, "OB", csa_bytes))
    n = tiles * tile
    return dicom(image(n, n, (-10.0, -12.0, 5.0), image_type="ORIGINAL\\PRIMARY\\M\\ND\\MOSAIC",
                       orientation=orientation, extra=extra), syntax)


def series(volumes, slices=3, per_volume=3, skip=(), order=None):
    """The files of a one-file-per-slice series (4x4 slices 3.5 mm apart along z), joined
    by the marker; skip: InstanceNumbers left out; order: the slices' order in a volume."""
    files = []
    for v in range(volumes):
        for k in order or range(slices):
            instance = v * slices + k + 1
            if instance not in skip:
                files.append(dicom(image(4, 4, (-4.0, -5.0, 3.5 * k), instance=instance,
                                         per_volume=per_volume)))
    return NEXT.join(files)


def sequences(depth):
    """Sequences of undefined length nested `depth` deep, each one item."""
    inner = b""
    for _ in range(depth):
        item = struct.pack("<HHI", 0xFFFE, 0xE000, UNDEFINED) + inner + \
            struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
        inner = struct.pack("<HH2sHI", 0x0008, 0x1140, b"SQ", 0, UNDEFINED) + item + \
            struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    return inner


def seeds():
    s = {}
    # Mosaics: 3 slices in 2x2 tiles; implicit VR; slices running against the normal.
    s["ok_mosaic_explicit.dcm"] = mosaic(mosaic_csa())
    s["ok_mosaic_implicit.dcm"] = mosaic(mosaic_csa(), syntax=IMPLICIT)
    s["ok_mosaic_against_normal.dcm"] = mosaic(mosaic_csa(normal=("0", "0", "-1")))
    s["ok_mosaic_sagittal.dcm"] = mosaic(mosaic_csa(images=9, normal=("1", "0", "0")), tiles=3,
                                         orientation="0\\1\\0\\0\\0\\-1")
    # Slices: two volumes of three, with the count in the header, without it (learnt from
    # the position that comes twice), interleaved.
    s["ok_slices_counted.dcm"] = series(2)
    s["ok_slices_learnt.dcm"] = series(2, per_volume=None)
    s["ok_slices_interleaved.dcm"] = series(2, order=(1, 0, 2))
    s["ok_one_slice_per_volume.dcm"] = series(2, slices=1, per_volume=1)
    # Read to their headers: several frames (GDCM's to read), slices that never complete.
    s["part_multiframe.dcm"] = dicom(image(2, 2, (0, 0, 0), frames=2,
                                           pixels=b"\0" * 16))
    s["part_slices_never_complete.dcm"] = series(3, skip=(2, 4, 9))
    s["part_slices_without_count_one_volume.dcm"] = series(1, per_volume=None)
    # Refused.
    whole = mosaic(mosaic_csa())
    s["bad_empty.dcm"] = b""
    s["bad_no_dicm.dcm"] = b"\0" * 128 + b"DICX" + whole[132:]
    s["bad_cut_in_csa.dcm"] = whole[:whole.index(b"SV10") + 40]
    s["bad_cut_in_preamble.dcm"] = whole[:100]
    s["bad_big_endian.dcm"] = mosaic(mosaic_csa(), syntax=BIG)
    s["bad_csa_no_sv10.dcm"] = mosaic(b"SV11" + mosaic_csa()[4:])
    s["bad_csa_count.dcm"] = mosaic(csa([("NumberOfImagesInMosaic", "US", ["3"])],
                                        count=0xFFFFFFFF))
    items = bytearray(mosaic_csa())
    struct.pack_into("<I", items, 16 + 76, 0x7FFFFFFF)
    s["bad_csa_items.dcm"] = mosaic(bytes(items))
    length = bytearray(mosaic_csa())
    struct.pack_into("<I", length, 16 + 84 + 4, 0xFFFFFFF0)
    s["bad_csa_item_length.dcm"] = mosaic(bytes(length))
    s["bad_mosaic_not_tiling.dcm"] = mosaic(mosaic_csa(images=10))
    s["bad_mosaic_count_zero.dcm"] = mosaic(mosaic_csa(images=0))
    s["bad_mosaic_no_csa.dcm"] = mosaic(None)
    s["bad_mosaic_no_normal.dcm"] = mosaic(csa([("NumberOfImagesInMosaic", "US", ["3"])]))
    s["bad_mosaic_normal_in_plane.dcm"] = mosaic(mosaic_csa(normal=("1", "0", "0")))
    s["bad_orientation_not_unit.dcm"] = dicom(image(4, 4, (0, 0, 0),
                                                   orientation="2\\0\\0\\0\\1\\0"))
    s["bad_slice_no_instance.dcm"] = dicom([e for e in image(4, 4, (0, 0, 0))
                                            if e[:2] != (0x0020, 0x0013)])
    s["bad_slice_instance_zero.dcm"] = dicom(image(4, 4, (0, 0, 0), instance=0))
    s["bad_pixels_short.dcm"] = dicom(image(4, 4, (0, 0, 0), pixels=b"\0" * 8))
    s["bad_colour.dcm"] = dicom(image(4, 4, (0, 0, 0), samples=3))
    s["bad_sequences_too_deep.dcm"] = dicom(
        [], tail=sequences(20) + element(0x7FE0, 0x0010, "OW", b"\0" * 8))
    s["bad_sequence_without_delimiter.dcm"] = dicom(
        [], tail=struct.pack("<HH2sHI", 0x0008, 0x1140, b"SQ", 0, UNDEFINED) +
        element(0x0010, 0x0010, "PN", "x"))
    s["bad_slice_of_another_series.dcm"] = NEXT.join(
        [dicom(image(4, 4, (0, 0, 0), instance=1, per_volume=2)),
         dicom(image(4, 4, (0, 0, 3.5), instance=2, per_volume=2, series="9.9"))])
    return s


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    for name, data in sorted(seeds().items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds into %s" % (len(seeds()), OUT))


if __name__ == "__main__":
    main()
