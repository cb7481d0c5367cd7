/*
 * The training step: forward, MSE loss, the backward the plan calls for, SGD on the
 * tensors the plan trains.  Every freezing decision here reads the plan (plan.h), never
 * the model's flags: activations only where keep_X, gradients and SGD only where
 * plan_trains, momentum only for tensors some plan has trained, each layer's backward
 * given an output only where need_dW, need_db or need_dX, packs where pack_fwd and
 * pack_dgrad, the listener's buckets where the plan closes them.  The step builds one
 * execution context (exec.h) and hands it to the forward, the backward, the packs and
 * the optimizer.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adamw.h"
#include "align.h"
#include "clock.h"
#include "error.h"
#include "finite.h"
#include "exec.h"
#include "fused_update.h"
#include "linear.h"
#include "loss.h"
#include "model.h"
#include "optimizer.h"
#include "packs.h"
#include "plan.h"
#include "step.h"
#include "trainer_hooks.h"

/* Whether the step folds the weights' update into the backward where the bound allows
 * (fused_update.h): FREEZEBENCH_FUSED_UPDATE=0 never, =1 at any batch, unset from
 * FOLD_MIN_BATCH rows up. */
typedef enum { FOLD_BY_BATCH, FOLD_NEVER, FOLD_ALWAYS } fold_policy;

/* The fewest rows (the wgrad's K) at which the update is folded by default.  At fewer,
 * each tile's few FMAs do not hide the hook's traffic to W and its momentum.  Zen 4, one
 * thread, with the hook's lines fetched across the tile before (fused_update.c),
 * ab_builds folded (B) against separate (A), 12-16 rounds, each order: the
 * 784-512-512-512-5 step (bench/finetune's shape) at batch 64, momentum 0.9: 0.951
 * [0.883, 0.988] and 1/1.047 [1.027, 1.080]; plain SGD 0.969 [0.958, 0.981] and 1/1.016
 * [1.007, 1.033]; at batch 32 0.956 [0.907, 0.985] and 1/1.001 [0.994, 1.013]
 * (undecided); at batch 16 1.012 [0.940, 1.079] and 1/0.970 (1.031 [1.020, 1.041]):
 * slower. */
#define FOLD_MIN_BATCH 64

struct fz_trainer {
    fz_model *m;
    size_t batch;
    fz_train_opts cfg;          /* the loss and the optimizer */
    fz_sgd opt;                 /* cfg.sgd: SGD's settings (zero under AdamW) */
    /* FREEZEBENCH_PREPACK=0 at creation turns the packs of frozen weights off: the switch
     * the tests compare against, and a way to measure the gain. */
    bool prepack;
    /* FREEZEBENCH_UPDATE_BOUND=0 at creation copies aside and checks every update, as if
     * no bound held (optimizer.h): the same kind of switch, for the optimizer. */
    bool update_bound;
    /* FREEZEBENCH_FUSED_UPDATE at creation (fold_policy): =0 keeps every weight's
     * update in the optimizer's own pass, =1 folds it at any batch: the switches the
     * tests compare the two with, and a way to measure them. */
    fold_policy fold;

    fz_plan *plan;              /* the plan in use (never NULL once created) */
    fz_plan_flops planned;
    fz_plan_flops step_planned; /* `planned` as of the last completed step */

    /* Activations: act[l] is layer l's kept input (B×I_l), or NULL.  act[0] is never
     * allocated: layer 1's input is the caller's x. */
    float **act;
    float *act_arena;
    /* Scratch for inputs the plan does not keep, the output, and the gradient flowing
     * down (two buffers each way so a layer never reads what it writes). */
    float *fwd_scratch[2];
    float *out;
    float *dy[2];

    /* Gradients: grad[i] for tensor i where plan_trains, else NULL; one arena per plan,
     * laid out by the plan. */
    float **grad;
    float *grad_arena;
    /* The plan's buckets with their pointers into grad_arena, for the listener. */
    grad_bucket *buckets;
    grad_piece *pieces;
    /* Momentum buffers, per tensor, allocated on a tensor's first trainable step and kept
     * when it is frozen (torch.optim keeps its state too), so unfreezing resumes it. */
    float **mom;
    /* AdamW's state the same way: first and second moments per tensor, and each
     * tensor's step count (its bias corrections). */
    float **exp_avg, **exp_avg_sq;
    uint64_t *adam_steps;
    adamw_maxima *adam_maxima;  /* per tensor: what bounds its next update (adamw.h) */
    /* The trainable parameters and their optimizer state as they were before the
     * update, laid out as the gradient arena (each state buffer in a further part of
     * grad_floats floats), so an update that makes a value NaN or infinite can be undone
     * exactly. */
    float *undo_arena;
    /* Per tensor, the largest |p| and |momentum| that bound the next update
     * (update_bound.h); the steps whose update was copied aside and checked. */
    tensor_maxima *maxima;
    uint64_t checked_updates;
    /* The update folded into the backward (fused_update.h): per layer the hook's state,
     * per tensor whether this step's backward updated it, the bound's scratch, and the
     * steps that folded it. */
    fused_sgd *fused_layer;
    bool *fused;
    double *bound_scratch;
    uint64_t fused_steps;
    /* Frozen weights packed once per plan for their forward and dgrad GEMMs (packs.h). */
    frozen_packs packs;

