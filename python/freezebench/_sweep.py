"""freezebench.sweep: the freeze_sweep benchmark program, its CSV rows as dicts."""
import csv
import os
import shutil
import subprocess
import tempfile


class SweepError(RuntimeError):
    """freeze_sweep exited with a failure; `returncode` and `stderr` are its own."""

    def __init__(self, message, returncode=None, stderr=""):
        super().__init__(message)
        self.returncode, self.stderr = returncode, stderr


def find_sweep():
    """freeze_sweep's path: FREEZEBENCH_SWEEP, else the bindir meson recorded at install,
    else PATH.  FileNotFoundError, naming what was tried, if none exists."""
    tried = []
    env = os.environ.get("FREEZEBENCH_SWEEP")
    if env:
        if os.access(env, os.X_OK):
            return env
        raise FileNotFoundError(f"freezebench: FREEZEBENCH_SWEEP={env} is no executable")
    try:
        from . import _build_config
        path = os.path.join(_build_config.BINDIR, "freeze_sweep")
        if os.access(path, os.X_OK):
            return path
        tried.append(path)
    except ImportError:   # the source tree: no install
        pass
    found = shutil.which("freeze_sweep")
    if found:
        return found
    tried.append("freeze_sweep on PATH")
    raise FileNotFoundError("freezebench: no freeze_sweep program (tried "
                            + ", ".join(tried) + "); set FREEZEBENCH_SWEEP to "
                            "build/bench/freeze_sweep")


def _list(v):
    return [v] if isinstance(v, (str, int)) else list(v)


def sweep(model="10,5,1@64", spec=None, threads=1, batch=None, quick=True,
          repetitions=None, min_time=None, epoch_samples=None, allow_dirty=False,
          output=None, program=None, args=(), timeout=None):
    """Runs freeze_sweep and returns its CSV's rows: a list of dicts keyed by the CSV
    header, every value the CSV's text (str), exactly as csv.DictReader reads the file;
    convert the columns you use (float(row["time_median_s"])).  Strings, not guessed
    types: git_revision or a model such as "10,5,1" would not survive a guess.

      model         one --model or a list ("10,5,1@64", "1024x9@256", "m.npz")
      spec          one --spec or a list (none is always measured); None: the defaults
      threads       an int or a list (--threads); 0 = all cores
      batch         an int or a list (--batch), overriding @B
      quick         --quick-probes, and unless given, 2 repetitions of 1 ms: seconds for
                    a small model, numbers for tests, not for results
      repetitions, min_time, epoch_samples: the options of the same names
      allow_dirty   --allow-dirty: freeze_sweep refuses to write a CSV from a build of a
                    tree with uncommitted changes unless asked
      output        keep the CSV at this path (a new file); None: a temporary file, removed
      program       freeze_sweep's path (default: find_sweep())
      args          further options, passed as they are
    SweepError, with freeze_sweep's message, if it fails (its exit status 2: bad
    options)."""
    argv = [program or find_sweep()]
    for m in _list(model):
        argv += ["--model", str(m)]
    for s in ([] if spec is None else _list(spec)):
        argv += ["--spec", str(s)]
    if threads is not None:
        argv += ["--threads", ",".join(str(t) for t in _list(threads))]
    if batch is not None:
        argv += ["--batch", ",".join(str(b) for b in _list(batch))]
    if quick:
        argv.append("--quick-probes")
        repetitions = 2 if repetitions is None else repetitions
        min_time = 0.001 if min_time is None else min_time
    if repetitions is not None:
        argv += ["--repetitions", str(repetitions)]
    if min_time is not None:
        argv += ["--min-time", repr(float(min_time))]
    if epoch_samples is not None:
        argv += ["--epoch-samples", str(epoch_samples)]
    if allow_dirty:
        argv.append("--allow-dirty")
    argv += list(args)
    with tempfile.TemporaryDirectory(prefix="freezebench-sweep-") as d:
        path = output if output is not None else os.path.join(d, "sweep.csv")
        run = subprocess.run(argv + ["--output", str(path)], capture_output=True, text=True,
                             timeout=timeout)
        if run.returncode != 0:
            raise SweepError(f"freezebench: {' '.join(argv)} exited {run.returncode}: "
                             f"{run.stderr.strip()}", run.returncode, run.stderr)
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
