/* Internal: the model's layout, shared by the files that read or change parameters. */
#ifndef FZ_MODEL_H
#define FZ_MODEL_H

#include "freezebench.h"

#define FZ_NAME_MAX 32
/* Longest state_dict name kept for a tensor or an extra array, with its NUL. */
#define FZ_EXT_NAME_MAX 128
#define FZ_EXTRA_MAX_DIM 8

typedef struct {
    char name[FZ_NAME_MAX];   /* the library's name: fc1.weight (fz_param_name) */
    /* The name in the user's state_dict when it is not `name` ("0.weight",
     * "encoder.lin.bias"); "" when it is.  Archives are written with it. */
    char ext[FZ_EXT_NAME_MAX];
    float *data;              /* points into fz_model.params */
    size_t rows, cols, numel; /* weight O×I; bias O×1 */
    size_t layer;             /* 0-based layer index: fc1 is 0 */
    bool is_bias;
    bool requires_grad;
    /* The model's clock when data was last written by someone (fz_param_data hands out
     * a writable pointer, fz_load_npz, the trainer's update): see model_current. */
    uint64_t changed_at;
} fz_tensor;

/* An array of a state_dict that is no Linear layer's parameter (a buffer), kept with
 * --ignore-unknown so that the archive written back still loads with strict=True. */
typedef struct {
    char *name;
    size_t ndim, shape[FZ_EXTRA_MAX_DIM], numel;
    float *data;
} fz_extra;

struct fz_model {
    size_t n_layers;
    size_t *widths;           /* n_layers + 1 entries: in, h1, ..., out */
    fz_tensor *tensors;       /* state_dict order: each layer's weight, then its bias
                               * if it has one */
    size_t *w_index, *b_index; /* per layer: where its tensors sit; b_index is
                               * FZ_NO_BIAS for a layer without a bias */
    size_t n_tensors;
    float *params;            /* every parameter, one allocation, state_dict order, each
                               * tensor starting on a 64-byte line (padding between) */
    size_t n_params;          /* parameters in params, padding not counted */
    /* Staleness, one mechanism for all that is derived from the model (a plan from its
     * flags, a packed copy of a frozen weight, the cached output of a frozen prefix):
     * every change advances `clock` and is stamped with it, here for the flags and in
     * each tensor for its data; a derived copy keeps the clock of when it was made. */
    uint64_t clock;
    uint64_t flags_changed_at;
    fz_extra *extras;         /* written back by fz_save_npz, never trained */
    size_t n_extras;
    char *arch_record;        /* the archive's architecture record (io/architecture.h), if
                               * it had one: written back by fz_save_npz, so a trained
                               * archive says what it computes as its input did */
};

#define FZ_NO_BIAS ((size_t)-1)

/* A view of one layer's parameters inside the model, for linear_forward and
 * linear_backward (linear.h). */
typedef struct {
    const float *W;       /* out×in, row-major: PyTorch's nn.Linear layout */
    const float *b;       /* out; NULL for a layer without a bias */
    size_t in, out;
    /* Where W and b sit in `tensors` (state_dict order), for the state kept per tensor:
     * requires_grad flags, gradients, momentum. */
    size_t W_index, b_index;   /* b_index FZ_NO_BIAS without a bias */
} fz_linear;

/* Layer l (0-based: fc1 is 0, l < n_layers).  The one place that knows how layers map
 * to tensors. */
fz_linear model_layer(const fz_model *m, size_t l);

/* Index of the tensor with this name (fc1.weight) or state_dict name (0.weight), or -1. */
long model_find(const fz_model *m, const char *name);

/* Tensor i's data may have changed: copies of it made before now are stale. */
static inline void model_touch(fz_model *m, size_t i)
{
    m->tensors[i].changed_at = ++m->clock;
}

/* A requires_grad flag changed: plans made before now are stale. */
static inline void model_flags_changed(fz_model *m) { m->flags_changed_at = ++m->clock; }

/* Whether something made at clock `made_at` is still current for a change stamped
 * `changed_at` (a tensor's changed_at, the model's flags_changed_at). */
static inline bool model_current(uint64_t made_at, uint64_t changed_at)
{
    return changed_at <= made_at;
}

/* The name a state_dict gives tensor t. */
static inline const char *tensor_state_name(const fz_tensor *t)
{
    return t->ext[0] ? t->ext : t->name;
}

/* Largest width of the model. */
size_t model_max_width(const fz_model *m);

#endif