    fz_counter *cnt_fwd, *cnt_dgrad, *cnt_wgrad, *cnt_opt;
    /* The counters as of the last completed step: a failed step counts part of its work
     * before it stops, and must not change what fz_flops_executed reports. */
    fz_flops exec;
    fz_bwd_split exec_split;
    fz_times times;
    fz_update_split update;     /* where the last completed step's update ran */
    uint64_t steps;             /* completed steps */
    trainer_hooks hooks;        /* data-parallel listeners (trainer_hooks.h); none: zero */
    bool replan;                /* the hooks' bucket size changed: plan again */
    /* An object of a layer above (the epoch loop's frozen-prefix cache), and how to free
     * it (trainer_attachment). */
    void *attached;
    void (*attached_free)(void *);
};

/* Optimizer state buffers a trained tensor has: SGD's momentum (none without), or
 * AdamW's two moments. */
static size_t state_buffers(const fz_trainer *t)
{
    if (t->cfg.optim == FZ_OPTIM_ADAMW)
        return 2;
    return t->opt.momentum != 0.0f ? 1 : 0;
}

/* Where buffer b (< state_buffers) of tensor i's state is kept; buffer 0 also says
 * whether the tensor has state at all. */
static float **state_slot(fz_trainer *t, size_t b, size_t i)
{
    if (t->cfg.optim == FZ_OPTIM_ADAMW)
        return b == 0 ? &t->exp_avg[i] : &t->exp_avg_sq[i];
    return &t->mom[i];
}

/* The arenas and buffers `plan` asks for, made aside and swapped in only when every
 * allocation succeeded, so a failure leaves the trainer on its previous plan.  With
 * `for_step` (the plan is made for a step) the frozen weights' packs are among them;
 * without (fz_memory_used, fz_layer_plan_get) the old plan's packs are dropped and the
 * first step packs for the new one.  Takes `plan` over either way. */
static fz_status apply_plan(fz_trainer *t, fz_plan *plan, bool for_step)
{
    fz_model *m = t->m;
    float *act_arena = plan->act_floats ? alloc_floats(plan->act_floats) : NULL;
    float *grad_arena = plan->grad_floats ? alloc_floats(plan->grad_floats) : NULL;
    size_t undo_floats = (1 + state_buffers(t)) * plan->grad_floats;
    float *undo_arena = undo_floats ? alloc_floats(undo_floats) : NULL;
    grad_bucket *buckets = malloc((plan->n_buckets ? plan->n_buckets : 1) * sizeof *buckets);
    grad_piece *pieces = malloc((plan->n_buckets + plan->n_pieces + 1) * sizeof *pieces);
    /* Momentum buffers for tensors that become trainable, built aside and adopted only
     * once everything else succeeded. */
    /* new_state[b·n + i]: buffer b of tensor i, for tensors first trained here. */
    size_t n_state = state_buffers(t);
    float **new_state = calloc(2 * m->n_tensors, sizeof *new_state);
    if ((plan->act_floats && !act_arena) || (plan->grad_floats && !grad_arena) ||
        (undo_floats && !undo_arena) || !buckets || !pieces || !new_state)
        goto nomem;
    for (size_t i = 0; i < m->n_tensors; i++) {
        if (!plan_trains(plan, i) || *state_slot(t, 0, i))
            continue;
        for (size_t b = 0; b < n_state; b++) {
            float *buf = alloc_floats(m->tensors[i].numel);
            if (!buf)
                goto nomem;
            memset(buf, 0, m->tensors[i].numel * sizeof(float));
            new_state[b * m->n_tensors + i] = buf;
        }
    }
    if (for_step && frozen_packs_prepare(&t->packs, m, plan) != FZ_OK)
        goto nomem;
    for (size_t i = 0; i < m->n_tensors; i++) {
        if (!new_state[i])
            continue;
        for (size_t b = 0; b < n_state; b++)
            *state_slot(t, b, i) = new_state[b * m->n_tensors + i];
        t->maxima[i].mom = 0.0f;   /* a new buffer is zero */
    }
    free(new_state);

    free(t->act_arena);
    free(t->grad_arena);
    free(t->undo_arena);
    free(t->buckets);
    free(t->pieces);
    t->act_arena = act_arena;
    t->grad_arena = grad_arena;
    t->undo_arena = undo_arena;
    t->buckets = buckets;
    t->pieces = pieces;
    if (for_step)
        frozen_packs_commit(&t->packs);
    else
        frozen_packs_drop(&t->packs);
    for (size_t l = 0; l < m->n_layers; l++)
        t->act[l] = l > 0 && plan->layer[l].keep_X ? act_arena + plan->layer[l].act_off : NULL;
    for (size_t i = 0; i < m->n_tensors; i++)
        t->grad[i] = plan_trains(plan, i) ? grad_arena + plan->grad_off[i] : NULL;
    /* Staged pieces first, in the plan's order; then each run bucket's one piece, at
     * n_pieces + its bucket's number. */
    for (size_t j = 0; j < plan->n_pieces; j++)
        pieces[j] = (grad_piece){ grad_arena + plan->piece[j].off, plan->piece[j].n };
    for (size_t b = 0; b < plan->n_buckets; b++) {
        const plan_bucket *pb = &plan->bucket[b];
        grad_piece *first = pieces + pb->first_piece;
        if (!pb->staged) {
            first = pieces + plan->n_pieces + b;
            *first = (grad_piece){ grad_arena + pb->run.off, pb->run.n };
        }
        buckets[b] = (grad_bucket){ .piece = first, .n_pieces = pb->staged ? pb->n_pieces : 1,
                                    .floats = pb->floats, .staged = pb->staged };
    }
    plan_free(t->plan);
    t->plan = plan;
    t->planned = plan_flops(m, plan, &t->cfg);
    return FZ_OK;

nomem:
    for (size_t i = 0; new_state && i < 2 * m->n_tensors; i++)
        free(new_state[i]);
    free(new_state);
    free(act_arena);
    free(grad_arena);
    free(undo_arena);
    free(buckets);
    free(pieces);
    size_t act_bytes = plan->act_bytes, grad_elems = plan->grad_elems;
    plan_free(plan);
    return set_error(FZ_ENOMEM, "fz_train_step: out of memory for the buffers of a new "
                     "backward plan (%zu activation bytes, %zu gradient elements)",
                     act_bytes, grad_elems);
}

