"""The report's numbers with their 95 % intervals (results/stats.py), and the marks that go
with them, for make_report.py, report_tables.py and plots.py.

Every interval comes from the rows' samples (schema 4, `time_samples_s`), never from the
CSV's own interval columns: the report recomputes the cut of every spec against `none`
and every ratio (N threads vs 1, PyTorch vs freezebench, one CPU vs another) from the two
rows' samples.  A schema-3 row has no samples: its figures show without interval, and the
row is marked "no samples (schema 3)".

A figure is flagged too wide (WIDE) when its interval is wider than the limits given
(stats.too_wide_time for times and ratios, relative to the point; stats.too_wide_cut for
cuts, in points), or when a schema-4 row has too few samples for one.
"""
import stats
from runs import NAN, has_samples, is_dirty, num, sig, time_unit

WIDE = "⚠"            # interval too wide, or too few samples for one
DIRTY = "†"           # built from a tree that differed from its revision
NO_SAMPLES = "no samples (schema 3)"


def legend(time_limit, cut_limit):
    """The marks' meaning, one line per mark, for the lines above a table."""
    return [f"{WIDE} after a figure: its 95 % interval is too wide to be useful (a time or "
            f"ratio ±{sig(time_limit * 100, 2)} % of its value, a cut ±{sig(cut_limit * 100, 2)} "
            f"points), or the row has fewer than {stats.MIN_SAMPLES} samples; re-measure "
            "before relying on it.",
            f"{DIRTY}: measured with a build from a dirty tree (`git_revision` ends in "
            "`-dirty`): the code is not the revision's.",
            f"{NO_SAMPLES}: the file predates schema 4; its figures show without interval."]


class Figures:
    """Intervals of one report, each computed once (the bootstrap is not free, and the
    summary, tables and plots show the same numbers)."""

    def __init__(self, time_limit=0.05, cut_limit=0.03):
        self.time_limit, self.cut_limit = time_limit, cut_limit
        self._ratios = {}

    # ---- times ------------------------------------------------------------------------

    def time(self, r):
        """(median, lo, hi) in seconds; lo, hi None without interval.  The median of the
        samples is the file's time_median_s (schema 4), so the file's is shown."""
        med = num(r["time_median_s"])
        if not has_samples(r):
            return med, None, None
        ci = stats.median_ci(r["_samples"])
        return (med, None, None) if ci is None else (med, ci[0], ci[1])

    def time_wide(self, r):
        """Too wide to be useful; never for a schema-3 row, which has no interval to judge
        (it is marked no samples instead)."""
        if not has_samples(r):
            return False
        med, lo, hi = self.time(r)
        return stats.too_wide_time(lo, hi, med, self.time_limit)

    def time_cell(self, r, mark=True):
        """'79.7 ms [78.7–82.1]' (the interval in the median's unit), '79.7 ms [n/a]' with
        too few samples, '79.7 ms' for a schema-3 row; WIDE after a too wide one."""
        med, lo, hi = self.time(r)
        if med != med:
            return ""
        factor, unit = time_unit(med)
        if not has_samples(r):
            return f"{sig(med / factor)} {unit}"
        text = stats.fmt_interval(med / factor, None if lo is None else lo / factor,
                                  None if hi is None else hi / factor)
        # fmt_interval gives '79.7 [78.7–82.1]': the unit goes after the point.
        point, _, rest = text.partition(" ")
        text = f"{point} {unit} {rest}".rstrip()
        return text + (f" {WIDE}" if mark and self.time_wide(r) else "")

    # ---- ratios of two rows -----------------------------------------------------------

    def ratio(self, num_row, den_row):
        """(median(num)/median(den), lo, hi) from the two rows' samples; without samples
        on either side the ratio of the files' medians and no interval."""
        key = (id(num_row), id(den_row))
        if key not in self._ratios:
            if has_samples(num_row) and has_samples(den_row) and num_row["_samples"] \
                    and den_row["_samples"]:
                self._ratios[key] = stats.ratio_ci(num_row["_samples"], den_row["_samples"])
            else:
                den = num(den_row["time_median_s"])
                self._ratios[key] = (num(num_row["time_median_s"]) / den if den else NAN,
                                     None, None)
        return self._ratios[key]

    def ratio_wide(self, num_row, den_row):
        if not (has_samples(num_row) and has_samples(den_row)):
            return False
        point, lo, hi = self.ratio(num_row, den_row)
        return stats.too_wide_time(lo, hi, point, self.time_limit)

    def ratio_cell(self, num_row, den_row, invert=False):
        """'1.86 [1.80–1.92]'; invert=True shows den/num (a speed-up from a time ratio):
        the interval's ends swap and invert with it."""
        point, lo, hi = self.ratio(num_row, den_row)
        if invert:
            point, lo, hi = 1 / point, (None if hi is None else 1 / hi), \
                (None if lo is None else 1 / lo)
        if not (has_samples(num_row) and has_samples(den_row)):
            return sig(point)
        return stats.fmt_interval(point, lo, hi) + (
            f" {WIDE}" if self.ratio_wide(num_row, den_row) else "")

    # ---- cuts against `none` -----------------------------------------------------------

    def cut(self, r, none):
        """(cut, lo, hi): 1 - median(r)/median(none) from the samples (stats.cut_ci), or
        for a schema-3 pair the file's time_cut without interval.  NaN without `none`."""
        if none is None:
            return num(r.get("time_cut", "")), None, None
        if r is none:             # the reference itself: 0 by definition, no interval
            return 0.0, None, None
        if not (has_samples(r) and has_samples(none) and r["_samples"] and none["_samples"]):
            cut = num(r.get("time_cut", ""))
            if cut != cut:        # no cut in the file: from the two medians
                cut = 1 - num(r["time_median_s"]) / num(none["time_median_s"])
            return cut, None, None
        point, lo, hi = self.ratio(r, none)
        return 1 - point, (None if hi is None else 1 - hi), (None if lo is None else 1 - lo)

    def cut_wide(self, r, none):
        if none is None or not (has_samples(r) and has_samples(none)) or r is none:
            return False
        _, lo, hi = self.cut(r, none)
        return stats.too_wide_cut(lo, hi, self.cut_limit)

    def cut_cell(self, r, none):
        """'35.0% [33.8–36.1]'; '35.0%' for schema 3; 'ref.' for `none` itself."""
        if r is none:
            return "ref."
        point, lo, hi = self.cut(r, none)
        if point != point:
            return ""
        if none is None or not (has_samples(r) and has_samples(none)):
            return f"{point * 100:.1f}%"
        return stats.fmt_interval(point, lo, hi, percent=True) + (
            f" {WIDE}" if self.cut_wide(r, none) else "")


def row_notes(rows):
    """The notes column of a table row made of `rows` (None entries ignored): dirty, and
    no samples where any of them is a schema-3 row."""
    rows = [r for r in rows if r is not None]
    notes = []
    if any(is_dirty(r) for r in rows):
        notes.append(f"{DIRTY} dirty")
    if any(not has_samples(r) for r in rows):
        notes.append(NO_SAMPLES)
    return ", ".join(notes)


def dirty_mark(*rows):
    return f" {DIRTY}" if any(r is not None and is_dirty(r) for r in rows) else ""
