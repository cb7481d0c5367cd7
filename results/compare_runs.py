#!/usr/bin/python3
"""Compares two runs of the benchmarks (two CSVs, or two folders of CSVs) knowing their
noise, or checks one run against the performance goal.

Two runs, BASELINE (A) and CANDIDATE (B).  Rows are matched on their configuration
(bench, impl, model, batch, freeze_spec, threads, phase, ranks), never on their order: a
data-parallel row on 2 MPI ranks is never matched with a one-process row.  Every number
comes from the rows' repetition times (time_samples_s, schema 4); per configuration:

  time      the median of each run's samples with its exact 95 % interval (binomial
            order statistics), and the ratio B/A of the medians with a 95 % percentile
            bootstrap interval (each run resampled on its own, 4000 resamples, seed 1).
  p         two-sided Mann-Whitney U test of A's samples against B's, Holm-corrected
            over every configuration tested (so that comparing a hundred rows does not
            call some of them different by chance alone).
  CHANGED   when the corrected p <= --alpha AND |B/A - 1| > --tolerance: a difference
            both real (not noise) and large enough to matter.  "slower" or "faster"
            says which way.  A significant difference within tolerance is marked
            "small" and does not change the exit status.
  UNSURE    CHANGED, but in a configuration where a run's median interval is wider
            than ±5 % ("noisy A" or "noisy B"): part of that run's repetitions were
            slowed by something else (a neighbour, where its pages landed), so its
            samples are not draws of one distribution and the U test's p means little.
            Shown, not counted, unless --strict.  Measured: two default runs of one
            build gave a 1.57x 'change' this way in a 2-thread optimizer row.
  cut       sweep rows of a spec other than none: each run's time cut
            1 - median(spec)/median(none), recomputed from the samples (never read from
            the file's cut columns), and the difference B - A with a 95 % bootstrap
            interval (the four sample sets resampled independently).  CHANGED when
            the difference is significant AND |difference| > --cut-tolerance:
            significant means a bootstrap p-value (20000 resamples; the level of the
            widest interval that still excludes 0) at most --alpha after Holm's
            correction over all the cuts compared.  Uncorrected 95 % intervals one by
            one called a few of 66 cuts changed in two runs of one build.

Configurations in one run only are listed, and change nothing.  The header names both
runs' system_id and git revisions, with a WARNING when the systems differ (the
difference is then the machines' as well as the code's) or a build was dirty.

Every sample list is checked first.  A row of a compared configuration whose samples are
missing, not numbers, NaN, infinite or not positive, whose count differs from
`repetitions`, or whose min, median or max differ from time_min_s, time_median_s,
time_max_s (a truncated or corrupted list) makes the comparison unusable: exit 2 naming
the file and line.  Schema-3 and older files have no samples, so significance cannot be
tested: exit 2 (rerun the benchmark with the current build).  With fewer than 6 samples
a row has no intervals (n/a), its cut is never CHANGED, and its U test can hardly reach
significance: the output counts such rows.

One run: the goal check.  For every prefix:K spec's backward row, the time cut (from
the samples, with its 95 % bootstrap interval) against the FLOP cut (flop_cut): the
time saved by freezing K layers should follow the work saved.  A row FAILS only when the
FLOP cut lies outside the time cut's interval widened by --cut-tolerance on each side.

Defaults: --alpha 0.05, --tolerance 0.10, --cut-tolerance 0.05.

Exit status: 0 no change (or every goal met), 1 some configuration CHANGED (or FAILS
the goal), 2 usage error or unusable input (bad option, unreadable file, a damaged
file: bytes that are not UTF-8, a row of too few or too many fields, a number column
holding something else, each named by file and line; no samples, a faulty sample list,
no configuration in both runs, or a run holding one configuration twice, e.g. a folder
of two systems: pick one with --system).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))   # runs.py, stats.py beside it
import runs  # noqa: E402
import stats  # noqa: E402
from runs import fmt_time_span, num  # noqa: E402

# The defaults, in one place: the lead calibrates TIME_TOLERANCE on real A/A pairs (two
# runs of one build on one machine), which on shared VMs differ by several percent.
ALPHA = 0.05            # family-wise false-call rate of the U tests (Holm)
TIME_TOLERANCE = 0.10   # |B/A - 1| a significant time change must exceed to count
CUT_TOLERANCE = 0.05    # |cut B - cut A| (absolute fraction) a cut change must exceed
MEDIAN_RTOL = 1e-12     # samples' median vs time_median_s: the same double, bar rounding


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
                         "it, BASELINE's prefix:K time cuts are checked against the FLOP cuts")
    ap.add_argument("--alpha", type=float, default=ALPHA,
                    help=f"significance level of the Holm-corrected U tests (default {ALPHA})")
    ap.add_argument("--tolerance", type=float, default=TIME_TOLERANCE, metavar="REL",
                    help="smallest relative time change |B/A - 1| that counts "
                         f"(default {TIME_TOLERANCE})")
    ap.add_argument("--cut-tolerance", type=float, default=CUT_TOLERANCE, metavar="CUT",
                    help="smallest absolute change of a time cut that counts, and the "
                         "goal check's margin around the time cut's interval "
                         f"(default {CUT_TOLERANCE})")
    ap.add_argument("--system", metavar="SYSTEM_ID",
                    help="only rows of this system (system_id, or make_report.py's derived "
                         "key where it is empty) in both runs")
    ap.add_argument("--bench", choices=("freeze_sweep", "kernel_bench"),
                    help="only rows of this bench program")
    ap.add_argument("--strict", action="store_true",
                    help="count an UNSURE configuration (a change seen where a run's median "
                         "interval is wider than ±5%%) as CHANGED")
    ap.add_argument("--changes-only", "--failures-only", dest="changes_only",
                    action="store_true", help="print only the configurations that changed "
                                              "(or fail the goal)")
    args = ap.parse_args(argv)
    if not 0 < args.alpha < 1:
        ap.error("--alpha must lie between 0 and 1")
    if args.tolerance < 0 or args.cut_tolerance < 0:
        ap.error("--tolerance and --cut-tolerance must be 0 or more")
    return args


# ---- reading a run --------------------------------------------------------------------

class Run:
    """One run's rows by configuration key, and what the header says about it."""

    def __init__(self, path, by_key):
        self.path, self.by_key = path, by_key

    def values(self, column):
        return sorted({r.get(column) or "?" for r in self.by_key.values()})