/* Re-plans when the flags, the execution context's kernels or blocking, or the hooks'
 * bucket size changed since the last plan; for a step, also packs the frozen weights the
 * plan asks for that have no current pack.  Either way a failure leaves the trainer as
 * it was. */
static fz_status ensure_plan(fz_trainer *t, const fz_exec *x, bool for_step)
{
    if (t->replan || !plan_current(t->plan, t->m, x)) {
        fz_plan *plan;
        plan_inputs in = { .batch = t->batch, .exec = x, .prepack = t->prepack,
                           .bucket_bytes = t->hooks.bucket_bytes };
        fz_status st = plan_build(t->m, &in, &plan);
        if (st == FZ_OK)
            st = apply_plan(t, plan, for_step);
        if (st == FZ_OK)
            t->replan = false;
        return st;
    }
    if (for_step && !frozen_packs_current(&t->packs, t->m)) {
        fz_status st = frozen_packs_prepare(&t->packs, t->m, t->plan);
        if (st != FZ_OK)
            return st;
        frozen_packs_commit(&t->packs);
    }
    return FZ_OK;
}

/* The plan as it stands for the next step, outside a step. */
static fz_status ensure_plan_now(fz_trainer *t)
{
    fz_exec x = exec_now(NULL, NULL);
    return ensure_plan(t, &x, false);
}

void fz_trainer_free(fz_trainer *t)
{
    if (!t)
        return;
    if (t->attached_free)
        t->attached_free(t->attached);
    for (size_t i = 0; i < t->m->n_tensors; i++) {
        free(t->mom ? t->mom[i] : NULL);
        free(t->exp_avg ? t->exp_avg[i] : NULL);
        free(t->exp_avg_sq ? t->exp_avg_sq[i] : NULL);
    }
    free(t->mom);
    free(t->exp_avg);
    free(t->exp_avg_sq);
    free(t->adam_steps);
    free(t->adam_maxima);
    free(t->maxima);
    free(t->fused_layer);
    free(t->fused);
    free(t->bound_scratch);
    frozen_packs_free(&t->packs);
    plan_free(t->plan);
    free(t->grad);
    free(t->grad_arena);
    free(t->undo_arena);
    free(t->buckets);
    free(t->pieces);
    free(t->act);
    free(t->act_arena);
    free(t->fwd_scratch[0]);
    free(t->fwd_scratch[1]);
    free(t->out);
    free(t->dy[0]);
    free(t->dy[1]);
    free(t->cnt_fwd);
    free(t->cnt_dgrad);
    free(t->cnt_wgrad);
    free(t->cnt_opt);
    free(t);
}

static fz_trainer *trainer_create(const char *fn, fz_model *m, size_t batch,
                                  const fz_train_opts *o);

fz_adamw fz_adamw_defaults(void)
{
    return (fz_adamw){ .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                       .weight_decay = 1e-2f };
}

static bool finite_nonneg(float x) { return x >= 0.0f && isfinite(x); }

/* Whether the settings are ones PyTorch takes (and no update is infinite from the
 * start); the message names them otherwise. */
static bool opts_valid(const char *fn, const fz_model *m, const fz_train_opts *o)
{
    if (o->loss != FZ_LOSS_MSE && o->loss != FZ_LOSS_CROSS_ENTROPY) {
        set_error(FZ_EINVAL, "%s: loss %d is neither FZ_LOSS_MSE nor "
                  "FZ_LOSS_CROSS_ENTROPY", fn, (int)o->loss);
        return false;
    }
    if (o->loss == FZ_LOSS_CROSS_ENTROPY && m->widths[m->n_layers] < 2) {
        set_error(FZ_EINVAL, "%s: cross-entropy needs at least 2 outputs (classes); the "
                  "model has %zu", fn, m->widths[m->n_layers]);
        return false;
    }
    if (o->optim == FZ_OPTIM_SGD) {
        fz_sgd opt = o->sgd;
        /* An infinite rate turns every update into Inf or NaN: refused here, not found
         * after the first step. */
        if (!finite_nonneg(opt.lr) || !finite_nonneg(opt.momentum) ||
            !finite_nonneg(opt.weight_decay)) {
            set_error(FZ_EINVAL, "%s: lr %g, momentum %g, weight_decay %g: each must be a "
                      "finite number >= 0", fn, (double)opt.lr, (double)opt.momentum,
                      (double)opt.weight_decay);
            return false;
        }
        return true;
    }
    if (o->optim != FZ_OPTIM_ADAMW) {
        set_error(FZ_EINVAL, "%s: optimizer %d is neither FZ_OPTIM_SGD nor FZ_OPTIM_ADAMW",
                  fn, (int)o->optim);
        return false;
    }
    fz_adamw a = o->adamw;
    if (!finite_nonneg(a.lr) || !finite_nonneg(a.eps) || !finite_nonneg(a.weight_decay) ||
        !(a.beta1 >= 0.0f && a.beta1 < 1.0f) || !(a.beta2 >= 0.0f && a.beta2 < 1.0f)) {
        set_error(FZ_EINVAL, "%s: AdamW lr %g, betas %g and %g, eps %g, weight_decay %g: "
                  "lr, eps and weight_decay must be finite numbers >= 0 and each beta in "
                  "[0, 1), as torch.optim.AdamW requires", fn, (double)a.lr,
                  (double)a.beta1, (double)a.beta2, (double)a.eps, (double)a.weight_decay);
        return false;
    }
    return true;
}

