"""The report's plots, one file per system (make_report.py names them by system id):

  sweep-<system>.png  per model (and MPI ranks): the backward pass's and the whole step's
                      cuts side by side, each against the freeze spec on one axis: the
                      FLOP cut (planned work removed, exact) as black bars, the time cut
                      (median time removed) as points with the 95 % interval of the
                      bootstrap on the repetitions (results/stats.py) as error bars;
                      implementations by colour, thread counts by marker and line style.
                      Rows without samples (schema 3) have no error bars.
  gemm-<system>.png   SGEMM GFLOP/s per kernel and shape, one bar per implementation, error
                      bars from the 95 % interval of the median time, the FMA peak as a line
                      named by the vector ISA its probe used; one panel per thread count.

A baseline's label names the OpenBLAS core it ran with (the `openblas_core` column), as
in 'pytorch (OpenBLAS Zen)' or 'openblas (Haswell)'.  Each PNG is written whole
(runs.write_whole).
"""
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import runs  # noqa: E402
from report_figures import Figures  # noqa: E402
from report_tables import NoneRows  # noqa: E402
from runs import num, spec_order, model_sort_key  # noqa: E402

IMPL_COLOURS = {"freezebench": "tab:blue", "pytorch": "tab:orange", "openblas": "tab:green",
                "blis": "tab:red"}
OTHER_COLOURS = ("tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")
THREAD_STYLES = (("o", "-"), ("s", "--"), ("^", ":"), ("D", "-."))


def impl_order(impls):
    return sorted(impls, key=lambda i: (i != "freezebench", not i.startswith("freezebench"),
                                        i != "pytorch", i))


def impl_colour(impl, impls):
    if impl in IMPL_COLOURS:
        return IMPL_COLOURS[impl]
    others = [i for i in impl_order(impls) if i not in IMPL_COLOURS]
    return OTHER_COLOURS[others.index(impl) % len(OTHER_COLOURS)]


def baseline_label(impl, rows):
    """The implementation with the OpenBLAS core its rows ran with, where it is a
    baseline that may run on OpenBLAS ('pytorch (OpenBLAS Zen)', 'openblas (Haswell)'):
    the core decides which kernels run, so a plot must say it.  freezebench's own kernels
    do not use OpenBLAS, and neither do BLIS and oneDNN: the openblas_core column is the
    machine's, in every row, so only OpenBLAS's and PyTorch's labels may name it."""
    if impl not in ("openblas", "pytorch"):
        return impl
    cores = sorted({(r.get("openblas_core") or "").strip() for r in rows if r["impl"] == impl}
                   - {"", "none", "NA", "unknown"})
    if not cores:
        return impl
    core = "/".join(cores)
    return f"{impl} ({core})" if impl == "openblas" else f"{impl} (OpenBLAS {core})"


def _save(fig, out_png):
    try:
        runs.write_whole(out_png, lambda f: fig.savefig(f, format="png", dpi=90))
    finally:
        plt.close(fig)


