"""The shared library's dynamic symbols are exactly the API: every defined symbol is an
fz_ function declared FZ_API in freezebench.h, and every such declaration is exported.

Also: the configured version header carries meson's project version.

Usage: check_exports.py LIBRARY HEADER VERSION_HEADER PROJECT_VERSION"""
import re
import subprocess
import sys

library, header, version_header, version = sys.argv[1:5]
declared = set(re.findall(r"^FZ_API\b[^(;]*?\b(fz_\w+)\s*\(", open(header).read(), re.M))
nm = subprocess.run(["nm", "-D", "--defined-only", library], capture_output=True, text=True,
                    check=True)
exported = {line.split()[-1] for line in nm.stdout.splitlines() if line.strip()}
problems = [f"exported but not API: {s}" for s in sorted(exported - declared)]
problems += [f"declared FZ_API but not exported: {s}" for s in sorted(declared - exported)]
macros = dict(re.findall(r"^#define (FZ_VERSION_\w+) (\S+)", open(version_header).read(), re.M))
want = dict(zip(("FZ_VERSION_MAJOR", "FZ_VERSION_MINOR", "FZ_VERSION_PATCH"), version.split(".")))
want["FZ_VERSION_STRING"] = f'"{version}"'
problems += [f"{k} is {macros.get(k)}, not {v}" for k, v in want.items() if macros.get(k) != v]
if not declared:
    problems.append(f"no FZ_API declarations found in {header}")
for p in problems:
    print(p, file=sys.stderr)
print(f"{len(exported)} exported, {len(declared)} declared")
sys.exit(1 if problems else 0)
