/*
 * Data-parallel training in a build without MPI (meson -Dmpi=disabled, or no MPI found):
 * the API exists, so programs link either way, and creating a trainer says why not.
 */
#include "error.h"
#include "freezebench.h"
#include "freezebench_dp.h"

bool fz_dp_available(void) { return false; }
void fz_dp_tune_mpi_env(void) {}

fz_dp *fz_dp_create(fz_model *m, size_t global_batch, fz_sgd opt, const void *mpi_comm)
{
    (void)m, (void)global_batch, (void)opt, (void)mpi_comm;
    set_error(FZ_EINVAL, "fz_dp_create: this freezebench was built without MPI "
              "(meson option mpi; Debian: libopenmpi-dev)");
    return NULL;
}

void fz_dp_free(fz_dp *dp) { (void)dp; }
int fz_dp_rank(const fz_dp *dp) { (void)dp; return 0; }
int fz_dp_ranks(const fz_dp *dp) { (void)dp; return 1; }
fz_trainer *fz_dp_trainer(fz_dp *dp) { (void)dp; return NULL; }
fz_dp_comm fz_dp_comm_last(const fz_dp *dp) { (void)dp; return (fz_dp_comm){ .ranks = 1 }; }

void fz_dp_shard(const fz_dp *dp, size_t *first_row, size_t *rows)
{
    (void)dp;
    if (first_row)
        *first_row = 0;
    if (rows)
        *rows = 0;
}

fz_status fz_dp_step(fz_dp *dp, const float *x, const float *y, float *loss)
{
    (void)dp, (void)x, (void)y, (void)loss;
    return set_error(FZ_EINVAL, "fz_dp_step: this freezebench was built without MPI");
}
