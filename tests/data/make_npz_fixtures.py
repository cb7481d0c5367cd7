#!/usr/bin/python3
"""Writes the .npz fixtures of tests/test_npz_io.c with NumPy itself, so the C reader is
tested against what numpy really writes.  Run from anywhere:
    /usr/bin/python3 tests/data/make_npz_fixtures.py
The model is 4 -> 3 -> 2; every value is exactly representable, so the C test can
recompute it: fc1.weight[i][j] = (4i+j)/4 - 1, fc1.bias = (0.5, -0.5, 1.5),
fc2.weight[i][j] = -(3i+j)/8, fc2.bias = (3, -3)."""
import io
import os
import struct
import zipfile
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def good():
    return {
        "fc1.weight": (np.arange(12, dtype=np.float32).reshape(3, 4) / 4 - 1),
        "fc1.bias": np.array([0.5, -0.5, 1.5], dtype=np.float32),
        "fc2.weight": -np.arange(6, dtype=np.float32).reshape(2, 3) / 8,
        "fc2.bias": np.array([3, -3], dtype=np.float32),
    }


def save(name, arrays, compressed=False):
    (np.savez_compressed if compressed else np.savez)(os.path.join(HERE, name), **arrays)


def save_versioned(name, arrays, version):
    """A stored .npz whose members use .npy format `version` (np.savez always picks 1.0)."""
    with zipfile.ZipFile(os.path.join(HERE, name), "w", zipfile.ZIP_STORED) as z:
        for key, arr in arrays.items():
            with z.open(key + ".npy", "w") as f:
                np.lib.format.write_array(f, arr, version=version)


def save_zip64_central(name, arrays):
    """A stored .npz whose central directory records every size and offset as 0xFFFFFFFF
    with the real values in a zip64 extra field, as zipfile writes them for members over
    2 GiB; too big to write for real, so the archive is assembled here byte by byte."""
    body, central = io.BytesIO(), io.BytesIO()
    for key, arr in arrays.items():
        npy = io.BytesIO()
        np.lib.format.write_array(npy, arr)
        data, fname = npy.getvalue(), (key + ".npy").encode()
        crc, offset = zlib.crc32(data), body.tell()
        body.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc,
                               len(data), len(data), len(fname), 0) + fname + data)
        extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21,
                                  crc, 0xFFFFFFFF, 0xFFFFFFFF, len(fname), len(extra), 0, 0,
                                  0, 0, 0xFFFFFFFF) + fname + extra)
    cd = central.getvalue()
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(arrays), len(arrays), len(cd),
                       body.tell(), 0)
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(body.getvalue() + cd + eocd)


def main():
    save("good_savez.npz", good())
    save("good_savez_compressed.npz", good(), compressed=True)
    save_versioned("good_npy_v2.npz", good(), (2, 0))
    save_versioned("good_npy_v3.npz", good(), (3, 0))
    save_zip64_central("good_zip64_central.npz", good())

    bad = good()
    bad["fc1.scale"] = np.ones(3, dtype=np.float32)
    save("unknown_tensor.npz", bad)

    bad = good()
    del bad["fc2.bias"]
    save("missing_tensor.npz", bad)

    bad = good()
    bad["fc1.weight"] = bad["fc1.weight"].reshape(4, 3)
    save("misshaped_tensor.npz", bad)

    bad = good()
    bad["fc2.weight"] = bad["fc2.weight"].astype("<f8")
    save("dtype_f8.npz", bad)

    bad = good()
    bad["fc2.weight"] = bad["fc2.weight"].astype(">f4")
    save("byteorder_be.npz", bad)

    bad = good()
    bad["fc1.weight"] = np.asfortranarray(bad["fc1.weight"])
    save("fortran_order.npz", bad)


if __name__ == "__main__":
    main()
