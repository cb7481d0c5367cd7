"""Reading results CSVs (schemas 2 to 4, results/README.md) and writing their numbers for
people: shared by make_report.py, plots.py and compare_runs.py.

Schema 4 adds every repetition's time (`time_samples_s`); load() parses them into each
row's `_samples` (None for the older schemas, which have no samples).  Schema 1 is
retired: such a file is listed as skipped, never read.  The statistics on the samples are
results/stats.py's; this module only parses them (stats.parse_samples).
"""
import csv
import errno
import glob
import hashlib
import io
import math
import os
import re
import sys
import tempfile

# stats.py lies beside this file, whichever script imports us.
if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stats  # noqa: E402

SUPPORTED_SCHEMAS = ("2", "3", "4")
# Schema-1 files predate the system description and were moved to results/retired/; a
# reader given one says so and skips it.
RETIRED_SCHEMAS = ("1",)
NAN = float("nan")
DIRTY_SUFFIX = "-dirty"

# Every schema has these; a file without them is listed as skipped, not read.
REQUIRED_COLUMNS = {"schema_version", "bench", "impl", "model", "batch", "phase", "threads",
                    "cpu_model", "freeze_spec", "time_min_s", "time_median_s", "time_max_s",
                    "flops_planned"}

# Schema 2's description of the machine, in the order the report lists it.
SYSTEM_COLUMNS = ("cpu_vendor", "cpu_family", "cpu_model_number", "cpu_stepping", "uarch",
                  "hypervisor", "smt", "memory_bytes", "os", "kernel", "blas", "openblas_core",
                  "peak_isa")

SWEEP_PHASES = ("forward", "backward", "optimizer", "step")

# Columns the scripts read as numbers, checked when a file is read: a value that is not
# one stops the reading with the file and line, never a traceback later.  Whole numbers
# (keys, sorting, int()): always in WHOLE_COLUMNS, where present and not empty or NA in
# COUNT_COLUMNS.  NUMBER_COLUMNS as num() reads them: empty, NA, or a number.
WHOLE_COLUMNS = ("batch", "threads", "ranks")
COUNT_COLUMNS = ("repetitions", "trainable_params", "frozen_params")
NUMBER_COLUMNS = ("time_min_s", "time_median_s", "time_max_s", "flops_planned",
                  "flops_executed", "gflops", "bytes", "gbytes_per_s", "peak_gflops",
                  "bandwidth_gbytes_per_s", "fraction_of_peak", "flop_cut", "time_cut",
                  "activation_bytes", "l1d_bytes", "l2_bytes", "l3_bytes", "memory_bytes")

# What a row measures, without the machine: two runs (or two systems) are matched on it.
# `ranks` (schema 3: MPI ranks of a data-parallel row) is last, so the fields before it
# keep their positions; load() gives a row without the column ranks "1".
CONFIG_FIELDS = ("bench", "impl", "model", "batch", "freeze_spec", "threads", "phase", "ranks")


class InputError(Exception):
    """A path or file the caller named cannot be read as results (a usage error)."""


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def num(text):
    """Empty (does not apply) and NA (not known, e.g. a PyTorch row's peak) are NaN."""
    return float(text) if text not in ("", "NA", None) else NAN


def isnan(x):
    return x != x


def csv_paths(inputs):
    """Files as given, folders as their *.csv regular files (sorted): a FIFO named x.csv
    would block the reading forever."""
    paths = []
    for p in inputs:
        if os.path.isdir(p):
            paths += [q for q in sorted(glob.glob(os.path.join(p, "*.csv")))
                      if os.path.isfile(q)]
        elif os.path.isfile(p):
            paths.append(p)
        elif os.path.exists(p):
            raise InputError(f"{p}: not a regular file or a folder")
        else:
            raise InputError(f"{p}: no such file or folder")
    return paths


