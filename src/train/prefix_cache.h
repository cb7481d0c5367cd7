/*
 * Internal: the frozen-prefix activation cache of fz_epoch_run (epoch.c), a unit of its
 * own that the epoch loop keeps with the trainer (trainer_attachment).
 *
 * The layers below the plan's cache level K (plan.h) are frozen, so the input of K for a
 * sample is a fixed function of the sample: it is stored per sample (indexed by the
 * sample, never by its position in an epoch, so any order works) as the steps compute it,
 * and a step whose samples are all stored starts at K (step.h).  The cache has two
 * slots: `top`, at the current level, and `low`, a cache at a lower level that is still
 * valid (the plan froze more layers since it was made) and serves as the starting point
 * while `top` fills, dropped at the end of that epoch.  A slot is stamped with the
 * model's clock when made and stays valid while no tensor below its level is written
 * after (model.h).
 */
#ifndef FZ_PREFIX_CACHE_H
#define FZ_PREFIX_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "freezebench.h"
#include "model.h"
#include "step.h"

typedef struct prefix_cache prefix_cache;

/* An empty cache with its batch buffers for batches of B rows of m; NULL, with the
 * message, when memory runs out. */
prefix_cache *prefix_cache_new(const fz_model *m, size_t B);
/* Frees c (NULL is fine); a void * for trainer_attachment. */
void prefix_cache_free(void *c);
/* Frees the stored rows, keeps the batch buffers. */
void prefix_cache_drop(prefix_cache *c);

/* Brings the slots in line with the level and the data set before an epoch: drops what
 * is no longer the output of frozen, unchanged layers on this x, and makes the slot at
 * `level` (0: none) if it fits in cap_bytes (0: no cap).  When it does not, sets
 * st->cache_fallback and st->note. */
void prefix_cache_sync(prefix_cache *c, const fz_model *m, const float *x, size_t n,
                       size_t level, size_t cap_bytes, fz_epoch_stats *st);

/* The input of a step on samples idx[0..B) (batch b of the epoch; `contiguous` when
 * idx is b·B, b·B+1, ...): from the top slot when it holds them all, else from the low
 * slot or the samples themselves, with the top level's input recorded when the top
 * slot lacks them.  Targets gathered into *by (NULL where y is NULL).  Sets
 * *from_cache. */
void prefix_cache_batch(prefix_cache *c, const fz_model *m, size_t B, const float *x,
                        const float *y, const size_t *idx, bool contiguous, size_t b,
                        fz_step_io *io, const float **by, bool *from_cache);
/* After that step succeeded: stores the rows it recorded. */
void prefix_cache_store(prefix_cache *c, const fz_model *m, size_t B, const fz_step_io *io,
                        const size_t *idx);
/* At the end of an epoch that completed: the top slot now starts every step the low one
 * did, so the low one goes.  Then what the cache holds, for the stats: the level (0:
 * none) and the bytes. */
void prefix_cache_settle(prefix_cache *c, bool epoch_completed, size_t *level,
                         size_t *bytes);

#endif
