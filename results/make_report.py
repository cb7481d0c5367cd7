#!/usr/bin/python3
"""Builds REPORT.md and its plots from results CSVs (schemas 2 to 4, results/README.md).

REPORT.md opens with a table of contents and a summary per system (the step time cut at
a middle prefix and at `last`, at 1 thread and at the most threads, and PyTorch's step
time over freezebench's).  Then one section per system (`system_id`): the machine, which
file came from which revision (a system whose files come from several revisions is
flagged, a dirty build marked), warnings, plots, and the freeze sweep, threads,
freezebench vs PyTorch and kernel tables.  The CPU-vs-CPU table comes last, folded.

Every figure has its 95 % interval from the repetitions' samples (schema 4, via
results/stats.py): medians by exact order statistics, cuts and ratios by bootstrap.
Figures whose interval is too wide are marked; schema-3 files have no samples, and show
without intervals, marked so.  Schema-1 files are retired (results/retired/, never read
from here): one given by name is skipped with a message.

The report and the PNGs (sweep-<system>.png, gemm-<system>.png; results/plots.py says
what they draw) are each written whole, through a temporary file renamed over the old
one: a failed write (a full disk) leaves the old file as it was and exits 1.
"""
import argparse
import os
import re
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))   # runs.py, plots.py beside it
import runs  # noqa: E402
import report_tables as tables  # noqa: E402
from report_figures import DIRTY, NO_SAMPLES, Figures, legend  # noqa: E402
from runs import fmt_bytes, has_samples, is_dirty, isnan, num, sig  # noqa: E402,F401
from report_tables import plural, table  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="make_report.py", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  /usr/bin/python3 results/make_report.py\n"
               "  /usr/bin/python3 results/make_report.py runA/ runB/x.csv -o /tmp/R.md\n"
               "Exit status: 0 report written, 1 no readable results or a file could not "
               "be written (the old one is kept), 2 usage error or a damaged CSV (bytes "
               "that are not UTF-8, a row of too few or too many fields, a number column "
               "holding something else; named by file and line).")
    ap.add_argument("inputs", nargs="*", metavar="CSV_OR_FOLDER",
                    help="results CSV files, or folders whose *.csv are read (not their "
                         "subfolders, so never results/retired/; default: the folder of "
                         "this script, results/)")
    ap.add_argument("-o", "--output", metavar="REPORT.md",
                    help="report to write (default: REPORT.md in the first folder given, or "
                         "in the folder of the first file)")
    ap.add_argument("--plots-dir", metavar="DIR",
                    help="where the PNGs go (default: the report's folder); the report links "
                         "them by relative path")
    ap.add_argument("--no-plots", action="store_true", help="write the tables only")
    ap.add_argument("--wide-time", type=float, default=0.05, metavar="FRACTION",
                    help="mark a time or ratio whose 95 %% interval's half-width exceeds "
                         "this fraction of it (default 0.05)")
    ap.add_argument("--wide-cut", type=float, default=0.03, metavar="CUT",
                    help="mark a cut whose 95 %% interval's half-width exceeds this, in "
                         "cut units (default 0.03: 3 points)")
    ap.add_argument("--reference", metavar="SYSTEM_ID",
                    help="system the CPU-vs-CPU table divides by (default: the first system "
                         "in sorted order)")
    args = ap.parse_args(argv)
    if args.wide_time <= 0 or args.wide_cut <= 0:
        ap.error("--wide-time and --wide-cut must be above 0")
    if not args.inputs:
        args.inputs = [HERE]
    if args.output is None:
        first = args.inputs[0]
        folder = first if os.path.isdir(first) else os.path.dirname(os.path.abspath(first))
        args.output = os.path.join(folder, "REPORT.md")
    if args.plots_dir is None:
        args.plots_dir = os.path.dirname(os.path.abspath(args.output))
    return args


# ---- the system's description ---------------------------------------------------------

