/*
 * Internal: the trainer's packed copies of its frozen weights.  A weight the plan does
 * not train (plan_need_grad false) stays the same from step to step, so the panels the
 * GEMM would pack from it on every call — for the forward (op(B) = Wᵀ) and, where the
 * plan has need_dX, for dgrad (op(B) = W) — are packed once and reused.  Trainable
 * weights are packed by each GEMM as before.  Results are bitwise those without packs.
 */
#ifndef FZ_TRAIN_PACKS_H
#define FZ_TRAIN_PACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels.h"
#include "model.h"
#include "plan.h"

typedef struct {
    fz_sgemm_packed *fwd;     /* Wᵀ for the forward, or NULL */
    fz_sgemm_packed *dgrad;   /* W for dX = dY·W, or NULL */
    uint64_t generation;      /* W's generation when packed */
} layer_packs;

/* What a set of packs was found right for: the microkernel (not the table pointer: the
 * runtime's table is one object whose contents fz_kernels_override replaces), the team's
 * cache sizes (they decide KC and which GEMMs read a pack) and the plan.  While all three
 * hold, only the weights' generations can make a pack stale. */
typedef struct {
    const struct fz_sgemm_kernel *kern;
    fz_cache_sizes caches;
    uint64_t flags_version;
    bool valid;
} packs_stamp;

typedef struct {
    layer_packs *layer;       /* one per layer: the packs in use */
    layer_packs *next;        /* one per layer: room to prepare the next set aside */
    size_t n_layers;
    size_t batch;             /* the trainer's: which GEMMs read a pack depends on it */
    /* The packs in use were found right for `checked`: while it holds, the check at
     * every step reads only the weights' generations.  next_checked: the prepared set's. */
    packs_stamp checked, next_checked;
    /* FREEZEBENCH_PREPACK=0 at trainer creation turns packing off: the switch the tests
     * compare against, and a way to measure the gain. */
    bool enabled;
} frozen_packs;

/* Room for n_layers layers of a trainer of `batch` rows, nothing packed yet; FZ_ENOMEM
 * on failure. */
fz_status frozen_packs_init(frozen_packs *fp, size_t n_layers, size_t batch);
void frozen_packs_free(frozen_packs *fp);

/* The packs a step under `plan` with table k uses, prepared in fp->next: a current pack
 * of fp's is reused (same weight generation (fz_tensor.generation), kernel and
 * blocking), anything else frozen is packed anew.  FZ_ENOMEM, with fp as it was and
 * nothing new left allocated, when memory runs out: the caller fails as for any other
 * buffer, so a failed step changes nothing.  Then frozen_packs_commit adopts them. */
fz_status frozen_packs_prepare(frozen_packs *fp, const fz_kernels *k, const fz_model *m,
                               const fz_plan *plan);
/* Adopts the prepared set and frees the packs of fp's that it does not reuse. */
void frozen_packs_commit(frozen_packs *fp);
/* Frees every pack: a plan made without a step (fz_memory_used) packs nothing until its
 * first step, and the old plan's packs are no use to it. */
void frozen_packs_drop(frozen_packs *fp);
/* Whether every pack a step under `plan` needs is in place and current. */
bool frozen_packs_current(frozen_packs *fp, const fz_kernels *k, const fz_model *m,
                          const fz_plan *plan);
/* Bytes the packs in use hold. */
size_t frozen_packs_bytes(const frozen_packs *fp);

#endif
