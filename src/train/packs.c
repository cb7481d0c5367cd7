/*
 * The trainer's packed frozen weights (packs.h).  Built lazily at the first step of a
 * plan rather than when it is made, so a trainer that re-plans several times before it
 * steps, or only answers fz_memory_used, packs nothing it does not use.  A new set is
 * prepared aside and adopted whole, as the plan's other buffers are, so running out of
 * memory leaves the trainer as it was.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "linear.h"
#include "packs.h"

fz_status frozen_packs_init(frozen_packs *fp, size_t n_layers)
{
    fp->n_layers = n_layers;
    fp->layer = calloc(n_layers, sizeof *fp->layer);
    fp->next = calloc(n_layers, sizeof *fp->next);
    return fp->layer && fp->next ? FZ_OK : FZ_ENOMEM;
}

void frozen_packs_drop(frozen_packs *fp)
{
    for (size_t l = 0; fp->layer && l < fp->n_layers; l++) {
        sgemm_packed_free(fp->layer[l].fwd);
        sgemm_packed_free(fp->layer[l].dgrad);
        fp->layer[l] = (layer_packs){0};
    }
    fp->match_plan = false;
}

void frozen_packs_free(frozen_packs *fp)
{
    frozen_packs_drop(fp);
    free(fp->layer);
    free(fp->next);
    fp->layer = fp->next = NULL;
}

/* Whether layer l's packs in use are exactly what `plan` asks for, current and in its
 * layout. */
static bool layer_reusable(const frozen_packs *fp, const fz_model *m, const fz_plan *plan,
                           size_t l)
{
    const fz_plan_layer *p = &plan->layer[l];
    const layer_packs *lp = &fp->layer[l];
    if (!p->pack_fwd && !p->pack_dgrad)
        return !lp->fwd && !lp->dgrad;
    fz_linear layer = model_layer(m, l);
    return !lp->fwd == !p->pack_fwd && !lp->dgrad == !p->pack_dgrad &&
           model_current(lp->made_at, m->tensors[layer.W_index].changed_at) &&
           linear_packs_fit(&plan->exec, &layer, plan->batch, lp->fwd, lp->dgrad);
}

bool frozen_packs_current(const frozen_packs *fp, const fz_model *m)
{
    if (!fp->match_plan)
        return false;
    for (size_t l = 0; l < fp->n_layers; l++) {
        const layer_packs *lp = &fp->layer[l];
        if ((lp->fwd || lp->dgrad) &&
            !model_current(lp->made_at, m->tensors[m->w_index[l]].changed_at))
            return false;
    }
    return true;
}

/* Frees the packs of `next` that are not fp's (those prepare made). */
static void abandon(frozen_packs *fp)
{
    for (size_t l = 0; l < fp->n_layers; l++) {
        if (fp->next[l].fwd != fp->layer[l].fwd)
            sgemm_packed_free(fp->next[l].fwd);
        if (fp->next[l].dgrad != fp->layer[l].dgrad)
            sgemm_packed_free(fp->next[l].dgrad);
        fp->next[l] = (layer_packs){0};
    }
}

fz_status frozen_packs_prepare(frozen_packs *fp, const fz_model *m, const fz_plan *plan)
{
    memset(fp->next, 0, fp->n_layers * sizeof *fp->next);
    for (size_t l = 0; l < fp->n_layers; l++) {
        const fz_plan_layer *p = &plan->layer[l];
        if (layer_reusable(fp, m, plan, l)) {
            fp->next[l] = fp->layer[l];
            continue;
        }
        if (!p->pack_fwd && !p->pack_dgrad)
            continue;
        fz_linear layer = model_layer(m, l);
        layer_packs *np = &fp->next[l];
        np->made_at = m->clock;
        np->fwd = p->pack_fwd ? linear_pack_forward(&plan->exec, &layer, plan->batch) : NULL;
        np->dgrad = p->pack_dgrad ? linear_pack_dgrad(&plan->exec, &layer, plan->batch) : NULL;
        if ((p->pack_fwd && !np->fwd) || (p->pack_dgrad && !np->dgrad)) {
            abandon(fp);
            return set_error(FZ_ENOMEM, "fz_train_step: out of memory for the packed "
                             "copy of frozen fc%zu.weight (%zu×%zu)", l + 1,
                             layer.out, layer.in);
        }
    }
    return FZ_OK;
}

void frozen_packs_commit(frozen_packs *fp)
{
    for (size_t l = 0; l < fp->n_layers; l++) {
        if (fp->layer[l].fwd != fp->next[l].fwd)
            sgemm_packed_free(fp->layer[l].fwd);
        if (fp->layer[l].dgrad != fp->next[l].dgrad)
            sgemm_packed_free(fp->layer[l].dgrad);
        fp->layer[l] = fp->next[l];
        fp->next[l] = (layer_packs){0};
    }
    fp->match_plan = true;
}

size_t frozen_packs_bytes(const frozen_packs *fp)
{
    size_t bytes = 0;
    for (size_t l = 0; fp->layer && l < fp->n_layers; l++)
        bytes += sgemm_packed_bytes(fp->layer[l].fwd) +
                 sgemm_packed_bytes(fp->layer[l].dgrad);
    return bytes;
}
