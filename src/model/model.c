/*
 * The MLP's parameters: one allocation in state_dict order, each tensor starting on a
 * cache line (align.h), with a descriptor per tensor that carries its name, shape and
 * requires_grad flag.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align.h"
#include "error.h"
#include "model.h"
#include "param_names.h"
#include "rng.h"

fz_model *fz_mlp_create(const size_t *widths, size_t n_widths, uint64_t seed)
{
    return fz_mlp_create_biases(widths, n_widths, NULL, seed);
}

fz_model *fz_mlp_create_biases(const size_t *widths, size_t n_widths, const bool *has_bias,
                               uint64_t seed)
{
    if (!widths) {
        set_error(FZ_EINVAL, "fz_mlp_create: widths is NULL");
        return NULL;
    }
    if (n_widths < 2) {
        set_error(FZ_EINVAL, "fz_mlp_create: %zu widths given; an MLP needs at least 2 "
                  "(in, out)", n_widths);
        return NULL;
    }
    size_t total = 0, slots = 0;   /* parameters; floats with each tensor on a line */
    for (size_t i = 0; i < n_widths; i++) {
        if (widths[i] == 0) {
            set_error(FZ_EINVAL, "fz_mlp_create: widths[%zu] is 0", i);
            return NULL;
        }
    }
    for (size_t l = 0; l + 1 < n_widths; l++) {
        size_t w, wb;
        size_t bias = !has_bias || has_bias[l] ? widths[l + 1] : 0;
        if (!size_mul_ok(widths[l], widths[l + 1], &w) || !size_add_ok(w, bias, &wb) ||
            !size_add_ok(total, wb, &total) || !size_add_ok(slots, line_floats(w), &slots) ||
            !size_add_ok(slots, line_floats(bias), &slots) ||
            !size_mul_ok(slots, sizeof(float), &(size_t){0})) {
            set_error(FZ_ENOMEM, "fz_mlp_create: layer fc%zu (%zu -> %zu) makes the "
                      "parameter count overflow size_t", l + 1, widths[l], widths[l + 1]);
            return NULL;
        }
    }

    size_t n_layers = n_widths - 1;
    fz_model *m = calloc(1, sizeof *m);
    if (!m)
        goto nomem;
    m->n_layers = n_layers;
    m->n_tensors = n_layers;
    for (size_t l = 0; l < n_layers; l++)
        m->n_tensors += !has_bias || has_bias[l];
    m->n_params = total;
    m->widths = malloc(n_widths * sizeof *m->widths);
    m->tensors = calloc(m->n_tensors, sizeof *m->tensors);
    m->w_index = malloc(n_layers * sizeof *m->w_index);
    m->b_index = malloc(n_layers * sizeof *m->b_index);
    m->params = alloc_floats(slots ? slots : 1);
    if (!m->widths || !m->tensors || !m->w_index || !m->b_index || !m->params)
        goto nomem;
    memcpy(m->widths, widths, n_widths * sizeof *widths);
    memset(m->params, 0, slots * sizeof(float));   /* the padding too: saved nowhere */

    fz_rng rng;
    rng_seed(&rng, seed);
    float *p = m->params;
    size_t ti = 0;   /* state_dict order: fc1.weight, fc1.bias (if any), fc2.weight, ... */
    for (size_t l = 0; l < n_layers; l++) {
        size_t in = widths[l], out = widths[l + 1];
        float bound = 1.0f / sqrtf((float)in);
        m->w_index[l] = ti;
        fz_tensor *w = &m->tensors[ti++];
        *w = (fz_tensor){ .data = p, .rows = out, .cols = in, .numel = out * in,
                          .layer = l, .is_bias = false, .requires_grad = true };
        snprintf(w->name, sizeof w->name, "fc%zu.weight", l + 1);
        p += line_floats(w->numel);
        for (size_t i = 0; i < w->numel; i++)
            w->data[i] = rng_uniform(&rng, -bound, bound);
        m->b_index[l] = FZ_NO_BIAS;
        if (has_bias && !has_bias[l])
            continue;
        m->b_index[l] = ti;
        fz_tensor *b = &m->tensors[ti++];
        *b = (fz_tensor){ .data = p, .rows = out, .cols = 1, .numel = out,
                          .layer = l, .is_bias = true, .requires_grad = true };
        snprintf(b->name, sizeof b->name, "fc%zu.bias", l + 1);
        p += line_floats(b->numel);
        for (size_t i = 0; i < b->numel; i++)
            b->data[i] = rng_uniform(&rng, -bound, bound);
    }
    return m;

