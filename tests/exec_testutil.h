/* Tests: the execution context (src/runtime/exec.h) of one table on one thread with the
 * default cache sizes, to run a layer or the optimizer with a table of the test's
 * choosing rather than the one in use. */
#ifndef FZ_EXEC_TESTUTIL_H
#define FZ_EXEC_TESTUTIL_H

#include "exec.h"

static inline fz_exec exec_single(const fz_kernels *k)
{
    return (fz_exec){ .k = k, .gemm = { .threads = 1, .groups = 1 } };
}

#endif
