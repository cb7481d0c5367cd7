/*
 * The NEON table: the element-wise kernels of elementwise_tmpl.h over 4-float vectors,
 * their tails lane by lane (NEON has no masked loads or stores), and the GEMM through the
 * shared loop nest with the 8×12 microkernel.
 */
#include <arm_neon.h>
#include <string.h>

#include "kernels.h"
#include "cpu.h"
#include "gemm.h"

#define ISA_NAME(kernel) kernel##_neon
#define VL 4
typedef float32x4_t vf;

/* The first count (< 4) lanes, one lane at a time: through a buffer (narrow stores, then
 * a wider load) the load could not be forwarded from the stores. */
static inline vf vf_load_part(const float *p, size_t count)
{
    vf v = vdupq_n_f32(0.0f);
    v = vld1q_lane_f32(p, v, 0);
    if (count > 1)
        v = vld1q_lane_f32(p + 1, v, 1);
    if (count > 2)
        v = vld1q_lane_f32(p + 2, v, 2);
    return v;
}

static inline void vf_store_part(float *p, vf v, size_t count)
{
    vst1q_lane_f32(p, v, 0);
    if (count > 1)
        vst1q_lane_f32(p + 1, v, 1);
    if (count > 2)
        vst1q_lane_f32(p + 2, v, 2);
}

/* Correctly rounded, as sqrtf: the vector AdamW is bitwise the scalar one. */
static inline vf vf_sqrt(vf x) { return vsqrtq_f32(x); }

#define vu_max(a, b) ((vf_ubits)vmaxq_u32((uint32x4_t)(a), (uint32x4_t)(b)))
#define vu_lanes_max(v) ((uint32_t)vmaxvq_u32((uint32x4_t)(v)))

#include "elementwise_tmpl.h"

/* NEON has no non-temporal store in C (only STNP in assembly, a hint cores may ignore):
 * a plain copy. */
static void copy_aside_neon(float *dst, const float *src, size_t n)
{
    memcpy(dst, src, n * sizeof(float));
}

FZ_ISA_TABLE(neon, fz_sgemm_neon_8x12);
