#!/usr/bin/python3
"""Builds results/REPORT.md and the plots from every results CSV in this directory.

Run with Debian's python (it has matplotlib):  /usr/bin/python3 results/make_report.py
Plots:
  backward-<cpu>.png   backward time against frozen layers (prefix:K specs), the planned
                       backward FLOPs on a second axis, one panel per model/batch/threads
  gemm-peak.png        GEMM fraction of this CPU's FMA peak, per CPU, per implementation
Rows of the same CPU model are one section, whichever implementation wrote them, so the
PyTorch sweep's CSV (bench/pytorch_sweep.py) sits next to freeze_sweep's: a table puts
their step and backward times per configuration side by side.
"""
import csv
import glob
import os
import re
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SCHEMA_VERSION = "1"
NAN = float("nan")
HERE = os.path.dirname(os.path.abspath(__file__))


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def num(text):
    """Empty (does not apply) and NA (not known, e.g. a PyTorch row's peak) are NaN."""
    return float(text) if text not in ("", "NA") else float("nan")


REQUIRED_COLUMNS = {"bench", "impl", "model", "phase", "cpu_model", "freeze_spec",
                    "time_median_s", "flops_planned"}


def load(directory):
    rows, skipped = [], []
    for path in sorted(glob.glob(os.path.join(directory, "*.csv"))):
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            file_rows = list(reader)
        # Another schema, or the same version number with other columns (an old PyTorch
        # CSV of 31 columns): listed as skipped, not read.
        if (not file_rows or file_rows[0].get("schema_version") != SCHEMA_VERSION
                or not REQUIRED_COLUMNS <= set(reader.fieldnames or [])):
            skipped.append(os.path.basename(path))
            continue
        for r in file_rows:
            r["_file"] = os.path.basename(path)
        rows.extend(file_rows)
    return rows, skipped


def cpu_key(r):
    """Not the isa: PyTorch reports its own CPU capability, which may differ from the
    kernel family freezebench picked on the same CPU."""
    return f'{r["cpu_model"]} ({r["arch"]})'


def frozen_layers(spec):
    if spec == "none":
        return 0
    m = re.fullmatch(r"prefix:(\d+)", spec)
    return int(m.group(1)) if m else None


def plot_backward(cpu, rows, out_png):
    """One panel per (impl, model, batch, threads) with at least two prefix points."""
    panels = defaultdict(list)
    for r in rows:
        if r["bench"] != "freeze_sweep" or r["phase"] != "backward":
            continue
        k = frozen_layers(r["freeze_spec"])
        if k is not None:
            panels[(r["impl"], r["model"], r["batch"], int(r["threads"]))].append((k, r))
    panels = {key: sorted(v, key=lambda p: p[0]) for key, v in panels.items() if len(v) >= 2}
    if not panels:
        return False
    keys = sorted(panels)
    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 3.2 * len(keys)), squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        pts = panels[key]
        ks = [k for k, _ in pts]
        med = [num(r["time_median_s"]) * 1e3 for _, r in pts]
        lo = [m - num(r["time_min_s"]) * 1e3 for m, (_, r) in zip(med, pts)]
        hi = [num(r["time_max_s"]) * 1e3 - m for m, (_, r) in zip(med, pts)]
        ax.errorbar(ks, med, yerr=[lo, hi], marker="o", color="tab:blue", capsize=3,
                    label="backward time (median, min–max)")
        ax.set_xlabel("frozen layers (prefix:K)")
        ax.set_ylabel("backward time [ms]", color="tab:blue")
        ax.set_ylim(bottom=0)
        ax2 = ax.twinx()
        ax2.plot(ks, [num(r["flops_planned"]) * 1e-9 for _, r in pts], marker="s",
                 linestyle="--", color="tab:orange", label="backward GFLOP (planned)")
        ax2.set_ylabel("backward GFLOP", color="tab:orange")
        ax2.set_ylim(bottom=0)
        impl, model, batch, threads = key
        ax.set_title(f"{impl}: model {model}, batch {batch}, {threads} thread(s)")
        ax.set_xticks(ks)
    fig.suptitle(f"Backward pass against frozen layers — {cpu}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_png, dpi=90)
    plt.close(fig)
    return True


def plot_gemm_peak(by_cpu, out_png):
    cpus = [c for c in sorted(by_cpu) if any(r["bench"] == "kernel_bench" and
                                             r["phase"].startswith("sgemm") for r in by_cpu[c])]
    if not cpus:
        return False
    fig, axes = plt.subplots(len(cpus), 1, figsize=(11, 4.2 * len(cpus)), squeeze=False)
    for ax, cpu in zip(axes[:, 0], cpus):
        gemm = [r for r in by_cpu[cpu] if r["bench"] == "kernel_bench" and r["phase"].startswith("sgemm")]
        cases = []
        for r in gemm:
            case = (r["phase"].replace("sgemm_", ""), r["model"])
            if case not in cases:
                cases.append(case)
        impls = sorted({r["impl"] for r in gemm}, key=lambda i: (i != "freezebench", i))
        width = 0.8 / len(impls)
        for j, impl in enumerate(impls):
            vals = {(r["phase"].replace("sgemm_", ""), r["model"]): num(r["fraction_of_peak"])
                    for r in gemm if r["impl"] == impl}
            xs = [i + j * width for i in range(len(cases))]
            ax.bar(xs, [vals.get(c, 0) for c in cases], width, label=impl)
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(cases))])
        ax.set_xticklabels([f"{p}\n{m}" for p, m in cases], fontsize=7, rotation=60, ha="right")
        ax.set_ylabel("fraction of FMA peak")
        ax.set_ylim(0, 1)
        threads = sorted({r["threads"] for r in gemm})
        ax.set_title(f"SGEMM, fraction of this CPU's peak — {cpu}, {'/'.join(threads)} thread(s)",
                     fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_png, dpi=90)
    plt.close(fig)
    return True