fz_trainer *fz_trainer_create(fz_model *m, size_t batch, fz_sgd opt)
{
    return trainer_create("fz_trainer_create", m, batch,
                          &(fz_train_opts){ .loss = FZ_LOSS_MSE, .optim = FZ_OPTIM_SGD,
                                            .sgd = opt });
}

fz_trainer *fz_trainer_create_opts(fz_model *m, size_t batch, const fz_train_opts *o)
{
    if (!o) {
        set_error(FZ_EINVAL, "fz_trainer_create_opts: opts is NULL");
        return NULL;
    }
    return trainer_create("fz_trainer_create_opts", m, batch, o);
}

static fz_trainer *trainer_create(const char *fn, fz_model *m, size_t batch,
                                  const fz_train_opts *o)
{
    if (!m) {
        set_error(FZ_EINVAL, "%s: model is NULL", fn);
        return NULL;
    }
    if (batch == 0) {
        set_error(FZ_EINVAL, "%s: batch is 0", fn);
        return NULL;
    }
    if (!opts_valid(fn, m, o))
        return NULL;
    size_t maxw = model_max_width(m), buf;
    if (!size_mul_ok(batch, maxw, &buf) || !size_mul_ok(buf, sizeof(float), &buf) ||
        !size_mul_ok(buf, m->n_layers + 1, &(size_t){0})) {
        set_error(FZ_ENOMEM, "%s: batch %zu × width %zu × %zu layers "
                  "overflows size_t", fn, batch, maxw, m->n_layers);
        return NULL;
    }

    fz_trainer *t = calloc(1, sizeof *t);
    if (!t)
        goto nomem;
    t->m = m;
    t->batch = batch;
    t->cfg = *o;
    t->opt = o->optim == FZ_OPTIM_SGD ? o->sgd : (fz_sgd){0};
    const char *prepack = getenv("FREEZEBENCH_PREPACK");
    t->prepack = !(prepack && prepack[0] == '0' && prepack[1] == '\0');
    const char *bound = getenv("FREEZEBENCH_UPDATE_BOUND");
    t->update_bound = !(bound && bound[0] == '0' && bound[1] == '\0');
    const char *fuse = getenv("FREEZEBENCH_FUSED_UPDATE");
    t->fold = !fuse || !*fuse ? FOLD_BY_BATCH
            : fuse[0] == '0' && fuse[1] == '\0' ? FOLD_NEVER : FOLD_ALWAYS;
    t->fused_layer = calloc(m->n_layers, sizeof *t->fused_layer);
    t->fused = calloc(m->n_tensors, sizeof *t->fused);
    t->bound_scratch = calloc(m->n_layers, sizeof *t->bound_scratch);
    t->maxima = calloc(m->n_tensors, sizeof *t->maxima);
    t->act = calloc(m->n_layers, sizeof *t->act);
    t->grad = calloc(m->n_tensors, sizeof *t->grad);
    t->mom = calloc(m->n_tensors, sizeof *t->mom);
    t->exp_avg = calloc(m->n_tensors, sizeof *t->exp_avg);
    t->exp_avg_sq = calloc(m->n_tensors, sizeof *t->exp_avg_sq);
    t->adam_steps = calloc(m->n_tensors, sizeof *t->adam_steps);
    t->adam_maxima = calloc(m->n_tensors, sizeof *t->adam_maxima);
    t->fwd_scratch[0] = alloc_floats(buf / sizeof(float));
    t->fwd_scratch[1] = alloc_floats(buf / sizeof(float));
    t->out = alloc_floats(buf / sizeof(float));
    t->dy[0] = alloc_floats(buf / sizeof(float));
    t->dy[1] = alloc_floats(buf / sizeof(float));
    t->cnt_fwd = aligned_calloc(_Alignof(fz_counter), 1, sizeof(fz_counter));
    t->cnt_dgrad = aligned_calloc(_Alignof(fz_counter), 1, sizeof(fz_counter));
    t->cnt_wgrad = aligned_calloc(_Alignof(fz_counter), 1, sizeof(fz_counter));
    t->cnt_opt = aligned_calloc(_Alignof(fz_counter), 1, sizeof(fz_counter));
    if (!t->act || !t->grad || !t->mom || !t->exp_avg || !t->exp_avg_sq || !t->adam_steps ||
        !t->adam_maxima ||
        !t->maxima || !t->fused_layer || !t->fused ||
        !t->bound_scratch || !t->fwd_scratch[0] ||
        !t->fwd_scratch[1] || !t->out || !t->dy[0] || !t->dy[1] || !t->cnt_fwd ||
        !t->cnt_dgrad || !t->cnt_wgrad || !t->cnt_opt ||
        frozen_packs_init(&t->packs, m->n_layers) != FZ_OK)
        goto nomem;
    if (ensure_plan_now(t) != FZ_OK) {
        fz_trainer_free(t);
        set_error(FZ_ENOMEM, "%s: out of memory for the plan's buffers", fn);
        return NULL;
    }
    if (!t->plan->any_trainable) {
        fz_trainer_free(t);
        set_error(FZ_EINVAL, "%s: every parameter is frozen: nothing to "
                  "train (PyTorch's backward refuses this too)", fn);
        return NULL;
    }
    return t;

nomem:
    fz_trainer_free(t);
    set_error(FZ_ENOMEM, "%s: out of memory (batch %zu, widest layer %zu)", fn,
              batch, maxw);
    return NULL;
}

