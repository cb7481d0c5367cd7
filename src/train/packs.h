/*
 * Internal: the trainer's packed copies of its frozen weights.  A frozen weight stays the
 * same from step to step, so the panels its forward GEMM (op(B) = Wᵀ) and, where the plan
 * passes gradients through it, its dgrad GEMM (op(B) = W) would pack on every call are
 * packed once and reused.  Which layers get which pack is the plan's decision
 * (fz_plan_layer.pack_fwd, pack_dgrad); this unit makes, keeps and frees them.  A pack is
 * stamped with the model's clock when made and is current while its weight has not been
 * written since (model.h).  Results are bitwise those without packs.
 */
#ifndef FZ_TRAIN_PACKS_H
#define FZ_TRAIN_PACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "plan.h"

typedef struct {
    fz_sgemm_packed *fwd;     /* Wᵀ for the forward, or NULL */
    fz_sgemm_packed *dgrad;   /* W for dX = dY·W, or NULL */
    uint64_t made_at;         /* the model's clock when packed */
} layer_packs;

typedef struct {
    layer_packs *layer;       /* one per layer: the packs in use */
    layer_packs *next;        /* one per layer: room to prepare the next set aside */
    size_t n_layers;
    /* The packs in use are those the plan in use asks for, in its layout: set by
     * frozen_packs_commit, cleared by frozen_packs_drop (a new plan). */
    bool match_plan;
} frozen_packs;

/* Room for n_layers layers, nothing packed yet; FZ_ENOMEM on failure. */
fz_status frozen_packs_init(frozen_packs *fp, size_t n_layers);
void frozen_packs_free(frozen_packs *fp);

/* The packs `plan` asks for, prepared in fp->next: a pack of fp's that is still current
 * and fits is reused, anything else is packed anew.  FZ_ENOMEM, with fp as it was and
 * nothing new left allocated, when memory runs out: the caller fails as for any other
 * buffer, so a failed step changes nothing.  Then frozen_packs_commit adopts them. */
fz_status frozen_packs_prepare(frozen_packs *fp, const fz_model *m, const fz_plan *plan);
/* Adopts the prepared set and frees the packs of fp's that it does not reuse. */
void frozen_packs_commit(frozen_packs *fp);
/* Frees every pack: a plan made without a step (fz_memory_used) packs nothing until its
 * first step. */
void frozen_packs_drop(frozen_packs *fp);
/* Whether the packs in use are what the plan in use asks for and none of their weights
 * was written since they were made: a compare per layer. */
bool frozen_packs_current(const frozen_packs *fp, const fz_model *m);
/* Bytes the packs in use hold. */
size_t frozen_packs_bytes(const frozen_packs *fp);

#endif
