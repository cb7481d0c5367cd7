"""A program outside this tree builds against the installed freezebench through
pkg-config alone (issue #28): `meson install --destdir TMP` of the build under test, then
cc $(pkg-config --cflags --libs freezebench) with PKG_CONFIG_PATH and
PKG_CONFIG_SYSROOT_DIR pointing into TMP, run with LD_LIBRARY_PATH into TMP.  Also:
the installed libfreezebench.so needs no MPI, and freezebench.pc names no MPI and lists
each flag once (-fopenmp at most once).

With --dp the same for freezebench-dp: its pc file resolves, and a program using
freezebench_dp.h links and runs against both installed libraries.  Exit 77 (skip) for
--dp in a build without MPI, after checking nothing of the dp library was installed.

The consumer is compiled with the build's sanitizers (b_sanitize), as a program linking a
sanitized library must be.

Usage: pkgconfig_consumer.py [--dp] MESON BUILD_ROOT HAVE_MPI HAVE_OPENMP SANITIZE CC..."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import destdir  # noqa: E402

args = sys.argv[1:]
dp = args[:1] == ["--dp"]
if dp:
    args = args[1:]
meson, build_root, have_mpi, have_openmp, sanitize = args[:5]
cc = args[5:] + ([] if sanitize == "none" else ["-fsanitize=" + sanitize])
have_mpi, have_openmp = have_mpi == "true", have_openmp == "true"
problems = []


def run(cmd, env=None, what=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise SystemExit(f"{what or cmd[0]} failed ({r.returncode}): {' '.join(cmd)}\n"
                         f"{r.stdout}{r.stderr}")
    return r.stdout


def needed(lib):
    """The DT_NEEDED entries of an ELF file."""
    out = run(["readelf", "-d", lib])
    return [line.split("[", 1)[1].rstrip("]").strip() for line in out.splitlines()
            if "(NEEDED)" in line]


def pc_fields(path):
    fields = {}
    for line in open(path):
        if ":" in line and "=" not in line.split(":", 1)[0]:
            key, value = line.split(":", 1)
            fields[key.strip()] = value.strip()
    return fields


def check_once(path, fields, keys):
    """Every flag or package of these fields appears once across them."""
    seen = []
    for k in keys:
        seen += [w.strip() for w in fields.get(k, "").replace(",", " ").split()]
    dups = sorted({w for w in seen if seen.count(w) > 1})
    if dups:
        problems.append(f"{os.path.basename(path)}: listed more than once: {dups}")
    return seen


tmp = tempfile.mkdtemp(prefix="fz-consumer-")
try:
    root = os.path.join(tmp, "root")
    installed, _ = destdir.install(meson, build_root, root)
    core_pc = destdir.find(installed, "freezebench.pc")
    core_so = destdir.find(installed, "libfreezebench.so")
    dp_pc = destdir.find(installed, "freezebench-dp.pc")
    if not core_pc or not core_so:
        raise SystemExit(f"freezebench.pc or libfreezebench.so not installed: {core_pc} {core_so}")
    libdir = os.path.dirname(core_so)
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(core_pc),
               PKG_CONFIG_SYSROOT_DIR=root, LD_LIBRARY_PATH=libdir)
    # The .pc files carry the prefix, not TMP: SYSROOT_DIR maps -I/-L into TMP.
    if dp:
        if not have_mpi:
            leftovers = [p for p in installed.values()
                         if "freezebench-dp" in p or "freezebench_dp" in p]
            if leftovers:
                raise SystemExit(f"a build without MPI installed dp files: {leftovers}")
            print("no MPI in this build: no libfreezebench-dp to consume (as expected)")
            sys.exit(77)
        if not dp_pc:
            raise SystemExit("a build with MPI installed no freezebench-dp.pc")
        fields = pc_fields(dp_pc)
        check_once(dp_pc, fields, ["Requires", "Requires.private"])
        check_once(dp_pc, fields, ["Libs", "Libs.private"])
        if "freezebench" not in fields.get("Requires", "").replace(",", " ").split():
            problems.append(f"freezebench-dp.pc: Requires is {fields.get('Requires')!r}, "
                            "not freezebench")
        for extra in ("zlib", "hwloc"):   # the core's, not dp's own
            if extra in fields.get("Requires.private", ""):
                problems.append(f"freezebench-dp.pc lists the core's {extra}")
        dp_so = destdir.find(installed, "libfreezebench-dp.so")
        if not dp_so or "libfreezebench.so.0" not in needed(dp_so):
            problems.append(f"libfreezebench-dp.so does not link libfreezebench.so.0: {dp_so}")
        package, source = "freezebench-dp", "consumer_dp.c"
    else:
        fields = pc_fields(core_pc)
        check_once(core_pc, fields, ["Requires", "Requires.private"])
        flags = check_once(core_pc, fields, ["Libs", "Libs.private"])
        text = open(core_pc).read()
        if "ompi" in text or "mpi" in fields.get("Requires.private", "").split(", "):
            problems.append(f"freezebench.pc names MPI: {fields.get('Requires.private')}")
        if flags.count("-fopenmp") != (1 if have_openmp else 0):
            problems.append(f"freezebench.pc: -fopenmp {flags.count('-fopenmp')} times")
        mpi_needed = [n for n in needed(core_so) if "mpi" in n]
        if mpi_needed:
            problems.append(f"installed libfreezebench.so needs MPI: {mpi_needed}")
        header = destdir.find(installed, "freezebench.h")
        if header and re.search(r"\bfz_dp_\w+\s*\(", open(header).read()):
            problems.append("the installed freezebench.h declares fz_dp_ functions")
        package, source = "freezebench", "consumer.c"

    # Only the flags pkg-config gives: no include or library path of this tree.
    cflags = run(["pkg-config", "--cflags", package], env, "pkg-config --cflags").split()
    libs = run(["pkg-config", "--libs", package], env, "pkg-config --libs").split()
    if not any(f.startswith("-I" + root) for f in cflags):
        problems.append(f"pkg-config --cflags {package} points nowhere into TMP: {cflags}")
    exe = os.path.join(tmp, "consumer")
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), source)
    run(cc + cflags + ["-std=c11", "-Wall", "-Wextra", "-Werror", src, "-o", exe] + libs,
        env, "compiling the consumer")
    out = run([exe], env, "the consumer")
    print(out, end="")
    # It ran against the installed library, not the build tree's.
    ldd = run(["ldd", exe], env)
    lib_line = [line for line in ldd.splitlines() if "libfreezebench.so" in line]
    if not lib_line or root not in lib_line[0]:
        problems.append(f"the consumer did not load the installed libfreezebench: {lib_line}")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

for p in problems:
    print(p, file=sys.stderr)
sys.exit(1 if problems else 0)
