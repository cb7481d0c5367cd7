/*
 * Allocation-failure injection for tests linked with
 *   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc,--wrap=free
 * Every allocation the library makes goes through these wrappers; the n-th one can be
 * made to fail, and the live count tells whether a failed call leaked.
 */
#ifndef FZ_TEST_ALLOC_FAIL_H
#define FZ_TEST_ALLOC_FAIL_H

#include <stddef.h>

/* Make the allocation with index n (0-based, counted from now) fail; -1: none fails. */
void alloc_fail_at(long n);
/* Allocations attempted since the last alloc_fail_at. */
long alloc_attempts(void);
/* Blocks allocated through the wrappers and not yet freed. */
long alloc_live(void);
/* Whether the injected failure has happened since the last alloc_fail_at. */
int alloc_failed(void);

#endif
