/* Allocation-failure injection for a whole program (the soak test's freezebench): the
 * allocation FZ_ALLOC_FAIL_AT (0-based) fails, and at exit the counts go to stderr as
 *   alloc: attempts N live L failed F
 * so a driver can pick failure points and see what was not freed. */
#include <stdio.h>
#include <stdlib.h>

#include "alloc_fail.h"

static void report(void)
{
    fprintf(stderr, "alloc: attempts %ld live %ld failed %d\n", alloc_attempts(),
            alloc_live(), alloc_failed());
}

__attribute__((constructor)) static void arm(void)
{
    const char *at = getenv("FZ_ALLOC_FAIL_AT");
    alloc_fail_at(at && *at ? strtol(at, NULL, 10) : -1);
    atexit(report);
}
