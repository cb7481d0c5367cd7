/*
 * One decision on every rank before a collective (agree.h).  Two collectives: rank 0's
 * verdict, values and message go to every rank (one broadcast of a fixed-size record,
 * so a rank that failed early still sends and receives the same bytes), each rank
 * compares, and one allreduce of the statuses makes the decision.
 */
#include "agree.h"

#include <stdbool.h>

#include <mpi.h>

/* Rank 0's side, as every rank receives it. */
typedef struct {
    int32_t status;
    uint32_t n;
    uint64_t value[FZ_AGREE_MAX];
    char text[FZ_AGREE_MAX][FZ_AGREE_TEXT];
    char msg[FZ_AGREE_MSG];
} root_word;

int dp_agree(int status, const char *msg, const fz_agree_value *v, size_t n,
             const char *why, char *say, size_t say_size)
{
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (n > FZ_AGREE_MAX)
        n = FZ_AGREE_MAX;
    char own[FZ_AGREE_MSG] = "";
    if (status != 0)
        snprintf(own, sizeof own, "%s", msg && *msg ? msg : "failed (no message)");
    root_word root;
    memset(&root, 0, sizeof root);
    if (rank == 0) {
        root.status = status;
        root.n = (uint32_t)n;
        for (size_t i = 0; status == 0 && i < n; i++) {
            root.value[i] = v[i].value;
            memcpy(root.text[i], v[i].text, FZ_AGREE_TEXT);
            root.text[i][FZ_AGREE_TEXT - 1] = '\0';
        }
        memcpy(root.msg, own, sizeof root.msg);
    }
    MPI_Bcast(&root, (int)sizeof root, MPI_BYTE, 0, MPI_COMM_WORLD);

    /* Compared only where both sides are ready: a failed rank's values mean nothing. */
    if (status == 0 && root.status == 0) {
        size_t common = n < root.n ? n : root.n;
        for (size_t i = 0; i < common && status == 0; i++) {
            if (v[i].value == root.value[i])
                continue;
            status = 2;
            snprintf(own, sizeof own, "%s %s on this rank, %s on rank 0: %s", v[i].what,
                     v[i].text, root.text[i], why);
        }
        if (status == 0 && n != root.n) {
            status = 2;
            snprintf(own, sizeof own, "this rank was given another command or options "
                     "than rank 0: %s", why);
        }
    }
    /* [1]: whether some rank did not fail with rank 0's very message. */
    int verdict[2] = { status,
                       status == 0 || root.status == 0 || strcmp(own, root.msg) != 0 };
    MPI_Allreduce(MPI_IN_PLACE, verdict, 2, MPI_INT, MPI_MAX, MPI_COMM_WORLD);

    if (say_size)
        say[0] = '\0';
    if (status != 0 && say_size) {
        bool everyone_alike = verdict[1] == 0;
        bool as_rank_0 = rank != 0 && root.status != 0 && strcmp(own, root.msg) == 0;
        if (everyone_alike && rank == 0)
            snprintf(say, say_size, "%s", own);
        else if (!everyone_alike && !as_rank_0)
            snprintf(say, say_size, "rank %d: %s", rank, own);
    }
    return verdict[0];
}

int dp_agree_print(const char *program, int status, const char *msg,
                   const fz_agree_value *v, size_t n, const char *why)
{
    char say[FZ_AGREE_MSG + 32];
    int decision = dp_agree(status, msg, v, n, why, say, sizeof say);
    if (say[0])
        fprintf(stderr, "%s: %s\n", program, say);
    return decision;
}