/* Forward from layer io->start (0: the sample x) through the last; a layer's output
 * lands where the plan keeps it, or in a scratch buffer that the next layer overwrites (a
 * frozen prefix stores nothing).  The input of layer io->record, when asked for, is
 * copied out as it passes: the scratch it sits in is reused two layers up. */
static void forward(fz_trainer *t, const fz_exec *x, const fz_step_io *io)
{
    const fz_model *m = t->m;
    size_t L = m->n_layers, B = t->batch;
    const float *in = io->in;
    for (size_t l = io->start; l < L; l++) {
        if (io->record_dst && l == io->record)
            memcpy(io->record_dst, in, B * m->widths[l] * sizeof(float));
        fz_linear layer = model_layer(m, l);
        float *dst = t->out;
        if (l + 1 < L)
            dst = t->act[l + 1] ? t->act[l + 1]
                : in == t->fwd_scratch[0] ? t->fwd_scratch[1] : t->fwd_scratch[0];
        linear_forward(x, &layer, t->packs.layer[l].fwd, B, in, dst, l + 1 < L, t->cnt_fwd);
        in = dst;
    }
}

/* Hands the listener the buckets the plan closes at this point. */
static void buckets_ready(const fz_trainer *t, size_t first, size_t n)
{
    if (t->hooks.grads_ready && n)
        t->hooks.grads_ready(t->hooks.ctx, t->buckets + first, n);
}

/* Layer l's dX, then its dW with W's update folded into the GEMM's tiles (dX read W
 * as it was), then db; fused_update.h.  The hook's maxima become the optimizer's. */
static void backward_fused(fz_trainer *t, const fz_exec *x, size_t l, const float *X,
                           const float *dY, float *dX)
{
    const fz_plan_layer *p = &t->plan->layer[l];
    fz_linear layer = model_layer(t->m, l);
    if (dX)
        linear_backward(x, &layer, t->packs.layer[l].dgrad, t->batch, X, dY, l > 0,
                        NULL, NULL, dX, t->cnt_wgrad, t->cnt_dgrad);
    if (p->need_dW) {
        size_t iW = layer.W_index;
        fused_sgd *f = &t->fused_layer[l];
        *f = (fused_sgd){ .k = x->k, .W = t->m->tensors[iW].data, .ld = layer.in,
                          .mom = t->opt.momentum != 0.0f ? t->mom[iW] : NULL,
                          .opt = t->opt, .flops = t->cnt_opt };
        atomic_init(&f->max_p, 0);
        atomic_init(&f->max_mom, 0);
        /* Nothing reads dW after the update: where one K block suffices the GEMM keeps
         * each tile in a scratch and never stores it. */
        fz_tile_hook hook = { .fn = fused_sgd_tile, .ctx = f, .consumes_c = true,
                              .lines_for = fused_sgd_lines };
        linear_wgrad(x, &layer, t->batch, X, dY, t->grad[iW], &hook, t->cnt_wgrad);
        t->maxima[iW].step_p = atomic_load(&f->max_p);
        t->maxima[iW].step_mom = atomic_load(&f->max_mom);
        t->fused[iW] = true;
    }
    if (p->need_db)
        linear_backward(x, &layer, NULL, t->batch, X, dY, l > 0, NULL,
                        t->grad[layer.b_index], NULL, t->cnt_wgrad, t->cnt_dgrad);
}

/* Backward from dY of the last layer down to the lowest layer with work.  Each layer
 * gets an output only for the gradients its plan entry asks for; NULL skips the rest.
 * With `fuse`, each trained weight is updated inside its wgrad (backward_fused). */
