/*
 * A model's parameters to and from .npz files keyed by state_dict names, so that a
 * PyTorch model's state_dict() moves in and out:
 *     np.savez(path, **{k: v.numpy() for k, v in model.state_dict().items()})
 * Loading checks every array against the model before the first parameter changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "architecture.h"
#include "error.h"
#include "finite.h"
#include "model.h"
#include "npz.h"
#include "param_names.h"

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

/* The model's extra array (a kept buffer) of this name, or NULL. */
static fz_extra *find_extra(const fz_model *m, const char *name)
{
    for (size_t i = 0; i < m->n_extras; i++)
        if (!strcmp(m->extras[i].name, name))
            return &m->extras[i];
    return NULL;
}

/* The tensor whose state_dict name is `name`, or -1.  Only that name: the library's own
 * fcK name of a tensor is never matched beside it (param_names.h), so an archive whose
 * layers are fc0, fc1, fc2 maps each array to its own tensor. */
static long find_tensor(const fz_model *m, const char *name)
{
    for (size_t i = 0; i < m->n_tensors; i++)
        if (!strcmp(tensor_state_name(&m->tensors[i]), name))
            return (long)i;
    return -1;
}

/* Tensor t's array, under its state_dict name. */
static const fz_npz_array *find_array(const fz_npz *z, const fz_tensor *t)
{
    return npz_find(z, tensor_state_name(t));
}

/* The buffers of a BatchNorm layer (and of InstanceNorm with running statistics). */
static const char *const NORM_BUFFERS[] = { "running_mean", "running_var",
                                            "num_batches_tracked" };

/* Refuses an archive with a BatchNorm layer, by its buffers' names, before any array is
 * decoded: its int64 num_batches_tracked would otherwise be refused as a dtype, and
 * --ignore-unknown would keep the layer as untouched arrays while the forward, which
 * runs Linear and ReLU only, skipped it: the model trained would not be the user's. */
static fz_status refuse_batchnorm(const char *path, const char *name, void *ctx)
{
    (void)ctx;
    const char *dot = strrchr(name, '.'), *last = dot ? dot + 1 : name;
    for (size_t i = 0; i < sizeof NORM_BUFFERS / sizeof NORM_BUFFERS[0]; i++)
        if (!strcmp(last, NORM_BUFFERS[i]))
            return set_error(FZ_EFORMAT, "%s: '%s' is a buffer of a BatchNorm layer"
                             "%s%.*s%s: freezebench trains Linear/ReLU MLPs and its "
                             "forward would skip the BatchNorm, so such a model is "
                             "refused by design (--ignore-unknown or not)", path, name,
                             dot ? " ('" : "", dot ? (int)(dot - name) : 0, name,
                             dot ? "')" : "");
    return FZ_OK;
}

/* Every array names a tensor of the model (or one of its kept extra arrays) with its
 * shape, and every tensor is there. */
static fz_status check_against(const fz_model *m, const fz_npz *z, const char *path)
{
    for (size_t i = 0; i < z->count; i++) {
        const fz_npz_array *a = &z->arrays[i];
        long t = find_tensor(m, a->name);
        fz_extra *x = t < 0 ? find_extra(m, a->name) : NULL;
        if (x) {
            if (a->ndim != x->ndim || memcmp(a->shape, x->shape, a->ndim * sizeof *a->shape))
                return set_error(FZ_EFORMAT, "%s: array '%s' has another shape than the "
                                 "model's", path, a->name);
            continue;
        }
        if (t < 0) {
            char names[200];
            describe_param_names(m, names, sizeof names);
            return set_error(FZ_ENOTFOUND, "%s: unknown tensor '%s': the model has %s",
                             path, a->name, names);
        }
        size_t want[2], ndim = expected_shape(&m->tensors[t], want);
        if (a->ndim != ndim || a->shape[0] != want[0] || (ndim == 2 && a->shape[1] != want[1])) {
            char got_s[128], want_s[64];
            format_shape(got_s, sizeof got_s, a->shape, a->ndim);
            format_shape(want_s, sizeof want_s, want, ndim);
            return set_error(FZ_EFORMAT, "%s: tensor '%s' has shape %s, the model needs %s",
                             path, a->name, got_s, want_s);
        }
        /* A NaN would train silently (ReLU maps it to 0 where torch.relu keeps it) and be
         * written back: refused here, with the element named. */
        size_t bad = first_nonfinite(a->data, a->numel);
        if (bad < a->numel) {
            char at[64];
            if (ndim == 2)
                snprintf(at, sizeof at, "[%zu, %zu]", bad / want[1], bad % want[1]);
            else
                snprintf(at, sizeof at, "[%zu]", bad);
            return set_error(FZ_ENONFINITE, "%s: tensor '%s' holds %g at %s: parameters "
                             "must be finite", path, a->name, (double)a->data[bad], at);
        }
    }
    for (size_t t = 0; t < m->n_tensors; t++)
        if (!find_array(z, &m->tensors[t]))
            return set_error(FZ_ENOTFOUND, "%s: missing tensor '%s'", path,
                             tensor_state_name(&m->tensors[t]));
    return FZ_OK;
}

