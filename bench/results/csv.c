#include "csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "replace.h"

struct fzb_csv {
    size_t n_columns;
    char **columns;
    size_t n_rows, cap_rows;
    char **fields;   /* n_rows × n_columns, row-major */
};

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

fzb_csv *fzb_csv_new(const char *const *columns, size_t n_columns)
{
    fzb_csv *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->columns = calloc(n_columns ? n_columns : 1, sizeof *t->columns);
    if (!t->columns)
        goto fail;
    t->n_columns = n_columns;
    for (size_t c = 0; c < n_columns; c++)
        if (!(t->columns[c] = dup_or_empty(columns[c])))
            goto fail;
    return t;
fail:
    fzb_csv_free(t);
    return NULL;
}

void fzb_csv_free(fzb_csv *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
        free(t->fields[i]);
    free(t->fields);
    for (size_t c = 0; t->columns && c < t->n_columns; c++)
        free(t->columns[c]);
    free(t->columns);
    free(t);
}

fz_status fzb_csv_add_row(fzb_csv *t, const char *const *fields)
{
    if (t->n_rows == t->cap_rows) {
        size_t cap = t->cap_rows ? 2 * t->cap_rows : 16;
        char **f = realloc(t->fields, cap * t->n_columns * sizeof *f);
        if (!f)
            return set_error(FZ_ENOMEM, "fzb_csv_add_row: out of memory for %zu rows", cap);
        t->fields = f;
        t->cap_rows = cap;
    }
    char **row = t->fields + t->n_rows * t->n_columns;
    for (size_t c = 0; c < t->n_columns; c++) {
        if (!(row[c] = dup_or_empty(fields[c]))) {
            while (c--)
                free(row[c]);
            return set_error(FZ_ENOMEM, "fzb_csv_add_row: out of memory for a field");
        }
    }
    t->n_rows++;
    return FZ_OK;
}

size_t fzb_csv_rows(const fzb_csv *t) { return t->n_rows; }
size_t fzb_csv_columns(const fzb_csv *t) { return t->n_columns; }
const char *fzb_csv_column_name(const fzb_csv *t, size_t col) { return t->columns[col]; }

size_t fzb_csv_column(const fzb_csv *t, const char *name)
{
    for (size_t c = 0; c < t->n_columns; c++)
        if (strcmp(t->columns[c], name) == 0)
            return c;
    return (size_t)-1;
}

const char *fzb_csv_field(const fzb_csv *t, size_t row, size_t col)
{
    return t->fields[row * t->n_columns + col];
}

static void put_field(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void put_row(FILE *f, char *const *fields, size_t n)
{
    for (size_t c = 0; c < n; c++) {
        if (c)
            fputc(',', f);
        put_field(f, fields[c]);
    }
    fputs("\r\n", f);
}

static fz_status write_table(FILE *f, void *ctx)
{
    const fzb_csv *t = ctx;
    put_row(f, t->columns, t->n_columns);
    for (size_t r = 0; r < t->n_rows; r++)
        put_row(f, t->fields + r * t->n_columns, t->n_columns);
    return FZ_OK;   /* file_replace checks the stream's errors when it flushes */
}

fz_status fzb_csv_write(const fzb_csv *t, const char *path)
{
    return file_replace(path, write_table, (void *)t);
}

/* ---- reading ------------------------------------------------------------------- */

typedef struct {
    char **v;
    size_t n, cap;
} field_list;

static int push(field_list *l, char *s)
{
    if (!s)
        return -1;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            free(s);
            return -1;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return 0;
}

/* Parses one record starting at *p; advances *p past its line end.  Fields go to `out`.
 * -1: out of memory; -2: the text ends inside a quoted field (a cut file). */
static int parse_record(const char **p, field_list *out)
{
    const char *s = *p;
    for (;;) {
        size_t cap = 64, n = 0;
        char *buf = malloc(cap);
        if (!buf)
            return -1;
        int quoted = *s == '"';
        if (quoted)
            s++;
        for (;;) {
            char c = *s;
            if (quoted) {
                if (c == '\0') {
                    free(buf);
                    return -2;
                }
                if (c == '"') {
                    if (s[1] != '"') {
                        s++;
                        quoted = 0;
                        continue;
                    }
                    s++;
                }
            } else if (c == ',' || c == '\r' || c == '\n' || c == '\0') {
                break;
            }
            if (n + 2 > cap) {
                char *b = realloc(buf, cap *= 2);
                if (!b) {
                    free(buf);
                    return -1;
                }
                buf = b;
            }
            buf[n++] = c;
            s++;
        }
        buf[n] = '\0';
        if (push(out, buf))
            return -1;
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s == '\r')
            s++;
        if (*s == '\n')
            s++;
        *p = s;
        return 0;
    }
}

