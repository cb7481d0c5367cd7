/*
 * Internal: the portable packing loop that every ISA's packers start from.  Included by
 * the per-ISA files, so it is compiled with their flags and W as a constant (the lane
 * copy of a contiguous source then vectorises); the ISAs add fast paths where it is slow.
 */
#ifndef FZ_SIMD_PACK_H
#define FZ_SIMD_PACK_H

#include <stddef.h>

/* Depth steps the packers of narrow A panels from a transposed A (the wgrad's dYᵀ) read
 * across all panels before the next ones: its rows are a layer's width apart, 4 KiB at
 * 1024, so a panel's lines share one L1 set; 8 rows are an 8-way L1's ways. */
#define NARROW_PACK_STEPS 8

/* The narrow packers copy 8 floats a depth step whatever the panel's width W (<= 8):
 * the panels, of `lanes` lanes in all, whose 8-float read stays inside the lanes, so
 * that it needs no mask.  Panel P's read starts at lane P·W. */
static inline size_t narrow_panels_read_whole(size_t lanes, size_t W)
{
    size_t panels = (lanes + W - 1) / W;
    size_t whole = lanes >= 8 ? (lanes - 8) / W + 1 : 0;
    return whole < panels ? whole : panels;
}

/* Lanes [0, lanes) of depth k, element (l, p) at src[l·ls + p·ks], into panels W lanes
 * wide: dst[(l / W)·W·k + p·W + l % W]; the last panel's missing lanes are zero. */
static inline void pack_panels(float *dst, const float *src, size_t ls, size_t ks,
                               size_t lanes, size_t k, size_t W)
{
    for (size_t l0 = 0; l0 < lanes; l0 += W, dst += W * k) {
        size_t w = lanes - l0 < W ? lanes - l0 : W;
        const float *s = src + l0 * ls;
        if (ls == 1) {
            /* Lanes contiguous: each depth step is a short copy. */
            for (size_t p = 0; p < k; p++) {
                float *d = dst + p * W;
                const float *sp = s + p * ks;
                for (size_t l = 0; l < w; l++)
                    d[l] = sp[l];
                for (size_t l = w; l < W; l++)
                    d[l] = 0.0f;
            }
        } else {
            /* Depth contiguous (a transpose): read along p, lane by lane. */
            for (size_t l = 0; l < w; l++)
                for (size_t p = 0; p < k; p++)
                    dst[p * W + l] = s[l * ls + p * ks];
            /* The padding, step by step: a contiguous run each, which vectorises. */
            for (size_t p = 0; p < k && w < W; p++)
                for (size_t l = w; l < W; l++)
                    dst[p * W + l] = 0.0f;
        }
    }
}

/* pack_a_<isa> and pack_b_<isa> (fz_sgemm_pack) for a kernel whose A and B panels come
 * from one panel packer `panels` with pack_panels' signature: A's panels MR lanes
 * wide, B's NR, the including file's tile, so each packer inlines `panels` with its width
 * as a constant. */
#define FZ_PACKERS_FROM_PANELS(isa, panels)                                                 \
    static void pack_a_##isa(float *dst, const float *src, size_t ls, size_t ks,            \
                             size_t lanes, size_t k)                                        \
    {                                                                                       \
        panels(dst, src, ls, ks, lanes, k, MR);                                             \
    }                                                                                       \
    static void pack_b_##isa(float *dst, const float *src, size_t ls, size_t ks,            \
                             size_t lanes, size_t k)                                        \
    {                                                                                       \
        panels(dst, src, ls, ks, lanes, k, NR);                                             \
    }

#endif