def fmt(x, digits=3):
    return "" if x != x else f"{x:.{digits}f}"


def sig(x, digits=4):
    """Significant digits, for values from microseconds to seconds."""
    return "" if x != x else f"{x:.{digits}g}"


def sweep_table(rows):
    lines = ["| impl | model | batch | threads | spec | trainable | frozen | bwd GFLOP | FLOP cut "
             "| bwd ms median [min–max] | time cut | gap | step ms | step cut | act MiB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    step = {(r["impl"], r["model"], r["batch"], r["threads"], r["freeze_spec"]): r
            for r in rows if r["bench"] == "freeze_sweep" and r["phase"] == "step"}
    order = {}
    bwd = [r for r in rows if r["bench"] == "freeze_sweep" and r["phase"] == "backward"]
    for i, r in enumerate(bwd):
        order.setdefault(r["freeze_spec"], i)

    def spec_rank(spec):   # none, then prefix:K by K, then the rest as first seen
        k = frozen_layers(spec)
        return (0, k, 0) if k is not None else (1, 0, order[spec])

    bwd.sort(key=lambda r: (r["impl"], r["model"], int(r["batch"]), int(r["threads"]),
                            spec_rank(r["freeze_spec"])))
    for r in bwd:
        s = step.get((r["impl"], r["model"], r["batch"], r["threads"], r["freeze_spec"]))
        gap = num(r["time_cut"]) - num(r["flop_cut"])
        lines.append(
            f'| {r["impl"]} | {r["model"]} | {r["batch"]} | {r["threads"]} | `{r["freeze_spec"]}` '
            f'| {r["trainable_params"]} | {r["frozen_params"]} '
            f'| {sig(num(r["flops_planned"]) * 1e-9)} | {fmt(num(r["flop_cut"]))} '
            f'| {sig(num(r["time_median_s"]) * 1e3)} [{sig(num(r["time_min_s"]) * 1e3)}–'
            f'{sig(num(r["time_max_s"]) * 1e3)}] | {fmt(num(r["time_cut"]))} | {fmt(gap)} '
            f'| {sig(num(s["time_median_s"]) * 1e3) if s else ""} '
            f'| {fmt(num(s["time_cut"])) if s else ""} '
            f'| {sig(num(r["activation_bytes"]) / 2**20)} |')
    return lines


