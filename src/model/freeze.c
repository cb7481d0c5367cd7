/*
 * Freeze specs: comma-separated items, each a glob over parameter names or a shorthand
 * (none, prefix:K, last, bitfit).  The whole spec is resolved before any flag changes,
 * so a bad item leaves the model exactly as it was.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "freeze.h"
#include "param_names.h"

/* Longest item quoted back in a message. */
#define ITEM_QUOTE 64

static bool is_glob_char(char c)
{
    return isalnum((unsigned char)c) || strchr("._*?[]!-^", c);
}

/* How much of s[0..len) a message quotes: at most ITEM_QUOTE bytes, never cutting a
 * UTF-8 sequence (the quote would end in a broken byte). */
static int quote_len(const char *s, size_t len)
{
    size_t q = len < ITEM_QUOTE ? len : ITEM_QUOTE;
    while (q > 0 && q < len && ((unsigned char)s[q] & 0xc0) == 0x80)
        q--;
    return (int)q;
}

/* Checks one item's syntax and, when `match` is set, adds what it names to `selected`. */
static fz_status select_item(const fz_model *m, const char *item, size_t len,
                             bool match, bool *selected)
{
    int q = quote_len(item, len);

    if (len == 0)
        return set_error(FZ_EINVAL, "freeze spec: empty item (two commas in a row, or a "
                         "leading or trailing comma)");
    if (len == 4 && !memcmp(item, "none", 4))
        return FZ_OK;
    if (len == 4 && !memcmp(item, "last", 4)) {
        for (size_t i = 0; i < m->n_tensors; i++)
            selected[i] |= m->tensors[i].layer + 1 < m->n_layers;
        return FZ_OK;
    }
    if (len == 6 && !memcmp(item, "bitfit", 6)) {
        for (size_t i = 0; i < m->n_tensors; i++)
            selected[i] |= !m->tensors[i].is_bias;
        return FZ_OK;
    }
    if (len > 7 && !memcmp(item, "prefix:", 7)) {
        size_t k = 0;
        for (size_t i = 7; i < len; i++) {
            if (!isdigit((unsigned char)item[i]) || k > m->n_layers)
                return set_error(FZ_EINVAL, "freeze spec: '%.*s': K must be a number "
                                 "from 0 to %zu (the layer count)", q, item, m->n_layers);
            k = 10 * k + (size_t)(item[i] - '0');
        }
        if (k > m->n_layers)
            return set_error(FZ_EINVAL, "freeze spec: '%.*s': K must be a number from 0 "
                             "to %zu (the layer count)", q, item, m->n_layers);
        for (size_t i = 0; i < m->n_tensors; i++)
            selected[i] |= m->tensors[i].layer < k;
        return FZ_OK;
    }
    for (size_t i = 0; i < len; i++) {
        if (is_glob_char(item[i]))
            continue;
        /* One byte of a UTF-8 character printed alone is not text: name it by value. */
        unsigned char c = (unsigned char)item[i];
        char bad[48];
        if (c >= 0x20 && c < 0x7f)
            snprintf(bad, sizeof bad, "bad character '%c'", c);
        else
            snprintf(bad, sizeof bad, "bad byte 0x%02x: names are ASCII", c);
        return set_error(FZ_EINVAL, "freeze spec: '%.*s' is neither a shorthand "
                         "(none, prefix:K, last, bitfit) nor a glob over parameter "
                         "names such as fc1.* (%s)", q, item, bad);
    }
    if (!match)
        return FZ_OK;

    char pattern[FZ_NAME_MAX * 4];
    if (len >= sizeof pattern)
        return set_error(FZ_ENOTFOUND, "freeze spec: '%.*s...' matches no parameter "
                         "(longer than any name)", q, item);
    memcpy(pattern, item, len);
    pattern[len] = '\0';
    bool any = false;
    for (size_t i = 0; i < m->n_tensors; i++) {
        /* The state_dict's names only (0.weight; fc2.weight for a model of fcK layers),
         * never the library's own beside them: in an archive whose layers are fc0, fc1,
         * fc2, 'fc1.*' must mean the archive's fc1 alone, as in PyTorch. */
        if (fnmatch(pattern, tensor_state_name(&m->tensors[i]), 0) == 0) {
            selected[i] = true;
            any = true;
        }
    }
    if (!any) {
        char names[200];
        describe_param_names(m, names, sizeof names);
        return set_error(FZ_ENOTFOUND, "freeze spec: '%s' matches no parameter (the "
                         "model has %s)", pattern, names);
    }
    return FZ_OK;
}