/* The whole file, NUL-terminated, and its length (which a NUL inside would hide). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (ferror(f)) {   /* a directory reads as an error (EISDIR), not as empty */
            free(buf);
            buf = NULL;
            break;
        }
        if (n < cap - 1)
            break;
        char *b = realloc(buf, cap *= 2);
        if (!b)
            free(buf);
        buf = b;
    }
    if (buf)
        buf[n] = '\0';
    int saved = errno;
    fclose(f);
    errno = saved;
    *len = n;
    return buf;
}

fz_status fzb_csv_parse(const char *text, size_t len, const char *what, fzb_csv **out)
{
    *out = NULL;
    /* Every record this module writes ends in CRLF, so a file whose last byte is not a
     * line end was cut (a full disk, a killed copy): its last field may be a number
     * missing digits ("1024" read as "1"), which nothing later could tell. */
    if (len == 0)
        return set_error(FZ_EFORMAT, "fzb_csv_read: %s is empty: no header row", what);
    if (memchr(text, '\0', len))
        return set_error(FZ_EFORMAT, "fzb_csv_read: %s holds a NUL byte at offset %zu: "
                         "not a CSV text file", what,
                         (size_t)((const char *)memchr(text, '\0', len) - text));
    if (text[len - 1] != '\n')
        return set_error(FZ_EFORMAT, "fzb_csv_read: %s is truncated: its last record "
                         "has no line end", what);
    char *copy = malloc(len + 1);   /* parse_record reads up to a NUL */
    if (!copy)
        return set_error(FZ_ENOMEM, "fzb_csv_read: out of memory reading %s", what);
    memcpy(copy, text, len);
    copy[len] = '\0';
    fz_status st = FZ_OK;
    field_list l = {0};
    fzb_csv *t = NULL;
    const char *p = copy;
    int rc = parse_record(&p, &l);
    if (!rc) {
        t = fzb_csv_new((const char *const *)l.v, l.n);
        if (!t)
            rc = -1;
    }
    for (size_t line = 2; !rc && *p; line++) {
        for (size_t i = 0; i < l.n; i++)
            free(l.v[i]);
        l.n = 0;
        if ((rc = parse_record(&p, &l)) != 0)
            break;
        if (l.n != t->n_columns) {
            st = set_error(FZ_EFORMAT, "fzb_csv_read: %s record %zu has %zu fields, the "
                           "header %zu", what, line, l.n, t->n_columns);
            break;
        }
        if ((st = fzb_csv_add_row(t, (const char *const *)l.v)) != FZ_OK)
            break;
    }
    if (rc == -1)
        st = set_error(FZ_ENOMEM, "fzb_csv_read: out of memory reading %s", what);
    else if (rc == -2)
        st = set_error(FZ_EFORMAT, "fzb_csv_read: %s is truncated: it ends inside a "
                       "quoted field", what);
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i]);
    free(l.v);
    free(copy);
    if (st != FZ_OK)
        fzb_csv_free(t);
    else
        *out = t;
    return st;
}

fz_status fzb_csv_read(const char *path, fzb_csv **out)
{
    *out = NULL;
    size_t len = 0;
    char *text = slurp(path, &len);
    if (!text)
        return set_error(FZ_EIO, "fzb_csv_read: cannot read %s: %s", path, strerror(errno));
    fz_status st = fzb_csv_parse(text, len, path, out);
    free(text);
    return st;
}
