"""Installs the build tree under test into a temporary DESTDIR, for the consumer tests.

`meson install --destdir` of the very build being tested (--no-rebuild: meson test has
built it), then `meson introspect --installed` says where each installed file went, so
the tests need not guess the prefix or the libdir's multiarch name."""
import json
import os
import subprocess


def install(meson, build_root, destdir):
    """Installs into destdir; returns {build path: installed path under destdir} and the
    install command's output (what `meson install` listed)."""
    run = subprocess.run([meson, "install", "-C", build_root, "--no-rebuild",
                          "--destdir", destdir], capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"meson install failed ({run.returncode}):\n{run.stdout}{run.stderr}")
    intro = subprocess.run([meson, "introspect", "--installed", build_root],
                           capture_output=True, text=True, check=True)
    installed = {src: destdir + dst for src, dst in json.loads(intro.stdout).items()}
    # Installed paths are absolute: destdir + prefix/...; each must exist.
    missing = [p for p in installed.values() if not os.path.lexists(p)]
    if missing:
        raise SystemExit(f"introspect lists files the install did not write: {missing[:5]}")
    return installed, run.stdout


def find(installed, name):
    """The installed path whose file name is `name` (None when none is)."""
    hits = [p for p in installed.values() if os.path.basename(p) == name]
    if len(hits) > 1:
        raise SystemExit(f"{name} installed more than once: {hits}")
    return hits[0] if hits else None
