/*
 * Tests that run once per ISA.  Each test gets the ISA's name ("scalar", "avx2",
 * "avx512", "neon") as its cmocka state, so one function covers every table and the
 * test list names the ISA; an ISA this build or CPU lacks is a visible skip, never a
 * pass.  Header-only (static functions) so each test stays one executable.
 */
#ifndef FZ_ISA_TESTUTIL_H
#define FZ_ISA_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "freezebench.h"
#include "kernels.h"
#include "kernels_active.h"

/* A test entry for `isa` running f, with a teardown (NULL for none). */
#define ISA_TEST_WITH(isa, f, teardown) { isa ": " #f, f, NULL, teardown, (void *)(isa) }
#define ISA_TEST(isa, f) ISA_TEST_WITH(isa, f, NULL)

/* The table of the ISA named by the test's state, or a skip that says why. */
static inline const fz_kernels *isa_table_or_skip(void **state)
{
    const fz_kernels *k = kernels_for((const char *)*state);
    if (!k) {
        print_message("  %s: not in this build or not on this CPU: skipped\n",
                      (const char *)*state);
        skip();
    }
    return k;
}

/* The same table made the one every library call runs (kernels_override) until
 * isa_restore: for tests that train through the public API. */
static inline const fz_kernels *isa_use_or_skip(void **state)
{
    const fz_kernels *k = isa_table_or_skip(state);
    kernels_override(k);
    return k;
}

/* Teardown after isa_use_or_skip: the CPU's own table and one thread again, so a failed
 * test does not leave the next one on another ISA or team. */
static inline int isa_restore(void **state)
{
    (void)state;
    kernels_override(NULL);
    fz_set_threads(1);
    return 0;
}

#endif