/* Rewrites the item's message to say where it is: the spec (an empty item has nothing
 * else to quote) and the item's position in it. */
static fz_status where_in_spec(fz_status st, const char *spec, size_t item)
{
    const char *why = fz_last_error();
    if (!strncmp(why, "freeze spec: ", 13))
        why += 13;
    char msg[400];
    snprintf(msg, sizeof msg, "%s", why);   /* set_error overwrites fz_last_error() */
    size_t len = strlen(spec);
    return set_error(st, "freeze spec '%.*s%s', item %zu: %s", quote_len(spec, len), spec,
                     len <= ITEM_QUOTE ? "" : "...", item, msg);
}

/* One pass over the comma-separated items; see select_item for `match`. */
static fz_status walk_items(const fz_model *m, const char *spec, bool match, bool *selected)
{
    const char *p = spec;
    for (size_t item = 1;; item++) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        /* Spaces around items are allowed ("fc1.*, fc2.bias"), not inside them. */
        const char *s = p, *e = p + len;
        while (s < e && isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        fz_status st = select_item(m, s, (size_t)(e - s), match, selected);
        if (st != FZ_OK)
            return where_in_spec(st, spec, item);
        if (!end)
            return FZ_OK;
        p = end + 1;
    }
}

fz_status spec_select(const fz_model *m, const char *spec, bool *selected)
{
    if (!m || !spec || !selected)
        return set_error(FZ_EINVAL, "freeze spec: %s is NULL",
                         !m ? "model" : !spec ? "spec" : "selection");
    if (!spec[strspn(spec, " \t\n")])
        return set_error(FZ_EINVAL, "freeze spec '%s' is empty (say 'none' to freeze "
                         "nothing)", spec);
    /* Parse the whole spec before matching any glob, so a malformed spec is FZ_EINVAL
     * (naming the malformed item) even when an earlier item also matches nothing. */
    memset(selected, 0, m->n_tensors * sizeof *selected);
    fz_status st = walk_items(m, spec, false, selected);
    memset(selected, 0, m->n_tensors * sizeof *selected);
    if (st != FZ_OK)
        return st;
    return walk_items(m, spec, true, selected);
}

static fz_status set_flags(fz_model *m, const char *spec, bool requires_grad,
                           const char *who)
{
    if (!m || !spec)
        return set_error(FZ_EINVAL, "%s: %s is NULL", who, !m ? "model" : "spec");
    bool *selected = malloc(m->n_tensors * sizeof *selected);
    if (!selected)
        return set_error(FZ_ENOMEM, "%s: out of memory", who);
    fz_status st = spec_select(m, spec, selected);
    if (st == FZ_OK) {
        bool changed = false;
        for (size_t i = 0; i < m->n_tensors; i++) {
            if (selected[i] && m->tensors[i].requires_grad != requires_grad) {
                m->tensors[i].requires_grad = requires_grad;
                changed = true;
            }
        }
        if (changed)
            model_flags_changed(m);
    } else {
        /* Prefix the message with the caller so it says where, keep what it said. */
        char msg[512];
        strncpy(msg, fz_last_error(), sizeof msg - 1);
        msg[sizeof msg - 1] = '\0';
        set_error(st, "%s: %s", who, msg);
    }
    free(selected);
    return st;
}

fz_status fz_freeze(fz_model *m, const char *spec)
{
    return set_flags(m, spec, false, "fz_freeze");
}

fz_status fz_unfreeze(fz_model *m, const char *spec)
{
    return set_flags(m, spec, true, "fz_unfreeze");
}
