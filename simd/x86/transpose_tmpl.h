/*
 * Internal: the in-lane stage of the x86 register transposes, written once for the AVX2
 * and AVX-512 GEMM files.  Within each 128-bit lane both widths transpose alike (unpack
 * pairs of rows, then shuffle pairs of pairs); only the moves across lanes differ, and
 * those stay in each file.
 *
 * The including file defines its width's vector type `xvec` and XV(op), the intrinsic
 * of that width (_mm256_##op or _mm512_##op), before including this.
 */
#ifndef FZ_SIMD_X86_TRANSPOSE_TMPL_H
#define FZ_SIMD_X86_TRANSPOSE_TMPL_H

/* Rows r[0..3] to u[0..3]: in every 128-bit lane L, u[s] holds column 4L + s of the four
 * rows (the 4×4 block of that lane, transposed). */
static inline __attribute__((always_inline)) void
transpose4x4_in_lanes(const xvec r[4], xvec u[4])
{
    xvec t0 = XV(unpacklo_ps)(r[0], r[1]), t1 = XV(unpackhi_ps)(r[0], r[1]);
    xvec t2 = XV(unpacklo_ps)(r[2], r[3]), t3 = XV(unpackhi_ps)(r[2], r[3]);
    u[0] = XV(shuffle_ps)(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    u[1] = XV(shuffle_ps)(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    u[2] = XV(shuffle_ps)(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    u[3] = XV(shuffle_ps)(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
}

#endif
