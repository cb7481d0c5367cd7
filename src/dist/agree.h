/*
 * Internal: one decision on every rank before a collective (DESIGN.md, "Data parallel").
 *
 * A program under mpirun checks its arguments and files on every rank.  A rank that
 * fails alone (a file only its node lacks), or that was given other settings than rank
 * 0 (another --epochs: other step counts; another --lr: models that drift apart), must
 * not go on to a collective the others never join, nor leave them waiting in one.  So
 * after each round of checks, and before any other collective, every rank calls
 * dp_agree with its own verdict and the values that must be the same everywhere;
 * every rank gets back the same decision, and each is told what it alone should print.
 *
 * The helpers below are inline so that a program built without MPI (which never calls
 * dp_agree, defined only with MPI) can still fill the values.
 */
#ifndef FZ_AGREE_H
#define FZ_AGREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_AGREE_MAX 24       /* values per call; more are not compared */
#define FZ_AGREE_TEXT 48      /* a value as shown in a message, with its NUL */
#define FZ_AGREE_MSG 512      /* a rank's message, with its NUL */

/* One value every rank must hold alike. */
typedef struct {
    const char *what;             /* as the user wrote it: "--epochs", "FREEZEBENCH_..." */
    uint64_t value;               /* what is compared: a number, or a text's hash */
    char text[FZ_AGREE_TEXT];     /* how a message shows it */
} fz_agree_value;

/* FNV-1a over n bytes, continuing from h (start with FZ_AGREE_HASH0). */
#define FZ_AGREE_HASH0 14695981039346656037ULL
static inline uint64_t agree_hash(const void *p, size_t n, uint64_t h)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static inline void agree_number(fz_agree_value *v, const char *what, uint64_t x)
{
    v->what = what;
    v->value = x;
    snprintf(v->text, sizeof v->text, "%llu", (unsigned long long)x);
}

/* A real number compared bit for bit (0.1 and 0.10 parse to the same bits), shown in
 * the fewest digits that read back as it: as a float where `as_float` (--lr 0.1 is
 * shown as 0.1, not as the double 0.100000001). */
static inline void agree_real(fz_agree_value *v, const char *what, double x, bool as_float)
{
    v->what = what;
    memcpy(&v->value, &x, sizeof v->value);
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(v->text, sizeof v->text, "%.*g", digits, x);
        double back = strtod(v->text, NULL);
        if (as_float ? (float)back == (float)x : back == x)
            break;
    }
}

/* A text (NULL: not given), shown quoted, cut to fit (never in a UTF-8 character). */
static inline void agree_text(fz_agree_value *v, const char *what, const char *s)
{
    v->what = what;
    v->value = s ? agree_hash(s, strlen(s) + 1, FZ_AGREE_HASH0) : 0;
    if (!s) {
        snprintf(v->text, sizeof v->text, "(not given)");
        return;
    }
    size_t len = strlen(s), room = sizeof v->text - 6;   /* quotes, "...", NUL */
    bool cut = len + 2 >= sizeof v->text;
    if (cut) {
        len = room;
        while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
            len--;
    }
    char *t = v->text;
    *t++ = '\'';
    memcpy(t, s, len);
    t += len;
    if (cut) {
        memcpy(t, "...", 3);
        t += 3;
    }
    *t++ = '\'';
    *t = '\0';
}

/* Collective over MPI_COMM_WORLD: every rank calls it at the same point.  `status` is
 * this rank's verdict so far: 0 to go on, otherwise the exit status it would end with
 * and `msg` why.  v[0..n) are the values every rank must share (read only where this
 * rank's status is 0); a value that differs from rank 0's makes this rank's status 2
 * (a usage error), its message naming the value on both ranks and ending in `why`.
 *
 * Returns the decision, the same on every rank: 0 when every rank is ready and agrees
 * with rank 0, else the largest status.  `say` receives what this rank should print
 * ("" for nothing): its message with "rank N: " before it, except that a message that
 * is rank 0's word for word (the same input fails the same way) is printed by rank 0
 * alone, and without the rank when every rank failed so. */
int dp_agree(int status, const char *msg, const fz_agree_value *v, size_t n,
             const char *why, char *say, size_t say_size);

/* dp_agree, with what this rank should say printed on stderr as "<program>: <say>":
 * the one way the programs under mpirun (freezebench, freeze_sweep, dp_step) report a
 * decision, so their messages cannot drift apart.  Returns the decision. */
int dp_agree_print(const char *program, int status, const char *msg,
                   const fz_agree_value *v, size_t n, const char *why);

#endif
