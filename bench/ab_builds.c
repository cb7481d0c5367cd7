/*
 * ab_builds: the same training steps under two builds of libfreezebench (or one build
 * under two settings), in one process, so that a change is measured against what it
 * replaced on the same machine at the same moment.  Both libraries are loaded with
 * dlopen(RTLD_LOCAL): each keeps its own table, team and trainers.  Their steps are
 * timed in blocks that alternate, the side that goes first drawn per round from a fixed
 * seed, and what is reported is each side's median time a step with its 95% interval
 * and the ratio B/A with its bootstrap interval (bench/results/stats.h).
 *
 *   ab_builds [--rounds N] [--threads T] [--momentum M] [--batch B] [--workload NAME]
 *             [--env-a VAR=VALUE]...
 *             [--env-b VAR=VALUE]... LIB_A LIB_B
 *
 * Each side's --env settings are in force while that library starts (FREEZEBENCH_ISA is
 * read at its first call) and makes its trainer (FREEZEBENCH_PREPACK), and only then;
 * the same path on both sides is loaded twice (through a copy), so one build can be
 * compared under two settings.  --batch replaces each workload's batch (its steps a
 * block scaled to keep a block's length).  Workloads: mlp8x1024 (widths 1024×9, batch
 * 256, nothing frozen), mlp8x1024-prefix4 (the same with fc1-fc4 frozen: packs, no backward below
 * fc5), seed (10→5→1, batch 64, fc1 frozen: the seed example's step), finetune
 * (784-512-512-512-5 at batch 64, nothing frozen: the shape of bench/finetune's
 * Fashion-MNIST step, on random data with MSE), finetune-prefix1 (the same with fc1
 * frozen, the spec whose time to a target bench/finetune_vs_pytorch.py reports), or all.
 */
#include <dlfcn.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_common.h"
#include "clock.h"
#include "stats.h"

/* The part of the public API this program calls, by symbol: the two libraries' own. */
typedef struct fz_model fz_model;
typedef struct fz_trainer fz_trainer;
typedef struct { float lr, momentum, weight_decay; } sgd;

typedef struct {
    const char *path;
    void *handle;
    fz_model *(*mlp_create)(const size_t *widths, size_t n, uint64_t seed);
    int (*freeze)(fz_model *m, const char *spec);
    fz_trainer *(*trainer_create)(fz_model *m, size_t batch, sgd opt);
    int (*train_step)(fz_trainer *t, const float *x, const float *y, float *loss);
    void (*trainer_free)(fz_trainer *t);
    void (*model_free)(fz_model *m);
    void (*set_threads)(int n);
    const char *(*isa)(void);
    const char *(*last_error)(void);
    char *env[8];
    int n_env;
} side;

typedef struct {
    const char *name;
    size_t widths[10];
    size_t n_widths, batch;
    const char *freeze;
    int steps;          /* steps a block: a block lasts some milliseconds */
} workload;

static const workload workloads[] = {
    { "mlp8x1024", { 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024 }, 9, 256,
      NULL, 3 },
    { "mlp8x1024-prefix4", { 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024, 1024 }, 9,
      256, "prefix:4", 4 },
    { "seed", { 10, 5, 1 }, 3, 64, "fc1.*", 20000 },
    { "finetune", { 784, 512, 512, 512, 5 }, 5, 64, NULL, 30 },
    { "finetune-prefix1", { 784, 512, 512, 512, 5 }, 5, 64, "prefix:1", 30 },
};

static int fail(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "ab_builds: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return 1;
}

/* dlopen returns the handle it has for a path it opened already: the second side of a
 * one-build comparison goes through a copy, so it gets its own table and team. */
static const char *own_copy(const char *path, char *tmp, size_t cap)
{
    snprintf(tmp, cap, "/tmp/ab_builds_b_XXXXXX");
    int fd = mkstemp(tmp);
    FILE *in = fopen(path, "rb");
    FILE *out = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!in || !out) {
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        return NULL;
    }
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    return fclose(out) == 0 ? tmp : NULL;
}

