#!/usr/bin/python3
"""Writes the .npz fixtures of tests/test_npz_io.c (and of test_npz_archive_names.c and
test_npz_batchnorm.c) with NumPy itself, so the C reader is tested against what numpy
really writes.  Run from anywhere:
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


def renamed(arrays, names):
    """The same arrays under other names, in the order of `names` (old -> new)."""
    return {new: arrays[old] for old, new in names.items()}


def names_fixtures():
    """Archives whose names look like the library's own fcK names (test_npz_archive_names.c).
    Every value is exactly representable: element i of a tensor is (i % 7 - 3) / 8 plus
    its layer number."""
    def tensor(shape, layer):
        n = int(np.prod(shape))
        return ((np.arange(n) % 7 - 3) / 8 + layer).astype(np.float32).reshape(shape)

    # A module of layers fc0, fc1, fc2: 10 -> 8 -> 8 -> 3 (not square).
    save("fc0_fc1_fc2.npz", {"fc0.weight": tensor((8, 10), 0), "fc0.bias": tensor((8,), 0),
                             "fc1.weight": tensor((8, 8), 1), "fc1.bias": tensor((8,), 1),
                             "fc2.weight": tensor((3, 8), 2), "fc2.bias": tensor((3,), 2)})
    # fc2 and fc3 without fc1: the fixtures' 4 -> 3 -> 2 model renamed.
    save("fc2_fc3.npz", renamed(good(), {"fc1.weight": "fc2.weight", "fc1.bias": "fc2.bias",
                                         "fc2.weight": "fc3.weight", "fc2.bias": "fc3.bias"}))
    # fc1 and fc2 registered last layer first: numbered, so taken by number.
    save("fc2_before_fc1.npz", {k: good()[k] for k in
                                ("fc2.weight", "fc2.bias", "fc1.weight", "fc1.bias")})
    # A weight whose name has ".bias" in its middle: "a.bias" is the module's name.
    save("bias_in_module_name.npz", renamed(good(), {"fc1.weight": "x.weight",
                                                     "fc1.bias": "x.bias",
                                                     "fc2.weight": "a.bias.weight",
                                                     "fc2.bias": "a.bias.bias"}))


def batchnorm_fixture():
    """nn.Sequential(Linear(4, 3), BatchNorm1d(3), ReLU(), Linear(3, 2)).state_dict() as
    np.savez writes it: num_batches_tracked is an int64 scalar."""
    g = good()
    save("batchnorm.npz", {
        "0.weight": g["fc1.weight"], "0.bias": g["fc1.bias"],
        "1.weight": np.ones(3, dtype=np.float32), "1.bias": np.zeros(3, dtype=np.float32),
        "1.running_mean": np.zeros(3, dtype=np.float32),
        "1.running_var": np.ones(3, dtype=np.float32),
        "1.num_batches_tracked": np.array(0, dtype=np.int64),
        "3.weight": g["fc2.weight"], "3.bias": g["fc2.bias"]})


if __name__ == "__main__":
    main()
    names_fixtures()
    batchnorm_fixture()