static fz_status load_checked(fz_model *m, const fz_npz *z, const char *path)
{
    fz_status st = check_against(m, z, path);
    if (st != FZ_OK)
        return st;
    for (size_t t = 0; t < m->n_tensors; t++) {
        const fz_npz_array *a = find_array(z, &m->tensors[t]);
        memcpy(m->tensors[t].data, a->data, a->numel * sizeof(float));
        model_touch(m, t);   /* a trainer's packed copy of it is stale now */
    }
    for (size_t i = 0; i < m->n_extras; i++) {
        const fz_npz_array *a = npz_find(z, m->extras[i].name);
        if (a)
            memcpy(m->extras[i].data, a->data, a->numel * sizeof(float));
    }
    return FZ_OK;
}

fz_status fz_load_npz(fz_model *m, const char *path)
{
    if (!m || !path)
        return set_error(FZ_EINVAL, "fz_load_npz: %s is NULL", !m ? "model" : "path");
    fz_npz z;
    fz_status st = npz_read_filtered(path, refuse_batchnorm, NULL, ARCH_ARRAY, &z);
    if (st == FZ_OK)
        st = load_checked(m, &z, path);
    npz_free(&z);
    return st;
}

fz_status fz_save_npz(const fz_model *m, const char *path)
{
    if (!m || !path)
        return set_error(FZ_EINVAL, "fz_save_npz: %s is NULL", !m ? "model" : "path");
    size_t count = m->n_tensors + m->n_extras + (m->arch_record != NULL);
    fz_npz_array *arrays = calloc(count, sizeof *arrays);
    if (!arrays)
        return set_error(FZ_ENOMEM, "fz_save_npz: out of memory");
    /* The state_dict's own names, and its kept buffers: what load_state_dict(strict=True)
     * expects back; the architecture record only where the model's archive had one (the
     * exporter's users already load without it). */
    for (size_t t = 0; t < m->n_tensors; t++) {
        const fz_tensor *tn = &m->tensors[t];
        arrays[t] = (fz_npz_array){ .name = (char *)tensor_state_name(tn),
                                    .numel = tn->numel, .data = tn->data };
        arrays[t].ndim = expected_shape(tn, arrays[t].shape);
    }
    for (size_t i = 0; i < m->n_extras; i++) {
        const fz_extra *x = &m->extras[i];
        fz_npz_array *a = &arrays[m->n_tensors + i];
        *a = (fz_npz_array){ .name = x->name, .ndim = x->ndim, .numel = x->numel,
                             .data = x->data };
        memcpy(a->shape, x->shape, x->ndim * sizeof *x->shape);
    }
    if (m->arch_record) {
        size_t len = strlen(m->arch_record);
        arrays[count - 1] = (fz_npz_array){ .name = (char *)ARCH_ARRAY, .ndim = 1,
                                            .shape = { len }, .numel = len,
                                            .bytes = (const unsigned char *)m->arch_record };
    }
    fz_status st = npz_write(path, arrays, count);
    free(arrays);
    return st;
}

/* One Linear layer found in an archive: its weight and bias arrays (bias may be NULL). */
typedef struct {
    const fz_npz_array *w, *b;
} found_layer;