nomem:
    fz_model_free(m);
    set_error(FZ_ENOMEM, "fz_mlp_create: out of memory allocating %zu parameters", total);
    return NULL;
}

void fz_model_free(fz_model *m)
{
    if (!m)
        return;
    free(m->widths);
    free(m->tensors);
    free(m->w_index);
    free(m->b_index);
    free(m->params);
    for (size_t i = 0; i < m->n_extras; i++) {
        free(m->extras[i].name);
        free(m->extras[i].data);
    }
    free(m->extras);
    free(m->arch_record);
    free(m);
}

size_t fz_layer_count(const fz_model *m) { return m ? m->n_layers : 0; }

size_t fz_width(const fz_model *m, size_t i)
{
    return m && i <= m->n_layers ? m->widths[i] : 0;
}

fz_linear model_layer(const fz_model *m, size_t l)
{
    size_t iW = m->w_index[l], ib = m->b_index[l];
    return (fz_linear){ .W = m->tensors[iW].data,
                        .b = ib == FZ_NO_BIAS ? NULL : m->tensors[ib].data,
                        .in = m->widths[l], .out = m->widths[l + 1],
                        .W_index = iW, .b_index = ib };
}

size_t model_max_width(const fz_model *m)
{
    size_t w = 0;
    for (size_t i = 0; i <= m->n_layers; i++)
        w = m->widths[i] > w ? m->widths[i] : w;
    return w;
}

size_t fz_param_count(const fz_model *m) { return m ? m->n_tensors : 0; }

const char *fz_param_name(const fz_model *m, size_t i)
{
    return m && i < m->n_tensors ? m->tensors[i].name : NULL;
}

const char *fz_param_state_name(const fz_model *m, size_t i)
{
    return m && i < m->n_tensors ? tensor_state_name(&m->tensors[i]) : NULL;
}

long model_find(const fz_model *m, const char *name)
{
    if (!m || !name)
        return -1;
    /* The state_dict's name only, never the library's fcK name beside it: in an
     * archive of layers fc0, fc1, fc2, "fc1.weight" is the archive's fc1, not the
     * library's fc1.weight, which is the archive's fc0.weight (param_names.h). */
    for (size_t i = 0; i < m->n_tensors; i++)
        if (!strcmp(tensor_state_name(&m->tensors[i]), name))
            return (long)i;
    return -1;
}

static long find_or_complain(const fz_model *m, const char *name, const char *who)
{
    if (!m || !name) {
        set_error(FZ_EINVAL, "%s: %s is NULL", who, !m ? "model" : "name");
        return -1;
    }
    long i = model_find(m, name);
    if (i < 0) {
        char names[200];
        describe_param_names(m, names, sizeof names);
        set_error(FZ_ENOTFOUND, "%s: no parameter named '%s' (the model has %s)", who,
                  name, names);
    }
    return i;
}

float *fz_param_data(fz_model *m, const char *name, size_t *numel)
{
    long i = find_or_complain(m, name, "fz_param_data");
    if (i < 0)
        return NULL;
    if (numel)
        *numel = m->tensors[i].numel;
    /* The caller may write through the pointer: copies made of the tensor are stale. */
    model_touch(m, (size_t)i);
    return m->tensors[i].data;
}

fz_status fz_param_shape(const fz_model *m, const char *name, size_t *rows, size_t *cols)
{
    long i = find_or_complain(m, name, "fz_param_shape");
    if (i < 0)
        return m && name ? FZ_ENOTFOUND : FZ_EINVAL;
    if (rows)
        *rows = m->tensors[i].rows;
    if (cols)
        *cols = m->tensors[i].cols;
    return FZ_OK;
}

bool fz_requires_grad(const fz_model *m, const char *name)
{
    long i = find_or_complain(m, name, "fz_requires_grad");
    return i >= 0 && m->tensors[i].requires_grad;
}

size_t fz_trainable_elements(const fz_model *m)
{
    size_t n = 0;
    for (size_t i = 0; m && i < m->n_tensors; i++)
        n += m->tensors[i].requires_grad ? m->tensors[i].numel : 0;
    return n;
}

size_t fz_frozen_elements(const fz_model *m)
{
    return m ? m->n_params - fz_trainable_elements(m) : 0;
}