static int load(side *s)
{
    s->handle = dlopen(s->path, RTLD_NOW | RTLD_LOCAL);
    if (!s->handle)
        return fail("%s%s", dlerror(), "");
    struct { void *dst; const char *name; } syms[] = {
        { &s->mlp_create, "fz_mlp_create" }, { &s->freeze, "fz_freeze" },
        { &s->trainer_create, "fz_trainer_create" }, { &s->train_step, "fz_train_step" },
        { &s->trainer_free, "fz_trainer_free" }, { &s->model_free, "fz_model_free" },
        { &s->set_threads, "fz_set_threads" }, { &s->isa, "fz_isa" },
        { &s->last_error, "fz_last_error" },
    };
    for (size_t i = 0; i < sizeof syms / sizeof *syms; i++) {
        void *f = dlsym(s->handle, syms[i].name);
        if (!f)
            return fail("%s has no %s", s->path, syms[i].name);
        memcpy(syms[i].dst, &f, sizeof f);
    }
    return 0;
}

/* Sets the side's environment, returning what was there to restore it. */
static void env_apply(const side *s, char **saved)
{
    for (int i = 0; i < s->n_env; i++) {
        char *eq = strchr(s->env[i], '=');
        *eq = '\0';
        const char *old = getenv(s->env[i]);
        saved[i] = old ? strdup(old) : NULL;
        setenv(s->env[i], eq + 1, 1);
        *eq = '=';
    }
}

static void env_restore(const side *s, char **saved)
{
    for (int i = 0; i < s->n_env; i++) {
        char *eq = strchr(s->env[i], '=');
        *eq = '\0';
        if (saved[i])
            setenv(s->env[i], saved[i], 1);
        else
            unsetenv(s->env[i]);
        *eq = '=';
        free(saved[i]);
    }
}

static void print_side(char name, const side *s, const double *t, int n)
{
    double med = fzb_median(t, (size_t)n);
    fzb_interval ci = fzb_median_ci(t, (size_t)n);
    printf("  %c %-8s %12.4g s a step  [%.4g, %.4g]  (%s)\n", name, s->isa(), med, ci.lo,
           ci.hi, s->path);
}

static int run(side sides[2], const workload *w, int rounds, int threads, float momentum)
{
    fz_model *m[2] = { NULL, NULL };
    fz_trainer *t[2] = { NULL, NULL };
    size_t in = w->widths[0], out = w->widths[w->n_widths - 1];
    float *x = malloc(w->batch * in * sizeof(float)), *y = malloc(w->batch * out * sizeof(float));
    double *times[2] = { malloc((size_t)rounds * sizeof(double)),
                         malloc((size_t)rounds * sizeof(double)) };
    int rc = 1;
    if (!x || !y || !times[0] || !times[1])
        goto done;
    for (size_t i = 0; i < w->batch * in; i++)
        x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < w->batch * out; i++)
        y[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
    for (int s = 0; s < 2; s++) {
        char *saved[8];
        env_apply(&sides[s], saved);
        sides[s].set_threads(threads);
        m[s] = sides[s].mlp_create(w->widths, w->n_widths, 42);
        if (m[s] && w->freeze)
            sides[s].freeze(m[s], w->freeze);
        t[s] = m[s] ? sides[s].trainer_create(m[s], w->batch, (sgd){ .lr = 1e-4f,
                                                                     .momentum = momentum })
                    : NULL;
        env_restore(&sides[s], saved);
        if (!t[s]) {
            fail("%s: %s", sides[s].path, sides[s].last_error());
            goto done;
        }
        /* Warm: the first steps pack frozen weights and fault the buffers in. */
        for (int k = 0; k < 2 * w->steps; k++)
            sides[s].train_step(t[s], x, y, NULL);
    }
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    for (int r = 0; r < rounds; r++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        int first = (int)(rng >> 63);
        for (int j = 0; j < 2; j++) {
            int s = j ? !first : first;
            double t0 = clock_now();
            for (int k = 0; k < w->steps; k++)
                sides[s].train_step(t[s], x, y, NULL);
            times[s][r] = (clock_now() - t0) / w->steps;
        }
    }
    printf("%s at batch %zu (%d threads, SGD momentum %g, %d rounds of %d steps a side, "
           "order drawn per round)\n", w->name, w->batch, threads, (double)momentum, rounds,
           w->steps);
    print_side('A', &sides[0], times[0], rounds);
    print_side('B', &sides[1], times[1], rounds);
    fzb_interval ratio = fzb_ratio_ci(times[1], (size_t)rounds, times[0], (size_t)rounds);
    printf("  B/A %.3f  [%.3f, %.3f]\n",
           fzb_median(times[1], (size_t)rounds) / fzb_median(times[0], (size_t)rounds),
           ratio.lo, ratio.hi);
    rc = 0;
done:
    for (int s = 0; s < 2; s++) {
        if (t[s])
            sides[s].trainer_free(t[s]);
        if (m[s])
            sides[s].model_free(m[s]);
        free(times[s]);
    }
    free(x);
    free(y);
    return rc;
}

