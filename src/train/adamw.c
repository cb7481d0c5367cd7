/* The AdamW update (adamw.h): copied aside and checked, chunk by chunk. */
#include <math.h>
#include <string.h>

#include "adamw.h"
#include "elementwise.h"
#include "error.h"
#include "finite.h"
#include "parallel.h"

/* Floats of a tensor updated at a time: its p, g, m, v and the three copies aside
 * (7 × 8 KiB) stay in L2 between the copy, the update and the check. */
#define ADAMW_CHUNK 2048

static float *undo_of(const adamw_update *u, size_t i)
{
    return u->undo_arena + (u->grad[i] - u->grad_arena);
}

/* This thread's slice of every trained tensor; whether some value went bad. */
static bool adamw_slice(const adamw_update *u, const fz_kernels *k, int ith, int team)
{
    fz_model *m = u->m;
    bool bad = false;
    for (size_t i = 0; i < m->n_tensors; i++) {
        if (!plan_trains(u->plan, i))
            continue;
        adamw_step s = adamw_step_make(u->opt.lr, u->opt.beta1, u->opt.beta2, u->opt.eps,
                                       u->opt.weight_decay, u->steps[i] + 1);
        fz_range r = split_range(m->tensors[i].numel, ith, team);
        for (size_t at = r.begin; at < r.end; at += ADAMW_CHUNK) {
            size_t c = r.end - at < ADAMW_CHUNK ? r.end - at : ADAMW_CHUNK;
            float *p = m->tensors[i].data + at, *g = u->grad[i] + at;
            float *ma = u->exp_avg[i] + at, *va = u->exp_avg_sq[i] + at;
            float *keep = undo_of(u, i) + at;
            k->copy_aside(keep, p, c);
            k->copy_aside(keep + u->third, ma, c);
            k->copy_aside(keep + 2 * u->third, va, c);
            sgd_maxima w = k->adamw(p, g, ma, va, c, &s, u->flops);
            bad = bad || !isfinite(w.p) || !isfinite(w.buf);
        }
    }
    return bad;
}

/* Puts back every trained tensor and its state, after naming the first bad value. */
static fz_status undo(const adamw_update *u)
{
    fz_model *m = u->m;
    const char *name = "?", *what = "parameter";
    size_t at = 0;
    float value = NAN;
    for (size_t i = m->n_tensors; i-- > 0;) {   /* backwards: the first bad one wins */
        if (!plan_trains(u->plan, i))
            continue;
        size_t n = m->tensors[i].numel;
        size_t bad_p = first_nonfinite(m->tensors[i].data, n);
        size_t bad_v = first_nonfinite(u->exp_avg_sq[i], n);
        if (bad_p < n || bad_v < n) {
            name = m->tensors[i].name;
            what = bad_p < n ? "parameter" : "second moment (exp_avg_sq) of";
            at = bad_p < n ? bad_p : bad_v;
            value = bad_p < n ? m->tensors[i].data[at] : u->exp_avg_sq[i][at];
        }
        float *keep = undo_of(u, i);
        memcpy(m->tensors[i].data, keep, n * sizeof(float));
        memcpy(u->exp_avg[i], keep + u->third, n * sizeof(float));
        memcpy(u->exp_avg_sq[i], keep + 2 * u->third, n * sizeof(float));
    }
    return set_error(FZ_ENONFINITE, "fz_train_step: step %llu: the AdamW update made %s "
                     "%s[%zu] %g (the model diverged; try a lower learning rate, now %g); "
                     "parameters and optimizer state left as after step %llu",
                     (unsigned long long)u->step, what, name, at, (double)value,
                     (double)u->opt.lr, (unsigned long long)u->step - 1);
}

fz_status adamw_update_run(const adamw_update *u, const fz_exec *x)
{
    const fz_kernels *k = x->k;
    fz_model *m = u->m;
    int nth = threads_for(u->grad_floats, x->gemm.threads);
    bool bad = false;
    if (nth <= 1) {
        bad = adamw_slice(u, k, 0, 1);
    } else {
#ifdef _OPENMP
#pragma omp parallel num_threads(nth) reduction(|| : bad)
        bad = adamw_slice(u, k, thread_num(), thread_count());
#endif
    }
    if (bad) {
        fz_status st = undo(u);
        for (size_t i = 0; i < m->n_tensors; i++)
            if (plan_trains(u->plan, i))
                model_touch(m, i);   /* rewritten (with what it held): copies are stale */
        return st;
    }
    for (size_t i = 0; i < m->n_tensors; i++) {
        if (!plan_trains(u->plan, i))
            continue;
        u->steps[i]++;
        model_touch(m, i);
    }
    return FZ_OK;
}
