/*
 * Soak: `freezebench train` for 10^5 steps of a tiny net, with one allocation failing at
 * a random point of the run (tests/alloc_fail_env.c).  Every run must end in exit 0 with
 * a whole output or exit 1 with none, never a crash; it must leave no temporary file and
 * free what it allocated (no more blocks live at exit than after a clean run: the thread
 * team is kept for the process).  Under -Db_sanitize=address, ASan and LeakSanitizer
 * watch every run too.
 *   usage: test_train_soak PATH/TO/freezebench_alloc_fail [RUNS]   (FZ_SOAK_SEED repeats)
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "freezebench.h"
#include "npz.h"

enum { SAMPLES = 1000, EPOCHS = 100 };   /* batch 1: 10^5 steps */

static char dir[64], model[128], data[128], out[128];

/* Runs one training; returns the exit status (-1 for a signal) and the counts. */
static int train(long fail_at, long *attempts, long *live)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "FZ_ALLOC_FAIL_AT=%ld FREEZEBENCH_THREADS=1 '%s' train "
             "--model %s --data %s --epochs %d --batch 1 --lr 0.01 --momentum 0.5 --seed 3 "
             "--log-every 1000 --out %s 2>&1", fail_at, getenv("FZ_SOAK_EXE"), model, data,
             EPOCHS, out);
    FILE *p = popen(cmd, "r");
    char line[512];
    *attempts = *live = -1;
    while (p && fgets(line, sizeof line, p))
        sscanf(line, "alloc: attempts %ld live %ld", attempts, live);
    int status = p ? pclose(p) : -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int temporaries_left(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, ".tmp-") != NULL;
    if (d)
        closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH/TO/freezebench_alloc_fail [RUNS]\n", argv[0]);
        return 2;
    }
    setenv("FZ_SOAK_EXE", argv[1], 1);
    int runs = argc > 2 ? atoi(argv[2]) : 12;
    unsigned seed = getenv("FZ_SOAK_SEED") ? (unsigned)atoi(getenv("FZ_SOAK_SEED"))
                                          : (unsigned)time(NULL);
    snprintf(dir, sizeof dir, "/tmp/fz_soak_XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    snprintf(model, sizeof model, "%s/m.npz", dir);
    snprintf(data, sizeof data, "%s/d.npz", dir);
    snprintf(out, sizeof out, "%s/out.npz", dir);
    const size_t widths[] = { 4, 3, 2 };
    fz_model *m = fz_mlp_create(widths, 3, 1);
    static float x[SAMPLES * 4], y[SAMPLES * 2];
    for (size_t i = 0; i < SAMPLES * 4; i++)
        x[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
    for (size_t i = 0; i < SAMPLES * 2; i++)
        y[i] = (float)((i * 13) % 7) / 7.0f;
    fz_npz_array arrays[] = {
        { .name = "x", .ndim = 2, .shape = { SAMPLES, 4 }, .numel = SAMPLES * 4, .data = x },
        { .name = "y", .ndim = 2, .shape = { SAMPLES, 2 }, .numel = SAMPLES * 2, .data = y },
    };
    if (!m || fz_save_npz(m, model) != FZ_OK || npz_write(data, arrays, 2) != FZ_OK)
        return 1;
    fz_model_free(m);

    long attempts, clean_live, live;
    int failures = 0;
    if (train(-1, &attempts, &clean_live) != 0 || attempts <= 0) {
        fprintf(stderr, "soak: the clean run failed (%ld allocations)\n", attempts);
        return 1;
    }
    printf("soak: seed %u (FZ_SOAK_SEED), %ld allocations in a clean run, %ld live at "
           "exit\n", seed, attempts, clean_live);
    srand(seed);
    for (int r = 0; r < runs; r++) {
        long at = rand() % attempts;
        unlink(out);
        int rc = train(at, &attempts, &live);
        fz_model *back = rc == 0 ? fz_mlp_from_npz(out) : NULL;
        const char *bad = rc < 0 ? "crashed" : rc > 1 ? "exit status other than 0 or 1"
                        : rc == 0 && !back ? "exit 0 without a whole output"
                        : rc == 1 && access(out, F_OK) == 0 ? "exit 1 with an output"
                        : temporaries_left() ? "a temporary file left"
                        : live > clean_live ? "blocks not freed" : NULL;
        fz_model_free(back);
        printf("soak: allocation %ld fails: exit %d, %ld live%s%s\n", at, rc, live,
               bad ? " -- FAIL: " : "", bad ? bad : "");
        failures += bad != NULL;
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    return failures ? 1 : 0;
}
