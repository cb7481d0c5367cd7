/*
 * kernel_bench's cases: every kernel it times, at its shapes, with the operands they
 * share, as Google Benchmark benchmarks; then one results row per case that ran.
 */
#include "kernel_cases.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align.h"
#include "exec.h"
#include "kernels.h"
#include "kernels_active.h"
#include "ref_blas.h"
#include "rng.h"
#include "units.h"

typedef enum { GEMM, RELU_FWD, RELU_BWD, SGD } kernel_kind;

typedef struct {
    float *a, *b, *c;   /* big enough for every case */
    fz_counter *flops;
} pool;

typedef struct {
    kernel_kind kind;
    const char *impl;
    const char *phase;
    fz_trans ta, tb;
    size_t m, n, k;          /* GEMM shape; n = elements for the others */
    fzb_ref_sgemm ref;       /* NULL: freezebench's own kernel table */
    const fz_kernels *table; /* with ref NULL: this ISA's table instead of the runtime's */
    pool *p;
    double flops_executed;   /* per call, as counted by the kernel */
} kcase;

/* A layer of `batch` rows, `in` inputs and `out` outputs: the three products of training. */
typedef struct { size_t batch, in, out; } layer_shape;
static const layer_shape train_shapes[] = {
    { 32, 1024, 1024 }, { 64, 1024, 1024 }, { 256, 1024, 1024 }, { 128, 256, 256 },
    { 256, 512, 512 }, { 512, 512, 512 }, { 128, 2048, 2048 }, { 256, 4096, 4096 },
};
/* The square 1024³ product every BLAS is compared at, and DeepBench training GEMMs
 * (M×N×K with its transposes), as row-major products. */
typedef struct { const char *phase; size_t m, n, k; fz_trans ta, tb; } gemm_shape;
static const gemm_shape other_shapes[] = {
    { "sgemm_square_nn", 1024, 1024, 1024, FZ_NOTRANS, FZ_NOTRANS },
    { "sgemm_deepbench_nn", 1760, 16, 1760, FZ_NOTRANS, FZ_NOTRANS },
    { "sgemm_deepbench_tn", 1760, 16, 1760, FZ_TRANS, FZ_NOTRANS },
    { "sgemm_deepbench_nn", 2048, 128, 2048, FZ_NOTRANS, FZ_NOTRANS },
    { "sgemm_deepbench_tn", 2048, 128, 2048, FZ_TRANS, FZ_NOTRANS },
    { "sgemm_deepbench_nn", 2560, 64, 2560, FZ_NOTRANS, FZ_NOTRANS },
    { "sgemm_deepbench_nt", 2560, 64, 2560, FZ_NOTRANS, FZ_TRANS },
    /* The narrow ones at the sizes whose A outgrows the L2 and the L3 of these VMs, and
     * whose rows are a multiple of 2 KiB apart (gemm.c: sgemm_blocking_for_op). */
    { "sgemm_deepbench_nn", 2560, 16, 2560, FZ_NOTRANS, FZ_NOTRANS },
    { "sgemm_deepbench_tn", 2560, 16, 2560, FZ_TRANS, FZ_NOTRANS },
    { "sgemm_deepbench_nn", 4096, 16, 4096, FZ_NOTRANS, FZ_NOTRANS },
    { "sgemm_deepbench_tn", 4096, 16, 4096, FZ_TRANS, FZ_NOTRANS },
    /* A classifier head of 10 outputs on 1024 inputs at batch 256 (issue #26): its
     * forward X·Wᵀ, dgrad dY·W and wgrad dYᵀ·X, products with a side of 10. */
    { "sgemm_head_fwd_nt", 256, 10, 1024, FZ_NOTRANS, FZ_TRANS },
    { "sgemm_head_dgrad_nn", 256, 1024, 10, FZ_NOTRANS, FZ_NOTRANS },
    { "sgemm_head_wgrad_tn", 10, 1024, 256, FZ_TRANS, FZ_NOTRANS },
};
static const size_t relu_sizes[] = { 256 * 1024, 512 * 4096 };
static const size_t sgd_sizes[] = { 1024 * 1024, 4096 * 4096 };

