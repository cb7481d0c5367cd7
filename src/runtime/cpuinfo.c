#include "cpuinfo.h"

#include <stdio.h>
#include <string.h>

/* Whether `line` starts with the key `key`: the key is followed by the blanks or the colon
 * that end it, so "CPU part" does not also match "CPU partition". */
static bool key_matches(const char *line, const char *key)
{
    size_t n = strlen(key);
    return strncmp(line, key, n) == 0 && (line[n] == ' ' || line[n] == '\t' || line[n] == ':');
}

bool cpuinfo_value(const char *const keys[], char *out, size_t cap)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return false;
    /* A flags line can outgrow the buffer and arrive in pieces; only a line's first
     * piece holds its key, so a later piece that happens to start like one is skipped. */
    char line[4096];
    bool found = false, continuation = false;
    while (!found && fgets(line, sizeof line, f)) {
        bool piece = continuation;
        continuation = !strchr(line, '\n') && !feof(f);
        char *colon = strchr(line, ':');
        if (piece || !colon)
            continue;
        for (const char *const *k = keys; *k && !found; k++) {
            if (!key_matches(line, *k))
                continue;
            char *v = colon + 1 + strspn(colon + 1, " \t");
            size_t n = strcspn(v, "\n");
            while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
                n--;
            if (n == 0 || cap == 0)
                continue;
            if (n > cap - 1)
                n = cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            found = true;
        }
    }
    fclose(f);
    return found;
}
