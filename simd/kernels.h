/*
 * The kernel dispatch table: the only place the library reaches per-ISA code.
 *
 * kernels_init_for_flags() starts from the scalar reference kernels and takes each
 * ISA's constant table in turn while its CPU flag allows (dav1d style).  Every kernel
 * counts the FLOPs it executes into the fz_counter it is handed (one add per call, into
 * the slot of the calling OpenMP thread), so executed FLOPs are measured, not computed.
 *
 * Nothing here knows the thread team: the GEMM is handed its plan (fz_gemm_ctx) by the
 * caller.  The runtime keeps which table is in use (src/runtime/kernels_active.h) and
 * builds the plan from the team (src/runtime/exec.h).
 */
#ifndef FZ_SIMD_KERNELS_H
#define FZ_SIMD_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "freezebench.h"
#include "counter.h"
#include "elementwise.h"

/* Cache sizes in bytes (0 = not reported): what the runtime reports and the GEMM's
 * blocking (gemm/blocking.h) is derived from. */
typedef struct { size_t l1d, l2, l3; } fz_cache_sizes;

/* One GEMM with its epilogue, applied in this order where C is written:
 *   C = alpha·op(A)·op(B) + beta·C      (beta == 0: C is not read)
 *   C += bias (broadcast over rows)      if bias != NULL        (m·n FLOPs)
 *   C = max(C, 0)                        if relu                (m·n FLOPs)
 *   C = mask > 0 ? C : 0                 if mask != NULL        (m·n FLOPs)
 * The mask is an m×n matrix with leading dimension ldmask: the ReLU-backward mask is the
 * ReLU's own output, which is positive exactly where the gradient passes.
 *
 * After the epilogue, a tile hook (after_tile) may consume each finished tile of C while
 * it is still in the L1: the trainer applies the optimizer there (fused_update.h). */
typedef struct {
    /* Called once per finished block of C, rows [i, i + rows) × columns [j, j + cols),
     * on the thread that computed it, after its last K block and the epilogue; c points
     * at the block's first element, ldc as C's.  Blocks of one product never overlap and
     * together cover C once; calls run concurrently on a team.  It may read and rewrite
     * the block (nothing reads C after it within the product). */
    void (*fn)(void *ctx, float *c, size_t ldc, size_t i, size_t j, size_t rows,
               size_t cols);
    void *ctx;
    /* The hook is the block's only reader: nobody reads C after the product, so where
     * a tile needs no second K block the loop nest may hand the hook a scratch copy
     * (c, ldc its own) and never store the tile to C.  C's contents are then
     * unspecified. */
    bool consumes_c;
    /* Optional (NULL: none): the cache lines fn will touch for the block at (i, j),
     * rows × cols, as at most `max` addresses written to lines[], their count returned.
     * The loop nest asks for the next block's lines before each tile and has the
     * microkernel computing that tile fetch them one at a time across its k loop, so
     * that fn finds them cached.  Fetched by fn itself, in one burst as it starts, a
     * tile's dozens of lines from memory filled the core's miss buffers, and the GEMM's
     * own loads waited behind them (DESIGN.md §2 gives the measurement). */
    size_t (*lines_for)(void *ctx, size_t i, size_t j, size_t rows, size_t cols,
                        const void **lines, size_t max);
} fz_tile_hook;

typedef struct {
    fz_trans ta, tb;
    size_t m, n, k;
    float alpha;
    const float *a; size_t lda;
    const float *b; size_t ldb;
    float beta;
    float *c; size_t ldc;
    const float *bias;
    bool relu;
    const float *mask; size_t ldmask;
    const fz_tile_hook *after_tile;   /* NULL: none */
} fz_gemm_op;

/* What the caller decides for one GEMM (BLIS's context and runtime, in one): the cache
 * sizes the blocking is derived from, with the kernel's own MR×NR, and the threads. */