static void backward(fz_trainer *t, const fz_exec *x, const fz_step_io *io, bool fuse)
{
    const fz_model *m = t->m;
    const fz_plan *plan = t->plan;
    float *dY = t->dy[0];
    for (size_t l = m->n_layers; l-- > plan->lowest;) {
        const fz_plan_layer *p = &plan->layer[l];
        fz_linear layer = model_layer(m, l);
        /* dX goes to the other gradient buffer, so the GEMM never reads what it writes;
         * layer 1's input never needs one (need_dX is never set there). */
        float *dX = !p->need_dX ? NULL : dY == t->dy[0] ? t->dy[1] : t->dy[0];
        const float *X = l == io->start ? io->in : t->act[l];
        if (fuse) {
            backward_fused(t, x, l, X, dY, dX);
            dY = dX ? dX : dY;
            continue;
        }
        /* The layer's own gradients first, then its dX: a data-parallel listener starts
         * summing them across ranks while dX and the layers below compute. */
        if (p->need_dW || p->need_db) {
            linear_backward(x, &layer, NULL, t->batch, X, dY, l > 0,
                            p->need_dW ? t->grad[layer.W_index] : NULL,
                            p->need_db ? t->grad[layer.b_index] : NULL,
                            NULL, t->cnt_wgrad, t->cnt_dgrad);
            buckets_ready(t, p->first_bucket, p->n_buckets);
        }
        if (dX) {
            linear_backward(x, &layer, t->packs.layer[l].dgrad, t->batch, X, dY, l > 0,
                            NULL, NULL, dX, t->cnt_wgrad, t->cnt_dgrad);
            dY = dX;
        }
    }
    buckets_ready(t, plan->final_bucket, plan->n_buckets - plan->final_bucket);
}

/* Whether this step folds the weights' update into the backward: the trainer allows it,
 * nobody listens between the backward and the update (data-parallel training sums the
 * gradients first), the update is large enough to be bounded at all, and every tensor's
 * update is shown bounded (fused_update.h).  Takes the maxima of the step's input and of
 * the loss's gradient (in dy[0]). */
static bool fold_update(fz_trainer *t, const fz_exec *x, const fz_step_io *io)
{
    const fz_model *m = t->m;
    if (t->cfg.optim != FZ_OPTIM_SGD || t->fold == FOLD_NEVER ||
        (t->fold == FOLD_BY_BATCH && t->batch < FOLD_MIN_BATCH) || !t->update_bound ||
        t->hooks.grads_ready ||
        t->hooks.before_update || t->plan->grad_elems < UPDATE_BOUND_MIN_FLOATS)
        return false;
    size_t L = m->n_layers;
    step_bound_inputs in = {
        .m = t->m, .plan = t->plan, .maxima = t->maxima, .k = x->k, .opt = t->opt,
        .start = io->start, .max_in = x->k->abs_max(io->in, t->batch * m->widths[io->start]),
        .max_dy = x->k->abs_max(t->dy[0], t->batch * m->widths[L]),
        .scratch = t->bound_scratch,
    };
    return step_update_bounded(&in);
}

static fz_status optimizer_step(fz_trainer *t, const fz_exec *x, bool fused)
{
    if (t->cfg.optim == FZ_OPTIM_ADAMW) {
        adamw_update u = { .m = t->m, .plan = t->plan, .opt = t->cfg.adamw, .grad = t->grad,
                           .grad_arena = t->grad_arena, .exp_avg = t->exp_avg,
                           .exp_avg_sq = t->exp_avg_sq, .steps = t->adam_steps,
                           .undo_arena = t->undo_arena, .third = t->plan->grad_floats,
                           .grad_floats = t->plan->grad_elems, .flops = t->cnt_opt,
                           .step = t->steps + 1, .maxima = t->adam_maxima,
                           .always_check = !t->update_bound };
        bool checked = false;
        fz_status st = adamw_update_run(&u, x, &checked);
        t->checked_updates += checked;
        return st;
    }
    sgd_update u = { .m = t->m, .plan = t->plan, .opt = t->opt, .grad = t->grad,
                     .grad_arena = t->grad_arena, .grad_floats = t->plan->grad_elems,
                     .mom = t->mom, .undo_arena = t->undo_arena,
                     .undo_half = t->plan->grad_floats, .maxima = t->maxima,
                     .always_check = !t->update_bound, .proven = fused,
                     .fused = fused ? t->fused : NULL, .flops = t->cnt_opt,
                     .step = t->steps + 1 };
    bool checked = false;
    fz_status st = sgd_update_run(&u, x, &checked);
    t->checked_updates += checked;
    return st;
}

fz_status fz_train_step(fz_trainer *t, const float *x, const float *y, float *loss)
{
    if (!t || !x || !y)
        return set_error(FZ_EINVAL, "fz_train_step: %s is NULL",
                         !t ? "trainer" : !x ? "x" : "y");
    return trainer_step(t, &(fz_step_io){ .in = x }, &(step_target){ .y = y }, loss);
}

fz_status fz_train_step_labels(fz_trainer *t, const float *x, const int32_t *labels,
                               float *loss)
{
    if (!t || !x || !labels)
        return set_error(FZ_EINVAL, "fz_train_step_labels: %s is NULL",
                         !t ? "trainer" : !x ? "x" : "labels");
    return trainer_step(t, &(fz_step_io){ .in = x }, &(step_target){ .labels = labels },
                        loss);
}

/* Whether the step's target suits the trainer's loss and holds only what it may: finite
 * targets for MSE, labels in [0, out) for cross-entropy; the message says otherwise. */