def describe_machine(srows):
    described = [r for r in srows if r["_described"]]
    d = described[0] if described else srows[0]
    caches = "/".join(fmt_bytes(num(d.get(c, ""))) for c in ("l1d_bytes", "l2_bytes", "l3_bytes"))
    fields = [("CPU", d["cpu_model"]), ("arch", d.get("arch", "")), ("cores", d.get("cores", "")),
              ("L1d / L2 / L3", caches), ("host", d.get("host", ""))]
    for c in runs.SYSTEM_COLUMNS:
        v = d.get(c, "")
        if c == "memory_bytes":
            v = fmt_bytes(num(v)) if v not in ("", "NA") else v
        fields.append((c, v))
    out = ["| machine | |", "|---|---|"]
    out += table(["", ""], [(k, f"`{v}`" if v else "") for k, v in fields])[2:] + [""]
    unnamed = sorted({r["_file"] for r in srows if not r["_described"]})
    if unnamed:
        out += [f"{', '.join(f'`{f}`' for f in unnamed)}: `system_id` empty; the system's key "
                "is derived from host, CPU model, arch, cache sizes and core count.", ""]
    return out


def revisions_of(rows):
    """The rows' revisions in the order first seen (a dict: one pass, whatever the
    number of revisions)."""
    return list(dict.fromkeys(r.get("git_revision") or "unknown" for r in rows))


def by_file(rows):
    """The rows of each file, in one pass (a scan of every row per file was quadratic)."""
    files = defaultdict(list)
    for r in rows:
        files[r["_file"]].append(r)
    return files


def describe_files(srows):
    """One line per file: what made it, from which revision, and whether it has samples."""
    out = []
    files = by_file(srows)
    for f in sorted(files):
        frows = files[f]
        r = frows[0]
        revs = ", ".join(f"`{v}`" + (f" {DIRTY}" if v.endswith(runs.DIRTY_SUFFIX) else "")
                         for v in revisions_of(frows))
        counts = sorted({len(x["_samples"]) for x in frows if has_samples(x)})
        if not counts:
            samples = NO_SAMPLES
        elif counts[0] == counts[-1]:
            samples = f"{counts[0]} samples per row"
        else:
            samples = f"{counts[0]}–{counts[-1]} samples per row"
        line = (f'`{f}` (schema {r["_schema"]}): {r["impl"]} ({r.get("isa", "")}), '
                f'{r.get("compiler", "")}, revision {revs}, measured {r.get("utc_time", "")}; '
                f'{samples}.')
        # The PyTorch script has no probes: its limits, if any, come from a freeze_sweep or
        # kernel_bench CSV of the same system, listed here already.
        if r["impl"] != "pytorch" and not isnan(num(r.get("peak_gflops", ""))):
            per_core = num(r["peak_gflops"])
            if r["bench"] == "freeze_sweep" or r["phase"].startswith("sgemm"):
                per_core /= max(1, int(r["threads"]))
            line += (f"  Limits measured: FMA peak {sig(per_core)} GFLOP/s per core, streaming "
                     f"triad {sig(num(r.get('bandwidth_gbytes_per_s', '')))} GB/s (one thread).")
        out.append("- " + line)
    return out + [""]


def provenance(srows):
    """Flags for a system whose files come from more than one revision (their differences
    compare code as well as runs), and for files from dirty builds."""
    out = []
    by_rev = defaultdict(dict)            # revision -> its files, as an ordered set
    for r in srows:
        by_rev[r.get("git_revision") or "unknown"][r["_file"]] = None
    if len(by_rev) > 1:
        out += [f"> ⚠ **Mixed revisions**: this system's files come from {len(by_rev)} "
                "revisions, so differences between them compare code as well as runs:", ">"]
        out += [f"> - `{rev}`{f' {DIRTY}' if rev.endswith(runs.DIRTY_SUFFIX) else ''}: "
                + ", ".join(f"`{f}`" for f in sorted(files))
                for rev, files in sorted(by_rev.items())]
        out += [""]
    dirty = sorted({r["_file"] for r in srows if is_dirty(r)})
    if dirty:
        out += [f"> {DIRTY} **Dirty build**: {', '.join(f'`{f}`' for f in dirty)} "
                f"{'was' if len(dirty) == 1 else 'were'} measured by programs built from a "
                "tree that differed from the named revision; their rows are marked "
                f"{DIRTY} dirty.", ""]
    return out