def versus_table(rows):
    """freezebench against PyTorch on the same model, batch, threads and spec: median
    backward and step times and the speed-up (PyTorch time / freezebench time)."""
    times = defaultdict(dict)
    for r in rows:
        if r["bench"] == "freeze_sweep" and r["phase"] in ("backward", "step"):
            times[(r["model"], int(r["batch"]), int(r["threads"]), r["freeze_spec"])][
                (r["impl"], r["phase"])] = num(r["time_median_s"])
    keys = [k for k, t in times.items() if ("freezebench", "step") in t and ("pytorch", "step") in t]
    if not keys:
        return []
    lines = ["| model | batch | threads | spec | bwd ms freezebench | bwd ms PyTorch "
             "| bwd speed-up | step ms freezebench | step ms PyTorch | step speed-up |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for k in sorted(keys, key=lambda k: (k[0], k[1], k[2], frozen_layers(k[3]) is None,
                                         frozen_layers(k[3]) or 0, k[3])):
        t = times[k]
        cells = []
        for phase in ("backward", "step"):
            fb, pt = t.get(("freezebench", phase), NAN), t.get(("pytorch", phase), NAN)
            cells += [sig(fb * 1e3), sig(pt * 1e3), f"{pt / fb:.3g}×" if fb == fb and pt == pt else ""]
        lines.append(f"| {k[0]} | {k[1]} | {k[2]} | `{k[3]}` | " + " | ".join(cells) + " |")
    return lines


def kernel_table(rows):
    lines = ["| impl | kernel | shape | threads | GFLOP/s | GB/s | fraction of peak | reps |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["bench"] != "kernel_bench":
            continue
        lines.append(f'| {r["impl"]} | {r["phase"]} | {r["model"]} | {r["threads"]} '
                     f'| {fmt(num(r["gflops"]), 2)} | {fmt(num(r["gbytes_per_s"]), 2)} '
                     f'| {fmt(num(r["fraction_of_peak"]))} | {r["repetitions"]} |')
    return lines


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else HERE
    rows, skipped = load(directory)
    by_cpu = defaultdict(list)
    for r in rows:
        by_cpu[cpu_key(r)].append(r)

    out = ["# freezebench results", "",
           "Generated by `results/make_report.py` from every CSV in `results/` "
           "(schema: `results/README.md`).  Cut = 1 − x/x(none) on the same model, batch "
           "and threads; gap = time cut − FLOP cut of the backward pass.", ""]
    if skipped:
        out += [f"Skipped (not schema version {SCHEMA_VERSION}, or missing its columns): {', '.join(skipped)}", ""]
    if plot_gemm_peak(by_cpu, os.path.join(directory, "gemm-peak.png")):
        out += ["![GEMM fraction of peak](gemm-peak.png)", ""]
    for cpu in sorted(by_cpu):
        crows = by_cpu[cpu]
        files = sorted({r["_file"] for r in crows})
        first = crows[0]
        out += [f"## {cpu}", "",
                f'Host `{first["host"]}`, {first["cores"]} cores, L1d/L2/L3 '
                f'{int(num(first["l1d_bytes"])) >> 10}/{int(num(first["l2_bytes"])) >> 10}/'
                f'{int(num(first["l3_bytes"])) >> 10} KiB.', ""]
        for f in files:
            r = next(r for r in crows if r["_file"] == f)
            line = (f'`{f}`: {r["impl"]} ({r["isa"]}), {r["compiler"]}, revision '
                    f'`{r["git_revision"]}`, measured {r["utc_time"]}.')
            # The PyTorch script has no probes: its limits, if any, are copied from a
            # freeze_sweep/kernel_bench CSV, which this section lists already.
            if r["impl"] != "pytorch":
                per_core = num(r["peak_gflops"])
                if r["bench"] == "freeze_sweep" or r["phase"].startswith("sgemm"):
                    per_core /= max(1, int(r["threads"]))
                line += (f'  Limits measured: FMA peak {per_core:.1f} GFLOP/s per core, '
                         f'streaming triad {num(r["bandwidth_gbytes_per_s"]):.1f} GB/s (one thread).')
            out += [line, ""]
        png = f"backward-{slug(cpu)}.png"
        if plot_backward(cpu, crows, os.path.join(directory, png)):
            out += [f"![backward time against frozen layers]({png})", ""]
        if any(r["bench"] == "freeze_sweep" for r in crows):
            out += ["### Freeze sweep (backward phase)", ""] + sweep_table(crows) + [""]
        versus = versus_table(crows)
        if versus:
            out += ["### freezebench vs PyTorch (median times; speed-up = PyTorch / "
                    "freezebench)", ""] + versus + [""]
        if any(r["bench"] == "kernel_bench" for r in crows):
            out += ["### Kernels", ""] + kernel_table(crows) + [""]
    with open(os.path.join(directory, "REPORT.md"), "w") as f:
        f.write("\n".join(out))
    print(f"make_report: {len(rows)} rows from {len({r['_file'] for r in rows})} files -> "
          f"{os.path.join(directory, 'REPORT.md')}")


if __name__ == "__main__":
    main()