/* PREFIX.bias for the weight array `w` named PREFIX.weight, when the archive has it. */
static const fz_npz_array *bias_of(const fz_npz *z, const char *prefix, size_t plen)
{
    char name[FZ_EXT_NAME_MAX + 8];
    if (plen + 6 >= sizeof name)
        return NULL;
    snprintf(name, sizeof name, "%.*s.bias", (int)plen, prefix);
    return npz_find(z, name);
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && !strcmp(s + n - k, tail);
}

/* ---- --map ------------------------------------------------------------------------- */

/* Layer fcK of a map (K = its index + 1): the arrays PREFIX.weight and PREFIX.bias. */
typedef struct {
    const char *prefix;
    size_t len;
} map_item;

/* How much of a map a message quotes. */
#define MAP_QUOTE 80
#define MAP_Q(map) (int)(strlen(map) > MAP_QUOTE ? MAP_QUOTE : strlen(map)), (map), \
                   strlen(map) > MAP_QUOTE ? "..." : ""

/* Parses "fc1=P1,fc2=P2,...": fc1, fc2, ... in order, no empty item, no empty or
 * overlong prefix, and no prefix twice (the same arrays would be trained as two layers
 * and written back once, under one name).  *items is malloc'd, *n entries. */
static fz_status parse_map(const char *map, map_item **items, size_t *n)
{
    *items = NULL;
    *n = 0;
    if (!*map)
        return set_error(FZ_EINVAL, "--map is empty: name the layers fc1=PREFIX,"
                         "fc2=PREFIX,... (PREFIX.weight is the layer's weight)");
    size_t cap = 1;
    for (const char *c = map; *c; c++)
        cap += *c == ',';
    map_item *it = malloc(cap * sizeof *it);
    if (!it)
        return set_error(FZ_ENOMEM, "--map: out of memory");
    fz_status st = FZ_OK;
    for (const char *p = map; st == FZ_OK;) {
        const char *comma = strchr(p, ','), *end = comma ? comma : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        char want[32];
        size_t k = *n + 1, wl = (size_t)snprintf(want, sizeof want, "fc%zu=", k);
        size_t len = eq ? (size_t)(end - eq - 1) : 0;
        if (end == p)
            st = set_error(FZ_EINVAL, "--map '%.*s%s': item %zu is empty (a trailing "
                           "comma, or two commas in a row)", MAP_Q(map), k);
        else if (!eq || (size_t)(eq - p) + 1 != wl || strncmp(p, want, wl))
            st = set_error(FZ_EINVAL, "--map '%.*s%s': item %zu should be fc%zu=PREFIX "
                           "(layers in order from fc1)", MAP_Q(map), k, k);
        else if (len == 0)
            st = set_error(FZ_EINVAL, "--map '%.*s%s': item %zu, fc%zu=, names no "
                           "prefix", MAP_Q(map), k, k);
        else if (len > FZ_EXT_NAME_MAX - 8)
            st = set_error(FZ_EINVAL, "--map: fc%zu's prefix is longer than %d bytes",
                           k, FZ_EXT_NAME_MAX - 8);
        for (size_t j = 0; st == FZ_OK && j < *n; j++)
            if (it[j].len == len && !memcmp(it[j].prefix, eq + 1, len))
                st = set_error(FZ_EINVAL, "--map '%.*s%s': fc%zu and fc%zu both name "
                               "'%.*s': each layer must be a different archive prefix "
                               "(one array cannot be two layers)", MAP_Q(map), j + 1, k,
                               (int)len, eq + 1);
        if (st != FZ_OK)
            break;
        it[(*n)++] = (map_item){ eq + 1, len };
        if (!comma)
            break;
        p = comma + 1;
    }
    if (st != FZ_OK) {
        free(it);
        *n = 0;
        return st;
    }
    *items = it;
    return FZ_OK;
}

fz_status fz_npz_map_check(const char *map)
{
    if (!map)
        return set_error(FZ_EINVAL, "fz_npz_map_check: map is NULL");
    map_item *items;
    size_t n;
    fz_status st = parse_map(map, &items, &n);
    free(items);
    return st;
}

/* ---- which arrays are the layers --------------------------------------------------- */

