"""What `meson install` installs besides the libraries (issue #28): with install_bench
(the default) the bench programs this build made, into bindir, and the Python scripts
users run into share/freezebench/{bench,results,scripts}, where each entry point still
imports its sibling modules (its --help runs from there, outside this tree); never a test
helper, fuzz target or example.  Without install_bench, none of them.

Usage: installed_files.py MESON BUILD_ROOT SOURCE_DIR INSTALL_BENCH [BENCH_PROGRAM...]"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import destdir  # noqa: E402

meson, build_root, source_dir, install_bench = sys.argv[1:5]
install_bench = install_bench == "true"
programs = sys.argv[5:]
# The scripts a user runs (the others are their modules); --help exits 0 without torch.
ENTRY_POINTS = ["bench/compare_calibration.py", "bench/pytorch_finetune.py",
                "bench/pytorch_sweep.py", "bench/step_vs_pytorch.py",
                "results/compare_runs.py", "results/make_report.py",
                "results/plot_finetune.py"]
scripts = sorted([os.path.relpath(p, source_dir) for p in
                  glob.glob(os.path.join(source_dir, "bench", "*.py")) +
                  glob.glob(os.path.join(source_dir, "results", "*.py"))] +
                 ["scripts/export_mlp.py"])
problems = []

tmp = tempfile.mkdtemp(prefix="fz-installed-")
try:
    root = os.path.join(tmp, "root")
    installed, listing = destdir.install(meson, build_root, root)
    core_so = destdir.find(installed, "libfreezebench.so")
    share = None
    for src, dst in installed.items():
        rel = os.path.relpath(src, build_root) if src.startswith(build_root) else \
            os.path.relpath(src, source_dir)
        top = rel.split(os.sep)[0]
        name = os.path.basename(dst)
        if top in ("tests", "fuzz", "examples") or name.startswith("test_"):
            problems.append(f"installs {rel} as {dst}")
        if dst.endswith(os.path.join("freezebench", "bench", "sweep_setup.py")):
            share = os.path.dirname(os.path.dirname(dst))
    bindir = {os.path.dirname(d) for s, d in installed.items()
              if os.path.basename(s) == "freezebench" and os.access(d, os.X_OK)}
    if len(bindir) != 1:
        raise SystemExit(f"the freezebench command is not installed once: {bindir}")
    bindir = bindir.pop()
    if not install_bench:
        extra = [d for d in installed.values()
                 if "share/freezebench" in d or (os.path.dirname(d) == bindir and
                                                  os.path.basename(d) != "freezebench")]
        if extra:
            problems.append(f"install_bench=false, but installed: {extra}")
    else:
        for prog in programs:
            dst = installed.get(prog)
            if not dst or os.path.dirname(dst) != bindir or not os.access(dst, os.X_OK):
                problems.append(f"bench program {os.path.basename(prog)} not installed "
                                f"into {bindir}: {dst}")
            elif f"{os.path.basename(prog)} to {bindir}" not in listing:
                problems.append(f"meson install did not list {os.path.basename(prog)}")
        if share is None:
            raise SystemExit("install_bench, but no share/freezebench/bench/sweep_setup.py")
        for rel in scripts:
            dst = os.path.join(share, rel)
            if not os.path.isfile(dst):
                problems.append(f"{rel} not installed under {share}")
            elif f"{os.path.basename(rel)} to {os.path.dirname(dst)}" not in listing:
                problems.append(f"meson install did not list {rel}")
        env = dict(os.environ, LD_LIBRARY_PATH=os.path.dirname(core_so),
                   PYTHONDONTWRITEBYTECODE="1")
        env.pop("PYTHONPATH", None)
        for rel in ENTRY_POINTS:
            run = subprocess.run([sys.executable, os.path.join(share, rel), "--help"],
                                 capture_output=True, text=True, cwd=tmp, env=env)
            if run.returncode != 0:
                problems.append(f"installed {rel} --help exits {run.returncode}: "
                                f"{run.stderr.strip()[-400:]}")
    print(f"{len(installed)} files installed; bench programs checked: {len(programs)}; "
          f"scripts: {len(scripts) if install_bench else 0}")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

for p in problems:
    print(p, file=sys.stderr)
sys.exit(1 if problems else 0)