typedef struct {
    fz_cache_sizes caches;   /* per core L1d and L2, the group's L3; 0 = not reported */
    int threads;             /* at most this many (the product may use fewer); >= 1 */
    int groups;              /* L3 groups splitting N, each sharing one packed B;
                              * divides threads (1 otherwise) */
    /* C's stores always go through the caches: the GEMM never streams them past (gemm.c,
     * c_worth_streaming).  Set by the team where streaming loses on the CPU
     * (cpu_streaming_stores_pay) or FREEZEBENCH_STREAM_C=0 asks; false (the zeroed
     * default) lets the GEMM stream where C is written once and outgrows the L2. */
    bool cached_c;
    /* Called by the calling thread (the team's thread 0) between blocks of a long
     * product, so that work the caller started before it (a non-blocking MPI collective,
     * which Open MPI advances only inside MPI calls on that thread) keeps moving while
     * the product runs.  NULL: nothing is called.  It must be quick and must not touch
     * the product's operands. */
    void (*progress)(void *arg);
    void *progress_arg;
} fz_gemm_ctx;

struct fz_sgemm_kernel;

/* The largest magnitudes an SGD update wrote, of p and of the momentum buffer (0 without
 * one), as abs_max finds them: the optimizer keeps them to bound the next update. */
typedef struct { float p, buf; } sgd_maxima;

typedef struct {
    const char *isa;   /* "scalar", "avx2", "avx512", "neon" */

    /* The whole GEMM, epilogue included, with the caller's plan; ctx NULL: one thread,
     * default cache sizes.  Counts 2·m·n·k plus m·n per epilogue stage. */
    void (*sgemm_ctx)(const fz_gemm_op *op, const fz_gemm_ctx *ctx, fz_counter *flops);
    /* The GEMM's microkernel, packers and tile (gemm.h); NULL for the scalar reference,
     * which has none. */
    const struct fz_sgemm_kernel *microkernel;

    /* y = max(x, 0), n elements; y may alias x.  Counts n. */
    void (*relu_fwd)(float *y, const float *x, size_t n, fz_counter *flops);
    /* dx = y > 0 ? dy : 0, where y is the ReLU's output; dx may alias dy.  Counts n. */
    void (*relu_bwd)(float *dx, const float *dy, const float *y, size_t n, fz_counter *flops);
    /* db[j] = sum_i dy[i·ld + j] for an m×n matrix (bias gradient).  Counts m·n. */
    void (*colsum)(float *db, const float *dy, size_t m, size_t n, size_t ld,
                   fz_counter *flops);
    /* SGD as torch.optim.SGD (dampening 0, no nesterov) on n elements:
     *   g' = g + wd·p;  buf = momentum·buf + g';  p -= lr·buf
     * buf is NULL when momentum == 0 (then p -= lr·g').  Counts 2n, +2n with momentum,
     * +2n with weight decay.  Returns the largest magnitude among the values of p and of
     * buf it wrote, as abs_max finds it (not finite where one is not): found as they are
     * stored, so keeping them costs no pass of its own. */
    sgd_maxima (*sgd)(float *p, const float *g, float *buf, size_t n,
                      float lr, float momentum, float wd, fz_counter *flops);
    /* sgd on a rows × cols block: p's and buf's rows ldp floats apart, g's ldg.  The
     * same update, bitwise, element by element; the maxima of the whole block. */
    sgd_maxima (*sgd_rows)(float *p, size_t ldp, const float *g, size_t ldg, float *buf,
                           size_t rows, size_t cols, float lr, float momentum, float wd,
                           fz_counter *flops);
    /* The same update, bitwise, without the maxima: for an update too small to bound
     * (the seed network's 6 floats), where reducing them cost more than the update. */
    void (*sgd_plain)(float *p, const float *g, float *buf, size_t n,
                      float lr, float momentum, float wd, fz_counter *flops);
    /* AdamW as torch.optim.AdamW on n elements, with the step's scalars s
     * (elementwise.h: adamw_elem, each operation in torch's order): p, the first moment
     * m and the second v are updated in place.  Counts adamw_flops.  Returns the largest
     * magnitude of p and of v it wrote (in .p and .buf), not finite where a value is
     * not: v finite means every g·g was, so g and m are finite too. */
    sgd_maxima (*adamw)(float *p, const float *g, float *m, float *v, size_t n,
                        const adamw_step *s, fz_counter *flops);
    /* The largest |x[i]| of n floats (0 for n == 0) when every one is finite; otherwise
     * not finite (+Inf, or a NaN where one is NaN).  Taken as the integer maximum of the
     * magnitudes' bits (elementwise.h: magnitude_bits), so it is exact, the same in every
     * order, and a NaN is never dropped as a float max would drop it.  Counts nothing. */
    float (*abs_max)(const float *x, size_t n);
    /* dst = src, n floats, bitwise, with stores that bypass the caches where the ISA has
     * them: for a copy written at every step and read back almost never (the
     * optimizer's copy aside, for an exact undo), which would otherwise read each of
     * dst's lines in before overwriting it and evict live data.  The stores are fenced
     * before it returns.  Copies shorter than FZ_STREAM_MIN_FLOATS (elementwise.h) go
     * through the caches, unfenced.  dst and src do not overlap.  Counts nothing. */
    void (*copy_aside)(float *dst, const float *src, size_t n);
} fz_kernels;