def load_run(path, args):
    try:
        rows, skipped = runs.load([path])
    except runs.InputError as e:
        raise UsageError(str(e))
    for name, why in skipped:
        # runs.load skips a file whose sample list does not parse; in a folder the others
        # would then be compared without it, and its configurations pass unseen.
        if "time_samples_s" in why:
            raise UsageError(f"{path}: {name}: {why}")
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
    return Run(path, by_key)


def where(r):
    return f"{r['_path']} line {r['_line']} ({format_key(runs.config_key(r))})"


def samples(r):
    """The row's samples, checked against its own summary columns; UsageError (exit 2)
    for anything a comparison cannot trust."""
    if int(r["_schema"]) < 4 or "time_samples_s" not in r:
        raise UsageError(
            f"{r['_path']} is schema {r['_schema']}: it has no repetition samples "
            "(time_samples_s), so significance cannot be tested; rerun the benchmark "
            "with the current build (schema 4)")
    try:
        xs = stats.parse_samples(r["time_samples_s"])
    except ValueError as e:
        raise UsageError(f"{where(r)}: time_samples_s: {e}")
    if not xs:
        raise UsageError(f"{where(r)}: time_samples_s is empty")
    try:
        reps = int(r.get("repetitions") or "")
    except ValueError:
        raise UsageError(f"{where(r)}: repetitions {r.get('repetitions')!r} is not a count")
    if len(xs) != reps:
        raise UsageError(f"{where(r)}: {len(xs)} samples, but repetitions is {reps} "
                         "(a truncated list?)")
    for column, value in (("time_median_s", stats.median(xs)), ("time_min_s", min(xs)),
                          ("time_max_s", max(xs))):
        written = num(r.get(column, ""))
        if not abs(value - written) <= MEDIAN_RTOL * value:     # NaN fails too
            raise UsageError(f"{where(r)}: the samples' {column[5:-2]} is {value!r}, but "
                             f"{column} is {r.get(column)!r} (a truncated or altered list?)")
    return xs


def none_key(k):
    """The key of spec none's row with the same model, batch, threads, phase, ranks."""
    return k[:4] + ("none",) + k[5:]


def has_cut(k):
    return k[0] == "freeze_sweep" and k[4] not in ("", "none")


# ---- output ---------------------------------------------------------------------------

def format_key(k):
    bench, impl, model, batch, spec, threads, phase, ranks = k
    return (f"{bench}/{impl} {model} batch {batch} {spec or '-'} {threads}T"
            + (f" {ranks} ranks" if ranks != "1" else "") + f" {phase}")


def sort_key(k, specs):
    """specs: runs.spec_positions of the specs compared."""
    bench, impl, model, batch, spec, threads, phase, ranks = k
    phase_rank = runs.SWEEP_PHASES.index(phase) if phase in runs.SWEEP_PHASES else 9
    return (bench, impl != "freezebench", impl, runs.model_sort_key(model), int(batch),
            int(ranks), int(threads), specs.get(spec, -1), phase_rank, phase)


