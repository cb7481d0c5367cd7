/*
 * Freeze schedules: "E:SPEC,E:SPEC,...", the freeze state from epoch E on.  Each entry
 * sets the flags whole (SPEC frozen, everything else trainable), so a schedule reads as
 * the state of each phase and does not depend on the flags it finds.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "freeze.h"
#include "freeze_syntax.h"
#include "model.h"

typedef struct {
    unsigned long epoch;
    char *spec;
} entry;

struct fz_freeze_schedule {
    entry *e;
    size_t n;
};

void fz_freeze_schedule_free(fz_freeze_schedule *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->e[i].spec);
    free(s->e);
    free(s);
}

/* Length of a leading "digits:" at p, 0 if there is none. */
static size_t epoch_prefix(const char *p)
{
    size_t i = 0;
    while (isdigit((unsigned char)p[i]))
        i++;
    return i > 0 && p[i] == ':' ? i + 1 : 0;
}

fz_freeze_schedule *fz_freeze_schedule_parse(const char *text)
{
    if (!text || !*text) {
        set_error(FZ_EINVAL, "freeze schedule: empty (expected E:SPEC,E:SPEC,...)");
        return NULL;
    }
    /* Empty items first: the split below would read the comma before one as the end of
     * the spec before it, and call "0:prefix:1,,1:none" a trailing comma. */
    const char *empty = strstr(text, ",,");
    if (empty) {
        const char *from = empty - text > 40 ? empty - 40 : text;
        set_error(FZ_EINVAL, "freeze schedule '%s': an empty entry (two commas in a row) "
                  "after '%s%.*s'", text, from > text ? "..." : "", (int)(empty - from),
                  from);
        return NULL;
    }
    if (text[strlen(text) - 1] == ',') {
        set_error(FZ_EINVAL, "freeze schedule '%s': trailing comma", text);
        return NULL;
    }
    fz_freeze_schedule *s = calloc(1, sizeof *s);
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    if (!s || !(s->e = calloc(cap, sizeof *s->e)))
        goto nomem;
    /* Items are split at commas; an item with a "digits:" head starts an entry and any
     * other item belongs to the spec before it, since specs hold commas themselves. */
    const char *p = text;
    while (*p) {
        size_t head = epoch_prefix(p);
        if (!head) {
            set_error(FZ_EINVAL, "freeze schedule '%s': '%.40s' should start with an "
                      "epoch number and ':' (E:SPEC)", text, p);
            goto fail;
        }
        errno = 0;
        unsigned long e = strtoul(p, NULL, 10);
        if (errno || (s->n > 0 && e <= s->e[s->n - 1].epoch)) {
            set_error(FZ_EINVAL, "freeze schedule '%s': epoch %.*s %s", text,
                      (int)head - 1, p, errno ? "is out of range"
                      : "does not come after the entry before it");
            goto fail;
        }
        const char *spec = p + head, *end = spec;
        for (;;) {   /* the spec runs to the next item that starts an entry */
            const char *comma = strchr(end, ',');
            if (!comma) {
                end += strlen(end);
                break;
            }
            if (epoch_prefix(comma + 1)) {
                end = comma;
                break;
            }
            end = comma + 1;
        }
        if (end == spec) {
            set_error(FZ_EINVAL, "freeze schedule '%s': epoch %lu has an empty spec "
                      "(use 'none' to unfreeze everything)", text, e);
            goto fail;
        }
        char *copy = malloc((size_t)(end - spec) + 1);
        if (!copy)
            goto nomem;
        memcpy(copy, spec, (size_t)(end - spec));
        copy[end - spec] = '\0';
        s->e[s->n++] = (entry){ .epoch = e, .spec = copy };
        /* Each spec's syntax now, before any model is read (freeze_syntax.h). */
        if (freeze_spec_syntax(copy) != FZ_OK) {
            char why[400];
            snprintf(why, sizeof why, "%s", fz_last_error());   /* not its own argument */
            set_error(FZ_EINVAL, "freeze schedule '%s': entry %lu: %s", text, e, why);
            goto fail;
        }
        p = *end ? end + 1 : end;
    }
    return s;

nomem:
    set_error(FZ_ENOMEM, "freeze schedule: out of memory");
fail:
    fz_freeze_schedule_free(s);
    return NULL;
}