/* op(B) of a GEMM packed once, for a B that stays the same over many GEMMs (a frozen
 * layer's weight), defined in gemm/prepack.c.  The handle records the kernel, the KC
 * and the operand (pointer, ld, transposition, k×n) it was packed for; a GEMM it does
 * not fit packs on the fly instead, so a stale handle costs time, never a wrong
 * layout.  It holds a copy: when B's contents change, pack again. */
typedef struct fz_sgemm_packed fz_sgemm_packed;

/* Packs op's B (tb, b, ldb, k, n, and m, which with n and ctx's caches sets the K
 * blocking; the rest of op is ignored) for microkernel `kern` with the blocking of
 * `ctx` (NULL: default caches).  NULL where kern is NULL (the scalar reference packs
 * nothing), k or n is 0, or memory runs out. */
fz_sgemm_packed *sgemm_prepack_b(const struct fz_sgemm_kernel *kern,
                                 const fz_gemm_op *op, const fz_gemm_ctx *ctx);
void sgemm_packed_free(fz_sgemm_packed *pb);
/* Bytes the handle holds (its panels, padding included); 0 for NULL. */
size_t sgemm_packed_bytes(const fz_sgemm_packed *pb);
/* Whether pb holds op's B as `kern` with ctx's blocking for op's shape would pack it. */
bool sgemm_packed_fits(const fz_sgemm_packed *pb, const struct fz_sgemm_kernel *kern,
                       const fz_gemm_op *op, const fz_gemm_ctx *ctx);
/* Whether the GEMM of op with kern and ctx's plan reads a pre-packed B at all: not
 * where the product is empty, nor on the small path's transposed form (a tall, narrow
 * C such as the seed network's 64×5), which packs A instead.  Where it does not, a pack
 * would be memory and checks for nothing. */
bool sgemm_reads_packed_b(const struct fz_sgemm_kernel *kern, const fz_gemm_op *op,
                          const fz_gemm_ctx *ctx);
/* The GEMM of kern's loop nest with ctx's plan, reading B from pb and packing none of
 * it (nor waiting on the barriers that share a packed block) where pb fits, otherwise
 * packing on the fly; bitwise the same result and FLOP count either way.  kern NULL
 * runs the scalar reference. */
void sgemm_run_prepacked(const struct fz_sgemm_kernel *kern, const fz_gemm_op *op,
                         const fz_sgemm_packed *pb, const fz_gemm_ctx *ctx,
                         fz_counter *flops);

/* CPU features a table may use, as cpu_flags() reports them for this CPU and OS. */
enum {
    FZ_CPU_AVX2   = 1u << 0,   /* AVX2 and FMA, YMM state saved by the OS */
    FZ_CPU_AVX512 = 1u << 1,   /* AVX-512 F/VL/BW/DQ, opmask and ZMM state saved */
    FZ_CPU_NEON   = 1u << 2,   /* Advanced SIMD */
};
unsigned cpu_flags(void);

/* The table the features in `flags` allow in this build: the scalar reference, upgraded
 * ISA by ISA up to the first one whose flag is missing.  A pure function of `flags`, so
 * tests choose a table without depending on this CPU or on global state. */
fz_kernels kernels_init_for_flags(unsigned flags);

/* The table this CPU runs best: that of the widest ISA cpu_flags() allows.  Never
 * NULL. */
const fz_kernels *kernels_best(void);

/* The table of one ISA by name, or NULL if this build or this CPU cannot run it.  Used
 * by tests and benchmarks to run every available ISA side by side. */
const fz_kernels *kernels_for(const char *isa);

/* The scalar reference table: always available; the oracle of the tests. */
const fz_kernels *kernels_scalar(void);

#endif /* FZ_SIMD_KERNELS_H */
