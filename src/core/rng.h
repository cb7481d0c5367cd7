/* Internal: a small, seeded, portable generator (splitmix64) so a seed gives the same
 * model on every CPU and compiler. */
#ifndef FZ_RNG_H
#define FZ_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct { uint64_t s; } fz_rng;

static inline void rng_seed(fz_rng *r, uint64_t seed) { r->s = seed; }

/* splitmix64: passes BigCrush, one 64-bit state word, trivially reproducible. */
static inline uint64_t rng_next(fz_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi), from the top 24 bits so every float is exactly representable. */
static inline float rng_uniform(fz_rng *r, float lo, float hi)
{
    float u = (float)(rng_next(r) >> 40) * (1.0f / 16777216.0f);
    return lo + (hi - lo) * u;
}

/* v[0..n) uniform in [lo, hi) from a generator seeded with `seed`: test and benchmark
 * data that the same seed makes again. */
static inline void rng_fill(float *v, size_t n, uint64_t seed, float lo, float hi)
{
    fz_rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        v[i] = rng_uniform(&r, lo, hi);
}

#endif