/* "fcK.weight", K a decimal number: the library's own naming. */
static bool is_numbered_weight(const char *name)
{
    if (strncmp(name, "fc", 2))
        return false;
    size_t digits = strspn(name + 2, "0123456789");
    return digits > 0 && !strcmp(name + 2 + digits, ".weight");
}

/* L when the archive's fcK weights are exactly fc1.weight .. fcL.weight, else 0.  Only
 * then are they the layers in the order of their numbers: an archive with fc0, or with
 * fc2 and fc3 but no fc1, or a gap, is some other module's naming, taken in archive order
 * like any other (and never mixed up with the library's fcK names, param_names.h). */
static size_t own_numbering(const fz_npz *z)
{
    size_t numbered = 0, run = 0;
    char name[32];
    for (size_t i = 0; i < z->count; i++)
        numbered += is_numbered_weight(z->arrays[i].name);
    for (;;) {
        snprintf(name, sizeof name, "fc%zu.weight", run + 1);
        if (!npz_find(z, name))
            break;
        run++;
    }
    return run > 0 && run == numbered ? run : 0;
}

/* The layers by rule (freezebench.h, fz_mlp_from_state_dict): the map, fc1..fcL, or
 * every 2-D ".weight" in archive order.  `out` has room for z->count layers. */
static fz_status find_layers(const fz_npz *z, const char *path, const char *map,
                             found_layer *out, size_t *n)
{
    *n = 0;
    char name[FZ_EXT_NAME_MAX + 16];
    if (map) {
        map_item *items;
        size_t count;
        fz_status st = parse_map(map, &items, &count);
        /* Each found weight is a different array (the prefixes differ), so at most
         * z->count of them fill `out`. */
        for (size_t k = 0; st == FZ_OK && k < count; k++) {
            snprintf(name, sizeof name, "%.*s.weight", (int)items[k].len, items[k].prefix);
            const fz_npz_array *w = npz_find(z, name);
            if (!w)
                st = set_error(FZ_ENOTFOUND, "%s: --map fc%zu=%.*s: no array '%s'", path,
                               k + 1, (int)items[k].len, items[k].prefix, name);
            else
                out[(*n)++] = (found_layer){ w, bias_of(z, items[k].prefix, items[k].len) };
        }
        free(items);
        return st;
    }
    size_t own = own_numbering(z);
    for (size_t l = 1; l <= own; l++) {
        snprintf(name, sizeof name, "fc%zu.weight", l);
        out[(*n)++] = (found_layer){ npz_find(z, name),
                                     bias_of(z, name, strlen(name) - 7) };
    }
    if (own)
        return FZ_OK;
    for (size_t i = 0; i < z->count; i++) {
        const fz_npz_array *a = &z->arrays[i];
        if (a->ndim == 2 && ends_with(a->name, ".weight"))
            out[(*n)++] = (found_layer){ a, bias_of(z, a->name, strlen(a->name) - 7) };
    }
    if (*n == 0)
        return set_error(FZ_ENOTFOUND, "%s: no 2-D array named *.weight: not an MLP "
                         "state_dict (fc1.weight, 0.weight, ...)", path);
    return FZ_OK;
}

/* Checks the layers chain and the biases fit; fills widths and has_bias. */
static fz_status check_layers(const found_layer *f, size_t n, const char *path,
                              size_t *widths, bool *has_bias)
{
    for (size_t l = 0; l < n; l++) {
        const fz_npz_array *w = f[l].w;
        if (w->ndim != 2 || w->shape[0] == 0 || w->shape[1] == 0)
            return set_error(FZ_EFORMAT, "%s: tensor '%s' is not a non-empty 2-D weight",
                             path, w->name);
        if (strlen(w->name) >= FZ_EXT_NAME_MAX)
            return set_error(FZ_EFORMAT, "%s: tensor name '%.40s...' is longer than %d "
                             "bytes", path, w->name, FZ_EXT_NAME_MAX - 1);
        if (l > 0 && w->shape[1] != widths[l])
            return set_error(FZ_EFORMAT, "%s: tensor '%s' has %zu inputs but the layer "
                             "before it ('%s') has %zu outputs (layers are taken in archive "
                             "order; --map names them)", path, w->name, w->shape[1],
                             f[l - 1].w->name, widths[l]);
        if (l == 0)
            widths[0] = w->shape[1];
        widths[l + 1] = w->shape[0];
        has_bias[l] = f[l].b != NULL;
    }
    /* The biases after the whole chain: a layer that does not chain is the better
     * message when a weight's shape is off. */
    for (size_t l = 0; l < n; l++) {
        const fz_npz_array *w = f[l].w, *b = f[l].b;
        if (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))
            return set_error(FZ_EFORMAT, "%s: tensor '%s' is not a bias of %zu entries for "
                             "'%s'", path, b->name, w->shape[0], w->name);
    }
    return FZ_OK;
}

