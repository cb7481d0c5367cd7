#!/usr/bin/python3
"""Builds REPORT.md and its plots from results CSVs (schema 1 to 3, results/README.md).

One section per system: a schema-2 row names its system (`system_id`); a schema-1 row does
not, and its system is told apart by host, CPU model, arch, cache sizes and core count (so
two machines with the same CPU model stay two sections).  Per system: the freeze sweep
(phase times with their min–max, FLOP and time cuts against spec `none`), the speed-up of
N threads over 1 with warnings, freezebench against PyTorch, the kernels; and, with more
than one system, the same configurations side by side across systems.  The PNGs are named
by system: sweep-<system>.png, gemm-<system>.png (results/plots.py says what they draw).
"""
import argparse
import os
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))   # runs.py, plots.py beside it
import runs  # noqa: E402
from runs import (SWEEP_PHASES, fmt_bytes, fmt_count, fmt_cut, fmt_flop,  # noqa: E402
                  fmt_ratio, fmt_slower, fmt_time, fmt_time_span, isnan, model_sort_key, num,
                  sig, spec_order, spread, times)

HERE = os.path.dirname(os.path.abspath(__file__))
LISTED_WARNINGS = 12      # the rest of a long warning list is counted, not listed


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="make_report.py", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  /usr/bin/python3 results/make_report.py\n"
               "  /usr/bin/python3 results/make_report.py runA/ runB/x.csv -o /tmp/R.md\n"
               "Exit status: 0 report written, 1 no readable results, 2 usage error.")
    ap.add_argument("inputs", nargs="*", metavar="CSV_OR_FOLDER",
                    help="results CSV files, or folders whose *.csv are read "
                         "(default: the folder of this script, results/)")
    ap.add_argument("-o", "--output", metavar="REPORT.md",
                    help="report to write (default: REPORT.md in the first folder given, or "
                         "in the folder of the first file)")
    ap.add_argument("--plots-dir", metavar="DIR",
                    help="where the PNGs go (default: the report's folder); the report links "
                         "them by relative path")
    ap.add_argument("--no-plots", action="store_true", help="write the tables only")
    ap.add_argument("--noise", type=float, default=1.5, metavar="RATIO",
                    help="a row is flagged noisy when its slowest repetition took more than "
                         "RATIO times its fastest (default 1.5)")
    ap.add_argument("--reference", metavar="SYSTEM_ID",
                    help="system the CPU-vs-CPU table divides by (default: the first system "
                         "in sorted order)")
    args = ap.parse_args(argv)
    if args.noise <= 1:
        ap.error("--noise must be above 1 (a max/min ratio)")
    if not args.inputs:
        args.inputs = [HERE]
    if args.output is None:
        first = args.inputs[0]
        folder = first if os.path.isdir(first) else os.path.dirname(os.path.abspath(first))
        args.output = os.path.join(folder, "REPORT.md")
    if args.plots_dir is None:
        args.plots_dir = os.path.dirname(os.path.abspath(args.output))
    return args