def read_csv(path):
    """The header and the records of a results CSV, each record a dict with `_line`, the
    line it starts on (the header is line 1).  InputError naming the file and the line
    for bytes that are not UTF-8, a record the csv module cannot parse, and a record with
    more or fewer fields than the header (a cut or damaged row)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(f"{path}: {e.strerror or e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise InputError(f"{path} line {line}: byte 0x{data[e.start]:02x} is not UTF-8 "
                         "(a results CSV is UTF-8 text)") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header, records, start = None, [], 1
    try:
        for fields in reader:
            line, start = start, reader.line_num + 1
            if not fields:                  # a blank line, as csv.DictReader skips it
                continue
            if header is None:
                header = fields
                continue
            if len(fields) != len(header):
                raise InputError(f"{path} line {line}: {len(fields)} fields, the header has "
                                 f"{len(header)} (a cut or damaged row)")
            r = dict(zip(header, fields))
            r["_line"] = line
            records.append(r)
    except csv.Error as e:
        raise InputError(f"{path} line {reader.line_num}: {e}") from None
    return header or [], records


def _check_numbers(path, file_rows, columns):
    """InputError naming the file, line, column and value of the first value that is not
    the number its column holds (NUMBER_COLUMNS, WHOLE_COLUMNS, COUNT_COLUMNS)."""
    whole = [c for c in WHOLE_COLUMNS if c in columns]
    counts = [c for c in COUNT_COLUMNS if c in columns]
    numbers = [c for c in NUMBER_COLUMNS if c in columns]
    for r in file_rows:
        for c in whole + counts:
            v = r[c]
            if c in counts and v in ("", "NA"):
                continue
            try:
                int(v)
            except ValueError:
                raise InputError(f"{path} line {r['_line']}: {c} {v!r} is not a whole "
                                 "number") from None
        for c in numbers:
            try:
                num(r[c])
            except ValueError:
                raise InputError(f"{path} line {r['_line']}: {c} {r[c]!r} is not a "
                                 "number") from None


def derived_system_id(r):
    """Schema 1 has no system_id: the machine columns that tell two systems apart, as a
    readable slug plus a hash of all of them (two VMs of one host name and CPU model but
    other cache sizes or core counts stay apart)."""
    parts = [r.get(c, "") for c in ("host", "cpu_model", "arch", "l1d_bytes", "l2_bytes",
                                    "l3_bytes", "cores")]
    digest = hashlib.sha1("\0".join(parts).encode()).hexdigest()[:6]
    return slug(f'{r.get("cpu_model", "")} {r.get("arch", "")} {r.get("host", "")} '
                f'{r.get("cores", "")}c') + "-" + digest


def load(inputs):
    """Rows of every readable CSV under `inputs`, each with _file, _path, _line (where it
    starts in its file), _schema, _system (the system_id, or one derived from the machine
    columns where it is empty) and _samples (schema 4: the repetitions' times, a list;
    older schemas: None); and the files skipped with the reason.  A file of a schema
    this reads that is damaged (bytes that are not UTF-8, a row of too few or too many
    fields, a number column holding something else) raises InputError naming the file
    and the line."""
    rows, skipped = [], []
    for path in csv_paths(inputs):
        header, file_rows = read_csv(path)
        columns = set(header)
        name = os.path.basename(path)
        if not file_rows:
            skipped.append((name, "no rows"))
            continue
        version = file_rows[0].get("schema_version")
        if version in RETIRED_SCHEMAS:
            skipped.append((name, f"schema {version} is retired (results/retired/): not read"))
            continue
        if version and version.startswith("finetune-"):
            # Evaluations of training runs (finetune-2, and finetune-1's one an epoch,
            # drawn by plot_finetune.py) or their ratios against PyTorch
            # (finetune-vs-pytorch-3 and -2): not phase timings.
            skipped.append((name, f"fine-tuning results (schema {version}): not phase "
                                  "timings; results/README.md describes them"))
            continue
        if version not in SUPPORTED_SCHEMAS:
            skipped.append((name, f"schema version {version!r}, this script reads "
                                  f"{', '.join(SUPPORTED_SCHEMAS)}"))
            continue
        missing = REQUIRED_COLUMNS - columns
        if missing:
            skipped.append((name, "missing columns " + ", ".join(sorted(missing))))
            continue
        bad = _parse_samples(file_rows)
        if bad:
            skipped.append((name, bad))
            continue
        for r in file_rows:
            # One process wherever the column is missing (schemas 1, 2) or empty.
            r["ranks"] = (r.get("ranks") or "").strip() or "1"
        _check_numbers(path, file_rows, columns | {"ranks"})
        for r in file_rows:
            r["_file"], r["_path"], r["_schema"] = name, path, r["schema_version"]
            sid = (r.get("system_id") or "").strip()
            r["_described"] = bool(sid)
            r["_system"] = sid if sid else derived_system_id(r)
        rows.extend(file_rows)
    return rows, skipped


def _parse_samples(file_rows):
    """Sets each row's _samples; the reason to skip the file where a row's samples are not
    a list of positive finite numbers (a damaged file), else None."""
    for r in file_rows:
        if "time_samples_s" not in r:
            r["_samples"] = None                      # schemas 2, 3: no samples
            continue
        try:
            r["_samples"] = stats.parse_samples(r["time_samples_s"] or "")
        except ValueError as e:
            return f"line {r['_line']}: time_samples_s: {e}"
    return None


def has_samples(r):
    return r.get("_samples") is not None


def is_dirty(r):
    """The row's program was built from a tree that differed from its revision."""
    return (r.get("git_revision") or "").endswith(DIRTY_SUFFIX)


class WriteError(Exception):
    """A file could not be written (write_whole); its old contents are unchanged.
    `exists`: it was not written because it exists (write_whole(replace=False))."""

    def __init__(self, path, reason, exists=False):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason, self.exists = path, reason, exists


def _put_in_place(tmp, path, replace):
    """Renames the finished `tmp` to `path`; with replace False it is linked in instead,
    which fails with FileExistsError where `path` exists (it never replaces it)."""
    if replace:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
    except OSError as e:
        # A file system without hard links: the rename, after a last look.
        if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
            raise
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), path) from e
        os.replace(tmp, path)
        return
    os.unlink(tmp)


