/* The wrappers behind alloc_fail.h.  Tests are single-threaded around the calls they
 * count, but OpenMP workers may allocate too, so the counters are atomic. */
#include <stdatomic.h>
#include <stdlib.h>

#include "alloc_fail.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t alignment, size_t n);
void __real_free(void *p);

static atomic_long fail_at = -1, attempts, live, failed;

void alloc_fail_at(long n)
{
    atomic_store(&attempts, 0);
    atomic_store(&failed, 0);
    atomic_store(&fail_at, n);
}
long alloc_attempts(void) { return atomic_load(&attempts); }
long alloc_live(void) { return atomic_load(&live); }
int alloc_failed(void) { return atomic_load(&failed) != 0; }

static int should_fail(void)
{
    long i = atomic_fetch_add(&attempts, 1);
    if (i == atomic_load(&fail_at)) {
        atomic_store(&failed, 1);
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = __real_malloc(n);
    if (p)
        atomic_fetch_add(&live, 1);
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (should_fail())
        return NULL;
    void *p = __real_calloc(n, size);
    if (p)
        atomic_fetch_add(&live, 1);
    return p;
}

void *__wrap_realloc(void *old, size_t n)
{
    if (should_fail())
        return NULL;
    void *p = __real_realloc(old, n);
    if (p && !old)
        atomic_fetch_add(&live, 1);
    return p;
}

void *__wrap_aligned_alloc(size_t alignment, size_t n)
{
    if (should_fail())
        return NULL;
    void *p = __real_aligned_alloc(alignment, n);
    if (p)
        atomic_fetch_add(&live, 1);
    return p;
}

void __wrap_free(void *p)
{
    if (p)
        atomic_fetch_sub(&live, 1);
    __real_free(p);
}