/* Keeps every array that is no layer's parameter as an extra (or refuses it). */
static fz_status take_extras(fz_model *m, const fz_npz *z, const char *path,
                             const found_layer *f, size_t n, bool keep)
{
    size_t count = 0;
    char names[256] = "";
    for (size_t i = 0; i < z->count; i++) {
        const fz_npz_array *a = &z->arrays[i];
        bool used = false;
        for (size_t l = 0; l < n && !used; l++)
            used = a == f[l].w || a == f[l].b;
        if (used)
            continue;
        /* A parameter of a module the forward does not run (a LayerNorm's weight): kept
         * aside, the network would train without that module. */
        if (ends_with(a->name, ".weight") || ends_with(a->name, ".bias"))
            return set_error(FZ_EFORMAT, "%s: '%s' is a parameter of a module that is no "
                             "Linear layer (%zu-D): freezebench's forward runs Linear layers "
                             "and ReLU only, so it would train your network without that "
                             "module; refused, --ignore-unknown or not (it keeps buffers, "
                             "never parameters)", path, a->name, a->ndim);
        size_t len = strlen(names);
        if (len + 8 < sizeof names)
            snprintf(names + len, sizeof names - len, "%s'%s'", count ? ", " : "", a->name);
        count++;
        if (!keep)
            continue;
        fz_extra *grown = realloc(m->extras, (m->n_extras + 1) * sizeof *grown);
        if (!grown)
            return set_error(FZ_ENOMEM, "%s: out of memory", path);
        m->extras = grown;
        fz_extra *x = &m->extras[m->n_extras];
        *x = (fz_extra){ .name = strdup(a->name), .ndim = a->ndim, .numel = a->numel,
                         .data = malloc((a->numel ? a->numel : 1) * sizeof(float)) };
        if (!x->name || !x->data) {
            free(x->name);
            free(x->data);
            return set_error(FZ_ENOMEM, "%s: out of memory", path);
        }
        m->n_extras++;
        memcpy(x->shape, a->shape, a->ndim * sizeof *a->shape);
        memcpy(x->data, a->data, a->numel * sizeof(float));
    }
    if (count && !keep)
        return set_error(FZ_ENOTFOUND, "%s: %zu array%s no Linear layer's weight or bias: "
                         "%s (--ignore-unknown keeps them unchanged and writes them back)",
                         path, count, count == 1 ? " is" : "s are", names);
    if (count)
        log_note("%s: not trained, written back unchanged: %s", path, names);
    return FZ_OK;
}

/* The archive's architecture record (architecture.h) and the caller's, each checked
 * against the layers found; a note where neither says what runs between them. */