# ---- the document ---------------------------------------------------------------------

def anchor(title):
    """GitHub's anchor of a heading: lower case, punctuation (backticks, commas, ×)
    dropped, spaces to hyphens.  Repeats get -1, -2, ... (see assemble)."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def assemble(preamble, sections):
    """The Markdown text: title and preamble, a table of contents of the ## and ###
    sections, then the sections.  sections: (level, title, lines).  The anchors are
    counted over every heading in the text, as GitHub does, so a repeated title (each
    system's "Freeze sweep") links to its own section."""
    head = ["# freezebench results", ""] + preamble + ["## Contents", ""]
    body, starts = [], []
    for level, title, lines in sections:
        starts.append(len(body))
        body += ["#" * level + " " + title, ""] + lines
    # Headings before the contents and inside it are fixed; count them first.
    seen = defaultdict(int)

    def unique(title):
        a = anchor(title)
        n = seen[a]
        seen[a] += 1
        return a if n == 0 else f"{a}-{n}"

    for line in head:
        m = re.match(r"#+ (.*)", line)
        if m:
            unique(m.group(1))
    anchors = {}
    for i, line in enumerate(body):
        m = re.match(r"#+ (.*)", line)
        if m:
            anchors[i] = unique(m.group(1))
    toc = []
    for (level, title, _), start in zip(sections, starts):
        if level <= 3:
            toc.append("  " * (level - 2) + f"- [{title}](#{anchors[start]})")
    return "\n".join(head + toc + [""] + body)


def system_sections(sid, srows, fig, nones, args, report_dir, pngs):
    """The ## section of one system and its ### subsections; draws its plots."""
    lines = describe_machine(srows) + describe_files(srows) + provenance(srows)
    lines += tables.warnings(srows, fig)
    if not args.no_plots:
        import plots   # matplotlib only when drawing
        for name, draw, alt in (("sweep", plots.plot_sweep,
                                 "step and backward time cut against FLOP cut per freeze spec"),
                                ("gemm", plots.plot_gemm, "SGEMM GFLOP/s against the FMA peak")):
            png = os.path.join(args.plots_dir, f"{name}-{runs.slug(sid)}.png")
            if draw(f'{srows[0]["cpu_model"]} ({sid})', srows, png, fig, nones):
                pngs.append(png)
                lines += [f"![{alt}]({os.path.relpath(png, report_dir)})", ""]
    out = [(2, f"System `{sid}`", lines)]
    if tables.sweep_rows(srows):
        out.append((3, "Freeze sweep",
                    ["Per phase the median time [95 % interval]; time cuts against spec "
                     "`none` [95 % interval]; gap = backward time cut − FLOP cut, in "
                     "points.", ""] + tables.sweep_tables(srows, fig, nones)))
    for title, part in (("Threads", tables.threads_table(srows, fig)),
                        ("freezebench vs PyTorch", tables.versus_table(srows, fig)),
                        ("Kernels", tables.kernel_tables(srows, fig))):
        if part:
            out.append((3, title, part))
    return out


def build(rows, skipped, args, report_dir, pngs):
    """The report's text (drawing the plots on the way)."""
    fig = Figures(args.wide_time, args.wide_cut)
    by_system = defaultdict(list)
    for r in rows:
        by_system[r["_system"]].append(r)
    systems = sorted(by_system)
    reference = args.reference or systems[0]
    preamble = [
        "Generated by `results/make_report.py` (schema: `results/README.md`).  Cut = 1 − x / "
        "x(spec `none`) on the same implementation, model, batch, threads and phase: the FLOP "
        "cut from the planned FLOPs (exact), the time cut from the median times.  Every "
        "measured figure is the median of the repetitions with its 95 % interval in "
        "brackets, in the same unit: for a time the exact order-statistic interval of the "
        "median, for a cut or a ratio a bootstrap of the two rows' repetitions "
        "(`results/stats.py`).", ""]
    nones = tables.NoneRows(rows)
    sections = [(2, "Summary", tables.summary(by_system, fig, nones)
                 or ["No freeze sweep rows.", ""])]
    overview = table(
        ["system", "CPU", "uarch", "cores", "schema", "revisions", "files"],
        [[f"`{s}`", by_system[s][0]["cpu_model"], by_system[s][0].get("uarch", ""),
          by_system[s][0].get("cores", ""), "/".join(sorted({r["_schema"] for r in by_system[s]})),
          ", ".join(f"`{v}`" for v in revisions_of(by_system[s])),
          ", ".join(f"`{f}`" for f in sorted({r["_file"] for r in by_system[s]}))]
         for s in systems]) + [""]
    overview += ["Marks in the tables:", ""] + [f"- {m}" for m in legend(args.wide_time,
                                                                         args.wide_cut)] + [""]
    if skipped:
        overview += ["Skipped:", ""] + [f"- `{f}`: {why}" for f, why in skipped] + [""]
    sections.append((2, "Systems", overview))
    for sid in systems:
        sections += system_sections(sid, by_system[sid], fig, nones, args, report_dir, pngs)
    if len(systems) > 1:
        cmp = tables.cpu_vs_cpu(rows, systems, reference, fig)
        n = sum(1 for line in cmp if line.startswith("| ") and not line.startswith("| bench"))
        sections.append((2, "CPU vs CPU",
                         [f"The same configurations on {len(systems)} systems, divided by "
                          f"`{reference}` (`--reference`).", "",
                          "<details>", f"<summary>{plural(n, 'configuration')} (click to "
                          "unfold)</summary>", ""] + cmp + ["</details>", ""]))
    return assemble(preamble, sections)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        rows, skipped = runs.load(args.inputs)
    except runs.InputError as e:
        print(f"make_report: {e}", file=sys.stderr)
        return 2
    for f, why in skipped:
        print(f"make_report: skipped {f}: {why}", file=sys.stderr)
    if not rows:
        print("make_report: no readable results CSV in " + ", ".join(args.inputs),
              file=sys.stderr)
        return 1
    systems = sorted({r["_system"] for r in rows})
    if args.reference and args.reference not in systems:
        print(f"make_report: --reference {args.reference}: no such system "
              f"({', '.join(systems)})", file=sys.stderr)
        return 2
    report_dir = os.path.dirname(os.path.abspath(args.output))
    pngs = []
    try:
        os.makedirs(report_dir, exist_ok=True)
        if not args.no_plots:
            os.makedirs(args.plots_dir, exist_ok=True)
        # The plots are written while the text is built, the report last: a failure
        # leaves every file either old or new, and the report never links a PNG that
        # failed to be written.
        text = build(rows, skipped, args, report_dir, pngs)
        runs.write_whole(args.output, lambda f: f.write(text.encode()))
    except runs.WriteError as e:
        print(f"make_report: cannot write {e.path}: {e.reason} (the old file, if any, is "
              "unchanged)", file=sys.stderr)
        return 1
    except OSError as e:          # a folder that cannot be made
        print(f"make_report: {e.filename}: {e.strerror or e}", file=sys.stderr)
        return 1
    print(f"make_report: {len(rows)} rows from {len({r['_path'] for r in rows})} files, "
          f"{plural(len(systems), 'system')} -> {args.output}"
          + "".join(f"\n  {p}" for p in pngs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