def print_table(header, body):
    widths = [max(len(str(c)) for c in col) for col in zip(header, *body)]
    for row in [header] + body:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def fmt_median(xs):
    ci = stats.median_ci(xs)
    med = stats.median(xs)
    text = fmt_time_span(med, *(ci or (float("nan"), float("nan"))))
    return text if ci else text + " [n/a]"


def noisy_run(xs):
    """Whether a run's samples of one configuration are too spread to trust: the median's
    interval wider than ±5% (stats.too_wide_time), with enough samples to tell."""
    ci = stats.median_ci(xs)
    return ci is not None and stats.too_wide_time(ci[0], ci[1], stats.median(xs))


def fmt_p(p):
    return f"{p:.2g}" if p >= 0.001 else "<0.001"


def print_header(a, b):
    for label, run in (("baseline ", a), ("candidate", b)):
        if run is None:
            continue
        print(f"{label} {run.path}: system {', '.join(run.values('_system'))}; "
              f"revision {', '.join(run.values('git_revision'))}; "
              f"schema {', '.join(run.values('_schema'))}")
    if b is not None and a.values("_system") != b.values("_system"):
        print(f"WARNING: the runs come from different systems ({', '.join(a.values('_system'))}"
              f" vs {', '.join(b.values('_system'))}): their differences are the machines' "
              "as well as the code's")
    for label, run in (("baseline", a), ("candidate", b)):
        dirty = sorted({r["git_revision"] for r in (run.by_key.values() if run else [])
                        if runs.is_dirty(r)})
        if dirty:
            print(f"WARNING: the {label} was built from a dirty tree ({', '.join(dirty)}): "
                  "its code is no commit")


# ---- two runs -------------------------------------------------------------------------

def compare(a, b, args):
    common = set(a.by_key) & set(b.by_key)
    if not common:
        raise UsageError("no configuration is in both runs (is one a sweep and the other "
                         "a kernel run?)")
    # Every sample list first: a faulty one ends the comparison before any verdict.
    specs = runs.spec_positions(k[4] for k in sorted(common) if k[4])
    keys = sorted(common, key=lambda k: sort_key(k, specs))
    xa = {k: samples(a.by_key[k]) for k in keys}
    xb = {k: samples(b.by_key[k]) for k in keys}
    adjusted = dict(zip(keys, stats.holm([stats.mann_whitney_p(xa[k], xb[k]) for k in keys])))
    # The cuts are a family of their own, Holm-corrected like the times: a run has dozens,
    # and all of a model's share that run's `none` samples, so one slow `none` repetition
    # would move many at once.
    cut_keys = [k for k in keys if has_cut(k) and none_key(k) in common]
    cut_adjusted = dict(zip(cut_keys, stats.holm([
        stats.cut_diff_p(xa[k], xa[none_key(k)], xb[k], xb[none_key(k)]) for k in cut_keys])))

    body, changed, small, noisy = [], 0, 0, 0
    for k in keys:
        ratio, lo, hi = stats.ratio_ci(xb[k], xa[k])
        significant = adjusted[k] <= args.alpha
        verdicts = []
        if significant and abs(ratio - 1) > args.tolerance:
            verdicts.append("CHANGED " + ("slower" if ratio > 1 else "faster"))
        elif significant:
            verdicts.append("small")
        cut_text = diff_text = ""
        nk = none_key(k)
        if has_cut(k) and nk in common:
            ca, cb = stats.cut_ci(xa[k], xa[nk]), stats.cut_ci(xb[k], xb[nk])
            cut_text = (f"{stats.fmt_interval(*ca, percent=True)} -> "
                        f"{stats.fmt_interval(*cb, percent=True)}")
            d, dlo, dhi = stats.cut_diff_ci(xa[k], xa[nk], xb[k], xb[nk])
            diff_text = stats.fmt_interval(d, dlo, dhi, percent=True).replace("%", " pts", 1)
            if cut_adjusted[k] <= args.alpha and abs(d) > args.cut_tolerance:
                verdicts.append(f"CHANGED cut {100 * d:+.1f} pts")
        is_changed = any(v.startswith("CHANGED") for v in verdicts)
        # A run too noisy to trust in this row (part of its repetitions slowed by a
        # neighbour, by where its pages landed) differs 'significantly' from a quiet one
        # while measuring nothing about the code: the U test assumes each run's samples
        # are draws of one distribution, and that run's are two.  Such a change is
        # UNSURE, shown but not failing unless --strict: two default runs of one build
        # came out CHANGED that way in a row whose other run was tight.
        wide = [side for side, x in (("A", xa[k]), ("B", xb[k])) if noisy_run(x)]
        if is_changed and wide:
            verdicts = [v.replace("CHANGED", "UNSURE", 1) for v in verdicts]
            verdicts.append(f"noisy {'+'.join(wide)}")
            noisy += 1
            is_changed = args.strict
        changed += is_changed
        small += verdicts == ["small"]
        unsure = any(v.startswith("UNSURE") for v in verdicts)
        if args.changes_only and not (is_changed or unsure):
            continue
        body.append([format_key(k), fmt_median(xa[k]), fmt_median(xb[k]),
                     stats.fmt_interval(ratio, lo, hi), fmt_p(adjusted[k]), cut_text,
                     diff_text, ", ".join(verdicts) or "ok"])

    print(f"matched on (bench, impl, model, batch, freeze_spec, threads, phase, ranks): "
          f"{len(common)} configurations in both runs")
    print(f"CHANGED: Holm-corrected U test p <= {args.alpha} and |B/A - 1| > {args.tolerance}; "
          f"or a cut moved by more than {args.cut_tolerance} with Holm-corrected bootstrap "
          f"p <= {args.alpha} (intervals 95 %)")
    print_table(["configuration", "A median [95% CI]", "B median [95% CI]", "B/A [95% CI]",
                 "p (Holm)", "time cut A -> B", "cut B-A [95% CI]", "result"], body)
    for label, only in (("baseline", set(a.by_key) - set(b.by_key)),
                        ("candidate", set(b.by_key) - set(a.by_key))):
        if only:
            print(f"only in the {label} ({len(only)}): "
                  + "; ".join(format_key(k) for k in sorted(only)[:10])
                  + (" ..." if len(only) > 10 else ""))
    few = sum(min(len(xa[k]), len(xb[k])) < stats.MIN_SAMPLES for k in keys)
    if few:
        print(f"{few} configuration(s) with fewer than {stats.MIN_SAMPLES} samples in a run: "
              "no intervals, hardly any power (rerun with more --repetitions)")
    if small:
        print(f"{small} configuration(s) differ significantly but within tolerance (small)")
    if noisy:
        print(f"{noisy} configuration(s) UNSURE: significant and beyond tolerance, but a run's "
              "median interval is wider than ±5% (noisy A or B); rerun on a quieter machine "
              + ("(counted as CHANGED: --strict)" if args.strict
                 else "(not counted as changed; --strict counts them)"))
    print(f"{changed} configuration(s) CHANGED" if changed
          else "no significant change beyond tolerance")
    return changed


