#include "probes.h"

#include <stdlib.h>
#include <string.h>

#include "cpu.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#endif

enum { ROUNDS = 1 << 16 };

uint64_t fzb_fma_loop_scalar(uint64_t rounds)
{
    /* Independent chains so the adder and multiplier pipelines stay full; the compiler
     * may vectorise them, which is then this build's scalar peak. */
    float acc[16];
    for (int i = 0; i < 16; i++)
        acc[i] = (float)i;
    const float a = 0.999999f, b = 1e-7f;
    for (uint64_t r = 0; r < rounds; r++)
        for (int i = 0; i < 16; i++)
            acc[i] = acc[i] * a + b;
    float s = 0;
    for (int i = 0; i < 16; i++)
        s += acc[i];
    volatile float sink = s;
    (void)sink;
    return rounds * 16 * 2;
}

#if defined(__aarch64__)
uint64_t fzb_fma_loop_neon(uint64_t rounds)
{
    float32x4_t acc[16];
    for (int i = 0; i < 16; i++)
        acc[i] = vdupq_n_f32((float)i);
    const float32x4_t a = vdupq_n_f32(0.999999f), b = vdupq_n_f32(1e-7f);
    for (uint64_t r = 0; r < rounds; r++)
        for (int i = 0; i < 16; i++)
            acc[i] = vfmaq_f32(b, acc[i], a);
    float32x4_t s = acc[0];
    for (int i = 1; i < 16; i++)
        s = vaddq_f32(s, acc[i]);
    volatile float sink = vgetq_lane_f32(s, 0);
    (void)sink;
    return rounds * 16 * 4 * 2;
}
#endif

typedef uint64_t (*fma_loop)(uint64_t);

static fma_loop best_loop(const char **isa)
{
#if defined(FZB_HAVE_AVX2_PROBE)
    if (fz_cpu_has_avx2_fma()) {
        *isa = "avx2";
        return fzb_fma_loop_avx2;
    }
#endif
#if defined(__aarch64__)
    *isa = "neon";
    return fzb_fma_loop_neon;
#endif
    *isa = "scalar";
    return fzb_fma_loop_scalar;
}

static void bench_peak(fzb_state *s, void *user)
{
    (void)user;
    const char *isa;
    fma_loop loop = best_loop(&isa);
    uint64_t flops = 0;
    while (fzb_keep_running(s))
        flops = loop(ROUNDS);
    fzb_counter(s, "FLOPS", (double)flops, FZB_RATE);
}

struct fzb_probes {
    size_t n;          /* elements of each triad array */
    float *a, *b, *c;  /* NULL until the first run */
};

static void triad(float *a, const float *b, const float *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        a[i] = b[i] + 0.5f * c[i];
    __asm__ volatile("" : : "r"(a) : "memory");   /* the stores must happen */
}

static void bench_triad(fzb_state *s, void *user)
{
    fzb_probes *p = user;
    if (!p->a) {
        p->a = malloc(p->n * sizeof *p->a);
        p->b = malloc(p->n * sizeof *p->b);
        p->c = malloc(p->n * sizeof *p->c);
        if (!p->a || !p->b || !p->c) {
            fzb_skip_with_error(s, "bandwidth probe: out of memory for its arrays");
            return;
        }
        for (size_t i = 0; i < p->n; i++) {
            p->b[i] = 1.0f;
            p->c[i] = 2.0f;
        }
        /* Fresh memory is slow for a while (page faults, and in virtual machines the
         * host's own first touch): an untimed pass first. */
        triad(p->a, p->b, p->c, p->n);
    }
    while (fzb_keep_running(s))
        triad(p->a, p->b, p->c, p->n);
    /* STREAM's convention: two reads and one write per element, write-allocate not counted. */
    fzb_counter(s, "bytes", 3.0 * sizeof(float) * (double)p->n, FZB_RATE);
}

fzb_probes *fzb_probes_register(size_t l3_bytes, int repetitions)
{
    fzb_probes *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    size_t bytes = 4 * l3_bytes;
    if (bytes < (size_t)64 << 20)
        bytes = (size_t)64 << 20;
    p->n = bytes / sizeof(float);
    fzb_bench *peak = fzb_register(FZB_PROBE_PEAK, bench_peak, NULL, NULL, NULL, 0);
    fzb_bench *bw = fzb_register(FZB_PROBE_BANDWIDTH, bench_triad, p, NULL, NULL, 0);
    if (!peak || !bw) {
        free(p);
        return NULL;
    }
    if (repetitions > 0) {
        fzb_set_repetitions(peak, repetitions);
        fzb_set_repetitions(bw, repetitions);
    }
    fzb_set_min_time(peak, 0.1);
    fzb_set_min_time(bw, 0.2);
    return p;
}

void fzb_probes_free(fzb_probes *p)
{
    if (!p)
        return;
    free(p->a);
    free(p->b);
    free(p->c);
    free(p);
}

int fzb_probes_read(const fzb_results *r, fzb_limits *out)
{
    memset(out, 0, sizeof *out);
    best_loop(&out->fma_isa);
    for (size_t i = 0; i < r->n; i++) {
        const fzb_run *run = &r->runs[i];
        double v;
        if (run->error || run->repetition < 0)
            continue;
        if (strcmp(run->base, FZB_PROBE_PEAK) == 0 && fzb_run_counter(run, "FLOPS", &v)
            && v * 1e-9 > out->peak_gflops_per_core)
            out->peak_gflops_per_core = v * 1e-9;
        if (strcmp(run->base, FZB_PROBE_BANDWIDTH) == 0 && fzb_run_counter(run, "bytes", &v)
            && v * 1e-9 > out->bandwidth_gbytes_per_s)
            out->bandwidth_gbytes_per_s = v * 1e-9;
    }
    return out->peak_gflops_per_core > 0 && out->bandwidth_gbytes_per_s > 0 ? 0 : -1;
}
