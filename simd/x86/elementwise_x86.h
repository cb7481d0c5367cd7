/*
 * Internal: elementwise_tmpl.h's primitives for either x86 vector width, then the
 * template itself.  avx2.c and avx512.c each define ISA_NAME and X86_VEC_BITS (256 or
 * 512) and include this, as dav1d's templates take BITDEPTH: what the widths share (the
 * ReLU's max, the streaming store) is written once with XV(op), the intrinsic of the
 * width; what differs is how the tails load and store the first lanes of a vector.
 */
#include <immintrin.h>

#if X86_VEC_BITS == 512
#define VL 16
typedef __m512 vf;
typedef __m512i XVI;
#define XV(op) _mm512_##op

/* Tails under an opmask: masked loads never fault on masked-off lanes, masked stores
 * never write them. */
static inline vf vf_load_part(const float *p, size_t count)
{
    return _mm512_maskz_loadu_ps((__mmask16)((1u << count) - 1), p);
}

static inline void vf_store_part(float *p, vf v, size_t count)
{
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << count) - 1), v);
}

#elif X86_VEC_BITS == 256
#include "avx2_partial.h"
#define VL 8
typedef __m256 vf;
typedef __m256i XVI;
#define XV(op) _mm256_##op
/* Tails by masked loads, stored in pieces (avx2_partial.h says why). */
#define vf_load_part avx2_load_first
#define vf_store_part avx2_store_first

#else
#error "X86_VEC_BITS is 256 or 512"
#endif

/* max_ps returns its second operand where either is NaN: max_ps(NaN, 0) is 0, and
 * max_ps(-0, 0) is +0, as x > 0 ? x : 0. */
#define VF_HAS_RELU 1
static inline vf vf_relu(vf x)
{
    return XV(max_ps)(x, XV(setzero_ps)());
}

/* Correctly rounded, as sqrtf: the vector AdamW is bitwise the scalar one. */
static inline vf vf_sqrt(vf x) { return XV(sqrt_ps)(x); }

/* Unsigned 32-bit lanes (AVX2 and AVX-512F both have it). */
#define vu_max(a, b) ((vf_ubits)XV(max_epu32)((XVI)(a), (XVI)(b)))

/* The largest unsigned lane: halves folded onto each other down to one 128-bit vector,
 * then its four lanes by two shuffles. */
static inline uint32_t x86_lanes_max_epu32(XVI v)
{
#if X86_VEC_BITS == 512
    __m256i h = _mm256_max_epu32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
#else
    __m256i h = v;
#endif
    __m128i q = _mm_max_epu32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    q = _mm_max_epu32(q, _mm_shuffle_epi32(q, _MM_SHUFFLE(1, 0, 3, 2)));
    q = _mm_max_epu32(q, _mm_shuffle_epi32(q, _MM_SHUFFLE(2, 3, 0, 1)));
    return (uint32_t)_mm_cvtsi128_si32(q);
}
#define vu_lanes_max(v) x86_lanes_max_epu32((XVI)(v))

#define VF_STREAM 1
static inline void vf_stream(float *p, vf v) { XV(stream_ps)(p, v); }
static inline void vf_stream_fence(void) { _mm_sfence(); }

#include "elementwise_tmpl.h"
