"""Small results CSVs in schema 1 to 4 for the report and comparison tests, written from
Python so that no measured fixture has to be committed.  Times are made up, but every
derived column (gflops, cuts, fraction of peak, schema 4's intervals) follows
results/README.md from them.

Every row carries its repetitions' times (schema 4's `time_samples_s`), and min, median
and max are those of the samples.  By default the samples are laid out so that min,
median and max are exactly the numbers asked for (the tests of the report compare them
digit for digit); with `noise` they are drawn, seeded, from a lognormal distribution
around the asked median, as real repetitions scatter (the comparison's tests need that).
Schemas 1 to 3 are written without the sample columns."""
import csv
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "results"))
import stats  # noqa: E402

COLUMNS_V1 = (
    "schema_version,utc_time,host,cpu_model,arch,isa,cores,threads,l1d_bytes,l2_bytes,"
    "l3_bytes,compiler,git_revision,bench,impl,model,batch,freeze_spec,trainable_params,"
    "frozen_params,phase,flops_planned,flops_executed,dgrad_flops_planned,"
    "dgrad_flops_executed,wgrad_flops_planned,wgrad_flops_executed,time_min_s,time_median_s,"
    "time_max_s,repetitions,gflops,bytes,gbytes_per_s,peak_gflops,bandwidth_gbytes_per_s,"
    "fraction_of_peak,flop_cut,time_cut,activation_bytes").split(",")
SYSTEM_COLUMNS_V2 = ("system_id", "cpu_vendor", "cpu_family", "cpu_model_number",
                     "cpu_stepping", "uarch", "hypervisor", "smt", "memory_bytes", "os",
                     "kernel", "blas", "openblas_core", "peak_isa")
# Where schema 2 puts its new columns is the writer's business: readers go by name.
COLUMNS_V2 = COLUMNS_V1[:13] + list(SYSTEM_COLUMNS_V2) + COLUMNS_V1[13:]
# Schema 3: the frozen-prefix cache and the data-parallel columns.
COLUMNS_V3 = COLUMNS_V2 + ["cache_bytes", "ranks", "allreduce_bytes_planned",
                           "allreduce_bytes_executed", "comm_time_s", "comm_hidden_s"]
# Schema 4: the samples and intervals, where bench/results/results.c's fzb_result_columns puts
# them (after `repetitions` and after `time_cut`).
SAMPLE_COLUMNS = ["time_median_ci_low_s", "time_median_ci_high_s", "time_samples_s"]
CUT_CI_COLUMNS = ["time_cut_ci_low", "time_cut_ci_high"]


def _insert_after(columns, name, new):
    i = columns.index(name) + 1
    return columns[:i] + new + columns[i:]


COLUMNS_V4 = _insert_after(_insert_after(COLUMNS_V3, "repetitions", SAMPLE_COLUMNS),
                           "time_cut", CUT_CI_COLUMNS)
COLUMNS = {1: COLUMNS_V1, 2: COLUMNS_V2, 3: COLUMNS_V3, 4: COLUMNS_V4}

REPETITIONS = 10     # the sweep's default --repetitions
PEAK_PER_CORE = 100.0
BANDWIDTH = 20.0
# Backward FLOPs of the made-up 16x3 model per spec (none first: the cuts' reference).
SPECS = {"none": 12000, "prefix:1": 8000, "prefix:2": 4000, "last": 4000}
PHASE_SHARE = {"forward": 0.5, "backward": 1.0, "optimizer": 0.1, "step": 1.6}


