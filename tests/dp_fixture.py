"""The model and data the data-parallel command tests train: DIR/m.npz, an MLP 8-16-16-4
(fc1..fc3), and DIR/d.npz, 64 samples, from one seeded generator; with --variants also the
data sets that make ranks disagree: d48.npz (fewer samples: other step counts),
d_other.npz (same count, one value changed) and d8.npz (fewer than --batch 16).
Exits 77 (meson's SKIP) without numpy.
  usage: /usr/bin/python3 dp_fixture.py DIR [--variants]
"""
import sys

try:
    import numpy as np
except ImportError:
    sys.exit(77)

d, variants = sys.argv[1], "--variants" in sys.argv[2:]
rng, w = np.random.default_rng(1), [8, 16, 16, 4]
m = {}
for i in range(3):
    m[f"fc{i+1}.weight"] = (rng.standard_normal((w[i + 1], w[i])) * 0.3).astype("<f4")
    m[f"fc{i+1}.bias"] = (rng.standard_normal(w[i + 1]) * 0.1).astype("<f4")
np.savez(f"{d}/m.npz", **m)
x, y = rng.standard_normal((64, 8)).astype("<f4"), rng.standard_normal((64, 4)).astype("<f4")
np.savez(f"{d}/d.npz", x=x, y=y)
if variants:
    np.savez(f"{d}/d48.npz", x=x[:48], y=y[:48])
    y2 = y.copy()
    y2[5, 1] += 1
    np.savez(f"{d}/d_other.npz", x=x, y=y2)
    np.savez(f"{d}/d8.npz", x=x[:8], y=y[:8])
