/*
 * A program built only from the installed freezebench-dp: pkg-config's flags, the
 * installed freezebench_dp.h and both libraries.  It calls what needs no MPI_Init (the
 * library says it has MPI; a plain run was launched as one rank) and a core call, so it
 * links and runs against the installed pair.
 */
#include <stdio.h>

#include <freezebench_dp.h>

int main(void)
{
    if (!fz_dp_available()) {
        fprintf(stderr, "consumer_dp: libfreezebench-dp says it has no MPI\n");
        return 1;
    }
    long ranks = fz_dp_launched_ranks();
    printf("freezebench %s, freezebench-dp: launched ranks %ld\n", fz_version(), ranks);
    return ranks == 1 ? 0 : 1;
}