static fz_status check_target(const fz_trainer *t, const step_target *target)
{
    size_t out_w = t->m->widths[t->m->n_layers], n_out = t->batch * out_w;
    uint64_t step = t->steps + 1;
    if (t->cfg.loss == FZ_LOSS_CROSS_ENTROPY) {
        if (!target->labels)
            return set_error(FZ_EINVAL, "fz_train_step: step %llu: a cross-entropy "
                             "trainer takes class labels (fz_train_step_labels), not "
                             "targets", (unsigned long long)step);
        for (size_t r = 0; r < t->batch; r++)
            if (target->labels[r] < 0 || (size_t)target->labels[r] >= out_w)
                return set_error(FZ_EINVAL, "fz_train_step: step %llu: label[%zu] is "
                                 "%ld, not a class in [0, %zu)", (unsigned long long)step,
                                 r, (long)target->labels[r], out_w);
        return FZ_OK;
    }
    if (!target->y)
        return set_error(FZ_EINVAL, "fz_train_step: step %llu: an MSE trainer takes "
                         "targets y (fz_train_step), not labels", (unsigned long long)step);
    size_t bad = first_nonfinite(target->y, n_out);
    if (bad < n_out)
        return set_error(FZ_ENONFINITE, "fz_train_step: step %llu: y[%zu][%zu] is %g; "
                         "not training on it", (unsigned long long)step,
                         bad / out_w, bad % out_w, (double)target->y[bad]);
    return FZ_OK;
}

/* The loss of the step's output, and its gradient into dy[0], for the trainer's loss;
 * mean_over_rows rows make up the batch the mean is over. */
static float loss_and_gradient(fz_trainer *t, const step_target *target, size_t mean_over_rows)
{
    size_t out_w = t->m->widths[t->m->n_layers], n_out = t->batch * out_w;
    if (t->cfg.loss == FZ_LOSS_CROSS_ENTROPY)
        return xent_forward_backward(t->out, target->labels, t->batch, out_w,
                                     mean_over_rows, t->dy[0], t->cnt_fwd, t->cnt_dgrad);
    float l = mse_forward(t->out, target->y, n_out, t->cnt_fwd);
    /* A non-finite loss stops the step before anything reads the gradient. */
    if (isfinite(l))
        mse_backward(t->dy[0], t->out, target->y, n_out, mean_over_rows * out_w,
                     t->cnt_dgrad);
    return l;
}

fz_status trainer_step(fz_trainer *t, const fz_step_io *io, const step_target *target,
                       float *loss)
{
    const float *x = io->in;
    /* The step's one execution context: the table and the team read once, the
     * listener's progress call carried to every GEMM. */
    fz_exec ex = exec_now(t->hooks.progress, t->hooks.ctx);
    /* Packs frozen weights at a plan's first step, and again after a write to one;
     * outside the timed phases, which would charge it to one step only. */
    fz_status st = ensure_plan(t, &ex, true);
    if (st != FZ_OK)
        return st;
    const fz_plan *plan = t->plan;
    if (!plan->any_trainable)
        return set_error(FZ_EINVAL, "fz_train_step: every parameter is frozen: nothing "
                         "to train");
    /* A cached input is the output of frozen layers the step does not run: it can only
     * start at or below the first layer with backward work. */
    if (io->start > plan->lowest)
        return set_error(FZ_EINVAL, "fz_train_step: starting at layer fc%zu, above the "
                         "lowest trainable layer fc%zu", io->start + 1, plan->lowest + 1);
    size_t n_in = t->batch * t->m->widths[0];
    /* A cached input was computed from a checked sample: only a sample is scanned. */
    size_t bad = io->start == 0 ? first_nonfinite(x, n_in) : n_in;
    if (bad < n_in)
        return set_error(FZ_ENONFINITE, "fz_train_step: step %llu: x[%zu][%zu] is %g; "
                         "not training on it", (unsigned long long)t->steps + 1,
                         bad / t->m->widths[0], bad % t->m->widths[0], (double)x[bad]);
    if ((st = check_target(t, target)) != FZ_OK)
        return st;

    counter_reset(t->cnt_fwd);
    counter_reset(t->cnt_dgrad);
    counter_reset(t->cnt_wgrad);
    counter_reset(t->cnt_opt);

    double t0 = clock_now();
    forward(t, &ex, io);
    size_t mean_over_rows = t->hooks.mean_over_rows ? t->hooks.mean_over_rows : t->batch;
    float l = loss_and_gradient(t, target, mean_over_rows);
    double t1 = clock_now();
    /* A diverged model: stop before the update, so the parameters stay those of the
     * last good step. */
    if (!isfinite(l))
        return set_error(FZ_ENONFINITE, "fz_train_step: step %llu: the loss is %g (the "
                         "model diverged; try a lower learning rate); parameters left "
                         "as after step %llu", (unsigned long long)t->steps + 1, (double)l,
                         (unsigned long long)t->steps);
    bool fused = fold_update(t, &ex, io);
    memset(t->fused, 0, t->m->n_tensors * sizeof *t->fused);
    backward(t, &ex, io, fused);
    double t2 = clock_now();
    /* Data-parallel: the gradients are summed across ranks before any update. */
    if (t->hooks.before_update && (st = t->hooks.before_update(t->hooks.ctx)) != FZ_OK)
        return st;
    st = optimizer_step(t, &ex, fused);
    double t3 = clock_now();
    if (st != FZ_OK)
        return st;
    /* Counted where a weight's update ran in the backward (a plan that trains only
     * biases has its proven update in the optimizer's pass alone). */
    uint64_t folded = 0;
    for (size_t i = 0; fused && i < t->m->n_tensors; i++)
        folded += t->fused[i] ? t->m->tensors[i].numel : 0;
    t->fused_steps += folded > 0;
    t->update = (fz_update_split){ .optimizer_floats = t->plan->grad_elems - folded,
                                   .folded_floats = folded };

    /* Only a completed step changes what the counting calls report, so the planned and
     * the executed FLOPs always describe the same step. */
    t->step_planned = t->planned;
    t->step_planned.fwd -= plan_forward_flops(t->m, t->batch, 0, io->start);
    t->exec = (fz_flops){ .fwd = (double)counter_total(t->cnt_fwd),
                          .bwd = (double)(counter_total(t->cnt_dgrad) +
                                          counter_total(t->cnt_wgrad)),
                          .opt = (double)counter_total(t->cnt_opt) };
    t->exec_split = (fz_bwd_split){ .dgrad = (double)counter_total(t->cnt_dgrad),
                                    .wgrad = (double)counter_total(t->cnt_wgrad) };
    t->times = (fz_times){ .fwd = t1 - t0, .bwd = t2 - t1, .opt = t3 - t2 };
    t->steps++;
    if (loss)
        *loss = l;
    return FZ_OK;
}