static void run_gemm(kcase *c)
{
    pool *p = c->p;
    size_t lda = c->ta == FZ_TRANS ? c->m : c->k;
    size_t ldb = c->tb == FZ_TRANS ? c->k : c->n;
    if (c->ref) {
        c->ref(c->ta, c->tb, c->m, c->n, c->k, 1.0f, p->a, lda, p->b, ldb, 0.0f, p->c, c->n);
        return;
    }
    fz_gemm_op op = {
        .ta = c->ta, .tb = c->tb, .m = c->m, .n = c->n, .k = c->k, .alpha = 1.0f,
        .a = p->a, .lda = lda, .b = p->b, .ldb = ldb, .beta = 0.0f, .c = p->c, .ldc = c->n,
    };
    fz_exec ex = exec_now(NULL, NULL);   /* what fz_sgemm does: the team's plan */
    exec_gemm(&ex, &op, NULL, p->flops);
}

static void run_kernel(kcase *c)
{
    const fz_kernels *k = kernels_get();
    pool *p = c->p;
    switch (c->kind) {
    case GEMM: run_gemm(c); break;
    case RELU_FWD: k->relu_fwd(p->c, p->a, c->n, p->flops); break;
    case RELU_BWD: k->relu_bwd(p->c, p->b, p->a, c->n, p->flops); break;
    case SGD: k->sgd(p->a, p->b, p->c, c->n, 1e-6f, 0.9f, 0.0f, p->flops); break;
    }
}

/* Bytes a memory-bound kernel moves per call (reads + writes of its arrays). */
static double kernel_bytes(const kcase *c)
{
    double n = (double)c->n * sizeof(float);
    switch (c->kind) {
    case RELU_FWD: return 2 * n;      /* x in, y out */
    case RELU_BWD: return 3 * n;      /* dy, y in, dx out */
    case SGD: return 5 * n;           /* p, g, buf in; p, buf out */
    default: return 0;
    }
}

static double kernel_flops(const kcase *c)
{
    switch (c->kind) {
    case GEMM: return 2.0 * (double)c->m * (double)c->n * (double)c->k;
    case SGD: return 4.0 * (double)c->n;   /* with momentum */
    default: return (double)c->n;
    }
}

static void bench_kernel(fzb_state *s, void *user)
{
    kcase *c = user;
    /* One untimed call first (before the timed loop starts): oneDNN generates its JIT
     * kernels on its first call, 33 ms here, which Google Benchmark's first run would
     * otherwise time as one iteration and size the repetitions from.  Every case gets it,
     * so all implementations start from the same warm state. */
    const fz_kernels *runtime = kernels_for(fz_isa());
    if (c->table)
        kernels_override(c->table);
    run_kernel(c);
    counter_reset(c->p->flops);
    double iters = 0;
    while (fzb_keep_running(s)) {
        run_kernel(c);
        iters++;
    }
    if (c->table)
        kernels_override(runtime);
    if (!c->ref && iters > 0)
        c->flops_executed = (double)counter_total(c->p->flops) / iters;
    fzb_counter(s, "FLOPS", kernel_flops(c), FZB_RATE);
    if (c->kind != GEMM)
        fzb_counter(s, "bytes", kernel_bytes(c), FZB_RATE);
}

/* Every case and the operands they share. */
typedef struct {
    kcase *v;
    size_t n, cap;
} case_list;

struct fzb_kernel_cases {
    case_list cases;
    pool p;
};

static kcase *add_case(case_list *l, kcase c)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        kcase *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return NULL;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = c;
    return &l->v[l->n++];
}

