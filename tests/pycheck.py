"""The Python checks' way of failing: each check prints ok or FAIL and carries on, so one
run shows every failure; finish() prints the count and exits 1 if there was any."""
import sys

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)
    return ok


def finish():
    print(f"{len(failures)} failure(s)")
    sys.exit(1 if failures else 0)
