#!/usr/bin/python3
"""Compares two runs of the benchmarks (two CSVs, or two folders of CSVs), or checks one.

Two runs, BASELINE and CANDIDATE: rows are matched on their configuration key
(bench, impl, model, batch, freeze_spec, threads, phase, ranks), never on their order: a
row of a data-parallel run on 2 MPI ranks is never matched with a one-process row (files
without a ranks column are one process).  Per
matched configuration it prints flop_cut and time_cut of both runs and their difference,
and the time ratio CANDIDATE median / BASELINE median.  A configuration FAILS when
  |flop_cut difference| or |time_cut difference| > --tolerance   (absolute: cuts are
                                                                 fractions of none's value)
  |time ratio - 1| > --time-tolerance                           (relative: 0.05 = 5 %)
Kernel rows have no cuts and are held to the time ratio alone.  Configurations in one run
only are listed, and do not fail the comparison.

One run: the backward phase's |time cut - FLOP cut| of every prefix:K spec against
--tolerance (the goal: the time saved by freezing K layers follows the work saved).

Exit status: 0 every difference within tolerance, 1 some beyond (the table marks them
FAIL), 2 usage error (bad option, unreadable input, no matching configuration, or a run
holding one configuration twice, e.g. a folder of two systems: pick one with --system).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))   # runs.py beside it
import runs  # noqa: E402
from runs import fmt_cut, fmt_time_span, isnan, num, sig, spec_order, times  # noqa: E402


class UsageError(Exception):
    pass


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="compare_runs.py", description=__doc__.split("\n\n")[0],
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("baseline", metavar="BASELINE", help="results CSV or folder of CSVs")
    ap.add_argument("candidate", metavar="CANDIDATE", nargs="?",
                    help="results CSV or folder of CSVs to compare with BASELINE; without "
                         "it, BASELINE's prefix:K gaps are checked")
    ap.add_argument("--tolerance", type=float, default=0.03, metavar="CUT",
                    help="largest absolute difference of a cut (flop_cut, time_cut) between "
                         "the runs, and, with one run, of time cut - FLOP cut (default 0.03)")
    ap.add_argument("--time-tolerance", type=float, metavar="REL",
                    help="largest relative change of a median time, |candidate/baseline - 1| "
                         "(default: --tolerance); a negative value skips the time check")
    ap.add_argument("--system", metavar="SYSTEM_ID",
                    help="only rows of this system (system_id, or make_report.py's derived "
                         "key for schema-1 files) in both runs")
    ap.add_argument("--bench", choices=("freeze_sweep", "kernel_bench"),
                    help="only rows of this bench program")
    ap.add_argument("--failures-only", action="store_true",
                    help="print only the configurations that fail")
    args = ap.parse_args(argv)
    if args.tolerance < 0:
        ap.error("--tolerance must be 0 or more")
    if args.time_tolerance is None:
        args.time_tolerance = args.tolerance
    return args


def load_run(path, args):
    try:
        rows, skipped = runs.load([path])
    except runs.InputError as e:
        raise UsageError(str(e))
    for name, why in skipped:
        print(f"compare_runs: {path}: skipped {name}: {why}", file=sys.stderr)
    if args.system:
        rows = [r for r in rows if r["_system"] == args.system]
    if args.bench:
        rows = [r for r in rows if r["bench"] == args.bench]
    if not rows:
        raise UsageError(f"{path}: no rows" + (f" of system {args.system}" if args.system else ""))
    by_key = {}
    for r in rows:
        k = runs.config_key(r)
        if k in by_key:
            systems = sorted({r["_system"] for r in rows})
            raise UsageError(
                f"{path}: configuration {format_key(k)} appears twice ({by_key[k]['_file']}, "
                f"{r['_file']})" + (f"; systems here: {', '.join(systems)} (use --system)"
                                    if len(systems) > 1 else ""))
        by_key[k] = r
    return by_key


def format_key(k):
    bench, impl, model, batch, spec, threads, phase, ranks = k
    return (f"{bench}/{impl} {model} batch {batch} {spec or '-'} {threads}T"
            + (f" {ranks} ranks" if ranks != "1" else "") + f" {phase}")


def sort_key(k, specs):
    bench, impl, model, batch, spec, threads, phase, ranks = k
    phase_rank = runs.SWEEP_PHASES.index(phase) if phase in runs.SWEEP_PHASES else 9
    return (bench, impl != "freezebench", impl, runs.model_sort_key(model), int(batch),
            int(ranks), int(threads), specs.index(spec) if spec in specs else -1, phase_rank,
            phase)


def print_table(header, body):
    widths = [max(len(str(c)) for c in col) for col in zip(header, *body)]
    for row in [header] + body:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def compare(a, b, args):
    common = set(a) & set(b)
    if not common:
        raise UsageError("no configuration is in both runs (is one a sweep and the other "
                         "a kernel run?)")
    specs = spec_order(k[4] for k in sorted(common) if k[4])
    body, failures = [], 0
    for k in sorted(common, key=lambda k: sort_key(k, specs)):
        ra, rb = a[k], b[k]
        reasons, cells = [], []
        for col in ("flop_cut", "time_cut"):
            ca, cb = num(ra.get(col, "")), num(rb.get(col, ""))
            d = cb - ca
            cells += [fmt_cut(ca), fmt_cut(cb), "" if isnan(d) else f"{d:+.3f}"]
            if not isnan(d) and abs(d) > args.tolerance:
                reasons.append(col)
        ma, mb = num(ra["time_median_s"]), num(rb["time_median_s"])
        ratio = mb / ma if ma > 0 else float("nan")
        if args.time_tolerance >= 0 and not isnan(ratio) and abs(ratio - 1) > args.time_tolerance:
            reasons.append("time")
        failures += bool(reasons)
        if args.failures_only and not reasons:
            continue
        body.append([format_key(k)] + cells
                    + [fmt_time_span(*times(ra)), fmt_time_span(*times(rb)),
                       "" if isnan(ratio) else f"{sig(ratio)}×",
                       "FAIL " + ",".join(reasons) if reasons else "ok"])
    print(f"matched on (bench, impl, model, batch, freeze_spec, threads, phase, ranks): "
          f"{len(common)} configurations in both runs")
    print(f"tolerance: cuts ±{args.tolerance} absolute; time ratio "
          + (f"±{args.time_tolerance} relative" if args.time_tolerance >= 0 else "not checked"))
    print_table(["configuration", "flop_cut A", "B", "diff", "time_cut A", "B", "diff",
                 "time A [min–max]", "time B [min–max]", "B/A", "result"], body)
    for label, only in (("baseline", set(a) - set(b)), ("candidate", set(b) - set(a))):
        if only:
            print(f"only in the {label} ({len(only)}): "
                  + "; ".join(format_key(k) for k in sorted(only)[:10])
                  + (" ..." if len(only) > 10 else ""))
    return failures


def check_gaps(a, args):
    rows = [r for k, r in a.items() if k[0] == "freeze_sweep" and k[6] == "backward"
            and runs.frozen_layers(k[4]) not in (None, 0)]
    if not rows:
        raise UsageError("no backward rows of prefix:K specs to check (give two runs to "
                         "compare them)")
    failures, body = 0, []
    specs = spec_order(r["freeze_spec"] for r in rows)
    for r in sorted(rows, key=lambda r: sort_key(runs.config_key(r), specs)):
        gap = num(r["time_cut"]) - num(r["flop_cut"])
        bad = abs(gap) > args.tolerance
        failures += bad
        if args.failures_only and not bad:
            continue
        body.append([format_key(runs.config_key(r)), fmt_cut(num(r["flop_cut"])),
                     fmt_cut(num(r["time_cut"])), f"{gap:+.3f}", "FAIL" if bad else "ok"])
    print(f"backward time cut - FLOP cut per prefix:K spec, tolerance ±{args.tolerance}")
    print_table(["configuration", "flop_cut", "time_cut", "gap", "result"], body)
    return failures


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        a = load_run(args.baseline, args)
        failures = (compare(a, load_run(args.candidate, args), args) if args.candidate
                    else check_gaps(a, args))
    except UsageError as e:
        print(f"compare_runs: {e}", file=sys.stderr)
        return 2
    print(f"{failures} configuration(s) beyond tolerance" if failures else "all within tolerance")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
