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
    /* Bumped by every writer of data that the trainer does not drive itself
     * (fz_param_data hands out a writable pointer, fz_load_npz, and the trainer's own
     * update): a copy of the tensor, such as a frozen weight's packed panels, made at
     * generation g is current while generation is still g.  Per tensor, so reading one
     * tensor does not stale the copies of the others. */
    uint64_t generation;
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
    uint64_t flags_version;   /* bumped whenever a requires_grad flag changes */
    fz_extra *extras;         /* written back by fz_save_npz, never trained */
    size_t n_extras;
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
fz_linear fz_model_layer(const fz_model *m, size_t l);

/* Index of the tensor with this name (fc1.weight) or state_dict name (0.weight), or -1. */
long fz_model_find(const fz_model *m, const char *name);

/* Tensor i's data may have changed (fz_tensor.generation). */
static inline void fz_model_touch(fz_model *m, size_t i) { m->tensors[i].generation++; }

/* The name a state_dict gives tensor t. */
static inline const char *fz_tensor_state_name(const fz_tensor *t)
{
    return t->ext[0] ? t->ext : t->name;
}

/* Largest width of the model. */
size_t fz_model_max_width(const fz_model *m);

#endif
