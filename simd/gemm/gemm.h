/*
 * Internal: the GEMM loop nest (gemm.c, written once) and what each ISA plugs into it —
 * a register-blocked microkernel and two packers.  The block sizes come from the
 * kernel's own MR×NR tile and the cache sizes the caller passes (blocking.h), so a
 * kernel with another tile gets its own blocking from the same caches.
 *
 * Notation: op(A) is m×k, op(B) is k×n.  The packed A block is a run of MR-row panels,
 * each k deep with MR consecutive floats per k step; the packed B block is a run of
 * NR-column panels, NR consecutive floats per k step.  Panels are zero padded to MR/NR,
 * except that a kernel whose microkernel skips B's vectors past nr may leave those
 * unwritten (gemm_avx512_tile.h).
 */
#ifndef FZ_SIMD_GEMM_H
#define FZ_SIMD_GEMM_H

#include <stdbool.h>
#include <stddef.h>

#include "blocking.h"
#include "kernels.h"
#include "cpu.h"

/* What the microkernel does where it writes its tile of C. */
typedef struct {
    float alpha, beta;                  /* C = alpha·AB + beta·C; beta == 0: C not read */
    const float *bias;                  /* the tile's first column of the bias, or NULL */
    bool relu;
    const float *mask; size_t ldmask;   /* the tile's corner of the mask, or NULL */
    /* The tile holds Cᵀ: its element (i, j) is C's (j, i), written at c[j·ldc + i], and
     * bias and mask are in C's coordinates (bias by C's column, i.e. the tile's row).
     * Only for kernels with stores_transposed. */
    bool transposed;
    /* A is a packed panel (rsa 1, csa MR, zero padded to MR rows), so the microkernel may
     * read all MR rows; otherwise A is the caller's matrix and rows i >= mr must not be
     * read.  Said explicitly: strides that merely look packed are no proof. */
    bool a_packed;
    /* C is written once (beta 0, a single K block) and is too big to stay in the L2 for
     * whoever reads it next: the microkernel may store the tile past the caches, which
     * saves reading each line of C in before it is overwritten.  Only set for kernels
     * with a fence. */
    bool stream;
    /* Nonzero: B is not a packed panel but the caller's op(B) itself, element (p, j) at
     * b[p·ldb + j], with A a packed panel (a_packed).  Only for kernels with
     * reads_b_in_place (the short path, gemm.c) or a nonzero b_in_place_rows (the
     * blocked path's short products). */
    size_t ldb;
    /* Cache lines to fetch while this tile is computed, spread across its k loop
     * (prefetch_spread, below), for whoever reads them after the tile: a tile hook's
     * operands (fz_tile_hook.lines_for).  A hint: results never depend on it, and a
     * kernel may ignore it (the scalar one does). */
    const void *const *prefetch;
    size_t n_prefetch;
} fz_tile_epilogue;

/* The microkernels' side of fz_tile_epilogue.prefetch: one line every `every` k steps
 * from the first, the rest (where k is shorter than the list) after the loop.  One at a
 * time, a few in flight, never the burst that would stall the tile's own loads. */
typedef struct {
    const void *const *line;
    size_t left, next, every;
} prefetch_spread;

static inline prefetch_spread prefetch_spread_start(const fz_tile_epilogue *ep, size_t k)
{
    size_t n = ep->n_prefetch;
    size_t every = n && k > n ? k / n : 1;
    return (prefetch_spread){ ep->prefetch, n, n ? 0 : (size_t)-1, every };
}

/* Called with every k step p of the loop, in order. */
static inline __attribute__((always_inline)) void prefetch_spread_step(prefetch_spread *s,
                                                                       size_t p)
{
    if (p == s->next) {
        __builtin_prefetch(*s->line++, 1, 3);
        s->next = --s->left ? s->next + s->every : (size_t)-1;
    }
}

static inline void prefetch_spread_finish(prefetch_spread *s)
{
    for (; s->left; s->left--)
        __builtin_prefetch(*s->line++, 1, 3);
}

