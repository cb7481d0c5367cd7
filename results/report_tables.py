"""The report's tables (make_report.py assembles them): the summary, and per system the
freeze sweep, threads, freezebench vs PyTorch and kernel tables; the CPU-vs-CPU table.
Every figure carries its 95 % interval from the samples (report_figures.Figures).  Each
function returns a list of Markdown lines (empty where it has nothing to show).
"""
import re
from collections import defaultdict

import runs
import stats
from report_figures import DIRTY, NO_SAMPLES, WIDE, dirty_mark, row_notes
from runs import (NAN, SWEEP_PHASES, fmt_bytes, fmt_count, fmt_flop, has_samples, model_sort_key,
                  num, sig, spec_positions)

LISTED_WARNINGS = 12      # the rest of a long warning list is counted, not listed


def table(header, rows):
    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def plural(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"


def pct(x):
    """A fraction as a percentage with one decimal, like stats.fmt_interval's cuts."""
    return "" if x != x else f"{x * 100:.1f}%"


def sweep_rows(rows):
    return [r for r in rows if r["bench"] == "freeze_sweep"]


def by_config(rows):
    return {runs.config_key(r): r for r in rows}


def impl_label(impl, ranks):
    """The implementation, with the MPI ranks of a data-parallel row (never mixed with a
    one-process row: ranks is part of every configuration key)."""
    return impl if str(ranks) == "1" else f"{impl} ×{ranks} ranks"


def describe_row(r):
    if r["bench"] != "freeze_sweep":
        return f'{r["impl"]} {r["phase"]} {r["model"]}'
    return (f'{impl_label(r["impl"], r["ranks"])} {r["model"]} batch {r["batch"]} '
            f'`{r["freeze_spec"]}` {r["phase"]}')


class NoneRows:
    """The `none` row each sweep row's cut is taken against: same system and
    configuration but the spec, from the row's own file where it has one (the writers
    cut against their own `none`), else from another file of the system."""

    def __init__(self, rows):
        self._by_file, self._any = {}, {}
        for r in sweep_rows(rows):
            if r["freeze_spec"] == "none":
                k = self._key(r)
                self._by_file[(r["_file"],) + k] = r
                self._any.setdefault(k, r)

    @staticmethod
    def _key(r):
        k = runs.config_key(r)
        return (r["_system"],) + k[:4] + k[5:]

    def of(self, r):
        k = self._key(r)
        return self._by_file.get((r["_file"],) + k) or self._any.get(k)


# ---- the summary ----------------------------------------------------------------------

def layer_count(model):
    """Layers of a sweep model: '1024x9' is 9 widths (8 layers), '10,5,1' 3 widths (2)."""
    m = re.fullmatch(r"(\d+)x(\d+)", model)
    widths = int(m.group(2)) if m else model.count(",") + 1
    return max(widths - 1, 0)


def middle_prefix(model, specs):
    """prefix:K with K half the layers (prefix:4 of 1024x9), or the measured prefix:K
    nearest to it; None where no prefix:K with 0 < K < layers was measured."""
    layers = layer_count(model)
    ks = [runs.frozen_layers(s) for s in specs]
    ks = [k for k in ks if k is not None and 0 < k < layers]
    if not ks:
        return None
    return f"prefix:{min(ks, key=lambda k: (abs(k - layers // 2), k))}"


def summary(by_system, fig, nones):
    """Per system and one-process model: the step cut at the middle prefix and at `last`,
    at 1 thread and at the most threads measured, and PyTorch's step time over
    freezebench's at `none` where PyTorch rows exist."""
    body = []
    for sid in sorted(by_system):
        sweep = [r for r in sweep_rows(by_system[sid]) if r["ranks"] == "1"]
        at = by_config(sweep)
        fb = defaultdict(list)            # (model, batch) -> its freezebench step rows
        for r in sweep:
            if r["impl"] == "freezebench" and r["phase"] == "step":
                fb[(r["model"], int(r["batch"]))].append(r)
        for model, batch in sorted(fb, key=lambda k: (model_sort_key(k[0]), k[1])):
            mrows = fb[(model, batch)]
            counts = sorted({int(r["threads"]) for r in mrows})
            cores = mrows[0].get("cores", "")
            middle = middle_prefix(model, {r["freeze_spec"] for r in mrows})
            for threads in sorted({counts[0], counts[-1]}):
                def step(impl, spec):
                    return at.get(("freeze_sweep", impl, model, str(batch), spec, str(threads),
                                   "step", "1"))
                cells = []
                for spec in (middle, "last"):
                    r = step("freezebench", spec) if spec else None
                    cells.append(f"`{spec}` {fig.cut_cell(r, nones.of(r))}" if r else "—")
                fb_none, pt_none = step("freezebench", "none"), step("pytorch", "none")
                cells.append(fig.ratio_cell(pt_none, fb_none) if fb_none and pt_none else "—")
                label = plural(threads, "thread") + (" (all cores)" if str(threads) == cores
                                                     and threads > 1 else "")
                used = [step("freezebench", s) for s in (middle, "last", "none") if s]
                body.append([f"`{sid}`", f"{model}, batch {batch}", label] + cells
                            + [row_notes(used + [pt_none])])
    if not body:
        return []
    header = ["system", "model", "threads", "step cut, middle prefix", "step cut, `last`",
              "PyTorch ÷ freezebench (step, `none`)", "notes"]
    text = ("Step time cut = 1 − step time / step time of spec `none` (median, [95 % "
            "interval] from the repetitions); the middle prefix freezes half the layers "
            "(`prefix:4` of 1024x9).")
    if all(row[5] == "—" for row in body):        # no PyTorch rows: no column for them
        header, body = header[:5] + header[6:], [row[:5] + row[6:] for row in body]
    else:
        text += ("  PyTorch ÷ freezebench: PyTorch's median step time over freezebench's at "
                 "spec `none` (above 1: freezebench is faster).")
    return [text, ""] + table(header, body) + [""]


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


def warnings(srows, fig):
    """Rows slower on N threads than on 1, and rows whose intervals are too wide."""
    out = []
    slow = []
    for a, b in thread_pairs(sweep_rows(srows)):
        speedup, lo, hi = fig.ratio(a, b)
        if speedup < 1:
            # beyond noise when the whole interval of the speed-up lies below 1
            slow.append((hi is not None and hi < 1, speedup, a, b))
    if slow:
        slow.sort(key=lambda s: (not s[0], s[1]))
        beyond = sum(s[0] for s in slow)
        unknown = sum(not (has_samples(a) and has_samples(b)) for _, _, a, b in slow)
        out += [f"> ⚠ **Slower with more threads** in {plural(len(slow), 'row')} ({beyond} "
                "with the whole 95 % interval of the speed-up below 1"
                + (f", {unknown} without samples to tell" if unknown else "")
                + "): a noisy neighbour, or work too small to split.", ">"]
        items = [f'{describe_row(b)}: {b["threads"]} threads, speed-up '
                 f'{fig.ratio_cell(a, b)}' for _, _, a, b in slow]
        out += [f"> - {i}" for i in items[:LISTED_WARNINGS]]
        if len(items) > LISTED_WARNINGS:
            out += [f"> - ... and {len(items) - LISTED_WARNINGS} more (threads table below)"]
        out += [""]
    measured = [r for r in srows if has_samples(r)]
    wide = [r for r in measured if fig.time_wide(r)]
    if wide:
        def half_width(r):
            med, lo, hi = fig.time(r)
            return float("inf") if lo is None else (hi - lo) / 2 / med
        items = [f'{describe_row(r)}, {plural(int(r["threads"]), "thread")}: '
                 f'{fig.time_cell(r, mark=False)}' for r in sorted(wide, key=half_width,
                                                                   reverse=True)]
        out += [f"> {WIDE} **Intervals too wide** in {plural(len(wide), 'row')} of "
                f"{len(measured)}: the median time's 95 % interval is wider than "
                f"±{sig(fig.time_limit * 100, 2)} % of it (or there are too few samples); "
                "re-measure on an idle machine before trusting them.", ">"]
        out += [f"> - {i}" for i in items[:LISTED_WARNINGS]]
        if len(items) > LISTED_WARNINGS:
            out += [f"> - ... and {len(items) - LISTED_WARNINGS} more (marked {WIDE} below)"]
        out += [""]
    return out


# ---- per system -----------------------------------------------------------------------

def sweep_tables(srows, fig, nones):
    sweep = sweep_rows(srows)
    configs = by_config(sweep)
    groups = defaultdict(set)
    model_specs = defaultdict(list)      # each model's specs, in the order of the rows
    for r in sweep:
        groups[(r["model"], int(r["batch"]))].add((r["impl"], int(r["ranks"]), int(r["threads"]),
                                                   r["freeze_spec"]))
        model_specs[r["model"]].append(r["freeze_spec"])
    out = []
    for model, batch in sorted(groups, key=lambda k: (model_sort_key(k[0]), k[1])):
        specs = spec_positions(model_specs[model])
        body = []
        for impl, ranks, threads, spec in sorted(groups[(model, batch)],
                                                 key=lambda t: (t[0] != "freezebench", t[0], t[1],
                                                                t[2], specs[t[3]])):
            ph = {p: configs.get(("freeze_sweep", impl, model, str(batch), spec, str(threads), p,
                                  str(ranks)))
                  for p in SWEEP_PHASES}
            b, s = ph["backward"], ph["step"]
            if b is None:
                continue
            bnone = nones.of(b)
            gap = fig.cut(b, bnone)[0] - num(b["flop_cut"]) if bnone is not b else NAN
            body.append([
                impl_label(impl, ranks), threads, f"`{spec}`", fmt_count(b["trainable_params"]),
                fmt_flop(num(b["flops_planned"])), pct(num(b["flop_cut"])),
                fig.time_cell(ph["forward"]) if ph["forward"] else "",
                fig.time_cell(b), fig.cut_cell(b, nones.of(b)),
                "" if gap != gap else f"{gap * 100 + 0.0:+.1f} pt",
                fig.time_cell(ph["optimizer"]) if ph["optimizer"] else "",
                fig.time_cell(s) if s else "", fig.cut_cell(s, nones.of(s)) if s else "",
                fmt_bytes(num(b["activation_bytes"])), row_notes(ph.values())])
        out += [f"#### Model {model}, batch {batch}", ""]
        out += table(["impl", "threads", "spec", "trainable", "bwd FLOP", "FLOP cut",
                      "forward", "backward", "bwd time cut", "gap", "optimizer", "step",
                      "step time cut", "activations", "notes"], body) + [""]
    return out


def threads_table(srows, fig):
    pairs = list(thread_pairs(sweep_rows(srows)))
    if not pairs:
        return []
    cells, notes = {}, defaultdict(list)
    for a, b in pairs:
        k = (impl_label(b["impl"], b["ranks"]), b["model"], int(b["batch"]), b["freeze_spec"],
             int(b["threads"]))
        speedup, lo, hi = fig.ratio(a, b)
        text = fig.ratio_cell(a, b)
        if speedup < 1:
            text += " (slower)" if hi is not None and hi < 1 else " (slower?)"
        cells.setdefault(k, {})[b["phase"]] = text
        notes[k] += [a, b]
    specs = spec_positions(r["freeze_spec"] for r in sweep_rows(srows))
    body = [[impl, model, batch, f"`{spec}`", n] + [c.get(p, "") for p in SWEEP_PHASES]
            + [row_notes(notes[(impl, model, batch, spec, n)])]
            for (impl, model, batch, spec, n), c in sorted(
                cells.items(), key=lambda kv: (kv[0][0] != "freezebench", kv[0][0],
                                               model_sort_key(kv[0][1]), kv[0][2], kv[0][4],
                                               specs[kv[0][3]]))]
    return (["Speed-up = median time on 1 thread / median time on N threads, [95 % interval] "
             "(above 1: N threads are faster).  (slower): the whole interval lies below 1; "
             "(slower?): below 1, but the interval (or its absence) leaves it open.", ""]
            + table(["impl", "model", "batch", "spec", "threads N"]
                    + [f"{p} speed-up" for p in SWEEP_PHASES] + ["notes"], body) + [""])


def versus_table(srows, fig):
    """freezebench against PyTorch on the same model, batch, threads, spec and phase, in one
    process (PyTorch rows are; a data-parallel row has no PyTorch twin)."""
    sweep = [r for r in sweep_rows(srows) if r["ranks"] == "1"]
    t = defaultdict(dict)
    for r in sweep:
        key = (r["model"], int(r["batch"]), int(r["threads"]), r["freeze_spec"])
        t[key][(r["impl"], r["phase"])] = r
    keys = [k for k, v in t.items()
            if any(("freezebench", p) in v and ("pytorch", p) in v for p in SWEEP_PHASES)]
    if not keys:
        return []
    specs = spec_positions(r["freeze_spec"] for r in sweep)
    body = []
    for k in sorted(keys, key=lambda k: (model_sort_key(k[0]), k[1], k[2], specs[k[3]])):
        v = t[k]
        row, used = [k[0], k[1], k[2], f"`{k[3]}`"], []
        for p in SWEEP_PHASES:
            fb, pt = v.get(("freezebench", p)), v.get(("pytorch", p))
            used += [fb, pt]
            row.append(fig.ratio_cell(pt, fb) if fb and pt else "")
        fs, ps = v.get(("freezebench", "step")), v.get(("pytorch", "step"))
        row += [fig.time_cell(fs) if fs else "", fig.time_cell(ps) if ps else "",
                row_notes(used)]
        body.append(row)
    return (["Time ratio = PyTorch median / freezebench median per phase, [95 % interval] "
             "(above 1: freezebench is faster).", ""]
            + table(["model", "batch", "threads", "spec"] + [f"{p} ratio" for p in SWEEP_PHASES]
                    + ["step freezebench", "step PyTorch", "notes"], body) + [""])


def gflops_cell(r, fig):
    """GFLOP/s of the median repetition with the interval the median time's gives."""
    med, lo, hi = fig.time(r)
    f = num(r["flops_executed"]) * 1e-9
    if not has_samples(r):
        return sig(f / med)
    return stats.fmt_interval(f / med, None if hi is None else f / hi,
                              None if lo is None else f / lo) + (
        f" {WIDE}" if fig.time_wide(r) else "")


def kernel_tables(srows, fig):
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
        # In the order first seen; a dict, as a list's `in` made this quadratic in the
        # number of shapes.
        cases = list(dict.fromkeys((r["phase"], r["model"], r["batch"], r["threads"])
                                   for r in gemm))
        body = []
        for phase, model, batch, threads in cases:
            row, used = [phase, model.replace("x", "×"), threads], []
            for impl in impls:
                r = rows.get(("kernel_bench", impl, model, batch, "", threads, phase, "1"))
                used.append(r)
                row += ["", ""] if r is None else [gflops_cell(r, fig),
                                                   sig(num(r["fraction_of_peak"]))]
            body.append(row + [row_notes(used)])
        header = ["kernel", "shape M×N×K", "threads"]
        for impl in impls:
            header += [f"{impl} GFLOP/s", f"{impl} of peak"]
        out += ["GEMM: GFLOP/s of the median repetition [95 % interval]; of peak = median "
                "GFLOP/s / (the FMA peak probe's per-core GFLOP/s × threads).", ""]
        out += table(header + ["notes"], body) + [""]
    mem = [r for r in kern if not r["phase"].startswith("sgemm")]
    if mem:
        body = [[r["impl"], r["phase"], r["model"], r["threads"], fig.time_cell(r),
                 sig(num(r["gbytes_per_s"])), sig(num(r["fraction_of_peak"])), row_notes([r])]
                for r in mem]
        out += ["Memory-bound kernels: median time [95 % interval]; of bandwidth = GB/s / the "
                "one-thread streaming triad (above 1: the data stayed in cache).", ""]
        out += table(["impl", "kernel", "size", "threads", "time", "GB/s", "of bandwidth",
                      "notes"], body) + [""]
    return out


# ---- across systems -------------------------------------------------------------------

def cpu_vs_cpu(rows, systems, reference, fig):
    """Configurations measured on at least two systems, time per system and the ratio to
    the reference system (above 1: slower than the reference)."""
    at = defaultdict(dict)
    for r in rows:
        at[runs.config_key(r)][r["_system"]] = r
    others = [s for s in systems if s != reference]
    keys = [k for k, v in at.items() if reference in v and any(s in v for s in others)]
    if not keys:
        return ["No configuration was measured on the reference system and another one.", ""]
    specs = spec_positions(k[4] for k in keys if k[4])
    body = []
    for k in sorted(keys, key=lambda k: (k[0], k[1] != "freezebench", k[1], model_sort_key(k[2]),
                                         int(k[3]), int(k[7]), int(k[5]),
                                         specs[k[4]] if k[4] else -1,
                                         SWEEP_PHASES.index(k[6]) if k[6] in SWEEP_PHASES else 9,
                                         k[6])):
        v = at[k]
        ref = v[reference]
        row = [k[0], impl_label(k[1], k[7]), k[2], k[3], f"`{k[4]}`" if k[4] else "", k[5],
               k[6], fig.time_cell(ref) + dirty_mark(ref)]
        for s in others:
            row += ([fig.time_cell(v[s]) + dirty_mark(v[s]), fig.ratio_cell(v[s], ref)]
                    if s in v else ["", ""])
        body.append(row + [row_notes(v.values())])
    header = ["bench", "impl", "model", "batch", "spec", "threads", "phase", f"`{reference}`"]
    for s in others:
        header += [f"`{s}`", "ratio"]
    return ([f"Median time [95 % interval] per system; ratio = system / `{reference}` "
             f"[95 % interval] (below 1: faster than it).  {DIRTY} after a time: that row's "
             f"build was dirty.  {NO_SAMPLES}: a row without samples.", ""]
            + table(header + ["notes"], body) + [""])