def machine(version, host="vm", cpu_model="Intel(R) Xeon(R) Platinum 8592+", l3=2**25,
            system_id="", uarch="", peak_isa="", cores=2):
    m = dict(schema_version=str(version), utc_time="2027-01-02T03:04:05Z", host=host,
             cpu_model=cpu_model, arch="x86_64", isa="avx2", cores=str(cores),
             l1d_bytes="49152", l2_bytes=str(2**21), l3_bytes=str(l3), compiler="gcc 12.2.0",
             git_revision="abc1234")
    if version >= 2:
        m.update(system_id=system_id, cpu_vendor="GenuineIntel", cpu_family="6",
                 cpu_model_number="207", cpu_stepping="2", uarch=uarch, hypervisor="kvm",
                 smt="1", memory_bytes=str(16 * 2**30), os="Debian GNU/Linux 12",
                 kernel="6.1.0-18-amd64", blas="openblas 0.3.21", openblas_core="SkylakeX",
                 peak_isa=peak_isa)
    return m


def spread_samples(med, lo, hi, n=REPETITIONS, seed=0):
    """n > 2 samples whose min, median and max are exactly lo, med and hi: the rest lie
    geometrically between them (for an even n the two middle ones are both med, so the
    median is med to the last bit), in a seeded random order (the order they ran)."""
    if n < 3:
        raise ValueError("spread_samples needs 3 samples or more")
    mid = [n // 2] if n % 2 else [n // 2 - 1, n // 2]
    below, above = mid[0], n - 1 - mid[-1]       # slots from the min, from the max
    s = [0.0] * n
    for i in range(below):
        s[i] = lo * (med / lo) ** (i / below)
    for j in range(above):
        s[n - 1 - j] = hi * (med / hi) ** (j / above)
    for i in mid:
        s[i] = med
    s[0], s[-1] = lo, hi
    order = np.random.default_rng(seed).permutation(n)
    return [s[i] for i in order]


def noisy_samples(med, sigma, n=REPETITIONS, seed=0):
    """n samples med · exp(N(0, sigma²)): lognormal, whose true median is med (so a
    sample's median scatters around it, as a real run's does)."""
    z = np.random.default_rng(seed).standard_normal(n)
    return [float(med * math.exp(sigma * v)) for v in z]


def _samples(med, lo, hi, noise, reps, seed):
    if noise is None:
        return spread_samples(med, lo, hi, reps, seed)
    return noisy_samples(med, noise, reps, seed)


def _measured(flops, samples, threads, bytes_=0):
    """The measured columns of a row from its samples (schema 4's among them)."""
    med = stats.median(samples)
    gflops = flops / med * 1e-9
    peak = PEAK_PER_CORE * threads
    ci = stats.median_ci(samples)
    return dict(flops_planned=str(flops), flops_executed=str(flops),
                time_min_s=repr(min(samples)), time_median_s=repr(med),
                time_max_s=repr(max(samples)), repetitions=str(len(samples)),
                time_median_ci_low_s=repr(ci[0]) if ci else "",
                time_median_ci_high_s=repr(ci[1]) if ci else "",
                time_samples_s=stats.format_samples(samples),
                gflops=repr(gflops), bytes=str(bytes_),
                gbytes_per_s=repr(bytes_ / med * 1e-9 if bytes_ else 0),
                peak_gflops=repr(peak), bandwidth_gbytes_per_s=repr(BANDWIDTH),
                fraction_of_peak=repr(bytes_ / med * 1e-9 / BANDWIDTH if bytes_ else gflops / peak))


def _cut_columns(samples, none_samples):
    cut, lo, hi = stats.cut_ci(samples, none_samples)
    return dict(time_cut=repr(cut), time_cut_ci_low="" if lo is None else repr(lo),
                time_cut_ci_high="" if hi is None else repr(hi))


def sweep(m, impl="freezebench", threads=(1, 2), scale=1.0, time_of=None, spread=1.05,
          ranks=1, noise=None, reps=REPETITIONS, seed=0):
    """Rows of a 16x3@8 sweep.  time_of(spec, threads, phase) -> seconds overrides the
    default times (backward time proportional to its FLOPs plus a fixed part).  With
    ranks > 1 the rows are a data-parallel run's (schema 3's ranks and allreduce columns;
    written only by write(..., 3) and later).

    Each row has `reps` samples.  noise None: min, median and max are exactly
    median/spread, median and median·spread.  noise a number (or a function of
    (spec, threads, phase) giving one, or None for the exact layout): the lognormal sigma
    of samples drawn around the median, from a generator seeded with `seed` and the
    row's place, so two seeds are two runs of one distribution."""
    rows = []
    for t in threads:
        none = {}
        for spec, flops in SPECS.items():
            for phase, share in PHASE_SHARE.items():
                base = scale * (2e-6 + flops * 1e-10) * share / (1.6 if t > 1 else 1)
                med = time_of(spec, t, phase) if time_of else None
                med = base if med is None else med
                sigma = noise(spec, t, phase) if callable(noise) else noise
                samples = _samples(med, med / spread, med * spread, sigma, reps,
                                   [seed, len(rows)])
                f = flops if phase in ("backward", "step") else 4000
                if spec == "none":
                    none[phase] = (samples, f)
                r = dict(m, threads=str(t), bench="freeze_sweep", impl=impl, model="16x3",
                         batch="8", freeze_spec=spec, trainable_params=str(flops // 10),
                         frozen_params=str(1200 - flops // 10), phase=phase,
                         dgrad_flops_planned="0", dgrad_flops_executed="0",
                         wgrad_flops_planned="0", wgrad_flops_executed="0",
                         activation_bytes="4096", **_measured(f, samples, t))
                r["flop_cut"] = repr(1 - f / none[phase][1])
                r.update(_cut_columns(samples, none[phase][0]))
                ar = 4 * (flops // 10) if ranks > 1 else 0
                r.update(cache_bytes="0", ranks=str(ranks), allreduce_bytes_planned=str(ar),
                         allreduce_bytes_executed=str(ar),
                         comm_time_s=repr(1e-6 if ranks > 1 else 0), comm_hidden_s="0")
                rows.append(r)
    return rows


def kernels(m, impls=("freezebench", "openblas"), scale=1.0, noise=None, reps=REPETITIONS,
            seed=0):
    """Rows of a small kernel_bench run; `noise`, `reps` and `seed` as in sweep()."""
    rows = []

    def samples(med, lo, hi):
        return _samples(med, lo, hi, noise, reps, [seed, 1000 + len(rows)])

    for impl in impls:
        for phase, shape, M, N, K in (("sgemm_fwd_nt", "32x256x256", 32, 256, 256),
                                      ("sgemm_fwd_nt", "64x256x256", 64, 256, 256),
                                      ("sgemm_dgrad_nn", "32x256x256", 32, 256, 256)):
            flops = 2 * M * N * K
            med = scale * flops / (80e9 if impl == "freezebench" else 70e9)
            rows.append(dict(m, threads="1", bench="kernel_bench", impl=impl, model=shape,
                             batch=str(M), freeze_spec="", trainable_params="",
                             frozen_params="", phase=phase, dgrad_flops_planned="0",
                             dgrad_flops_executed="0", wgrad_flops_planned="0",
                             wgrad_flops_executed="0", flop_cut="", time_cut="",
                             activation_bytes="",
                             **_measured(flops, samples(med, med * 0.97, med * 1.1), 1)))
    n = 262144
    med = scale * 8 * n / 60e9
    rows.append(dict(m, threads="1", bench="kernel_bench", impl="freezebench",
                     model=f"n={n}", batch="0", freeze_spec="", trainable_params="",
                     frozen_params="", phase="relu_fwd", dgrad_flops_planned="0",
                     dgrad_flops_executed="0", wgrad_flops_planned="0",
                     wgrad_flops_executed="0", flop_cut="", time_cut="", activation_bytes="",
                     **_measured(n, samples(med, med * 0.9, med * 1.2), 1, bytes_=8 * n)))
    return rows


def write(path, rows, version):
    """Rows as a CSV of schema `version`'s columns (a row's other keys are left out, so
    schema-4 rows write as schema 3 without their samples)."""
    columns = COLUMNS[min(max(version, 1), 4)]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\r\n")
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in columns})