static fz_flops zero_flops(void) { return (fz_flops){0}; }

fz_flops fz_flops_planned(const fz_trainer *t)
{
    if (!t)
        return zero_flops();
    const fz_plan_flops *f = &t->step_planned;
    return (fz_flops){ .fwd = f->fwd,
                       .bwd = f->loss_bwd + f->dX + f->relu_bwd + f->dW + f->db,
                       .opt = f->opt };
}

fz_flops fz_flops_executed(const fz_trainer *t)
{
    return t ? t->exec : zero_flops();
}

fz_bwd_split fz_bwd_planned(const fz_trainer *t)
{
    if (!t)
        return (fz_bwd_split){0};
    const fz_plan_flops *f = &t->step_planned;
    return (fz_bwd_split){ .dgrad = f->loss_bwd + f->dX + f->relu_bwd,
                           .wgrad = f->dW + f->db };
}

fz_bwd_split fz_bwd_executed(const fz_trainer *t)
{
    return t ? t->exec_split : (fz_bwd_split){0};
}

fz_status fz_layer_plan_get(fz_trainer *t, size_t layer, fz_layer_plan *out)
{
    if (!t || !out)
        return set_error(FZ_EINVAL, "fz_layer_plan_get: %s is NULL",
                         !t ? "trainer" : "out");
    if (layer >= t->m->n_layers)
        return set_error(FZ_EINVAL, "fz_layer_plan_get: layer %zu out of range 0..%zu "
                         "(0-based: fc1 is 0)", layer, t->m->n_layers - 1);
    fz_status st = ensure_plan_now(t);
    if (st != FZ_OK)
        return st;
    const fz_plan_layer *p = &t->plan->layer[layer];
    *out = (fz_layer_plan){ .need_dW = p->need_dW, .need_db = p->need_db,
                            .need_dX = p->need_dX };
    return FZ_OK;
}

fz_memory fz_memory_used(fz_trainer *t)
{
    if (!t || ensure_plan_now(t) != FZ_OK)
        return (fz_memory){0};
    size_t mom = 0;
    for (size_t i = 0; i < t->m->n_tensors; i++)
        mom += (!!t->mom[i] + !!t->exp_avg[i] + !!t->exp_avg_sq[i]) *
               t->m->tensors[i].numel * sizeof(float);
    return (fz_memory){ .activations = t->plan->act_bytes,
                        .gradients = t->plan->grad_elems * sizeof(float),
                        .optimizer = mom, .packed = frozen_packs_bytes(&t->packs) };
}

fz_times fz_times_last(const fz_trainer *t)
{
    return t ? t->times : (fz_times){0};
}

fz_update_split fz_update_last(const fz_trainer *t)
{
    return t ? t->update : (fz_update_split){0};
}

uint64_t fz_trainer_steps(const fz_trainer *t) { return t ? t->steps : 0; }

void trainer_set_hooks(fz_trainer *t, const trainer_hooks *h)
{
    uint64_t old = t->hooks.bucket_bytes;
    t->hooks = h ? *h : (trainer_hooks){0};
    t->replan = t->replan || t->hooks.bucket_bytes != old;
}

fz_status trainer_plan_summary_get(fz_trainer *t, trainer_plan_summary *out)
{
    fz_status st = ensure_plan_now(t);
    *out = (trainer_plan_summary){ .fingerprint = t->plan->fingerprint,
                                   .grad_elems = t->plan->grad_elems };
    return st;
}

fz_model *trainer_step_model(const fz_trainer *t) { return t->m; }

size_t trainer_batch(const fz_trainer *t) { return t->batch; }

uint64_t trainer_checked_updates(const fz_trainer *t) { return t->checked_updates; }

uint64_t trainer_fused_updates(const fz_trainer *t) { return t->fused_steps; }

fz_status trainer_cache_level(fz_trainer *t, size_t *level)
{
    fz_status st = ensure_plan_now(t);
    if (st == FZ_OK)
        *level = t->plan->cache_level;
    return st;
}

void **trainer_attachment(fz_trainer *t, void (*free_fn)(void *))
{
    t->attached_free = free_fn;
    return &t->attached;
}
