#include "probes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "align.h"
#include "clock.h"
#include "cpu.h"
#include "cpu_ident.h"
#include "error.h"
#include "units.h"

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

typedef struct {
    const char *isa;
    fma_loop loop;
    bool (*available)(void);
} peak_loop;

#if defined(__aarch64__) || !(defined(FZB_HAVE_AVX2_PROBE) || defined(FZB_HAVE_AVX512_PROBE))
static bool always(void) { return true; }
#endif

/* Widest first: the first of these that ran is the peak fractions are taken of. */
static const peak_loop peak_loops[] = {
#if defined(FZB_HAVE_AVX512_PROBE)
    { "avx512", fzb_fma_loop_avx512, fzb_cpu_has_avx512f },
#endif
#if defined(FZB_HAVE_AVX2_PROBE)
    { "avx2", fzb_fma_loop_avx2, cpu_has_avx2_fma },
#endif
#if defined(__aarch64__)
    { "neon", fzb_fma_loop_neon, always },
#elif !(defined(FZB_HAVE_AVX2_PROBE) || defined(FZB_HAVE_AVX512_PROBE))
    { "scalar", fzb_fma_loop_scalar, always },
#endif
};
enum { N_PEAK_LOOPS = sizeof peak_loops / sizeof *peak_loops };

/* One registered probe: what its benchmark function needs. */
typedef struct {
    fzb_probes *owner;
    const peak_loop *peak;   /* NULL: the triad */
    double min_time;
} probe;

struct fzb_probes {
    fzb_probe_options opt;
    probe probes[N_PEAK_LOOPS + 1];
    size_t n_probes;
    size_t n;            /* elements of each triad array */
    float *a, *b, *c;    /* allocated at registration */
    bool touched;        /* the untimed first pass has run */
};

/* Roughly: Google Benchmark first grows the iteration count in trial runs until one
 * lasts min_time, then repeats at that count; a run of half of min_time or more is most
 * likely a repetition. */
static void count_repetition(const probe *pr, double seconds)
{
    const fzb_probe_options *o = &pr->owner->opt;
    if (o->on_repetition && seconds >= 0.5 * pr->min_time)
        o->on_repetition(o->ctx);
}

static void bench_peak(fzb_state *s, void *user)
{
    const probe *pr = user;
    uint64_t flops = 0;
    double t0 = clock_now();
    while (fzb_keep_running(s))
        flops = pr->peak->loop(ROUNDS);
    fzb_counter(s, "FLOPS", (double)flops, FZB_RATE);
    count_repetition(pr, clock_now() - t0);
}

static void triad(float *a, const float *b, const float *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        a[i] = b[i] + 0.5f * c[i];
    __asm__ volatile("" : : "r"(a) : "memory");   /* the stores must happen */
}

static void bench_triad(fzb_state *s, void *user)
{
    const probe *pr = user;
    fzb_probes *p = pr->owner;
    if (!p->a || !p->b || !p->c) {   /* registration refuses this; never measure NULL */
        fzb_skip_with_error(s, "bandwidth probe: its arrays are missing");
        return;
    }
    if (!p->touched) {
        for (size_t i = 0; i < p->n; i++) {
            p->b[i] = 1.0f;
            p->c[i] = 2.0f;
        }
        /* Fresh memory is slow for a while (page faults, and in virtual machines the
         * host's own first touch): an untimed pass first. */
        triad(p->a, p->b, p->c, p->n);
        p->touched = true;
    }
    double t0 = clock_now();
    while (fzb_keep_running(s))
        triad(p->a, p->b, p->c, p->n);
    /* STREAM's convention: two reads and one write per element, write-allocate not counted. */
    fzb_counter(s, "bytes", 3.0 * sizeof(float) * (double)p->n, FZB_RATE);
    count_repetition(pr, clock_now() - t0);
}

size_t fzb_probe_triad_array_bytes(size_t l3_bytes, bool quick)
{
    if (quick)
        return (size_t)8 << 20;
    const size_t lo = (size_t)192 << 20, hi = (size_t)1 << 30;
    size_t total = l3_bytes > hi / 4 ? hi : 4 * l3_bytes;
    if (total < lo)
        total = lo;
    return total / 3 / 64 * 64;   /* whole cache lines */
}

static fzb_bench *add_probe(fzb_probes *p, const char *name, const peak_loop *peak,
                            double min_time)
{
    probe *pr = &p->probes[p->n_probes];
    *pr = (probe){ .owner = p, .peak = peak, .min_time = min_time };
    fzb_bench *b = fzb_register(name, peak ? bench_peak : bench_triad, pr, NULL, NULL, 0);
    if (!b)
        return NULL;
    p->n_probes++;
    if (p->opt.repetitions > 0)
        fzb_set_repetitions(b, p->opt.repetitions);
    fzb_set_min_time(b, min_time);
    return b;
}

