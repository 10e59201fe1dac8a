#!/usr/bin/python3
"""Writes small valid .npy files as seeds for npy_fuzzer.

    fuzz/make_npy_seeds.py OUTDIR

Written from the format description with the standard library only (no numpy needed), in
each version, dtype and rank the reader accepts, so the fuzzer starts from every branch.
"""
import os
import struct
import sys

DTYPES = {"<f4": "<f", "<f8": "<d", "|i1": "<b", "|u1": "<B", "<i4": "<i", "<i8": "<q"}


def npy(descr, shape, version=1):
    n = 1
    for e in shape:
        n *= e
    fmt = DTYPES[descr]
    data = b"".join(struct.pack(fmt, (i * 37 % 11) - (5 if fmt not in ("<B",) else 0)) for i in range(n))
    dims = "(" + ", ".join(str(e) for e in shape) + ("," if len(shape) == 1 else "") + ")"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, dims)
    pre = 10 if version == 1 else 12
    header += " " * (63 - (pre + len(header)) % 64) + "\n"
    length = struct.pack("<H" if version == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + length + header.encode("latin1") + data


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    seeds = {
        "f8_3x4.npy": npy("<f8", [3, 4]),
        "f4_nchw.npy": npy("<f4", [2, 3, 2, 2]),
        "i1.npy": npy("|i1", [5]),
        "u1.npy": npy("|u1", [2, 3]),
        "i4.npy": npy("<i4", [4]),
        "i8.npy": npy("<i8", [2, 2]),
        "scalar.npy": npy("<f8", []),
        "empty.npy": npy("<f8", [0, 3]),
        "v2.npy": npy("<f8", [2, 2], version=2),
        "v3.npy": npy("<f4", [3], version=3),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
