/* Internal: the model's layout, shared by the files that read or change parameters. */
#ifndef FZ_MODEL_H
#define FZ_MODEL_H

#include "freezebench.h"

#define FZ_NAME_MAX 32

typedef struct {
    char name[FZ_NAME_MAX];   /* state_dict name: fc1.weight */
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

struct fz_model {
    size_t n_layers;
    size_t *widths;           /* n_layers + 1 entries: in, h1, ..., out */
    fz_tensor *tensors;       /* 2·n_layers, state_dict order */
    size_t n_tensors;
    float *params;            /* every parameter, one allocation, state_dict order, each
                               * tensor starting on a 64-byte line (padding between) */
    size_t n_params;          /* parameters in params, padding not counted */
    uint64_t flags_version;   /* bumped whenever a requires_grad flag changes */
};

/* A view of one layer's parameters inside the model, for linear_forward and
 * linear_backward (linear.h). */
typedef struct {
    const float *W;       /* out×in, row-major: PyTorch's nn.Linear layout */
    const float *b;       /* out */
    size_t in, out;
    /* Where W and b sit in `tensors` (state_dict order), for the state kept per tensor:
     * requires_grad flags, gradients, momentum. */
    size_t W_index, b_index;
} fz_linear;

/* Layer l (0-based: fc1 is 0, l < n_layers).  The one place that knows how layers map
 * to tensors. */
fz_linear fz_model_layer(const fz_model *m, size_t l);

/* Index of the named tensor, or -1. */
long fz_model_find(const fz_model *m, const char *name);

/* Tensor i's data may have changed (fz_tensor.generation). */
static inline void fz_model_touch(fz_model *m, size_t i) { m->tensors[i].generation++; }

/* Largest width of the model. */
size_t fz_model_max_width(const fz_model *m);

#endif
