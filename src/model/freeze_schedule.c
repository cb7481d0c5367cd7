/*
 * Freeze schedules: "E:SPEC,E:SPEC,...", the freeze state from epoch E on.  Each entry
 * sets the flags whole (SPEC frozen, everything else trainable), so a schedule reads as
 * the state of each phase and does not depend on the flags it finds.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "freeze.h"
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
        fz_set_error(FZ_EINVAL, "freeze schedule: empty (expected E:SPEC,E:SPEC,...)");
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
            fz_set_error(FZ_EINVAL, "freeze schedule '%s': '%.40s' should start with an "
                         "epoch number and ':' (E:SPEC)", text, p);
            goto fail;
        }
        errno = 0;
        unsigned long e = strtoul(p, NULL, 10);
        if (errno || (s->n > 0 && e <= s->e[s->n - 1].epoch)) {
            fz_set_error(FZ_EINVAL, "freeze schedule '%s': epoch %.*s %s", text,
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
        if (end > spec && end[-1] == ',') {
            fz_set_error(FZ_EINVAL, "freeze schedule '%s': trailing comma", text);
            goto fail;
        }
        if (end == spec) {
            fz_set_error(FZ_EINVAL, "freeze schedule '%s': epoch %lu has an empty spec "
                         "(use 'none' to unfreeze everything)", text, e);
            goto fail;
        }
        char *copy = malloc((size_t)(end - spec) + 1);
        if (!copy)
            goto nomem;
        memcpy(copy, spec, (size_t)(end - spec));
        copy[end - spec] = '\0';
        s->e[s->n++] = (entry){ .epoch = e, .spec = copy };
        p = *end ? end + 1 : end;
        if (*end && !*p) {
            fz_set_error(FZ_EINVAL, "freeze schedule '%s': trailing comma", text);
            goto fail;
        }
    }
    return s;

nomem:
    fz_set_error(FZ_ENOMEM, "freeze schedule: out of memory");
fail:
    fz_freeze_schedule_free(s);
    return NULL;
}

/* Sets the flags to exactly "spec frozen, the rest trainable", or leaves them. */
static fz_status set_exactly(fz_model *m, const char *spec, bool apply, unsigned long epoch)
{
    bool *frozen = malloc(m->n_tensors * sizeof *frozen);
    if (!frozen)
        return fz_set_error(FZ_ENOMEM, "freeze schedule: out of memory");
    fz_status st = fz_spec_select(m, spec, frozen);
    if (st != FZ_OK) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", fz_last_error());
        free(frozen);
        return fz_set_error(st, "freeze schedule, epoch %lu: %s", epoch, msg);
    }
    bool changed = false;
    for (size_t i = 0; apply && i < m->n_tensors; i++) {
        if (m->tensors[i].requires_grad == frozen[i]) {
            m->tensors[i].requires_grad = !frozen[i];
            changed = true;
        }
    }
    if (changed)
        m->flags_version++;
    free(frozen);
    return FZ_OK;
}

fz_status fz_freeze_schedule_check(const fz_freeze_schedule *s, fz_model *m)
{
    if (!s || !m)
        return fz_set_error(FZ_EINVAL, "fz_freeze_schedule_check: %s is NULL", !s ? "schedule" : "model");
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
        return fz_set_error(FZ_EINVAL, "fz_freeze_schedule_apply: %s is NULL", !s ? "schedule" : "model");
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
