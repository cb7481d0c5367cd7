#!/usr/bin/python3
"""bench/pytorch_sweep.py writes its CSV as the issue's rule for files asks (issue 24,
"For files"): whole, through a temporary file, and never over an existing file unless
asked.  Its output was checked only before measuring, minutes earlier, and then renamed
over whatever stood there by the time it wrote:

- write_csv without --overwrite refuses (results/runs.py's WriteError, `exists` set) a
  path that exists by the time it writes, leaving that file as it was and no temporary
  file behind; with it, the file is replaced whole;
- a write that fails (fsync on a full disk) leaves the old file and no temporary file;
- free_name gives the path, or a dated name beside it, numbered -2, -3, ... where runs
  in one second share the dated name, never an existing file;
- a new file gets the umask's mode, not mkstemp's 0600.

Needs no torch: only the writing functions are called.

usage: test_pytorch_sweep_output.py bench/pytorch_sweep.py
"""
import errno
import importlib.util
import os
import re
import sys
import tempfile

spec = importlib.util.spec_from_file_location("pytorch_sweep", os.path.abspath(sys.argv[1]))
ps = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ps)
problems = []
COLUMNS = ["schema_version", "model", "time_median_s"]
ROWS = [dict(schema_version="4", model="10,5,1", time_median_s="0.5")]
NEW = b"schema_version,model,time_median_s\r\n4,\"10,5,1\",0.5\r\n"


def check(ok, what):
    if not ok:
        problems.append(what)


def content(path):
    with open(path, "rb") as f:
        return f.read()


def leftovers(d):
    return [f for f in os.listdir(d) if f.startswith(".pytorch_sweep.")]


with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "pytorch-x-1.csv")
    with open(path, "wb") as f:
        f.write(b"an earlier run's rows\r\n")
    try:
        ps.write_csv(ROWS, path, COLUMNS)
        problems.append("write_csv replaced an existing file without being asked")
    except Exception as e:        # noqa: BLE001 (the type is checked here)
        check(isinstance(e, ps.runs.WriteError) and e.exists and e.path == path,
              f"an existing file: write_csv raised {e!r}")
    check(content(path) == b"an earlier run's rows\r\n", "the existing file changed")
    check(not leftovers(d), f"temporary files left: {leftovers(d)}")

    ps.write_csv(ROWS, path, COLUMNS, replace=True)
    check(content(path) == NEW, f"--overwrite wrote {content(path)!r}")
    check(not leftovers(d), f"temporary files left: {leftovers(d)}")

    fresh = os.path.join(d, "fresh.csv")
    umask = os.umask(0o022)
    try:
        ps.write_csv(ROWS, fresh, COLUMNS)
    finally:
        os.umask(umask)
    check(content(fresh) == NEW, "a new file was not written whole")
    mode = os.stat(fresh).st_mode & 0o777
    check(mode == 0o644, f"a new file has mode {oct(mode)}, want 0o644 under umask 022")

    # A full disk: fsync fails; nothing changes, nothing is left behind.
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    os.fsync = full
    try:
        ps.write_csv(ROWS, path, COLUMNS, replace=True)
        problems.append("a failed fsync did not fail the write")
    except Exception as e:        # noqa: BLE001 (the type is checked here)
        check(isinstance(e, ps.runs.WriteError) and not e.exists
              and e.reason == os.strerror(errno.ENOSPC), f"a failed fsync raised {e!r}")
    finally:
        os.fsync = real_fsync
    check(content(path) == NEW, "a failed write changed the file")
    check(not leftovers(d), f"temporary files left after a failed write: {leftovers(d)}")

    # Dated names: the path while it is free, then a dated one, then numbered ones.
    free = os.path.join(d, "pytorch-y-1.csv")
    check(ps.free_name(free) == free, "free_name of a free path is not the path")
    taken = []
    for _ in range(3):
        name = ps.free_name(path)
        check(not os.path.lexists(name), f"free_name gave the existing {name}")
        with open(name, "wb") as f:
            f.write(b"x")
        taken.append(os.path.basename(name))
    stamp = r"\d{8}T\d{6}Z"
    check(re.fullmatch(rf"pytorch-x-1-{stamp}\.csv", taken[0]) is not None
          and all(re.fullmatch(rf"pytorch-x-1-{stamp}(-\d+)?\.csv", n) for n in taken),
          f"dated names {taken}")

if problems:
    sys.exit("pytorch_sweep output:\n  " + "\n  ".join(problems))
print("pytorch_sweep output: whole files, nothing replaced unasked")
