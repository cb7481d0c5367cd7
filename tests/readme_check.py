#!/usr/bin/python3
"""Every command in README.md is run by this check or by CI, and the README says which.

Each fenced block of commands (```sh, ```bash or ```python) must follow a marker line:

    <!-- check: run -->        this check runs it (fast commands: the tour, the examples)
    <!-- check: ci -->         .ci/run runs it: `readme_check.py --ci SOURCE BUILD` from
                               there (commands that install packages or run minutes)
    <!-- check: ci-fresh -->   the same, in a scratch folder without `build` (a block that
                               configures and builds one itself)
    <!-- check: ci-step -->    .ci/run has each of its command lines itself, verbatim
    <!-- check: test NAME -->  the meson test NAME runs the same thing (it must exist in
                               tests/meson.build)
    <!-- check: no -->         not a command to run: output shown, a file's contents
                               (allowed only for ```text and ```c blocks, and for none else)

A block without a marker fails the check, so a command cannot be added untested.

usage: readme_check.py SOURCE_DIR BUILD_DIR          the `run` blocks, and every marker
       readme_check.py --ci SOURCE_DIR BUILD_DIR     the `ci` blocks (from .ci/run)

The blocks run in a scratch folder that links the checkout's files, with `build`
pointing at BUILD_DIR and an empty `results/`, so nothing they write lands in the
checkout.  Shell blocks run under `bash -euo pipefail`, Python blocks under
/usr/bin/python3; a Python block that cannot import torch is reported SKIP (exit 77 when
nothing else ran).  Exit 0 all ran, 1 a failure or an unmarked block.
"""
import os
import re
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^```(\w*)\s*$")
MARK = re.compile(r"^<!-- check: (run|ci|ci-fresh|ci-step|no|test [\w.-]+) -->\s*$")
COMMAND_LANGS = {"sh", "bash", "python"}


def blocks(readme):
    """[(line, lang, marker or None, text)] of every fenced block."""
    lines = open(readme, encoding="utf-8").read().split("\n")
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        lang, start = m.group(1), i
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        prev = next((lines[k] for k in range(start - 1, -1, -1) if lines[k].strip()), "")
        mark = MARK.match(prev)
        out.append((start + 1, lang, mark.group(1) if mark else None,
                    "\n".join(lines[start + 1:j]) + "\n"))
        i = j + 1
    return out


def scratch(d, source, build):
    """Makes d look like the checkout (links to its files) with build -> BUILD_DIR (none
    when BUILD_DIR is None) and an empty results/."""
    for name in os.listdir(source):
        if name in ("build", "results") or name.startswith("."):
            continue
        os.symlink(os.path.join(source, name), os.path.join(d, name))
    if build is not None:
        os.symlink(build, os.path.join(d, "build"))
    os.mkdir(os.path.join(d, "results"))


def commands(text):
    """The block's command lines: continuation lines joined, comments dropped."""
    out, cur = [], ""
    for line in text.split("\n"):
        line = re.sub(r"\s+#.*$", "", line.rstrip())
        if not line.strip():
            continue
        cur += line[:-1].rstrip() + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            out.append(" ".join(cur.split()))
            cur = ""
    return out


def run_block(lang, text, cwd):
    if lang == "python":
        cmd = ["/usr/bin/python3", "-c", text]
    else:
        cmd = ["bash", "-euo", "pipefail", "-c", text]
    return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)


def main(argv):
    ci = argv[:1] == ["--ci"]
    if ci:
        argv = argv[1:]
    if len(argv) != 2:
        sys.exit(__doc__)
    source, build = (os.path.abspath(a) for a in argv)   # the scratch links need absolute targets
    readme = os.path.join(source, "README.md")
    tests = open(os.path.join(source, "tests", "meson.build"), encoding="utf-8").read()
    ci_run = open(os.path.join(source, ".ci", "run"), encoding="utf-8").read().split("\n")
    failures, ran, skipped = [], 0, 0
    found = blocks(readme)
    for line, lang, mark, text in found:
        where = f"README.md:{line}"
        if mark is None:
            failures.append(f"{where}: a ```{lang} block without a <!-- check: ... --> marker")
            continue
        if mark == "no":
            if lang in COMMAND_LANGS:
                failures.append(f"{where}: a ```{lang} block marked 'no': commands are run")
            continue
        if lang not in COMMAND_LANGS:
            failures.append(f"{where}: marker '{mark}' on a ```{lang} block (sh, bash or "
                            "python run; text and c take 'no')")
            continue
        if mark.startswith("test "):
            name = mark[5:]
            if not re.search(r"test\(\s*'" + re.escape(name) + "'", tests):
                failures.append(f"{where}: names the test '{name}', which tests/meson.build "
                                "does not define")
            continue
        if mark == "ci-step":
            missing = [c for c in commands(text) if c not in (l.strip() for l in ci_run)]
            for c in missing:
                failures.append(f"{where}: .ci/run does not run `{c}`")
            continue
        if (mark in ("ci", "ci-fresh")) != ci:
            continue
        print(f"--- {where} ({lang}, {mark})", flush=True)
        # Removed after the block: a ci-fresh block leaves a whole build in it.
        with tempfile.TemporaryDirectory(prefix="readme_check-") as cwd:
            scratch(cwd, source, None if mark == "ci-fresh" else build)
            p = run_block(lang, text, cwd)
        sys.stdout.write(p.stdout[-4000:])
        if p.returncode != 0 and "No module named 'torch'" in p.stdout:
            print(f"SKIP {where}: PyTorch is not installed")
            skipped += 1
        elif p.returncode != 0:
            failures.append(f"{where}: exit {p.returncode}")
        else:
            ran += 1
    for f in failures:
        print("FAIL", f)
    print(f"readme_check{' --ci' if ci else ''}: {len(found)} blocks, {ran} run, "
          f"{skipped} skipped, {len(failures)} failures")
    if failures:
        return 1
    return 77 if skipped and not ran else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
