"""A meson project takes this source tree as its subproject (issue #28):
dependency('freezebench', fallback : 'freezebench') must find what src/meson.build
overrides, and as a subproject freezebench builds and installs its libraries alone — no
tests, fuzz targets, bench programs, examples, tools or scripts.

The consumer (tests/consumers/subproject/meson.build, with consumer.c and consumer_dp.c)
is copied into a temporary folder, and the source tree (git's files, or the tree without
build folders) into its subprojects/freezebench; then meson setup, meson compile, the
subproject's targets, tests and installed files read back through meson introspect (before
compiling), then meson compile and the consumers run.

Usage: subproject_consumer.py MESON SOURCE_DIR HAVE_MPI"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

meson, source_dir, have_mpi = sys.argv[1], sys.argv[2], sys.argv[3] == "true"
here = os.path.dirname(os.path.abspath(__file__))
# Folders of freezebench that only the top-level project may build.
TOP_ONLY = ("tests", "fuzz", "bench", "examples", "tools", "scripts")
problems = []


def run(cmd, what, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise SystemExit(f"{what} failed ({r.returncode}): {' '.join(cmd)}\n"
                         f"{r.stdout[-6000:]}{r.stderr[-6000:]}")
    return r.stdout


def copy_source(dst):
    """The source tree's files: git's (tracked, and new ones not ignored) in a checkout,
    else everything but build folders and .git."""
    try:
        listed = subprocess.run(["git", "-C", source_dir, "ls-files", "-z", "--cached",
                                 "--others", "--exclude-standard"],
                                capture_output=True, check=True).stdout
        files = [f for f in listed.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = None
    if not files:
        shutil.copytree(source_dir, dst, symlinks=True, ignore=lambda d, names: [
            n for n in names if n == ".git" or (d == source_dir and n.startswith("build"))])
        return
    for f in files:
        src = os.path.join(source_dir, f)
        if not os.path.lexists(src):   # deleted in the worktree, not yet in git
            continue
        os.makedirs(os.path.dirname(os.path.join(dst, f)), exist_ok=True)
        shutil.copy2(src, os.path.join(dst, f), follow_symlinks=False)


def introspect(build, what):
    return json.loads(run([meson, "introspect", what, build], "meson introspect " + what))


tmp = tempfile.mkdtemp(prefix="fz-subproject-")
try:
    proj = os.path.join(tmp, "consumer")
    shutil.copytree(os.path.join(here, "subproject"), proj)
    for f in ("consumer.c", "consumer_dp.c"):
        shutil.copy2(os.path.join(here, f), proj)
    sub = os.path.join(proj, "subprojects", "freezebench")
    copy_source(sub)
    build = os.path.join(proj, "build")
    # debug: nothing here is timed, and -O0 compiles the library fastest.
    run([meson, "setup", build, proj, "--buildtype=debug", "--wrap-mode=nodownload"],
        "meson setup")
    targets = [t for t in introspect(build, "--targets") if t.get("subproject") == "freezebench"]
    names = sorted(t["name"] for t in targets)
    if "freezebench" not in names:
        problems.append(f"the subproject built no freezebench library: {names}")
    for t in targets:
        rel = os.path.relpath(t["defined_in"], sub)
        if rel.split(os.sep)[0] in TOP_ONLY:
            problems.append(f"the subproject defines target {t['name']} in {rel}")
    tests = [t["name"] for t in introspect(build, "--tests")]
    if tests:
        problems.append(f"the subproject registered tests: {tests[:10]}")
    for src, dst in introspect(build, "--installed").items():
        if "/bin/" in dst or "/share/freezebench" in dst:
            problems.append(f"the subproject installs {dst}")
    # The configuration alone decides the above: fail before compiling what should not
    # be there (a subproject building the benchmarks takes minutes).
    if problems:
        raise SystemExit("\n".join(problems))
    run([meson, "compile", "-C", build], "meson compile")
    print(run([os.path.join(build, "consumer")], "the consumer"), end="")
    if have_mpi:
        if not os.path.exists(os.path.join(build, "consumer_dp")):
            problems.append("MPI found, but dependency('freezebench-dp') was not")
        else:
            print(run([os.path.join(build, "consumer_dp")], "the dp consumer"), end="")

    print(f"subproject targets: {', '.join(names)}")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

for p in problems:
    print(p, file=sys.stderr)
sys.exit(1 if problems else 0)