def write_whole(path, write, replace=True):
    """Writes `path` whole: write(f) fills a temporary file beside it (binary), which is
    flushed to disk and renamed over `path`.  On an OSError (a full disk, say) the
    temporary file is removed and WriteError raised: `path` keeps its old contents,
    never a fragment of the new ones.  With replace False an existing `path` is never
    replaced, also one that appeared while `write` ran: WriteError with exists True."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.",
                                   suffix=".tmp")
    except OSError as e:
        raise WriteError(path, e.strerror or str(e)) from e
    try:
        # mkstemp makes the file private (0600); the result should read like any other
        # file written here: the old file's mode, or the umask's default.
        try:
            mode = os.stat(path).st_mode & 0o777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            fd = None                                  # closed by the with from here on
            write(f)
            f.flush()
            os.fsync(f.fileno())
        _put_in_place(tmp, path, replace)
    except BaseException as e:
        if fd is not None:
            os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise WriteError(path, e.strerror or str(e),
                             exists=isinstance(e, FileExistsError)) from e
        raise


def config_key(r):
    return tuple(r[c] for c in CONFIG_FIELDS)


def frozen_layers(spec):
    if spec == "none":
        return 0
    m = re.fullmatch(r"prefix:(\d+)", spec)
    return int(m.group(1)) if m else None


def spec_positions(specs):
    """{spec: its place in spec_order(specs)}: sort keys look a spec up here, not with
    list.index, which made sorting quadratic in the number of specs."""
    return {s: i for i, s in enumerate(spec_order(specs))}


def spec_order(specs):
    """none, then prefix:K by K, then the others in the order given (the sweep's)."""
    first = {}
    for s in specs:
        first.setdefault(s, len(first))

    def rank(s):
        k = frozen_layers(s)
        return (0, k, 0) if k is not None else (1, 0, first[s])
    return sorted(first, key=rank)


def model_sort_key(model):
    return (model.count(",") == 0, model)


# ---- numbers for people ---------------------------------------------------------------

def sig(x, digits=3):
    """`digits` significant digits in positional notation (no exponent): 8510, 0.000851."""
    if isnan(x):
        return ""
    if x == 0 or math.isinf(x):
        return "0" if x == 0 else str(x)
    decimals = digits - 1 - math.floor(math.log10(abs(x)))
    rounded = round(x, decimals)
    # Rounding may carry into the next decade (9.996 -> 10.0): one decimal fewer then.
    if rounded != 0 and math.floor(math.log10(abs(rounded))) > math.floor(math.log10(abs(x))):
        decimals -= 1
    return f"{rounded:.{max(decimals, 0)}f}"


def _scaled(x, units):
    """The largest unit that keeps the value at 1 or more (the smallest unit below)."""
    for factor, name in units:
        if abs(x) >= factor:
            return factor, name
    return units[-1]


TIME_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))
FLOP_UNITS = ((1e12, "TFLOP"), (1e9, "GFLOP"), (1e6, "MFLOP"), (1e3, "kFLOP"), (1.0, "FLOP"))
BYTE_UNITS = ((2.0**30, "GiB"), (2.0**20, "MiB"), (2.0**10, "KiB"), (1.0, "B"))


def time_unit(seconds):
    return _scaled(seconds, TIME_UNITS)


def fmt_time(seconds):
    if isnan(seconds):
        return ""
    factor, name = time_unit(seconds)
    return f"{sig(seconds / factor)} {name}"


def fmt_time_span(median, lo, hi):
    """'79.7 ms [78.7–82.1]': the min and max in the median's unit."""
    if isnan(median):
        return ""
    factor, name = time_unit(median)
    text = f"{sig(median / factor)} {name}"
    if not (isnan(lo) or isnan(hi)):
        text += f" [{sig(lo / factor)}–{sig(hi / factor)}]"
    return text


def fmt_flop(x):
    if isnan(x):
        return ""
    factor, name = _scaled(x, FLOP_UNITS)
    return f"{sig(x / factor)} {name}"


def fmt_bytes(x):
    """Sizes are mostly powers of two: 32 KiB, not 32.0 KiB."""
    if isnan(x):
        return ""
    factor, name = _scaled(x, BYTE_UNITS)
    text = sig(x / factor)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} {name}"


def fmt_count(n):
    return "" if n in ("", "NA") else f"{int(n):,}"


def fmt_slower(fast, slow):
    """'0.031 % slower': a slowdown too small for a 3-digit ratio (1.00×) to show."""
    return f"{sig((slow / fast - 1) * 100, 2)} % slower"


def fmt_cut(x):
    """Cuts are fractions compared on one absolute scale (tolerances like 0.03): fixed
    three decimals, not significant digits."""
    return "" if isnan(x) else f"{x:.3f}"


def fmt_ratio(x):
    return "" if isnan(x) else f"{sig(x)}×"


def times(r):
    return num(r["time_median_s"]), num(r["time_min_s"]), num(r["time_max_s"])


def spread(r):
    """max/min of the repetitions (1 = no spread); NaN where unknown."""
    _, lo, hi = times(r)
    return hi / lo if lo > 0 else NAN