/* Sets the flags to exactly "spec frozen, the rest trainable", or leaves them. */
static fz_status set_exactly(fz_model *m, const char *spec, bool apply, unsigned long epoch)
{
    bool *frozen = malloc(m->n_tensors * sizeof *frozen);
    if (!frozen)
        return set_error(FZ_ENOMEM, "freeze schedule: out of memory");
    fz_status st = spec_select(m, spec, frozen);
    if (st != FZ_OK) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", fz_last_error());
        free(frozen);
        return set_error(st, "freeze schedule, entry %lu:%.64s: %s", epoch, spec, msg);
    }
    /* Nothing trainable is an error of the step (PyTorch's backward refuses it too):
     * found here, before training, not when its epoch arrives. */
    bool all = m->n_tensors > 0;
    for (size_t i = 0; i < m->n_tensors; i++)
        all &= frozen[i];
    if (all) {
        free(frozen);
        return set_error(FZ_EINVAL, "freeze schedule, entry %lu:%.64s: freezes every "
                         "parameter, so nothing would train from epoch %lu on", epoch,
                         spec, epoch);
    }
    bool changed = false;
    for (size_t i = 0; apply && i < m->n_tensors; i++) {
        if (m->tensors[i].requires_grad == frozen[i]) {
            m->tensors[i].requires_grad = !frozen[i];
            changed = true;
        }
    }
    if (changed)
        model_flags_changed(m);
    free(frozen);
    return FZ_OK;
}

fz_status fz_freeze_schedule_check(const fz_freeze_schedule *s, fz_model *m)
{
    if (!s || !m)
        return set_error(FZ_EINVAL, "fz_freeze_schedule_check: %s is NULL", !s ? "schedule" : "model");
    for (size_t i = 0; i < s->n; i++) {
        fz_status st = set_exactly(m, s->e[i].spec, false, s->e[i].epoch);
        if (st != FZ_OK)
            return st;
    }
    return FZ_OK;
}

fz_status fz_freeze_schedule_apply(const fz_freeze_schedule *s, fz_model *m, unsigned long epoch,
                            bool *applied)
{
    if (applied)
        *applied = false;
    if (!s || !m)
        return set_error(FZ_EINVAL, "fz_freeze_schedule_apply: %s is NULL", !s ? "schedule" : "model");
    for (size_t i = 0; i < s->n; i++) {
        if (s->e[i].epoch != epoch)
            continue;
        fz_status st = set_exactly(m, s->e[i].spec, true, epoch);
        if (st == FZ_OK && applied)
            *applied = true;
        return st;
    }
    return FZ_OK;
}

bool fz_freeze_schedule_entry(const fz_freeze_schedule *s, size_t i, unsigned long *epoch,
                              const char **spec)
{
    if (!s || i >= s->n)
        return false;
    if (epoch)
        *epoch = s->e[i].epoch;
    if (spec)
        *spec = s->e[i].spec;
    return true;
}

/* How much of s[0..len) a message quotes: at most 64 bytes, never half a UTF-8
 * character. */
static int quote_len(const char *s, size_t len)
{
    size_t q = len < 64 ? len : 64;
    while (q > 0 && q < len && ((unsigned char)s[q] & 0xc0) == 0x80)
        q--;
    return (int)q;
}

fz_status freeze_spec_syntax(const char *spec)
{
    if (!spec)
        return set_error(FZ_EINVAL, "freeze spec: NULL");
    /* prefix:K first: spec_select's message for a bad K names the model's layer
     * count, which the model below does not have.  Items are split and trimmed as
     * spec_select splits them. */
    for (const char *p = spec, *end; p; p = end ? end + 1 : NULL) {
        end = strchr(p, ',');
        const char *b = p, *e = end ? end : p + strlen(p);
        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        if (e - b <= 7 || memcmp(b, "prefix:", 7) != 0)
            continue;
        for (const char *d = b + 7; d < e; d++)
            if (!isdigit((unsigned char)*d))
                return set_error(FZ_EINVAL, "freeze spec '%.*s', item '%.*s': K must be "
                                 "a whole number of layers, from 0",
                                 quote_len(spec, strlen(spec)), spec,
                                 quote_len(b, (size_t)(e - b)), b);
    }
    /* A model with no tensors and no bound on its layer count: spec_select parses
     * every item (its first pass, which needs no tensor) and then finds that no glob
     * matches anything, which says nothing about the syntax. */
    fz_model any = { .n_layers = SIZE_MAX };
    bool unused;
    fz_status st = spec_select(&any, spec, &unused);
    return st == FZ_ENOTFOUND ? FZ_OK : st;
}