def _sweep_axis(ax, prow, phase, nones, figures, impls, threads_all, labels):
    """One panel: FLOP cut and time cut of `phase` per spec; returns the lowest cut drawn."""
    rows = [r for r in prow if r["phase"] == phase]
    specs = spec_order(r["freeze_spec"] for r in rows)
    x_of = {s: i for i, s in enumerate(specs)}
    series = {}
    for r in rows:
        series.setdefault((r["impl"], int(r["threads"])), {})[r["freeze_spec"]] = r
    # The planned FLOPs do not depend on the implementation or the thread count: one
    # set of bars unless some series disagrees (then one per series).
    flop_lines = {}
    for (impl, threads), by_spec in sorted(series.items()):
        pts = tuple((x_of[s], num(by_spec[s]["flop_cut"])) for s in specs if s in by_spec)
        flop_lines.setdefault(pts, []).append(f"{impl}, {threads} thr")
    for pts, who in flop_lines.items():
        label = "FLOP cut (planned work removed)" + (
            "" if len(flop_lines) == 1 else f" — {'; '.join(who)}")
        ax.plot([p[0] for p in pts], [p[1] for p in pts], color="black", linestyle="none",
                marker="_", markersize=22, markeredgewidth=2.5, zorder=3, label=label)
    lowest = 0.0
    n = len(series)
    for j, ((impl, threads), by_spec) in enumerate(
            sorted(series.items(), key=lambda kv: (impls.index(kv[0][0]), kv[0][1]))):
        xs, ys, lo, hi, present = [], [], [], [], []
        dodge = (j - (n - 1) / 2) * min(0.08, 0.5 / max(n, 1))
        for s in specs:
            r = by_spec.get(s)
            if r is None:
                continue
            cut, clo, chi = figures.cut(r, nones.of(r))
            if cut != cut:
                continue
            present.append(s)
            xs.append(x_of[s] + dodge)
            ys.append(cut)
            # No interval (schema 3, or too few samples): no error bar, not a zero one
            # that would read as certainty.
            lo.append(0 if clo is None else max(cut - clo, 0))
            hi.append(0 if chi is None else max(chi - cut, 0))
            lowest = min(lowest, cut if clo is None else clo)
        marker, style = THREAD_STYLES[threads_all.index(threads) % len(THREAD_STYLES)]
        label = (f"time cut, {labels[impl]}, {threads} thread{'s' if threads != 1 else ''}")
        # A line only through none, prefix:1, prefix:2, ... (an ordered axis); other
        # specs are categories, and a line to them would suggest a trend.
        ordered = [i for i, s in enumerate(present) if runs.frozen_layers(s) is not None]
        others = [i for i, s in enumerate(present) if runs.frozen_layers(s) is None]
        for idx, ls, lab in ((ordered, style, label), (others, "none", None if ordered else label)):
            if not idx:
                continue
            ax.errorbar([xs[i] for i in idx], [ys[i] for i in idx],
                        yerr=[[lo[i] for i in idx], [hi[i] for i in idx]],
                        color=impl_colour(impl, impls), marker=marker, linestyle=ls,
                        linewidth=1.2, markersize=5, capsize=3, zorder=4, label=lab)
    ax.set_xticks(range(len(specs)))
    ax.set_xticklabels(specs, fontsize=8, rotation=30)
    ax.set_xlim(-0.5, len(specs) - 0.5)
    ax.set_xlabel("freeze spec (what is frozen)")
    ax.set_ylabel("cut = 1 − x / x(none)")
    ax.grid(axis="y", alpha=0.3)
    return lowest


def plot_sweep(system, rows, out_png, figures=None, nones=None):
    """False (and no file) when the system has no freeze_sweep backward rows.  figures
    and nones: the report's (its intervals, computed once), else made here."""
    figures = figures or Figures()
    nones = nones or NoneRows(rows)
    sweep = [r for r in rows if r["bench"] == "freeze_sweep"]
    bwd = [r for r in sweep if r["phase"] == "backward"]
    panels = {}
    for r in sweep:   # a data-parallel run (ranks > 1) gets panels of its own
        if r["phase"] in ("backward", "step"):
            panels.setdefault((r["model"], int(r["batch"]), int(r.get("ranks") or 1)),
                              []).append(r)
    if not bwd:
        return False
    keys = sorted(panels, key=lambda k: (model_sort_key(k[0]), k[1], k[2]))
    impls = impl_order({r["impl"] for r in sweep})
    labels = {i: baseline_label(i, sweep) for i in impls}
    threads_all = sorted({int(r["threads"]) for r in sweep})
    fig, axes = plt.subplots(len(keys), 2, figsize=(15, 3.8 * len(keys) + 1.4),
                             squeeze=False, sharey="row")
    lowest = 0.0
    for (ax_b, ax_s), key in zip(axes, keys):
        for ax, phase in ((ax_b, "backward"), (ax_s, "step")):
            lowest = min(lowest, _sweep_axis(ax, panels[key], phase, nones, figures, impls,
                                             threads_all, labels))
            ax.set_title(f"model {key[0]}, batch {key[1]}"
                         + (f" on {key[2]} MPI ranks" if key[2] > 1 else "")
                         + f": {'backward pass' if phase == 'backward' else 'whole step'}",
                         fontsize=10)
        ax_s.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    for ax in axes.flat:
        ax.set_ylim(min(-0.05, lowest - 0.05), 1.0)
    fig.suptitle(f"Freeze sweep on {system}: share of the backward pass and of the step "
                 "removed", fontsize=11)
    fig.text(0.01, 0.005,
             "Black bars: FLOP cut = planned FLOPs removed (exact).  Points: time cut = median "
             "time removed; error bars: its 95 % interval (bootstrap of the repetitions), none "
             "where the rows\nhave no samples (schema 3).  Time cut = FLOP cut: the saved work "
             "becomes saved time.  The step also runs the forward pass, which freezing does not "
             "shorten.", fontsize=8, va="bottom")
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    _save(fig, out_png)
    return True