/* Every GEMM case for every implementation, then the memory-bound kernels. */
static int build_cases(case_list *l, pool *p, bool quick)
{
    typedef struct { const char *impl; fzb_ref_sgemm ref; const fz_kernels *table; } impl;
    impl impls[6] = { { "freezebench", NULL, NULL } };
    size_t n_impls = 1;
    /* freezebench's GEMM with each other vector ISA this CPU runs, beside the default: on
     * a CPU with AVX-512 the AVX2 kernel too, so whether 512-bit pays here (it need not
     * on Zen 4, which splits 512-bit operations in halves; simd/dispatch.c) is measured
     * in the same run, not assumed. */
    static const struct { const char *isa, *impl; } others[] = {
        { "avx2", "freezebench-avx2" }, { "avx512", "freezebench-avx512" },
        { "neon", "freezebench-neon" },
    };
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        const fz_kernels *k = kernels_for(others[i].isa);
        if (k && strcmp(others[i].isa, fz_isa()) != 0)
            impls[n_impls++] = (impl){ others[i].impl, NULL, k };
    }
#ifdef FZB_HAVE_OPENBLAS
    impls[n_impls++] = (impl){ "openblas", fzb_openblas_sgemm, NULL };
#endif
#ifdef FZB_HAVE_BLIS
    impls[n_impls++] = (impl){ "blis", fzb_blis_sgemm, NULL };
#endif
#ifdef FZB_HAVE_ONEDNN
    impls[n_impls++] = (impl){ "onednn", fzb_onednn_sgemm, NULL };
#endif
    size_t n_train = quick ? 1 : sizeof train_shapes / sizeof *train_shapes;
    size_t n_other = quick ? 1 : sizeof other_shapes / sizeof *other_shapes;
    for (size_t i = 0; i < n_impls; i++) {
        kcase base = { .kind = GEMM, .impl = impls[i].impl, .ref = impls[i].ref,
                       .table = impls[i].table, .p = p };
        for (size_t s = 0; s < n_train; s++) {
            layer_shape L = train_shapes[s];
            if (quick)
                L = (layer_shape){ 32, 64, 48 };
            kcase c = base;
            /* forward Y = X·Wᵀ; dgrad dX = dY·W; wgrad dW = dYᵀ·X */
            c.phase = "sgemm_fwd_nt"; c.ta = FZ_NOTRANS; c.tb = FZ_TRANS;
            c.m = L.batch; c.n = L.out; c.k = L.in;
            if (!add_case(l, c)) return -1;
            c.phase = "sgemm_dgrad_nn"; c.ta = FZ_NOTRANS; c.tb = FZ_NOTRANS;
            c.m = L.batch; c.n = L.in; c.k = L.out;
            if (!add_case(l, c)) return -1;
            c.phase = "sgemm_wgrad_tn"; c.ta = FZ_TRANS; c.tb = FZ_NOTRANS;
            c.m = L.out; c.n = L.in; c.k = L.batch;
            if (!add_case(l, c)) return -1;
        }
        for (size_t s = 0; s < n_other; s++) {
            gemm_shape g = other_shapes[s];
            if (quick)
                g = (gemm_shape){ "sgemm_deepbench_tn", 40, 8, 40, FZ_TRANS, FZ_NOTRANS };
            kcase c = base;
            c.phase = g.phase;
            c.ta = g.ta; c.tb = g.tb; c.m = g.m; c.n = g.n; c.k = g.k;
            if (!add_case(l, c)) return -1;
        }
    }
    size_t n_sizes = quick ? 1 : 2;
    for (size_t s = 0; s < n_sizes; s++) {
        size_t n = quick ? 4096 : relu_sizes[s];
        kcase c = { .kind = RELU_FWD, .impl = "freezebench", .phase = "relu_fwd", .n = n, .p = p };
        if (!add_case(l, c)) return -1;
        c.kind = RELU_BWD; c.phase = "relu_bwd";
        if (!add_case(l, c)) return -1;
        c.kind = SGD; c.phase = "sgd_momentum"; c.n = quick ? 4096 : sgd_sizes[s];
        if (!add_case(l, c)) return -1;
    }
    return 0;
}