/* The tile C[0..mr)×[0..nr) (mr <= MR, nr <= NR) becomes the epilogue of
 *   sum over p < k of  a[i·rsa + p·csa] · b[p·NR + j].
 * A is either a packed panel (ep->a_packed: rsa 1, csa MR) or the caller's matrix itself
 * (the small path, and the blocked path when C is one panel wide).
 * B is always a packed panel, 64-byte aligned.  With ep->transposed the tile is Cᵀ
 * (the small path passes op(B)ᵀ as A and packed op(A)ᵀ as B). */
typedef void fz_sgemm_ukr(size_t k, const float *a, size_t rsa, size_t csa,
                          const float *b, float *c, size_t ldc, size_t mr, size_t nr,
                          const fz_tile_epilogue *ep);

/* The rows a microkernel computes for a tile of mr real rows from a packed A panel,
 * which is zero padded to the tile's max_rows: 2 or 4 where mr fits them, else
 * max_rows.  Computing the padding made the batch-64 products' last tile (64 = 10·6 +
 * 4) cost as much as a full one; two variants, not one per row count, keep the kernels
 * small.  The rows computed never change a result: each row is its own FMA chains. */
static inline int packed_edge_rows(size_t mr, int max_rows)
{
    return max_rows > 2 && mr <= 2 ? 2 : max_rows > 4 && mr <= 4 ? 4 : max_rows;
}

/* Whether rows `ld` floats apart are a multiple of 2 KiB apart: their lines then fall
 * into one or two of the L1's sets (64-byte lines, 4 KiB a way), whose 8 ways a tile's
 * rows of A read in place already fill.  The loop nest keeps the narrow tile off such an
 * A (gemm.c, narrow_rows_fit) and the AVX2 tile fetches no line of it ahead. */
static inline bool rows_share_l1_sets(size_t ld)
{
    return ld * sizeof(float) % 2048 == 0;
}

/* Packs `lanes` lanes of depth k into panels of the kernel's width (MR for A, NR for B),
 * zero padding the last panel: element (lane l, depth p) is src[l·ls + p·ks], and lands
 * at dst[(l / W)·W·k + p·W + l % W]. */
typedef void fz_sgemm_pack(float *dst, const float *src, size_t ls, size_t ks,
                           size_t lanes, size_t k);

typedef struct fz_sgemm_kernel {
    const char *name;       /* type, ISA and tile: "sgemm_avx2_6x16" */
    size_t mr, nr;          /* microkernel tile */
    fz_sgemm_ukr *ukr;
    fz_sgemm_pack *pack_a, *pack_b;
    bool stores_transposed; /* the microkernel honours fz_tile_epilogue.transposed */
    /* Orders the stores a streamed tile (fz_tile_epilogue.stream) left weakly ordered;
     * the loop nest calls it on each thread after its last tile, before the team joins.
     * NULL for a kernel that never streams. */
    void (*fence)(void);
    /* The kernel to run instead where C is at most narrow->nr columns wide (its tile
     * keeps more independent FMA chains there: gemm_avx512_narrow.c), or NULL.
     * sgemm_kernel_for_op makes the choice; a narrow kernel has none of its own. */
    const struct fz_sgemm_kernel *narrow;
    /* The kernel to run instead where C has at most few_rows->mr rows and op(B)'s rows
     * are contiguous: it reads B where it lies (gemm_avx512_short.c), or NULL. */
    const struct fz_sgemm_kernel *few_rows;
    /* The kernel to run instead for a product on the small path whose C is 2 to
     * tiny->nr columns wide (the seed network's 64×5×10 forward and 1×5×64 wgrad), or
     * NULL: a narrower tile wastes fewer lanes and transposes less there (gemm.c,
     * sgemm_kernel_for_op).  A one-column C keeps kern's own transposed form. */
    const struct fz_sgemm_kernel *tiny;
    bool reads_b_in_place;   /* the microkernel honours fz_tile_epilogue.ldb */
    /* Up to this many rows of C (0: never), the blocked path has the microkernel read
     * an untransposed op(B) where it lies (fz_tile_epilogue.ldb, with A packed) instead
     * of packing it: each packed element of B would feed only that many rows of C (the
     * dgrad dY·W at a training batch), and its rows, 4 lines a k step a row apart, are a
     * stride the L2's prefetcher follows, up to 8 KiB apart (gemm.c,
     * B_IN_PLACE_MAX_STRIDE).  A pre-packed B (prepack.c) is still read where one is
     * given.  Measured: DESIGN.md, "Tuned constants". */
    size_t b_in_place_rows;
} fz_sgemm_kernel;

