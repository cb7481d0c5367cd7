"""A shared library's dynamic symbols are exactly its API: every defined symbol is an fz_
function declared FZ_API in its public header, and every such declaration is exported.

libfreezebench.so (--core) also exports, and may export only, the extension symbols
below: internal functions libfreezebench-dp calls so that it need not carry a second copy
of the core (src/core/extension.h).  They are listed here by hand, so a new one is a
visible change; --core also checks the list against the FZ_DP_EXTENSION declarations in
the internal headers under SOURCE_DIR, and that the configured version header carries
meson's project version.

Usage: check_exports.py --core SOURCE_DIR LIBRARY HEADER VERSION_HEADER PROJECT_VERSION
       check_exports.py LIBRARY HEADER          (libfreezebench-dp and freezebench_dp.h)"""
import pathlib
import re
import subprocess
import sys

# For libfreezebench-dp alone; no stability promise (DESIGN.md section 1, "Packaging").
EXTENSIONS = {
    "fz_ext_set_error",                  # error.h: the thread-local last error
    "fz_ext_plan_staged_size",           # plan.h: which gradients go staged
    "fz_ext_trainer_set_hooks",          # trainer_hooks.h: the step's gradient buckets
    "fz_ext_trainer_plan_summary_get",   # trainer_hooks.h: fingerprint, gradient floats
}

args = sys.argv[1:]
core = args[:1] == ["--core"]
if core:
    source_dir, library, header, version_header, version = args[1:6]
else:
    library, header = args[:2]
declared = set(re.findall(r"^FZ_API\b[^(;]*?\b(fz_\w+)\s*\(", open(header).read(), re.M))
nm = subprocess.run(["nm", "-D", "--defined-only", library], capture_output=True, text=True,
                    check=True)
exported = {line.split()[-1] for line in nm.stdout.splitlines() if line.strip()}
allowed = declared | (EXTENSIONS if core else set())
problems = [f"exported but not API: {s}" for s in sorted(exported - allowed)]
problems += [f"declared FZ_API but not exported: {s}" for s in sorted(declared - exported)]
if not declared:
    problems.append(f"no FZ_API declarations found in {header}")
if core:
    problems += [f"extension symbol not exported: {s}" for s in sorted(EXTENSIONS - exported)]
    # Each extension is declared `#define name fz_ext_name` then FZ_DP_EXTENSION ... name(.
    marked = set()
    for h in pathlib.Path(source_dir, "src").rglob("*.h"):
        text = h.read_text()
        renames = dict(re.findall(r"^#define (\w+) (fz_ext_\w+)\b", text, re.M))
        for name in re.findall(r"^FZ_DP_EXTENSION\b[^(;]*?\b(\w+)\s*\(", text, re.M):
            if name not in renames:
                problems.append(f"{h}: FZ_DP_EXTENSION {name} has no fz_ext_ rename")
            marked.add(renames.get(name, name))
    problems += [f"FZ_DP_EXTENSION but not in EXTENSIONS: {s}" for s in sorted(marked - EXTENSIONS)]
    problems += [f"in EXTENSIONS but not marked FZ_DP_EXTENSION: {s}"
                 for s in sorted(EXTENSIONS - marked)]
    macros = dict(re.findall(r"^#define (FZ_VERSION_\w+) (\S+)", open(version_header).read(),
                             re.M))
    want = dict(zip(("FZ_VERSION_MAJOR", "FZ_VERSION_MINOR", "FZ_VERSION_PATCH"),
                    version.split(".")))
    want["FZ_VERSION_STRING"] = f'"{version}"'
    problems += [f"{k} is {macros.get(k)}, not {v}" for k, v in want.items()
                 if macros.get(k) != v]
for p in problems:
    print(p, file=sys.stderr)
print(f"{len(exported)} exported, {len(declared)} declared"
      + (f", {len(EXTENSIONS)} extension symbols" if core else ""))
sys.exit(1 if problems else 0)