static int pool_alloc(pool *p, const case_list *l)
{
    size_t a = 1, b = 1, c = 1;
    for (size_t i = 0; i < l->n; i++) {
        const kcase *k = &l->v[i];
        size_t sa = k->kind == GEMM ? k->m * k->k : k->n;
        size_t sb = k->kind == GEMM ? k->k * k->n : k->n;
        size_t sc = k->kind == GEMM ? k->m * k->n : k->n;
        a = sa > a ? sa : a;
        b = sb > b ? sb : b;
        c = sc > c ? sc : c;
    }
    /* On 64-byte lines, as the trainer's tensors and PyTorch's are: operands straddling
     * lines slow every implementation's packing (kernels_gemm covers misaligned ones). */
    p->a = alloc_floats(a);
    p->b = alloc_floats(b);
    p->c = alloc_floats(c);
    p->flops = aligned_calloc(_Alignof(fz_counter), 1, sizeof *p->flops);
    if (!p->a || !p->b || !p->c || !p->flops)
        return -1;
    /* Small values of both signs: ReLU takes both branches, nothing overflows or turns
     * denormal while the SGD case runs for seconds. */
    fz_rng r;
    rng_seed(&r, 88172645463325252ull);
    float *bufs[3] = { p->a, p->b, p->c };
    size_t sizes[3] = { a, b, c };
    for (int j = 0; j < 3; j++)
        for (size_t i = 0; i < sizes[j]; i++)
            bufs[j][i] = rng_uniform(&r, -0.5f, 0.5f);
    return 0;
}

/* One line of the table: the median time with its 95% interval, the rates at the median
 * and the fraction of this CPU's ceiling (peak or bandwidth); '!' marks a row whose
 * interval is too wide to trust. */
static void print_row(FILE *out, const kcase *c, const fzb_result *row)
{
    char shape[64], time[FZB_UNIT_TEXT], ci[FZB_UNIT_TEXT], flops[FZB_UNIT_TEXT],
         bytes[FZB_UNIT_TEXT], of_peak[FZB_UNIT_TEXT];
    if (c->kind == GEMM)
        snprintf(shape, sizeof shape, "%zux%zux%zu", c->m, c->n, c->k);
    else
        snprintf(shape, sizeof shape, "n=%zu", c->n);
    double gf = row->flops_planned / row->time_median_s * 1e-9;
    double gb = row->bytes / row->time_median_s * 1e-9;
    fzb_fmt_si(time, sizeof time, row->time_median_s, "s");
    fzb_fmt_pm(ci, sizeof ci, row->time_median_s, row->time_median_ci.lo,
               row->time_median_ci.hi);
    fzb_fmt_si(flops, sizeof flops, gf * 1e9, "FLOP/s");
    if (row->bytes > 0)
        fzb_fmt_si(bytes, sizeof bytes, gb * 1e9, "B/s");
    else
        snprintf(bytes, sizeof bytes, "-");
    fzb_fmt_percent(of_peak, sizeof of_peak, row->memory_bound
                    ? gb / row->bandwidth_gbytes_per_s : gf / row->peak_gflops);
    fprintf(out, "%-18s %-20s %-16s %*s %*s %*s %*s %8s%s\n", c->impl, c->phase, shape,
           fzb_pad(time, 10), time, fzb_pad(ci, 7), ci, fzb_pad(flops, 14), flops,
           fzb_pad(bytes, 11), bytes, of_peak, fzb_time_ci_too_wide(row->time_median_ci, row->time_median_s)
           ? " !" : "");
}