fzb_probes *fzb_probes_register(const fzb_probe_options *opt)
{
    fzb_probes *p = calloc(1, sizeof *p);
    if (!p) {
        set_error(FZ_ENOMEM, "probes: out of memory");
        return NULL;
    }
    p->opt = *opt;
    size_t bytes = fzb_probe_triad_array_bytes(opt->l3_bytes, opt->quick);
    p->n = bytes / sizeof(float);
    /* All three now, before anything is measured: a failure is one clear error rather
     * than a half-allocated probe inside the run. */
    p->a = alloc_floats(p->n);
    p->b = p->a ? alloc_floats(p->n) : NULL;
    p->c = p->b ? alloc_floats(p->n) : NULL;
    if (!p->c) {
        char each[FZB_UNIT_TEXT], all[FZB_UNIT_TEXT];
        set_error(FZ_ENOMEM, FZB_PROBE_BANDWIDTH ": out of memory for its 3 arrays of %s "
                  "(%s in all)", fzb_fmt_bytes(each, sizeof each, (double)bytes),
                  fzb_fmt_bytes(all, sizeof all, 3.0 * (double)bytes));
        fzb_probes_free(p);
        return NULL;
    }
    double peak_time = opt->quick ? 0.01 : 0.1, triad_time = opt->quick ? 0.01 : 0.2;
    for (size_t i = 0; i < N_PEAK_LOOPS; i++) {
        if (!peak_loops[i].available())
            continue;
        char name[64];
        snprintf(name, sizeof name, FZB_PROBE_PEAK "%s", peak_loops[i].isa);
        if (!add_probe(p, name, &peak_loops[i], peak_time))
            goto registered_twice;
    }
    if (!add_probe(p, FZB_PROBE_BANDWIDTH, NULL, triad_time))
        goto registered_twice;
    return p;
registered_twice:
    set_error(FZ_EINVAL, "probes: registered twice");
    fzb_probes_free(p);
    return NULL;
}

size_t fzb_probes_count(const fzb_probes *p) { return p->n_probes; }

void fzb_probes_free(fzb_probes *p)
{
    if (!p)
        return;
    free(p->a);
    free(p->b);
    free(p->c);
    free(p);
}

/* The best repetition of the probe named `base`, by counter `counter`; 0 if none ran. */
static double best(const fzb_results *r, const char *base, const char *counter)
{
    double top = 0;
    for (size_t i = 0; i < r->n; i++) {
        const fzb_run *run = &r->runs[i];
        double v;
        if (!run->error && run->repetition >= 0 && strcmp(run->base, base) == 0
            && fzb_run_counter(run, counter, &v) && v > top)
            top = v;
    }
    return top;
}

int fzb_probes_read(const fzb_results *r, fzb_limits *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < N_PEAK_LOOPS; i++) {
        char name[64];
        snprintf(name, sizeof name, FZB_PROBE_PEAK "%s", peak_loops[i].isa);
        double gflops = best(r, name, "FLOPS") * 1e-9;
        if (strcmp(peak_loops[i].isa, "avx512") == 0)
            out->peak_avx512_gflops = gflops;
        if (strcmp(peak_loops[i].isa, "avx2") == 0)
            out->peak_avx2_gflops = gflops;
        if (gflops > 0 && !out->fma_isa) {   /* widest first */
            out->fma_isa = peak_loops[i].isa;
            out->peak_gflops_per_core = gflops;
        }
    }
    out->bandwidth_gbytes_per_s = best(r, FZB_PROBE_BANDWIDTH, "bytes") * 1e-9;
    if (!out->fma_isa)
        out->fma_isa = "none";
    return out->peak_gflops_per_core > 0 && out->bandwidth_gbytes_per_s > 0 ? 0 : -1;
}

void fzb_print_limits(FILE *out, const fzb_limits *lim, bool quick)
{
    char peak[FZB_UNIT_TEXT], narrow[FZB_UNIT_TEXT], triad[FZB_UNIT_TEXT];
    fzb_fmt_si(peak, sizeof peak, lim->peak_gflops_per_core * 1e9, "FLOP/s");
    fzb_fmt_si(triad, sizeof triad, lim->bandwidth_gbytes_per_s * 1e9, "B/s");
    fprintf(out, "limits: FMA peak %s per core (%s loop", peak, lim->fma_isa);
    if (lim->peak_avx512_gflops > 0 && lim->peak_avx2_gflops > 0)
        fprintf(out, "; avx2 %s", fzb_fmt_si(narrow, sizeof narrow,
                                             lim->peak_avx2_gflops * 1e9, "FLOP/s"));
    fprintf(out, "), triad %s (1 thread)%s\n", triad, quick ? "; quick probes: small "
            "arrays and short runs, not for results" : "");
}
