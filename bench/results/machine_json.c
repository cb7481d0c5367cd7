/* The system description as JSON (fzb_machine_info_json, results.h).  It lives with the
 * schema rather than with the description because it carries the schema's version and
 * columns: the machine folder sits below the results folder and cannot see them. */
#include "results.h"

#include <stdio.h>

#include "freezebench.h"

/* A JSON string: quotes, backslashes and control characters escaped, and any byte that
 * is not part of valid UTF-8 written as U+FFFD, so the output is valid JSON (RFC 8259
 * wants UTF-8) even for a field nobody cleaned. */
static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = fzb_utf8_sequence(p);
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\u%04x", *p);
        else if (n == 0)
            fputs("\\ufffd", out);
        else
            fwrite(p, 1, n, out);
        p += n ? n : 1;
    }
    fputc('"', out);
}

void fzb_machine_info_json(const fzb_machine_info *m, FILE *out)
{
    struct { const char *key, *value; } text[] = {
        { "system_id", m->system_id }, { "host", m->host }, { "cpu_vendor", m->cpu_vendor },
        { "uarch", m->uarch }, { "cpu_model", m->cpu_model }, { "arch", m->arch },
        { "vector_isa", m->vector_isa }, { "isa", fz_isa() },
        { "hypervisor", m->hypervisor }, { "cache_source", m->cache_source },
        { "governor", m->governor }, { "os", m->os }, { "kernel", m->kernel },
        { "compiler", m->compiler }, { "blas", m->blas },
        { "openblas_core", m->openblas_core }, { "git_revision", m->git_revision },
    };
    struct { const char *key; double value; } numbers[] = {
        { "cpu_family", m->cpu_family }, { "cpu_model_number", m->cpu_model_number },
        { "cpu_stepping", m->cpu_stepping }, { "cores", m->cores }, { "smt", m->smt },
        { "l1d_bytes", (double)m->l1d_bytes }, { "l2_bytes", (double)m->l2_bytes },
        { "l3_bytes", (double)m->l3_bytes }, { "memory_bytes", m->memory_bytes },
        { "cpu_mhz", m->cpu_mhz },
    };
    fprintf(out, "{\n  \"schema_version\": %d,\n  \"columns\": [", FZB_SCHEMA_VERSION);
    for (size_t i = 0; i < fzb_result_n_columns; i++) {
        fputs(i ? ", " : "", out);
        json_string(out, fzb_result_columns[i]);
    }
    fputs("],\n  \"machine\": {\n", out);
    for (size_t i = 0; i < sizeof text / sizeof *text; i++) {
        fprintf(out, "    \"%s\": ", text[i].key);
        json_string(out, text[i].value);
        fputs(",\n", out);
    }
    for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++)
        fprintf(out, "    \"%s\": %.0f%s\n", numbers[i].key, numbers[i].value,
                i + 1 < sizeof numbers / sizeof *numbers ? "," : "");
    fputs("  }\n}\n", out);
}