/* The whole GEMM of `op` with kernel `kern` and the caller's plan (ctx NULL: one thread,
 * default cache sizes): chooses the small (unpacked A, one thread) or the blocked
 * parallel path, and counts 2·m·n·k plus m·n per epilogue stage. */
void sgemm_run(const fz_sgemm_kernel *kern, const fz_gemm_op *op, const fz_gemm_ctx *ctx,
               fz_counter *flops);

/* The kernel that runs `op` for the caller's kernel `kern`: kern->narrow where C is at
 * most its NR columns wide (unless kern's own small transposed form takes the product),
 * kern->few_rows where C has at most its MR rows and op(B) is not transposed (gemm.c:
 * the short path), kern otherwise.  sgemm_run, the prepacked B (prepack.c) and
 * sgemm_reads_packed_b all go through it, so a B is packed by the kernel that reads it. */
const fz_sgemm_kernel *sgemm_kernel_for_op(const fz_sgemm_kernel *kern, const fz_gemm_op *op,
                                           const fz_gemm_ctx *ctx);

/* sgemm_run with op(B) already packed at bpre (NULL: packed on the fly) by `kern`, the
 * kernel that runs (sgemm_kernel_for_op's choice: this function chooses none), as
 * prepack.c lays it out: for the K block starting at pc (blocks of the KC of
 * sgemm_blocking_for_op(kern, ctx, op)), round_up(n, NR)·kcur floats at
 * bpre + pc·round_up(n, NR), panel j (NR columns from j) at + j·kcur — exactly the
 * panels the loop nest would pack, so the result is bitwise the same.  The caller
 * guarantees the KC (prepack.c checks it). */
void sgemm_run_with_b(const fz_sgemm_kernel *kern, const fz_gemm_op *op,
                      const fz_gemm_ctx *ctx, const float *bpre, fz_counter *flops);

/* The blocking of `kern` with `ctx`: derived from ctx's cache sizes (defaults where ctx
 * is NULL or a size is 0) for kern's MR×NR tile.  What sgemm_run uses for a product
 * whose C fits in half the L2; sgemm_blocking_for gives any product's. */
fz_blocking sgemm_blocking(const fz_sgemm_kernel *kern, const fz_gemm_ctx *ctx);
/* The blocking sgemm_run uses for a product whose C is m×n (blocking.h:
 * blocking_for_product). */
fz_blocking sgemm_blocking_for(const fz_sgemm_kernel *kern, const fz_gemm_ctx *ctx,
                               size_t m, size_t n);
/* The blocking sgemm_run (with `kern`, sgemm_kernel_for_op's choice) uses for op:
 * sgemm_blocking_for's, except that a transposed A the microkernel reads where it lies
 * (C at most one tile wide) keeps L1-sized K blocks (gemm.c says why).  The prepacked B
 * is laid out by it. */
fz_blocking sgemm_blocking_for_op(const fz_sgemm_kernel *kern, const fz_gemm_ctx *ctx,
                                  const fz_gemm_op *op);

/* How many groups of the product's `threads` split N (each group's threads split M and
 * share one packed B): a divisor of threads that is a multiple of the team's L3 groups
 * `l3`, chosen by a cost model of the busiest thread (gemm.c).  packs_a / packs_b: whether
 * this product packs A (see a_worth_packing) and B (no pre-packed B).  Exposed for the
 * tests, which check that their shapes reach both layouts. */
