/*
 * Internal: binding the calling thread to one PU (hwloc_set_cpubind with
 * HWLOC_CPUBIND_THREAD).  The team opens one binder when binding is first asked for and
 * binds each of its threads from inside a parallel region when the team is (re)built.
 */
#ifndef FZ_BINDING_H
#define FZ_BINDING_H

#include "freezebench.h"

typedef struct fz_binder fz_binder;

/* NULL (and a message) when hwloc is not built in or cannot load this machine.  Keeps
 * the calling thread's affinity as the one binder_unbind_self restores. */
fz_binder *binder_open(void);
void       binder_close(fz_binder *b);

/* Binds the calling thread to the PU the OS calls `os_index`.  Thread-safe. */
fz_status  binder_bind_self(fz_binder *b, int os_index);

/* Gives the calling thread the affinity the opening thread had.  Thread-safe. */
fz_status  binder_unbind_self(fz_binder *b);

#endif /* FZ_BINDING_H */
