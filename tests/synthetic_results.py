"""Small results CSVs in schema 1 to 3 for the report and comparison tests, written from
Python so that no measured fixture has to be committed.  Times are made up, but every
derived column (gflops, cuts, fraction of peak) follows results/README.md from them."""
import csv

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


def _measured(flops, med, lo, hi, threads, bytes_=0):
    gflops = flops / med * 1e-9
    peak = PEAK_PER_CORE * threads
    return dict(flops_planned=str(flops), flops_executed=str(flops), time_min_s=repr(lo),
                time_median_s=repr(med), time_max_s=repr(hi), repetitions="5",
                gflops=repr(gflops), bytes=str(bytes_),
                gbytes_per_s=repr(bytes_ / med * 1e-9 if bytes_ else 0),
                peak_gflops=repr(peak), bandwidth_gbytes_per_s=repr(BANDWIDTH),
                fraction_of_peak=repr(bytes_ / med * 1e-9 / BANDWIDTH if bytes_ else gflops / peak))


def sweep(m, impl="freezebench", threads=(1, 2), scale=1.0, time_of=None, spread=1.05,
          ranks=1):
    """Rows of a 16x3@8 sweep.  time_of(spec, threads, phase) -> seconds overrides the
    default times (backward time proportional to its FLOPs plus a fixed part).  With
    ranks > 1 the rows are a data-parallel run's (schema 3's ranks and allreduce columns;
    written only by write(..., 3))."""
    rows = []
    for t in threads:
        none = {}
        for spec, flops in SPECS.items():
            for phase, share in PHASE_SHARE.items():
                base = scale * (2e-6 + flops * 1e-10) * share / (1.6 if t > 1 else 1)
                med = time_of(spec, t, phase) if time_of else None
                med = base if med is None else med
                f = flops if phase in ("backward", "step") else 4000
                if spec == "none":
                    none[phase] = (med, f)
                r = dict(m, threads=str(t), bench="freeze_sweep", impl=impl, model="16x3",
                         batch="8", freeze_spec=spec, trainable_params=str(flops // 10),
                         frozen_params=str(1200 - flops // 10), phase=phase,
                         dgrad_flops_planned="0", dgrad_flops_executed="0",
                         wgrad_flops_planned="0", wgrad_flops_executed="0",
                         activation_bytes="4096",
                         **_measured(f, med, med / spread, med * spread, t))
                r["flop_cut"] = repr(1 - f / none[phase][1])
                r["time_cut"] = repr(1 - med / none[phase][0])
                ar = 4 * (flops // 10) if ranks > 1 else 0
                r.update(cache_bytes="0", ranks=str(ranks), allreduce_bytes_planned=str(ar),
                         allreduce_bytes_executed=str(ar),
                         comm_time_s=repr(1e-6 if ranks > 1 else 0), comm_hidden_s="0")
                rows.append(r)
    return rows


def kernels(m, impls=("freezebench", "openblas"), scale=1.0):
    rows = []
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
                             activation_bytes="", **_measured(flops, med, med * 0.97,
                                                              med * 1.1, 1)))
    n = 262144
    med = scale * 8 * n / 60e9
    rows.append(dict(m, threads="1", bench="kernel_bench", impl="freezebench",
                     model=f"n={n}", batch="0", freeze_spec="", trainable_params="",
                     frozen_params="", phase="relu_fwd", dgrad_flops_planned="0",
                     dgrad_flops_executed="0", wgrad_flops_planned="0",
                     wgrad_flops_executed="0", flop_cut="", time_cut="", activation_bytes="",
                     **_measured(n, med, med * 0.9, med * 1.2, 1, bytes_=8 * n)))
    return rows


def write(path, rows, version):
    columns = COLUMNS_V3 if version >= 3 else COLUMNS_V2 if version == 2 else COLUMNS_V1
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\r\n")
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in columns})