int sgemm_split_groups(const fz_sgemm_kernel *kern, const fz_gemm_op *op, int threads,
                       int l3, bool packs_a, bool packs_b);

/* Whether the blocked path, given no pre-packed B, has `kern` read op(B) where it lies
 * rather than pack it (gemm.c: b_worth_packing, B_IN_PLACE_MAX_STRIDE).  Only the rule:
 * the caller has chosen the blocked path and the kernel.  Exposed for the tests. */
bool sgemm_blocked_reads_b_in_place(const fz_sgemm_kernel *kern, const fz_gemm_op *op);

/* Whether sgemm_run would let `kern` stream C's stores for `op` with `ctx`
 * (fz_tile_epilogue.stream: beta 0, one K block, C larger than the L2, a kernel with a
 * fence).  Exposed for the tests, which check that their shapes stream. */
bool sgemm_streams_c(const fz_sgemm_kernel *kern, const fz_gemm_op *op,
                     const fz_gemm_ctx *ctx);

/* The GEMM kernel of an ISA ("avx2", "avx512", "neon"), or NULL where this build or CPU
 * lacks it (or for "scalar", which has no microkernel).  For tests and benchmarks. */
const fz_sgemm_kernel *sgemm_kernel_for(const char *isa);

#if FZ_HAVE_AVX2
extern const fz_sgemm_kernel fz_sgemm_avx2_6x16;
#endif
#if FZ_HAVE_AVX512
extern const fz_sgemm_kernel fz_sgemm_avx512;
extern const fz_sgemm_kernel fz_sgemm_avx512_narrow;
extern const fz_sgemm_kernel fz_sgemm_avx512_short;
#endif
#if FZ_HAVE_NEON
extern const fz_sgemm_kernel fz_sgemm_neon_8x12;
#endif

/* The GEMM kernel `var` of an ISA file: its microkernel `ukr`, its packers pack_a_<isa>
 * and pack_b_<isa>, and the file's MR×NR tile, written once for every ISA file; the
 * remaining arguments are designated initializers of what differs by ISA
 * (.stores_transposed, .fence, .narrow, .few_rows, .reads_b_in_place, .b_in_place_rows). */
#define FZ_SGEMM_KERNEL(var, kernel_name, ukr_fn, isa, ...)                                 \
    const fz_sgemm_kernel var = {                                                          \
        .name = kernel_name, .mr = MR, .nr = NR, .ukr = ukr_fn,                            \
        .pack_a = pack_a_##isa, .pack_b = pack_b_##isa, __VA_ARGS__                        \
    }

/* The dispatch table of the ISA `name` whose element-wise kernels are named relu_fwd_<name>,
 * relu_bwd_<name>, colsum_<name>, sgd_<name>, adamw_<name>, abs_max_<name> and copy_aside_<name> and
 * whose GEMM is this loop nest with microkernel `kernel`: the two GEMM entry points and
 * the table, written once for every ISA file.  The table is constant data, so nothing in
 * the ISA's file (compiled with its -m flags) runs before the dispatcher has checked the
 * CPU (simd/cpu.h). */
#define FZ_ISA_TABLE(name, kernel)                                                         \
    static void sgemm_ctx_##name(const fz_gemm_op *op, const fz_gemm_ctx *ctx,             \
                                fz_counter *flops)                                         \
    {                                                                                      \
        sgemm_run(&(kernel), op, ctx, flops);                                           \
    }                                                                                      \
    const fz_kernels fz_kernels_##name##_table = {                                         \
        .isa = #name, .sgemm_ctx = sgemm_ctx_##name,                                      \
        .microkernel = &(kernel), .relu_fwd = relu_fwd_##name, .relu_bwd = relu_bwd_##name, \
        .colsum = colsum_##name, .sgd = sgd_##name, .copy_aside = copy_aside_##name,       \
        .abs_max = abs_max_##name, .sgd_plain = sgd_plain_##name,                          \
        .adamw = adamw_##name, .sgd_rows = sgd_rows_##name,                                \
    }

#endif /* FZ_SIMD_GEMM_H */
