/* The architecture record of a model archive (architecture.h). */
#include <stdio.h>
#include <string.h>

#include "architecture.h"
#include "error.h"

/* The next space-separated token of *p: its kind [k, k + kl) and name [nm, nm + nl)
 * (nl 0 without one); false at the end. */
static bool next_step(const char **p, const char **k, size_t *kl, const char **nm,
                      size_t *nl)
{
    const char *s = *p;
    while (*s == ' ')
        s++;
    if (!*s)
        return false;
    const char *end = s + strcspn(s, " ");
    const char *colon = memchr(s, ':', (size_t)(end - s));
    *k = s;
    *kl = (size_t)((colon ? colon : end) - s);
    *nm = colon ? colon + 1 : end;
    *nl = colon ? (size_t)(end - colon - 1) : 0;
    *p = end;
    return true;
}

static bool kind_is(const char *k, size_t kl, const char *want)
{
    return kl == strlen(want) && !strncmp(k, want, kl);
}

fz_status architecture_check(const char *text, const char *const *prefixes, size_t n,
                             const char *path, const char *source)
{
    const char *p = text, *k, *nm;
    size_t kl, nl, linears = 0, step = 0;
    bool need_linear = true;   /* at the start and after each ReLU */
    while (next_step(&p, &k, &kl, &nm, &nl)) {
        step++;
        if (kind_is(k, kl, "flatten") && step == 1)
            continue;   /* the input is flat already */
        if (kind_is(k, kl, "linear") && need_linear) {
            if (linears == n)
                return set_error(FZ_EFORMAT, "%s: %s has more Linear layers than the %zu "
                                 "found in the archive", path, source, n);
            if (nl && (strlen(prefixes[linears]) != nl ||
                       strncmp(prefixes[linears], nm, nl)))
                return set_error(FZ_EFORMAT, "%s: %s runs Linear '%.*s' as layer %zu, "
                                 "where the archive's layer %zu is '%s' (give --map in the "
                                 "forward order)", path, source, (int)nl, nm, linears + 1,
                                 linears + 1, prefixes[linears]);
            linears++;
            need_linear = false;
            continue;
        }
        if (kind_is(k, kl, "relu") && !need_linear && linears < n) {
            need_linear = true;
            continue;
        }
        const char *where = need_linear && linears == 0 ? "before the first Linear layer"
                          : linears == n ? "after the last Linear layer"
                          : "between Linear layers";
        return set_error(FZ_EFORMAT, "%s: %s has step %zu '%.*s%s%.*s' %s: freezebench "
                         "trains Linear layers with ReLU between them and nothing else, so "
                         "training this archive would train another model than yours; "
                         "refused", path, source, step, (int)kl, k, nl ? ":" : "", (int)nl,
                         nm, where);
    }
    if (linears != n || need_linear)
        return set_error(FZ_EFORMAT, "%s: %s has %zu Linear layers%s where the archive has "
                         "%zu", path, source, linears,
                         need_linear && linears ? " and ends with a ReLU" : "", n);
    return FZ_OK;
}