static fz_status check_architecture(const fz_npz *z, const char *path, const found_layer *f,
                                    size_t n, const char *stated, char **kept_record)
{
    int32_t *codes = NULL;
    size_t count = 0;
    fz_status st = npz_skipped_labels(z, path, ARCH_ARRAY, &codes, &count);
    if (st == FZ_ENOTFOUND) {
        st = FZ_OK;
    } else if (st != FZ_OK) {
        return st;
    }
    char *record = codes ? malloc(count + 1) : NULL;
    const char **prefixes = malloc((n ? n : 1) * sizeof *prefixes);
    char (*names)[FZ_EXT_NAME_MAX] = malloc((n ? n : 1) * sizeof *names);
    if ((codes && !record) || !prefixes || !names) {
        st = set_error(FZ_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (size_t i = 0; record && i < count; i++) {
        if (codes[i] < 0x20 || codes[i] > 0x7e) {
            st = set_error(FZ_EFORMAT, "%s: array '%s' byte %zu is %ld, not printable "
                           "ASCII (the record is text)", path, ARCH_ARRAY, i, (long)codes[i]);
            goto done;
        }
        record[i] = (char)codes[i];
    }
    if (record)
        record[count] = '\0';
    for (size_t l = 0; l < n; l++) {   /* "0.weight" -> "0" */
        snprintf(names[l], sizeof names[l], "%.*s", (int)(strlen(f[l].w->name) - 7),
                 f[l].w->name);
        prefixes[l] = names[l];
    }
    if (record)
        st = architecture_check(record, prefixes, n, path, "the archive's record "
                                "(" ARCH_ARRAY ")");
    if (st == FZ_OK && stated)
        st = architecture_check(stated, prefixes, n, path, "--architecture");
    if (st == FZ_OK && !record && !stated && n > 1)
        log_note("%s: the archive does not record what runs between its Linear layers: "
                 "trained with ReLU between them (scripts/export_mlp.py records it; "
                 "--architecture states it)", path);
    if (st == FZ_OK) {   /* the record checked: the model keeps it (fz_save_npz) */
        *kept_record = record;
        record = NULL;
    }
done:
    free(codes);
    free(record);
    free(prefixes);
    free(names);
    return st;
}

fz_model *fz_mlp_from_state_dict(const char *path, const fz_npz_import *opts)
{
    if (!path) {
        set_error(FZ_EINVAL, "fz_mlp_from_state_dict: path is NULL");
        return NULL;
    }
    /* A malformed map is the caller's mistake whatever the file holds: said first. */
    if (opts && opts->map && fz_npz_map_check(opts->map) != FZ_OK)
        return NULL;
    fz_npz z;
    /* The architecture record is text (uint8), which the float reader refuses: left out
     * of it, and decoded by check_architecture from this same read of the file. */
    if (npz_read_filtered(path, refuse_batchnorm, NULL, ARCH_ARRAY, &z) != FZ_OK)
        return NULL;
    fz_model *m = NULL;
    char *record = NULL;   /* the archive's architecture record, once checked */
    found_layer *f = calloc(z.count ? z.count : 1, sizeof *f);
    size_t *widths = malloc((z.count + 1) * sizeof *widths), n = 0;
    bool *has_bias = malloc((z.count ? z.count : 1) * sizeof *has_bias);
    if (!f || !widths || !has_bias) {
        set_error(FZ_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    if (find_layers(&z, path, opts ? opts->map : NULL, f, &n) != FZ_OK ||
        check_layers(f, n, path, widths, has_bias) != FZ_OK ||
        check_architecture(&z, path, f, n, opts ? opts->architecture : NULL,
                           &record) != FZ_OK)
        goto done;
    m = fz_mlp_create_biases(widths, n + 1, has_bias, 0);
    if (!m)
        goto done;
    m->arch_record = record;
    record = NULL;
    /* The archive's names, where they differ from the library's fcL names. */
    for (size_t l = 0; l < n; l++) {
        fz_linear layer = model_layer(m, l);
        fz_tensor *tw = &m->tensors[layer.W_index];
        if (strcmp(f[l].w->name, tw->name))
            snprintf(tw->ext, sizeof tw->ext, "%s", f[l].w->name);
        if (f[l].b && strcmp(f[l].b->name, m->tensors[layer.b_index].name))
            snprintf(m->tensors[layer.b_index].ext, sizeof tw->ext, "%s", f[l].b->name);
    }
    if (take_extras(m, &z, path, f, n, opts && opts->ignore_unknown) != FZ_OK ||
        load_checked(m, &z, path) != FZ_OK) {
        fz_model_free(m);
        m = NULL;
    }
done:
    free(f);
    free(widths);
    free(has_bias);
    free(record);
    npz_free(&z);
    return m;
}

fz_model *fz_mlp_from_npz(const char *path)
{
    if (!path) {
        set_error(FZ_EINVAL, "fz_mlp_from_npz: path is NULL");
        return NULL;
    }
    return fz_mlp_from_state_dict(path, NULL);
}