int main(int argc, char **argv)
{
    side sides[2] = { { 0 }, { 0 } };
    int rounds = 20, threads = 1;
    long batch = 0;   /* 0: each workload's own */
    float momentum = 0.0f;
    const char *which = "all";
    static const struct option opts[] = {
        { "rounds", required_argument, NULL, 'r' }, { "threads", required_argument, NULL, 't' },
        { "workload", required_argument, NULL, 'w' }, { "env-a", required_argument, NULL, 'a' },
        { "env-b", required_argument, NULL, 'b' },
        { "momentum", required_argument, NULL, 'm' }, { "batch", required_argument, NULL, 'B' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 },
    };
    static const char usage[] =
        "usage: ab_builds [--rounds N>=%d] [--threads T] [--momentum M] [--batch B] [--workload "
        "mlp8x1024|mlp8x1024-prefix4|seed|finetune|finetune-prefix1|all]\n                 [--env-a VAR=VALUE]... "
        "[--env-b VAR=VALUE]... LIB_A LIB_B\n       ab_builds --help | --version\n";
    /* Each LIB is loaded at run time: its own version is in the table, not in --version. */
    if (fz_cli_version_asked(argc, argv))
        return fz_cli_print_version(stdout, "ab_builds");
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        side *s = c == 'a' ? &sides[0] : &sides[1];
        switch (c) {
        case 'r': rounds = atoi(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'w': which = optarg; break;
        case 'm': momentum = (float)atof(optarg); break;
        case 'B': batch = atol(optarg); break;
        case 'h':
            printf(usage, FZB_MIN_SAMPLES);
            return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
        case 'a':
        case 'b':
            if (!strchr(optarg, '=') || s->n_env == 8)
                return fail("--env-%s '%s': expected VAR=VALUE (at most 8)",
                            c == 'a' ? "a" : "b", optarg);
            s->env[s->n_env++] = optarg;
            break;
        default: return 2;
        }
    }
    bool known = strcmp(which, "all") == 0;
    for (size_t i = 0; i < sizeof workloads / sizeof *workloads; i++)
        known = known || strcmp(which, workloads[i].name) == 0;
    if (!known)
        return fail("--workload '%s': no such workload%s", which, "");
    if (argc - optind != 2 || rounds < FZB_MIN_SAMPLES || threads < 1 || batch < 0 ||
        batch > 65536) {
        fprintf(stderr, usage, FZB_MIN_SAMPLES);
        return 2;
    }
    sides[0].path = argv[optind];
    sides[1].path = argv[optind + 1];
    char tmp[64];
    if (strcmp(sides[0].path, sides[1].path) == 0 &&
        !(sides[1].path = own_copy(sides[0].path, tmp, sizeof tmp)))
        return fail("cannot copy %s%s", sides[0].path, "");
    int rc = 0;
    for (int s = 0; s < 2 && rc == 0; s++) {
        char *saved[8];
        env_apply(&sides[s], saved);
        rc = load(&sides[s]);
        if (rc == 0)
            (void)sides[s].isa();   /* starts the library under its own settings */
        env_restore(&sides[s], saved);
    }
    for (size_t i = 0; rc == 0 && i < sizeof workloads / sizeof *workloads; i++)
        if (strcmp(which, "all") == 0 || strcmp(which, workloads[i].name) == 0) {
            workload w = workloads[i];
            if (batch) {   /* a block keeps about its duration */
                double steps = (double)w.steps * (double)w.batch / (double)batch;
                w.steps = steps < 1.0 ? 1 : steps > 1e6 ? 1000000 : (int)steps;
                w.batch = (size_t)batch;
            }
            rc = run(sides, &w, rounds, threads, momentum);
        }
    if (sides[1].path == tmp)
        unlink(tmp);
    return rc;
}