# ---- one run: the goal ----------------------------------------------------------------

def check_gaps(a, args):
    keys = [k for k in a.by_key if k[0] == "freeze_sweep" and k[6] == "backward"
            and runs.frozen_layers(k[4]) not in (None, 0) and none_key(k) in a.by_key]
    if not keys:
        raise UsageError("no backward rows of prefix:K specs with their none row to check "
                         "(give two runs to compare them)")
    specs = runs.spec_positions(k[4] for k in keys)
    keys.sort(key=lambda k: sort_key(k, specs))
    xs = {k: samples(a.by_key[k]) for k in keys + [none_key(k) for k in keys]}
    failures, body = 0, []
    for k in keys:
        cut, lo, hi = stats.cut_ci(xs[k], xs[none_key(k)])
        flop = num(a.by_key[k]["flop_cut"])
        # Without an interval (< 6 samples) the point stands for it.
        lo_, hi_ = (cut, cut) if lo is None else (lo, hi)
        bad = not (lo_ - args.cut_tolerance <= flop <= hi_ + args.cut_tolerance)
        failures += bad
        if args.changes_only and not bad:
            continue
        body.append([format_key(k), "n/a" if flop != flop else f"{100 * flop:.1f}%",
                     stats.fmt_interval(cut, lo, hi, percent=True),
                     f"{100 * (cut - flop):+.1f} pts", "FAIL" if bad else "ok"])
    print(f"backward time cut [95% CI] against the FLOP cut per prefix:K spec; FAIL when the "
          f"FLOP cut lies outside the interval widened by ±{args.cut_tolerance}")
    print_table(["configuration", "flop cut", "time cut [95% CI]", "time - flop", "result"],
                body)
    print(f"{failures} configuration(s) FAIL the goal" if failures else "every goal met")
    return failures


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        a = load_run(args.baseline, args)
        b = load_run(args.candidate, args) if args.candidate else None
        print_header(a, b)
        bad = compare(a, b, args) if b else check_gaps(a, args)
    except UsageError as e:
        print(f"compare_runs: {e}", file=sys.stderr)
        return 2
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
