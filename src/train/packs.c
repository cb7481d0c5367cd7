/*
 * The trainer's packed frozen weights (packs.h).  Built lazily at the first step of a
 * plan rather than when it is made, so a trainer that re-plans several times before it
 * steps, or only answers fz_memory_used, packs nothing it does not use.  A new set is
 * prepared aside and adopted whole, as the plan's other buffers are, so running out of
 * memory leaves the trainer as it was.
 *
 * The small GEMM path (the seed network's 64×10×5) reads the first K block of a pack,
 * exactly the panels it would pack on its stack, so it uses packs too; its transposed
 * form (tall, narrow products such as the seed's 64×5 layer) packs X instead of W, so
 * no pack is made for it: it would cost memory and a check at every step for nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "linear.h"
#include "packs.h"
#include "team.h"

fz_status frozen_packs_init(frozen_packs *fp, size_t n_layers, size_t batch)
{
    fp->batch = batch;
    const char *env = getenv("FREEZEBENCH_PREPACK");
    fp->enabled = !(env && env[0] == '0' && env[1] == '\0');
    fp->n_layers = n_layers;
    fp->layer = calloc(n_layers, sizeof *fp->layer);
    fp->next = calloc(n_layers, sizeof *fp->next);
    return fp->layer && fp->next ? FZ_OK : FZ_ENOMEM;
}

void frozen_packs_drop(frozen_packs *fp)
{
    for (size_t l = 0; fp->layer && l < fp->n_layers; l++) {
        fz_sgemm_packed_free(fp->layer[l].fwd);
        fz_sgemm_packed_free(fp->layer[l].dgrad);
        fp->layer[l] = (layer_packs){0};
    }
    fp->checked.valid = false;
}

void frozen_packs_free(frozen_packs *fp)
{
    frozen_packs_drop(fp);
    free(fp->layer);
    free(fp->next);
    fp->layer = fp->next = NULL;
}

/* What layer l needs under `plan`: where its weight is frozen, a forward pack, and a
 * dgrad pack where the plan passes gradients through it, each only if its GEMM reads one
 * at the trainer's batch. */
static void wanted(const frozen_packs *fp, const fz_kernels *k, const fz_model *m,
                   const fz_plan *plan, size_t l, bool *fwd, bool *dgrad)
{
    *fwd = *dgrad = false;
    fz_linear layer = fz_model_layer(m, l);
    if (!fp->enabled || !k->microkernel || plan_need_grad(plan, &m->tensors[layer.W_index]))
        return;
    *fwd = linear_forward_reads_pack(k, &layer, fp->batch);
    *dgrad = plan->layer[l].need_dX && linear_dgrad_reads_pack(k, &layer, fp->batch);
}

/* Whether layer l's packs in use are exactly what it needs now. */
static bool layer_current(const frozen_packs *fp, const fz_kernels *k, const fz_model *m,
                          const fz_plan *plan, size_t l)
{
    bool want_fwd, want_dgrad;
    wanted(fp, k, m, plan, l, &want_fwd, &want_dgrad);
    const layer_packs *lp = &fp->layer[l];
    if (!want_fwd && !want_dgrad)
        return !lp->fwd && !lp->dgrad;
    fz_linear layer = fz_model_layer(m, l);
    return !lp->fwd == !want_fwd && !lp->dgrad == !want_dgrad &&
           lp->generation == m->tensors[layer.W_index].generation &&
           linear_pack_current(k, &layer, fp->batch, lp->fwd, lp->dgrad);
}

static bool same_caches(fz_cache_sizes a, fz_cache_sizes b)
{
    return a.l1d == b.l1d && a.l2 == b.l2 && a.l3 == b.l3;
}

static packs_stamp stamp_now(const fz_kernels *k, const fz_plan *plan)
{
    return (packs_stamp){ .kern = k->microkernel, .caches = fz_team_gemm_ctx().caches,
                          .flags_version = plan->flags_version, .valid = true };
}

bool frozen_packs_current(frozen_packs *fp, const fz_kernels *k, const fz_model *m,
                          const fz_plan *plan)
{
    if (fp->checked.valid && fp->checked.kern == k->microkernel &&
        fp->checked.flags_version == plan->flags_version &&
        same_caches(fp->checked.caches, fz_team_gemm_ctx().caches)) {
        for (size_t l = 0; l < fp->n_layers; l++) {
            const layer_packs *lp = &fp->layer[l];
            if ((lp->fwd || lp->dgrad) &&
                lp->generation != m->tensors[m->w_index[l]].generation)
                return false;
        }
        return true;
    }
    for (size_t l = 0; l < fp->n_layers; l++)
        if (!layer_current(fp, k, m, plan, l))
            return false;
    fp->checked = stamp_now(k, plan);
    return true;
}

/* Frees the packs of `next` that are not fp's (those prepare made). */
static void abandon(frozen_packs *fp)
{
    for (size_t l = 0; l < fp->n_layers; l++) {
        if (fp->next[l].fwd != fp->layer[l].fwd)
            fz_sgemm_packed_free(fp->next[l].fwd);
        if (fp->next[l].dgrad != fp->layer[l].dgrad)
            fz_sgemm_packed_free(fp->next[l].dgrad);
        fp->next[l] = (layer_packs){0};
    }
}

fz_status frozen_packs_prepare(frozen_packs *fp, const fz_kernels *k, const fz_model *m,
                               const fz_plan *plan)
{
    memset(fp->next, 0, fp->n_layers * sizeof *fp->next);
    for (size_t l = 0; l < fp->n_layers; l++) {
        if (layer_current(fp, k, m, plan, l)) {
            fp->next[l] = fp->layer[l];
            continue;
        }
        bool want_fwd, want_dgrad;
        wanted(fp, k, m, plan, l, &want_fwd, &want_dgrad);
        if (!want_fwd && !want_dgrad)
            continue;
        fz_linear layer = fz_model_layer(m, l);
        layer_packs *np = &fp->next[l];
        np->generation = m->tensors[layer.W_index].generation;
        np->fwd = want_fwd ? linear_pack_forward(k, &layer, fp->batch) : NULL;
        np->dgrad = want_dgrad ? linear_pack_dgrad(k, &layer, fp->batch) : NULL;
        if ((want_fwd && !np->fwd) || (want_dgrad && !np->dgrad)) {
            abandon(fp);
            return fz_set_error(FZ_ENOMEM, "fz_train_step: out of memory for the packed "
                                "copy of frozen fc%zu.weight (%zu×%zu)", l + 1,
                                layer.out, layer.in);
        }
    }
    fp->next_checked = stamp_now(k, plan);
    return FZ_OK;
}

void frozen_packs_commit(frozen_packs *fp)
{
    for (size_t l = 0; l < fp->n_layers; l++) {
        if (fp->layer[l].fwd != fp->next[l].fwd)
            fz_sgemm_packed_free(fp->layer[l].fwd);
        if (fp->layer[l].dgrad != fp->next[l].dgrad)
            fz_sgemm_packed_free(fp->layer[l].dgrad);
        fp->layer[l] = fp->next[l];
        fp->next[l] = (layer_packs){0};
    }
    fp->checked = fp->next_checked;
}

size_t frozen_packs_bytes(const frozen_packs *fp)
{
    size_t bytes = 0;
    for (size_t l = 0; fp->layer && l < fp->n_layers; l++)
        bytes += fz_sgemm_packed_bytes(fp->layer[l].fwd) +
                 fz_sgemm_packed_bytes(fp->layer[l].dgrad);
    return bytes;
}
