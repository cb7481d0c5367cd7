/* Internal: the one clock every phase time and benchmark reads. */
#ifndef FZ_CLOCK_H
#define FZ_CLOCK_H

#include <time.h>

/* Seconds on CLOCK_MONOTONIC: only differences mean anything, and they are immune to
 * wall-clock steps (NTP, the user) during a measurement. */
static inline double clock_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif /* FZ_CLOCK_H */