def peak_label(rows, peak):
    """Schema 2 names the ISA of the peak probe; schema 1's probe was the AVX2 one on x86
    whatever the CPU had (so AVX-512 CPUs show a peak too low), the kernel ISA elsewhere."""
    isas = {r.get("peak_isa", "") for r in rows} - {"", "NA"}
    if isas:
        isa = "/".join(sorted(isas))
    elif rows[0].get("arch") == "x86_64":
        isa = "avx2"
    else:
        isa = rows[0].get("isa", "unknown")
    return f"FMA peak ({isa} probe): {peak:.0f} GFLOP/s"


def plot_gemm(system, rows, out_png, figures=None, nones=None):
    """False (and no file) when the system has no SGEMM kernel rows.  nones is unused
    (plot_sweep's signature, so the report calls both alike)."""
    figures = figures or Figures()
    gemm = [r for r in rows if r["bench"] == "kernel_bench" and r["phase"].startswith("sgemm")]
    if not gemm:
        return False
    thread_counts = sorted({int(r["threads"]) for r in gemm})
    impls = impl_order({r["impl"] for r in gemm})
    # In the order first seen, through dicts: a list's `in` and index() made this
    # quadratic in the number of shapes.
    cases = list(dict.fromkeys((r["phase"], r["model"]) for r in gemm))
    kernels = {p: i for i, p in enumerate(dict.fromkeys(p for p, _ in cases))}
    cases.sort(key=lambda c: kernels[c[0]])              # grouped by kernel, shapes as run
    bar = 0.8 / len(impls)
    height = max(4.0, len(cases) * len(impls) * 0.13 + 2.2)
    fig, axes = plt.subplots(1, len(thread_counts), figsize=(9.5 * len(thread_counts), height),
                             squeeze=False)
    by_threads = {n: [] for n in thread_counts}
    for r in gemm:
        by_threads[int(r["threads"])].append(r)
    for ax, threads in zip(axes[0], thread_counts):
        trows = by_threads[threads]
        for j, impl in enumerate(impls):
            by_case = {(r["phase"], r["model"]): r for r in trows if r["impl"] == impl}
            ys, vals, lo, hi = [], [], [], []
            for i, c in enumerate(cases):
                r = by_case.get(c)
                if r is None:
                    continue
                med, tlo, thi = figures.time(r)
                flops = num(r["flops_executed"])
                g = flops / med * 1e-9
                ys.append(i - 0.4 + bar * (j + 0.5))
                vals.append(g)
                # A slower time is a lower GFLOP/s: the time interval's ends swap.  No
                # interval (schema 3, too few samples): no error bar.
                lo.append(0 if thi is None else g - flops / thi * 1e-9)
                hi.append(0 if tlo is None else flops / tlo * 1e-9 - g)
            ax.barh(ys, vals, height=bar, xerr=[lo, hi], color=impl_colour(impl, impls),
                    error_kw=dict(ecolor="black", capsize=2, elinewidth=0.8),
                    label=baseline_label(impl, gemm))
        peaks = sorted(num(r["peak_gflops"]) for r in trows if num(r["peak_gflops"]) > 0)
        if peaks:
            peak = peaks[len(peaks) // 2]
            ax.axvline(peak, color="black", linestyle="--", linewidth=1.2,
                       label=peak_label(trows, peak))
            top = ax.secondary_xaxis("top", functions=(lambda x, p=peak: x / p,
                                                       lambda f, p=peak: f * p))
            top.set_xlabel("fraction of the FMA peak", fontsize=9)
            ax.set_xlim(0, peak * 1.08)
        # Separators between kernels, so the shapes read as groups.
        for i in range(1, len(cases)):
            if cases[i][0] != cases[i - 1][0]:
                ax.axhline(i - 0.5, color="grey", linewidth=0.6)
        ax.set_yticks(range(len(cases)))
        ax.set_yticklabels([f"{p.replace('sgemm_', '')}  {m.replace('x', '×')}" for p, m in cases],
                           fontsize=8)
        ax.set_ylim(len(cases) - 0.5, -0.5)
        ax.set_ylabel("kernel and shape M×N×K")
        ax.set_xlabel("GFLOP/s (bar: median repetition; error bar: its 95 % interval)")
        ax.set_title(f"{threads} thread{'s' if threads != 1 else ''}", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    # One legend under all panels, in space kept free for it (inside an axes it would hide
    # bars, under one it would collide with the x label).
    handles, labels = axes[0][0].get_legend_handles_labels()
    # Three entries a row: the probe's label and six implementations in one row ran past
    # the figure's edges.
    ncol = min(3, len(labels))
    legend_in = 0.2 + 0.2 * math.ceil(len(labels) / ncol)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    fig.suptitle(f"SGEMM throughput on {system}", fontsize=11)
    fig.tight_layout(rect=(0, legend_in / height, 1, 1 - 0.35 / height))
    _save(fig, out_png)
    return True