def table(header, rows):
    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def plural(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"


def sweep_rows(rows):
    return [r for r in rows if r["bench"] == "freeze_sweep"]


def by_config(rows):
    return {runs.config_key(r): r for r in rows}


def overlap(a, b):
    """The two rows' min–max intervals overlap: their difference may be noise."""
    _, alo, ahi = times(a)
    _, blo, bhi = times(b)
    return alo <= bhi and blo <= ahi


# ---- the system's description ---------------------------------------------------------

def describe_system(sid, srows):
    first = srows[0]
    described = [r for r in srows if r["_described"]]
    d = described[0] if described else first
    caches = "/".join(fmt_bytes(num(d.get(c, ""))) for c in ("l1d_bytes", "l2_bytes", "l3_bytes"))
    fields = [("CPU", d["cpu_model"]), ("arch", d.get("arch", "")), ("cores", d.get("cores", "")),
              ("L1d / L2 / L3", caches), ("host", d.get("host", ""))]
    if described:
        for c in runs.SYSTEM_COLUMNS:
            v = d.get(c, "")
            if c == "memory_bytes":
                v = fmt_bytes(num(v)) if v not in ("", "NA") else v
            fields.append((c, v))
    out = table(["", ""], [(k, f"`{v}`" if v else "") for k, v in fields])[2:]
    out = ["| machine | |", "|---|---|"] + out + [""]
    old = sorted({r["_file"] for r in srows if not r["_described"] and r["_schema"] == "1"})
    if old:
        out += [f"Schema-1 file{'s' if len(old) > 1 else ''} {', '.join(f'`{f}`' for f in old)} "
                "predate the system description (schema 2: `system_id`, `uarch`, `hypervisor`, "
                "`peak_isa`, ...): this system's key is derived from host, CPU model, arch, "
                "cache sizes and core count, and its FMA peak was probed with AVX2 on x86.", ""]
    unnamed = sorted({r["_file"] for r in srows if not r["_described"] and r["_schema"] != "1"})
    if unnamed:
        out += [f"{', '.join(f'`{f}`' for f in unnamed)}: `system_id` empty; the system's key "
                "is derived from host, CPU model, arch, cache sizes and core count.", ""]
    for f in sorted({r["_file"] for r in srows}):
        r = next(r for r in srows if r["_file"] == f)
        line = (f'`{f}` (schema {r["_schema"]}): {r["impl"]} ({r["isa"]}), {r["compiler"]}, '
                f'revision `{r["git_revision"]}`, measured {r["utc_time"]}.')
        # The PyTorch script has no probes: its limits, if any, come from a freeze_sweep or
        # kernel_bench CSV of the same system, listed here already.
        if r["impl"] != "pytorch" and not isnan(num(r.get("peak_gflops", ""))):
            per_core = num(r["peak_gflops"])
            if r["bench"] == "freeze_sweep" or r["phase"].startswith("sgemm"):
                per_core /= max(1, int(r["threads"]))
            line += (f"  Limits measured: FMA peak {sig(per_core)} GFLOP/s per core, streaming "
                     f"triad {sig(num(r['bandwidth_gbytes_per_s']))} GB/s (one thread).")
        out += ["- " + line]
    return out + [""]


# ---- warnings -------------------------------------------------------------------------

def thread_pairs(rows):
    """(row at 1 thread, row at N > 1 threads) of the same configuration otherwise."""
    one, many = {}, []
    for r in rows:
        k = runs.config_key(r)
        if int(r["threads"]) == 1:
            one[k[:5] + k[6:]] = r
        else:
            many.append(r)
    for r in many:
        k = runs.config_key(r)
        base = one.get(k[:5] + k[6:])
        if base is not None:
            yield base, r


def slower_with_threads(rows):
    """Pairs whose N-thread row is slower, those beyond the min–max ranges first, then
    by how much."""
    slow = [(a, b) for a, b in thread_pairs(rows)
            if num(b["time_median_s"]) > num(a["time_median_s"])]
    return sorted(slow, key=lambda p: (overlap(*p),
                                       -num(p[1]["time_median_s"]) / num(p[0]["time_median_s"])))


def noisy(rows, limit):
    return [r for r in rows if spread(r) > limit]


def impl_label(impl, ranks):
    """The implementation, with the MPI ranks of a data-parallel row (never mixed with a
    one-process row: ranks is part of every configuration key)."""
    return impl if str(ranks) == "1" else f"{impl} ×{ranks} ranks"


def describe_row(r):
    if r["bench"] != "freeze_sweep":
        return f'{r["impl"]} {r["phase"]} {r["model"]}'
    return (f'{impl_label(r["impl"], r["ranks"])} {r["model"]} batch {r["batch"]} '
            f'`{r["freeze_spec"]}` {r["phase"]}')


def warnings(srows, limit):
    out = []
    slow = slower_with_threads(srows)
    if slow:
        items = [f'{describe_row(b)}: {b["threads"]} threads '
                 f'{fmt_slower(num(a["time_median_s"]), num(b["time_median_s"]))} than 1 '
                 f'({fmt_time(num(b["time_median_s"]))} vs {fmt_time(num(a["time_median_s"]))})'
                 + (", within the min–max ranges" if overlap(a, b) else "") for a, b in slow]
        beyond = sum(not overlap(a, b) for a, b in slow)
        out += [f"> ⚠ **Slower with more threads** in {plural(len(slow), 'row')} ({beyond} beyond "
                "the min–max ranges of the two rows): a noisy neighbour, or work too small to "
                "split.", ">"]
        out += [f"> - {i}" for i in items[:LISTED_WARNINGS]]
        if len(items) > LISTED_WARNINGS:
            out += [f"> - ... and {len(items) - LISTED_WARNINGS} more (threads table below)"]
        out += [""]
    loud = noisy(srows, limit)
    if loud:
        items = [f'{describe_row(r)}, {plural(int(r["threads"]), "thread")}: max/min '
                 f'{sig(spread(r))}×'
                 for r in sorted(loud, key=spread, reverse=True)]
        out += [f"> ⚠ **Noisy** ({plural(len(loud), 'row')} whose slowest repetition took over "
                f"{sig(limit)}× the fastest): re-measure on an idle machine before trusting them.",
                ">"]
        out += [f"> - {i}" for i in items[:LISTED_WARNINGS]]
        if len(items) > LISTED_WARNINGS:
            out += [f"> - ... and {len(items) - LISTED_WARNINGS} more"]
        out += [""]
    return out


# ---- tables ---------------------------------------------------------------------------

def sweep_tables(srows, limit):
    sweep = sweep_rows(srows)
    configs = by_config(sweep)
    groups = defaultdict(set)
    for r in sweep:
        groups[(r["model"], int(r["batch"]))].add((r["impl"], int(r["ranks"]), int(r["threads"]),
                                                   r["freeze_spec"]))
    out = []
    for model, batch in sorted(groups, key=lambda k: (model_sort_key(k[0]), k[1])):
        specs = spec_order(r["freeze_spec"] for r in sweep if r["model"] == model)
        body = []
        for impl, ranks, threads, spec in sorted(groups[(model, batch)],
                                                 key=lambda t: (t[0] != "freezebench", t[0], t[1],
                                                                t[2], specs.index(t[3]))):
            ph = {p: configs.get(("freeze_sweep", impl, model, str(batch), spec, str(threads), p,
                                  str(ranks)))
                  for p in SWEEP_PHASES}
            b, s = ph["backward"], ph["step"]
            if b is None:
                continue
            flag = " ⚠" if any(r is not None and spread(r) > limit for r in ph.values()) else ""
            body.append([
                impl_label(impl, ranks), threads, f"`{spec}`", fmt_count(b["trainable_params"]),
                fmt_flop(num(b["flops_planned"])), fmt_cut(num(b["flop_cut"])),
                fmt_time(num(ph["forward"]["time_median_s"])) if ph["forward"] else "",
                fmt_time_span(*times(b)), fmt_cut(num(b["time_cut"])),
                fmt_cut(num(b["time_cut"]) - num(b["flop_cut"])),
                fmt_time(num(ph["optimizer"]["time_median_s"])) if ph["optimizer"] else "",
                fmt_time_span(*times(s)) + flag if s else flag,
                fmt_cut(num(s["time_cut"])) if s else "",
                fmt_bytes(num(b["activation_bytes"]))])
        out += [f"#### Model {model}, batch {batch}", ""]
        out += table(["impl", "threads", "spec", "trainable", "bwd FLOP", "FLOP cut", "forward",
                      "backward [min–max]", "bwd time cut", "gap", "optimizer",
                      "step [min–max]", "step time cut", "activations"], body) + [""]
    return out


def threads_table(srows, limit):
    pairs = list(thread_pairs(sweep_rows(srows)))
    if not pairs:
        return []
    cells = {}
    for a, b in pairs:
        k = (impl_label(b["impl"], b["ranks"]), b["model"], int(b["batch"]), b["freeze_spec"],
             int(b["threads"]))
        t1, tn = num(a["time_median_s"]), num(b["time_median_s"])
        text = fmt_ratio(t1 / tn)
        if tn > t1:
            text = f"⚠ {fmt_slower(t1, tn)}" + (" (overlap)" if overlap(a, b) else "")
        if spread(a) > limit or spread(b) > limit:
            text += " ⚠ noisy"
        cells.setdefault(k, {})[b["phase"]] = text
    specs = spec_order(r["freeze_spec"] for r in sweep_rows(srows))
    body = [[impl, model, batch, f"`{spec}`", n] + [c.get(p, "") for p in SWEEP_PHASES]
            for (impl, model, batch, spec, n), c in sorted(
                cells.items(), key=lambda kv: (kv[0][0] != "freezebench", kv[0][0],
                                               model_sort_key(kv[0][1]), kv[0][2], kv[0][4],
                                               specs.index(kv[0][3])))]
    return (["Speed-up = median time on 1 thread / median time on N threads (above 1: N threads "
             "are faster).  ⚠ slower: N threads took longer than 1; (overlap): the two rows' "
             "min–max ranges overlap, so the difference may be noise; ⚠ noisy: a row's max/min "
             f"exceeds {sig(limit)}×.", ""]
            + table(["impl", "model", "batch", "spec", "threads N"]
                    + [f"{p} speed-up" for p in SWEEP_PHASES], body) + [""])


def versus_table(srows):
    """freezebench against PyTorch on the same model, batch, threads, spec and phase, in one
    process (PyTorch rows are; a data-parallel row has no PyTorch twin)."""
    sweep = [r for r in sweep_rows(srows) if r["ranks"] == "1"]
    t = defaultdict(dict)
    for r in sweep:
        t[(r["model"], int(r["batch"]), int(r["threads"]), r["freeze_spec"])][(r["impl"], r["phase"])] = r
    keys = [k for k, v in t.items()
            if any(("freezebench", p) in v and ("pytorch", p) in v for p in SWEEP_PHASES)]
    if not keys:
        return []
    specs = spec_order(r["freeze_spec"] for r in sweep)
    body = []
    for k in sorted(keys, key=lambda k: (model_sort_key(k[0]), k[1], k[2], specs.index(k[3]))):
        v = t[k]
        row = [k[0], k[1], k[2], f"`{k[3]}`"]
        for p in SWEEP_PHASES:
            fb, pt = v.get(("freezebench", p)), v.get(("pytorch", p))
            if fb is None or pt is None:
                row.append("")
                continue
            ratio = num(pt["time_median_s"]) / num(fb["time_median_s"])
            row.append(fmt_ratio(ratio) + (" ≈" if overlap(fb, pt) else ""))
        fs, ps = v.get(("freezebench", "step")), v.get(("pytorch", "step"))
        row += [fmt_time_span(*times(fs)) if fs else "", fmt_time_span(*times(ps)) if ps else ""]
        body.append(row)
    return (["Time ratio = PyTorch median / freezebench median, per phase (above 1: freezebench "
             "is faster); ≈: the two rows' min–max ranges overlap.", ""]
            + table(["model", "batch", "threads", "spec"] + [f"{p} ratio" for p in SWEEP_PHASES]
                    + ["step freezebench [min–max]", "step PyTorch [min–max]"], body) + [""])


def gflops_span(r):
    med, lo, hi = times(r)
    f = num(r["flops_executed"]) * 1e-9
    return f"{sig(f / med)} [{sig(f / hi)}–{sig(f / lo)}]"


def kernel_tables(srows, limit):
    kern = [r for r in srows if r["bench"] == "kernel_bench"]
    if not kern:
        return []
    out = []
    gemm = [r for r in kern if r["phase"].startswith("sgemm")]
    if gemm:
        # freezebench first, its other ISAs (freezebench-avx2, ...) next, then the references
        impls = sorted({r["impl"] for r in gemm},
                       key=lambda i: (i != "freezebench", not i.startswith("freezebench"), i))
        rows = by_config(gemm)
        cases = []
        for r in gemm:
            c = (r["phase"], r["model"], r["batch"], r["threads"])
            if c not in cases:
                cases.append(c)
        body = []
        for phase, model, batch, threads in cases:
            row = [phase, model.replace("x", "×"), threads]
            for impl in impls:
                r = rows.get(("kernel_bench", impl, model, batch, "", threads, phase, "1"))
                if r is None:
                    row += ["", ""]
                    continue
                flag = " ⚠" if spread(r) > limit else ""
                row += [gflops_span(r) + flag, sig(num(r["fraction_of_peak"]))]
            body.append(row)
        header = ["kernel", "shape M×N×K", "threads"]
        for impl in impls:
            header += [f"{impl} GFLOP/s [min–max]", f"{impl} of peak"]
        out += ["GEMM: GFLOP/s from the median repetition, [from the slowest to the fastest]; "
                "of peak = median GFLOP/s / (the FMA peak probe's per-core GFLOP/s × threads).", ""]
        out += table(header, body) + [""]
    mem = [r for r in kern if not r["phase"].startswith("sgemm")]
    if mem:
        body = [[r["impl"], r["phase"], r["model"], r["threads"], fmt_time_span(*times(r)),
                 sig(num(r["gbytes_per_s"])), sig(num(r["fraction_of_peak"]))
                 + (" ⚠" if spread(r) > limit else "")]
                for r in mem]
        out += ["Memory-bound kernels: of bandwidth = GB/s / the one-thread streaming triad "
                "(above 1: the data stayed in cache).", ""]
        out += table(["impl", "kernel", "size", "threads", "time [min–max]", "GB/s",
                      "of bandwidth"], body) + [""]
    return out


def cpu_vs_cpu(rows, systems, reference):
    """Configurations measured on at least two systems, time per system and the ratio to
    the reference system (above 1: slower than the reference)."""
    at = defaultdict(dict)
    for r in rows:
        at[runs.config_key(r)][r["_system"]] = r
    others = [s for s in systems if s != reference]
    keys = [k for k, v in at.items() if reference in v and any(s in v for s in others)]
    if not keys:
        return ["No configuration was measured on the reference system and another one.", ""]
    specs = spec_order(k[4] for k in keys if k[4])
    body = []
    for k in sorted(keys, key=lambda k: (k[0], k[1] != "freezebench", k[1], model_sort_key(k[2]),
                                         int(k[3]), int(k[7]), int(k[5]),
                                         specs.index(k[4]) if k[4] else -1,
                                         SWEEP_PHASES.index(k[6]) if k[6] in SWEEP_PHASES else 9,
                                         k[6])):
        v = at[k]
        ref = num(v[reference]["time_median_s"])
        row = [k[0], impl_label(k[1], k[7]), k[2], k[3], f"`{k[4]}`" if k[4] else "", k[5],
               k[6], fmt_time_span(*times(v[reference]))]
        for s in others:
            if s in v:
                row += [fmt_time_span(*times(v[s])),
                        fmt_ratio(num(v[s]["time_median_s"]) / ref)
                        + (" ≈" if overlap(v[s], v[reference]) else "")]
            else:
                row += ["", ""]
        body.append(row)
    header = ["bench", "impl", "model", "batch", "spec", "threads", "phase", f"`{reference}`"]
    for s in others:
        header += [f"`{s}`", "ratio"]
    return ([f"Median time [min–max] per system; ratio = system / `{reference}` (below 1: "
             "faster than it); ≈: the min–max ranges overlap.", ""] + table(header, body) + [""])


# ---- the report -----------------------------------------------------------------------

def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        rows, skipped = runs.load(args.inputs)
    except runs.InputError as e:
        print(f"make_report: {e}", file=sys.stderr)
        return 2
    if not rows:
        print("make_report: no readable results CSV in " + ", ".join(args.inputs)
              + "".join(f"\n  skipped {f}: {why}" for f, why in skipped), file=sys.stderr)
        return 1
    by_system = defaultdict(list)
    for r in rows:
        by_system[r["_system"]].append(r)
    systems = sorted(by_system)
    reference = args.reference or systems[0]
    if reference not in by_system:
        print(f"make_report: --reference {reference}: no such system ({', '.join(systems)})",
              file=sys.stderr)
        return 2
    report_dir = os.path.dirname(os.path.abspath(args.output))
    if not args.no_plots:
        os.makedirs(args.plots_dir, exist_ok=True)
        import plots   # matplotlib only when drawing

    out = ["# freezebench results", "",
           "Generated by `results/make_report.py` (schema: `results/README.md`).  "
           "Cut = 1 − x / x(spec `none`) on the same implementation, model, batch, threads and "
           "phase: the FLOP cut from the planned FLOPs, the time cut from median times; "
           "gap = time cut − FLOP cut.  Times are the median repetition with [fastest–slowest] "
           "in the same unit.", ""]
    if skipped:
        out += ["Skipped:", ""] + [f"- `{f}`: {why}" for f, why in skipped] + [""]
    out += ["## Systems", ""]
    out += table(["system", "CPU", "uarch", "cores", "schema", "files"],
                 [[f"`{s}`", by_system[s][0]["cpu_model"], by_system[s][0].get("uarch", "")
                   or "(schema 1: not recorded)", by_system[s][0].get("cores", ""),
                   "/".join(sorted({r["_schema"] for r in by_system[s]})),
                   ", ".join(f"`{f}`" for f in sorted({r["_file"] for r in by_system[s]}))]
                  for s in systems]) + [""]
    if len(systems) > 1:
        out += ["## CPU vs CPU", ""] + cpu_vs_cpu(rows, systems, reference)
    pngs = []
    for sid in systems:
        srows = by_system[sid]
        out += [f"## System `{sid}`", ""] + describe_system(sid, srows) + warnings(srows, args.noise)
        if not args.no_plots:
            for name, draw, alt in (("sweep", plots.plot_sweep, "FLOP and time cut per freeze spec"),
                                    ("gemm", plots.plot_gemm, "SGEMM GFLOP/s against the FMA peak")):
                png = os.path.join(args.plots_dir, f"{name}-{runs.slug(sid)}.png")
                if draw(f'{srows[0]["cpu_model"]} ({sid})', srows, png):
                    pngs.append(png)
                    out += [f"![{alt}]({os.path.relpath(png, report_dir)})", ""]
        if sweep_rows(srows):
            out += ["### Freeze sweep", "",
                    "Per phase the median time; backward and step with [fastest–slowest] "
                    "repetition; ⚠ after the step: a phase of that row is noisy.", ""]
            out += sweep_tables(srows, args.noise)
        threads = threads_table(srows, args.noise)
        if threads:
            out += ["### Threads", ""] + threads
        versus = versus_table(srows)
        if versus:
            out += ["### freezebench vs PyTorch", ""] + versus
        kernels = kernel_tables(srows, args.noise)
        if kernels:
            out += ["### Kernels", ""] + kernels
    os.makedirs(report_dir, exist_ok=True)
    with open(args.output, "w") as f:
        f.write("\n".join(out))
    print(f"make_report: {len(rows)} rows from {len({r['_path'] for r in rows})} files, "
          f"{plural(len(systems), 'system')} -> {args.output}"
          + "".join(f"\n  {p}" for p in pngs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
