/*
 * A model's parameters to and from .npz files keyed by state_dict names, so that a
 * PyTorch model's state_dict() moves in and out:
 *     np.savez(path, **{k: v.numpy() for k, v in model.state_dict().items()})
 * Loading checks every array against the model before the first parameter changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "finite.h"
#include "model.h"
#include "npz.h"

/* The shape a model tensor has in a state_dict: (O, I) for a weight, (O,) for a bias. */
static size_t expected_shape(const fz_tensor *t, size_t shape[2])
{
    shape[0] = t->rows;
    shape[1] = t->cols;
    return t->is_bias ? 1 : 2;
}

static void format_shape(char *dst, size_t cap, const size_t *shape, size_t ndim)
{
    size_t used = (size_t)snprintf(dst, cap, "(");
    for (size_t i = 0; i < ndim && used < cap; i++)
        used += (size_t)snprintf(dst + used, cap - used, i + 1 < ndim ? "%zu, " :
                                 ndim == 1 ? "%zu," : "%zu", shape[i]);
    if (used < cap)
        snprintf(dst + used, cap - used, ")");
}

/* Every array names a tensor of the model with its shape, and every tensor is there. */
static fz_status check_against(const fz_model *m, const fz_npz *z, const char *path)
{
    for (size_t i = 0; i < z->count; i++) {
        const fz_npz_array *a = &z->arrays[i];
        long t = fz_model_find(m, a->name);
        if (t < 0)
            return fz_set_error(FZ_ENOTFOUND, "%s: unknown tensor '%s': the model has "
                                "fc1..fc%zu .weight/.bias", path, a->name, m->n_layers);
        size_t want[2], ndim = expected_shape(&m->tensors[t], want);
        if (a->ndim != ndim || a->shape[0] != want[0] || (ndim == 2 && a->shape[1] != want[1])) {
            char got_s[128], want_s[64];
            format_shape(got_s, sizeof got_s, a->shape, a->ndim);
            format_shape(want_s, sizeof want_s, want, ndim);
            return fz_set_error(FZ_EFORMAT, "%s: tensor '%s' has shape %s, the model needs %s",
                                path, a->name, got_s, want_s);
        }
        /* A NaN would train silently (ReLU maps it to 0 where torch.relu keeps it) and be
         * written back: refused here, with the element named. */
        size_t bad = fz_first_nonfinite(a->data, a->numel);
        if (bad < a->numel) {
            char at[64];
            if (ndim == 2)
                snprintf(at, sizeof at, "[%zu, %zu]", bad / want[1], bad % want[1]);
            else
                snprintf(at, sizeof at, "[%zu]", bad);
            return fz_set_error(FZ_ENONFINITE, "%s: tensor '%s' holds %g at %s: parameters "
                                "must be finite", path, a->name, (double)a->data[bad], at);
        }
    }
    for (size_t t = 0; t < m->n_tensors; t++)
        if (!fz_npz_find(z, m->tensors[t].name))
            return fz_set_error(FZ_ENOTFOUND, "%s: missing tensor '%s'", path,
                                m->tensors[t].name);
    return FZ_OK;
}

static fz_status load_checked(fz_model *m, const fz_npz *z, const char *path)
{
    fz_status st = check_against(m, z, path);
    if (st != FZ_OK)
        return st;
    for (size_t t = 0; t < m->n_tensors; t++) {
        const fz_npz_array *a = fz_npz_find(z, m->tensors[t].name);
        memcpy(m->tensors[t].data, a->data, a->numel * sizeof(float));
        fz_model_touch(m, t);   /* a trainer's packed copy of it is stale now */
    }
    return FZ_OK;
}

fz_status fz_load_npz(fz_model *m, const char *path)
{
    if (!m || !path)
        return fz_set_error(FZ_EINVAL, "fz_load_npz: %s is NULL", !m ? "model" : "path");
    fz_npz z;
    fz_status st = fz_npz_read(path, &z);
    if (st == FZ_OK)
        st = load_checked(m, &z, path);
    fz_npz_free(&z);
    return st;
}

fz_status fz_save_npz(const fz_model *m, const char *path)
{
    if (!m || !path)
        return fz_set_error(FZ_EINVAL, "fz_save_npz: %s is NULL", !m ? "model" : "path");
    fz_npz_array *arrays = calloc(m->n_tensors, sizeof *arrays);
    if (!arrays)
        return fz_set_error(FZ_ENOMEM, "fz_save_npz: out of memory");
    for (size_t t = 0; t < m->n_tensors; t++) {
        const fz_tensor *tn = &m->tensors[t];
        arrays[t] = (fz_npz_array){ .name = (char *)tn->name, .numel = tn->numel,
                                    .data = tn->data };
        arrays[t].ndim = expected_shape(tn, arrays[t].shape);
    }
    fz_status st = fz_npz_write(path, arrays, m->n_tensors);
    free(arrays);
    return st;
}

/* widths = {in, h1, ..., out} from fc1.weight .. fcL.weight, each layer's input the
 * previous layer's output. */
static fz_status infer_widths(const fz_npz *z, const char *path, size_t **widths,
                              size_t *n_widths)
{
    size_t layers = 0;
    char name[FZ_NAME_MAX];
    for (;;) {
        snprintf(name, sizeof name, "fc%zu.weight", layers + 1);
        if (!fz_npz_find(z, name))
            break;
        layers++;
    }
    if (layers == 0)
        return fz_set_error(FZ_ENOTFOUND, "%s: no tensor 'fc1.weight': not an MLP "
                            "state_dict of fc1..fcL layers", path);
    size_t *w = malloc((layers + 1) * sizeof *w);
    if (!w)
        return fz_set_error(FZ_ENOMEM, "%s: out of memory", path);
    for (size_t l = 1; l <= layers; l++) {
        snprintf(name, sizeof name, "fc%zu.weight", l);
        const fz_npz_array *a = fz_npz_find(z, name);
        if (a->ndim != 2 || a->shape[0] == 0 || a->shape[1] == 0 ||
            (l > 1 && a->shape[1] != w[l - 1])) {
            fz_status st = a->ndim != 2 || !a->shape[0] || !a->shape[1]
                ? fz_set_error(FZ_EFORMAT, "%s: tensor '%s' is not a non-empty 2-D weight",
                               path, name)
                : fz_set_error(FZ_EFORMAT, "%s: tensor '%s' has %zu inputs but fc%zu has "
                               "%zu outputs", path, name, a->shape[1], l - 1, w[l - 1]);
            free(w);
            return st;
        }
        if (l == 1)
            w[0] = a->shape[1];
        w[l] = a->shape[0];
    }
    *widths = w;
    *n_widths = layers + 1;
    return FZ_OK;
}

fz_model *fz_mlp_from_npz(const char *path)
{
    if (!path) {
        fz_set_error(FZ_EINVAL, "fz_mlp_from_npz: path is NULL");
        return NULL;
    }
    fz_npz z;
    if (fz_npz_read(path, &z) != FZ_OK)
        return NULL;
    size_t *widths = NULL, n_widths = 0;
    fz_model *m = NULL;
    if (infer_widths(&z, path, &widths, &n_widths) == FZ_OK)
        m = fz_mlp_create(widths, n_widths, 0);
    if (m && load_checked(m, &z, path) != FZ_OK) {
        fz_model_free(m);
        m = NULL;
    }
    free(widths);
    fz_npz_free(&z);
    return m;
}
