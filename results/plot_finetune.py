#!/usr/bin/python3
"""Test accuracy against cumulative training time, per freeze spec, from fine-tuning
CSVs (build/bench/finetune and bench/pytorch_finetune.py; schema finetune-2, or the
older finetune-1 of one evaluation an epoch; results/README.md "The fine-tuning CSV").

usage: /usr/bin/python3 results/plot_finetune.py CSV... --output PNG

One panel per optimizer; one colour per freeze spec; freezebench solid with circles,
freezebench with the frozen-prefix cache dotted with squares, PyTorch dashed with
triangles.  The lines join every evaluation (finetune-2: evals_per_epoch of them an
epoch); the markers stand at epoch ends only, so that E points an epoch do not bury the
lines.  The grey line is the target accuracy (the freezebench rows' target_accuracy: a
fraction of the best accuracy of spec none).  time_s excludes evaluation.  Files of
another schema are refused (exit 2).  The PNG is written whole (results/runs.py
write_whole).
"""
import argparse
import csv
import io
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SCHEMA = "finetune-2"
# Files written before evaluations within an epoch (results/ holds some): one row an
# epoch, read as evaluation 1 of 1 with epochs_done = epoch.
OLD_SCHEMA = "finetune-1"
# (line, marker) per implementation and cache setting.
STYLES = {("freezebench", "0"): ("-", "o"), ("freezebench", "1"): (":", "s"),
          ("pytorch", "0"): ("--", "^")}
COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
           "tab:pink", "tab:olive", "tab:cyan", "tab:gray")


def read(paths):
    rows = []
    for p in paths:
        with open(p, newline="") as f:
            got = list(csv.DictReader(f))
        bad = {r.get("schema_version") for r in got} - {SCHEMA, OLD_SCHEMA}
        if bad or not got:
            raise ValueError(f"{p}: not a fine-tuning CSV (schema_version {sorted(bad)}, "
                             f"{len(got)} rows); this script reads {SCHEMA} and {OLD_SCHEMA}")
        rows += [upgrade(r) for r in got]
    return rows


def upgrade(row):
    """A finetune-1 row in finetune-2's terms: its epoch's one evaluation."""
    if row["schema_version"] == OLD_SCHEMA:
        row = dict(row, evaluation="1", evals_per_epoch="1", epochs_done=row["epoch"])
    return row


def plot(rows, output):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import runs   # write_whole

    optims = sorted({r["optimizer"] for r in rows}, key=lambda o: (o != "adamw", o))
    specs = list(dict.fromkeys(r["freeze_spec"] for r in rows))
    colour = {s: COLOURS[i % len(COLOURS)] for i, s in enumerate(specs)}
    fig, axes = plt.subplots(1, len(optims), figsize=(6.5 * len(optims), 5), squeeze=False)
    for ax, optim in zip(axes[0], optims):
        mine = [r for r in rows if r["optimizer"] == optim]
        runs_here = {}
        for r in mine:
            key = (r["impl"], r["cache"], r["freeze_spec"])
            runs_here.setdefault(key, []).append(r)
        for (impl, cache, spec), rs in runs_here.items():
            rs.sort(key=lambda r: float(r["epochs_done"]))
            label = f"{spec} ({impl}{', cache' if cache == '1' else ''})"
            line, marker = STYLES.get((impl, cache), ("-.", "x"))
            ends = [i for i, r in enumerate(rs) if r["evaluation"] == r["evals_per_epoch"]]
            ax.plot([float(r["time_s"]) for r in rs], [float(r["test_accuracy"]) for r in rs],
                    line, marker=marker, markevery=ends, ms=4, color=colour[spec],
                    label=label)
        targets = {float(r["target_accuracy"]) for r in mine
                   if r["impl"] == "freezebench" and r["target_accuracy"] not in ("", "NA")}
        for t in targets:
            ax.axhline(t, color="0.6", lw=0.8, zorder=0)
        first = mine[0]
        ax.set_title(f"{optim}: {first['model']}, batch {first['batch']}, "
                     f"{first['threads']} thread(s), {first['system_id']}", fontsize=9)
        ax.set_xlabel("cumulative training time, s (evaluation excluded)")
        ax.set_ylabel("test accuracy, classes 5-9")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    fig.suptitle("Fine-tuning under freeze specs: freezebench solid (with the cache dotted), "
                 "PyTorch dashed; grey: target accuracy", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    runs.write_whole(output, lambda f: f.write(buf.getvalue()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("csv", nargs="+")
    ap.add_argument("--output", required=True, metavar="PNG")
    a = ap.parse_args(argv)
    try:
        rows = read(a.csv)
    except (OSError, ValueError) as e:
        print(f"plot_finetune: {e}", file=sys.stderr)
        return 2
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        print(f"SKIP: cannot import matplotlib ({e}); install python3-matplotlib",
              file=sys.stderr)
        return 77
    plot(rows, a.output)
    print(f"plot_finetune: wrote {a.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