fz_status fzb_kernel_cases_add_rows(const fzb_kernel_cases *k, fzb_csv *table,
                                    const fzb_results *res, const fzb_limits *lim,
                                    const fzb_context *ctx, int threads, FILE *out)
{
    const case_list *cases = &k->cases;
    double *t = malloc(res->n * sizeof *t);   /* one case's repetition times */
    if (!t)
        return FZ_ENOMEM;
    fz_status status = FZ_OK;
    size_t noisy = 0;
    if (out)
        fprintf(out, "\n%-18s %-20s %-16s %10s %7s %14s %11s %8s\n", "impl", "kernel", "shape", "time",
           "95% CI", "FLOP/s", "bytes/s", "of peak");
    for (size_t i = 0; status == FZ_OK && i < cases->n; i++) {
        const kcase *c = &cases->v[i];
        size_t n = 0;
        for (size_t r = 0; r < res->n; r++)
            if (res->runs[r].user == c && res->runs[r].repetition >= 0 && !res->runs[r].error)
                t[n++] = res->runs[r].real_time_s;
        if (n == 0)
            continue;
        char shape[64];
        if (c->kind == GEMM)
            snprintf(shape, sizeof shape, "%zux%zux%zu", c->m, c->n, c->k);
        else
            snprintf(shape, sizeof shape, "n=%zu", c->n);
        fzb_result row = {
            .bench = "kernel_bench", .impl = c->impl, .model = shape,
            .batch = c->kind == GEMM ? c->m : 0, .freeze_spec = "",
            .trainable_params = NAN, .frozen_params = NAN, .threads = threads,
            .phase = c->phase, .flops_planned = kernel_flops(c),
            .flops_executed = c->ref ? kernel_flops(c) : c->flops_executed,
            .bytes = kernel_bytes(c),
            /* ReLU and SGD run on one thread: their ceiling is one core's. */
            .peak_gflops = lim->peak_gflops_per_core * (c->kind == GEMM ? threads : 1),
            .peak_isa = lim->fma_isa,
            .bandwidth_gbytes_per_s = lim->bandwidth_gbytes_per_s,
            .memory_bound = c->kind != GEMM,
            .flop_cut = NAN, .time_cut = NAN, .activation_bytes = NAN, .cache_bytes = NAN,
        };
        fzb_result_set_samples(&row, t, n);
        if (out)
            print_row(out, c, &row);
        noisy += fzb_time_ci_too_wide(row.time_median_ci, row.time_median_s);
        status = fzb_result_add(table, ctx, &row);
    }
    if (noisy && out)
        fprintf(out, "! %zu row%s whose median's 95%% interval is wider than ±5%% (or has none: "
               "fewer than %d repetitions); rerun with more --repetitions before trusting "
               "%s\n", noisy, noisy == 1 ? "" : "s", FZB_MIN_SAMPLES, noisy == 1 ? "it" : "them");
    free(t);
    return status;
}

fzb_kernel_cases *fzb_kernel_cases_create(bool quick)
{
    fzb_kernel_cases *k = calloc(1, sizeof *k);
    if (!k || build_cases(&k->cases, &k->p, quick) || pool_alloc(&k->p, &k->cases)) {
        fzb_kernel_cases_free(k);
        return NULL;
    }
    return k;
}

void fzb_kernel_cases_register(fzb_kernel_cases *k, int repetitions, double min_time)
{
    for (size_t i = 0; i < k->cases.n; i++) {
        kcase *c = &k->cases.v[i];
        char name[96];
        snprintf(name, sizeof name, "%s/%s", c->impl, c->phase);
        fzb_bench *b;
        if (c->kind == GEMM) {
            int64_t args[3] = { (int64_t)c->m, (int64_t)c->n, (int64_t)c->k };
            b = fzb_register(name, bench_kernel, c, args, (const char *[]){ "M", "N", "K" }, 3);
        } else {
            int64_t args[1] = { (int64_t)c->n };
            b = fzb_register(name, bench_kernel, c, args, (const char *[]){ "n" }, 1);
        }
        if (b) {   /* per benchmark, as the sweep's: one convention for both programs */
            fzb_set_repetitions(b, repetitions);
            fzb_set_min_time(b, min_time);
        }
    }
}

void fzb_kernel_cases_free(fzb_kernel_cases *k)
{
    if (!k)
        return;
    free(k->p.a);
    free(k->p.b);
    free(k->p.c);
    free(k->p.flops);
    free(k->cases.v);
    free(k);
}
