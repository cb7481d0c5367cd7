/*
 * The GEMM loop nest, written once for every ISA: it reaches the ISA only through the
 * kernel's microkernel and packers, so this file is compiled without any -m flag.
 *
 * The caller hands in its plan (fz_gemm_ctx: cache sizes and threads); the blocking is
 * derived from those caches for the kernel's own tile, so the loop nest needs nothing
 * from the thread runtime and any kernel gets blocking that fits its tile.
 *
 * Blocked path (Goto/BLIS):  NC loop (split among groups of threads: at least the
 * plan's L3 groups, more where the product's shape makes that cheaper, see
 * sgemm_split_groups) → KC loop, pack a KC×NC block of B shared by the group → MC
 * loop (the group's threads split M), pack an MC×KC block of A per thread → NR loop →
 * MR loop → microkernel.  K is never split and every C element is summed over k in
 * the same order whatever the thread count or row split, so results are bitwise
 * identical for any number of threads.
 *
 * Small path: for tiny problems (the seed network's 64×10×5) packing A and starting a
 * team cost more than the product itself, so one thread packs B into a stack buffer
 * and the microkernel reads A where it lies.  A tall, narrow product (the seed's 64×5
 * and 64×1 layers) would fill a few of each tile's NR lanes and pay a tile's overhead
 * every MR rows; where the kernel can store a tile transposed it is computed as
 * Cᵀ = op(B)ᵀ·op(A)ᵀ, C's rows along the lanes.  Each element is the same chain of
 * FMAs over k either way, so the result is bitwise the same.
 */
#include <stdint.h>
#include <stdlib.h>

#include "gemm.h"
#include "error.h"
#include "split.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Packed B of the small path lives on the stack: at most this many floats (16 KiB). */
#define SMALL_B_FLOATS 4096
/* m·n·k at or below which the small path runs (about half a MFLOP). */
#define SMALL_MNK ((uint64_t)1 << 18)
/* m·n·k below which the blocked path stays on one thread: a team costs microseconds. */
#define PARALLEL_MNK ((uint64_t)1 << 21)

static size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }
static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

fz_blocking sgemm_blocking(const fz_sgemm_kernel *kern, const fz_gemm_ctx *ctx)
{
    fz_cache_sizes none = { 0, 0, 0 };
    return blocking_from_caches(ctx ? ctx->caches : none, kern->mr, kern->nr,
                                sizeof(float));
}

fz_blocking sgemm_blocking_for(const fz_sgemm_kernel *kern, const fz_gemm_ctx *ctx,
                               size_t m, size_t n)
{
    fz_cache_sizes none = { 0, 0, 0 };
    return blocking_for_product(ctx ? ctx->caches : none, kern->mr, kern->nr,
                                sizeof(float), m, n);
}

/* Where op(A) element (i, p) and op(B) element (p, j) live: x[i·rs + p·cs]. */
typedef struct { size_t rsa, csa, rsb, csb; } operand_strides;

static operand_strides strides_of(const fz_gemm_op *op)
{
    operand_strides s;
    s.rsa = op->ta == FZ_NOTRANS ? op->lda : 1;
    s.csa = op->ta == FZ_NOTRANS ? 1 : op->lda;
    s.rsb = op->tb == FZ_NOTRANS ? op->ldb : 1;
    s.csb = op->tb == FZ_NOTRANS ? 1 : op->ldb;
    return s;
}

static unsigned epilogue_stages(const fz_gemm_op *op)
{
    return !!op->bias + !!op->relu + !!op->mask;
}

/* The epilogue of the tile at (i, j) for the K block [p0, p0 + kc) of k: beta only on
 * the first block (later ones accumulate), bias/ReLU/mask only on the last. */
static fz_tile_epilogue tile_epilogue(const fz_gemm_op *op, size_t i, size_t j,
                                      bool first, bool last)
{
    fz_tile_epilogue ep = { .alpha = op->alpha, .beta = first ? op->beta : 1.0f };
    if (last) {
        ep.bias = op->bias ? op->bias + j : NULL;
        ep.relu = op->relu;
        ep.mask = op->mask ? op->mask + i * op->ldmask + j : NULL;
        ep.ldmask = op->ldmask;
    }
    return ep;
}

/* Room for one tile of any kernel, on the stack of the thread that computes it. */
#define TILE_SCRATCH_FLOATS 1024

/* Where the microkernel stores the tile at (i, j) and with what ld: into `scratch`
 * (NR floats a row) where the product's hook consumes C and k is one K block deep, so
 * that a tile the hook alone reads never travels to memory (the trainer's dW: 4 MiB a
 * layer of the 8×1024 MLP); otherwise into C. */
typedef struct { float *c; size_t ldc; } tile_dest;

static tile_dest tile_dest_for(const fz_sgemm_kernel *kern, const fz_gemm_op *op,
                               bool one_block, float *scratch, size_t i, size_t j)
{
    if (one_block && op->after_tile && op->after_tile->consumes_c &&
        kern->mr * kern->nr <= TILE_SCRATCH_FLOATS)
        return (tile_dest){ scratch, kern->nr };
    return (tile_dest){ op->c + i * op->ldc + j, op->ldc };
}

/* Hands the finished tile at (i, j), stored at d, to the product's hook, if it has one. */
static inline void tile_done_at(const fz_gemm_op *op, tile_dest d, size_t i, size_t j,
                                size_t rows, size_t cols)
{
    if (op->after_tile)
        op->after_tile->fn(op->after_tile->ctx, d.c, d.ldc, i, j, rows, cols);
}

/* Lines of a hook's next block the microkernel may fetch (fz_tile_hook.lines_for): a
 * 14×32 tile of a weight and its momentum, each row up to three lines, fits. */
#define PREFETCH_LINES_MAX 96

/* Asks the product's hook for the lines of the tile this thread computes next, the
 * one at (i, j) with rows × cols (none where rows or cols is 0), and hands them to the
 * tile about to be computed, ep, to fetch meanwhile. */
static inline void prefetch_for_next(const fz_gemm_op *op, fz_tile_epilogue *ep,
                                     const void **lines, size_t i, size_t j, size_t rows,
                                     size_t cols)
{
    const fz_tile_hook *h = op->after_tile;
    if (!h || !h->lines_for || !rows || !cols)
        return;
    ep->n_prefetch = h->lines_for(h->ctx, i, j, rows, cols, lines, PREFETCH_LINES_MAX);
    ep->prefetch = lines;
}

/* Whether the transposed small path applies: C narrow enough that most lanes of a tile
 * would idle, tall enough for whole tiles of lanes, and a kernel that can store a tile
 * transposed. */
static bool small_transposed_fits(const fz_sgemm_kernel *kern, const fz_gemm_op *op)
{
    return kern->stores_transposed && op->n <= kern->mr && op->m >= kern->nr &&
           op->k * round_up(op->m, kern->nr) <= SMALL_B_FLOATS;
}

/* Cᵀ = op(B)ᵀ·op(A)ᵀ in tiles of n rows (C's columns) by NR lanes (C's rows), each
 * written straight into C, through the epilogue in C's coordinates. */
static void sgemm_small_transposed(const fz_sgemm_kernel *kern, const fz_gemm_op *op,
                                   operand_strides s, fz_counter *flops)
{
    _Alignas(64) float apack[SMALL_B_FLOATS];
    size_t m = op->m, n = op->n, k = op->k, nr = kern->nr;

    /* op(A)ᵀ(p, i) = op(A)(i, p): packed as the microkernel's B, lanes along i. */
    kern->pack_b(apack, op->a, s.rsa, s.csa, m, k);
    for (size_t i = 0; i < m; i += nr) {
        fz_tile_epilogue ep = tile_epilogue(op, i, 0, true, true);
        ep.transposed = true;
        /* op(B)ᵀ(j, p) = op(B)(p, j): read where it lies, as the microkernel's A. */
        kern->ukr(k, op->b, s.csb, s.rsb, apack + i * k, op->c + i * op->ldc, op->ldc, n,
                  min_size(nr, m - i), &ep);
        tile_done_at(op, (tile_dest){ op->c + i * op->ldc, op->ldc }, i, 0,
                     min_size(nr, m - i), n);
    }
    uint64_t mn = (uint64_t)m * n;
    counter_add(flops, 2 * mn * k + mn * epilogue_stages(op));
}

/* bpre: op(B) already packed (prepack.c), whose first K block is exactly what this
 * path would pack, since k fits one block here; NULL packs on the fly. */
static void sgemm_small(const fz_sgemm_kernel *kern, const fz_gemm_op *op,
                        const float *bpre, fz_counter *flops)
{
    _Alignas(64) float bpack[SMALL_B_FLOATS];
    size_t m = op->m, n = op->n, k = op->k, mr = kern->mr, nr = kern->nr;
    operand_strides s = strides_of(op);
    /* The transposed form reads op(B) where it lies and packs op(A) instead: a
     * pre-packed B has nothing to offer it, so it is taken exactly as without one. */
    if (small_transposed_fits(kern, op)) {
        sgemm_small_transposed(kern, op, s, flops);
        return;
    }

    if (!bpre)
        kern->pack_b(bpack, op->b, s.csb, s.rsb, n, k);
    const float *bsrc = bpre ? bpre : bpack;
    _Alignas(64) float scratch[TILE_SCRATCH_FLOATS];
    for (size_t j = 0; j < n; j += nr) {
        const float *bp = bsrc + j * k;
        for (size_t i = 0; i < m; i += mr) {
            fz_tile_epilogue ep = tile_epilogue(op, i, j, true, true);
            tile_dest d = tile_dest_for(kern, op, true, scratch, i, j);
            kern->ukr(k, op->a + i * s.rsa, s.rsa, s.csa, bp, d.c, d.ldc,
                      min_size(mr, m - i), min_size(nr, n - j), &ep);
            tile_done_at(op, d, i, j, min_size(mr, m - i), min_size(nr, n - j));
        }
    }
    uint64_t mn = (uint64_t)m * n;
    counter_add(flops, 2 * mn * k + mn * epilogue_stages(op));
}

/* C written by one K block (the caller's part of c_worth_streaming, below, which says
 * why): beta 0, C larger than the L2, a kernel with a fence, a plan that allows it
 * (fz_gemm_ctx.cached_c). */
static bool c_written_once_past_l2(const fz_sgemm_kernel *kern, const fz_gemm_op *op,
                                   const fz_gemm_ctx *ctx)
{
    size_t l2 = ctx && ctx->caches.l2 ? ctx->caches.l2 : FZ_DEFAULT_L2;
    /* A tile hook reads each tile right after it is stored: it must stay cached. */
    return kern->fence && !(ctx && ctx->cached_c) && !op->after_tile && op->beta == 0.0f &&
           op->n > l2 / sizeof(float) / op->m;   /* m·n·4 > L2, without overflow */
}

/* The fewest rows of C the short path takes.  With fewer rows its tile keeps fewer
 * chains of FMAs (2·m, against 4·m in the main kernel's edge tile), and the packing of B
 * it saves is no longer the larger cost.  Zen 4, one thread, the short path against the
 * main kernel alone (41 alternating rounds in one process, median ratio of main's time
 * to the short path's, 95% interval), on a shared machine: 1×1024×256 NN 0.77
 * [0.71, 0.83], 2×1024×256 NN 0.99 [0.97, 1.00], 3×1024×256 TN 1.30 [1.26, 1.45],
 * 3×4096×64 NN 1.28 [1.19, 1.36], 4×1024×256 NN 1.51 [1.50, 1.54], the head's
 * 10×1024×256 TN 1.76 [1.75, 1.77], 14×1024×1024 TN 1.72 [1.71, 1.75]. */
#define SHORT_MIN_ROWS 3
/* Tiles of the short path thread 0 computes between two progress calls. */
#define SHORT_TILES_PER_PROGRESS 8

/* Whether the short path can take op with kernel `few` (a kernel with
 * reads_b_in_place): all of C's rows in one tile, and op(B)'s rows contiguous. */
static bool short_path_fits(const fz_sgemm_kernel *few, const fz_gemm_op *op)
{
    return op->m >= SHORT_MIN_ROWS && op->m <= few->mr && op->tb == FZ_NOTRANS;
}

/* C with few rows (the classifier head's wgrad, 10×1024): one tile's rows cover all of
 * C, so each element of op(B) is read once, by one tile, and the microkernel reads it
 * where it lies instead of from a packed copy; op(A), m×k, is packed into one panel.
 * Threads split C's columns in whole tiles; K is one block, each element one chain of
 * FMAs over k in order, so any thread count gives the same bits. */
static void sgemm_short(const fz_sgemm_kernel *kern, const fz_gemm_op *op,
                        const fz_gemm_ctx *ctx, fz_counter *flops)
{
    _Alignas(64) float stack[SMALL_B_FLOATS];
    size_t m = op->m, n = op->n, k = op->k, mr = kern->mr, nr = kern->nr;
    operand_strides s = strides_of(op);
    float *apack = stack, *raw = NULL;
    if (k > SMALL_B_FLOATS / mr) {
        size_t floats;
        if (size_mul_ok(k, mr, &floats) && size_add_ok(floats, 16, &floats) &&
            floats < SIZE_MAX / sizeof(float))
            raw = malloc(floats * sizeof(float));
        if (!raw) {   /* as the blocked path: the scalar kernel needs no buffer */
            kernels_scalar()->sgemm_ctx(op, NULL, flops);
            return;
        }
        apack = (float *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    }
    kern->pack_a(apack, op->a, s.rsa, s.csa, m, k);
    bool stream = c_written_once_past_l2(kern, op, ctx);   /* one K block, always */

    int threads = 1;
#ifdef _OPENMP
    if (ctx && (uint64_t)m * n * k >= PARALLEL_MNK)
        threads = ctx->threads > 0 ? ctx->threads : 1;
#pragma omp parallel num_threads(threads) if (threads > 1)
#endif
    {
        int t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        fz_range cols = split_range_by(n, nr, t, nt);
        size_t tiles = 0;
        _Alignas(64) float scratch[TILE_SCRATCH_FLOATS];
        const void *lines[PREFETCH_LINES_MAX];
        for (size_t j = cols.begin; j < cols.end; j += nr) {
            fz_tile_epilogue ep = tile_epilogue(op, 0, j, true, true);
            ep.a_packed = true;
            ep.ldb = op->ldb;
            ep.stream = stream;
            if (j + nr < cols.end)
                prefetch_for_next(op, &ep, lines, 0, j + nr, m,
                                  min_size(nr, cols.end - j - nr));
            tile_dest d = tile_dest_for(kern, op, true, scratch, 0, j);
            kern->ukr(k, apack, 1, mr, op->b + j, d.c, d.ldc, m,
                      min_size(nr, cols.end - j), &ep);
            tile_done_at(op, d, 0, j, m, min_size(nr, cols.end - j));
            if (t == 0 && ctx && ctx->progress && ++tiles % SHORT_TILES_PER_PROGRESS == 0)
                ctx->progress(ctx->progress_arg);
        }
        if (stream)   /* C complete and visible before the team joins */
            kern->fence();
    }
    free(raw);
    uint64_t mn = (uint64_t)m * n;
    counter_add(flops, 2 * mn * k + mn * epilogue_stages(op));
}

typedef struct {
    const fz_sgemm_kernel *kern;
    const fz_gemm_op *op;
    operand_strides s;
    fz_blocking blk;
    int groups;
    float *bbuf;    /* packed B blocks, one per group, bstride floats apart */
    /* Or op(B) packed once for every block (prepack.c): the block (jc, pc) lies at
     * bpre + pc·npad + jc·kcur, laid out as the group would pack it; NULL packs here. */
    const float *bpre;
    size_t npad;
    float *abuf;    /* packed A blocks, one per thread, astride floats apart */
    size_t bstride, astride;
    bool a_in_place;   /* the microkernel reads A where it lies: see a_worth_packing */
    bool b_in_place;   /* and B too: see b_worth_packing */
    bool stream_c;     /* tiles may store C past the caches: see c_worth_streaming */
    void (*progress)(void *arg);   /* fz_gemm_ctx's, called by thread 0 per M block */
    void *progress_arg;
} blocked_job;

/* Packing A pays when each packed element is read again, once per NR columns of C.
 * With C one panel wide (DeepBench's 1760×16×1760) it is read once, so packing would
 * only add a copy of all of A; the microkernel then reads A where it lies. */
static bool a_worth_packing(const fz_sgemm_kernel *kern, const fz_gemm_op *op)
{
    return op->n > kern->nr;
}

fz_blocking sgemm_blocking_for_op(const fz_sgemm_kernel *kern, const fz_gemm_ctx *ctx,
                                  const fz_gemm_op *op)
{
    /* A transposed A read where it lies puts a whole line of A (not MR floats) into the
     * L1 for each of a tile's k steps, and nothing of it is reused from the L2 as a
     * packed A block would be: deepening KC for C's sake (blocking_for_product) only
     * makes each tile stream more lines than the L1 holds.  Its K blocks stay L1-sized.
     * Zen 3, one thread, N×16×N TN (fz_sgemm, the two builds alternating in one process,
     * 9 and 11 rounds, each order once, median time ratios): 0.77 the time of the deep KC
     * (1024) at 2560, 0.76 at 3072, 0.41-0.42 at 4096; 0.96-1.00 at 512, 1024 and 1760,
     * whose KC was L1-sized already.  Smaller K blocks (48-192) were no faster. */
    if (op->ta == FZ_TRANS && !a_worth_packing(kern, op)) {
        fz_cache_sizes none = { 0, 0, 0 };
        return blocking_from_caches(ctx ? ctx->caches : none, kern->mr, kern->nr,
                                    sizeof(float));
    }
    return sgemm_blocking_for(kern, ctx, op->m, op->n);
}

/* The widest stride between op(B)'s rows that the blocked path reads in place.  Zen 4,
 * the dgrad of a 4096-wide layer at batch 256 (256×4096×4096 NN, rows 16 KiB apart): 82.2
 * ms packed in the kernel file of d97649f, 88.8-89.7 ms in place in those of 8722837 and
 * 4790d5a (oneDNN 80.4-82.6 ms); packed over in place in 14 alternating pairs of
 * processes, median 0.97 (packed faster in 10).  At 8 KiB (2048 wide) in place was still
 * 3% faster (128×2048×2048: 11057 -> 10716 µs). */
#define B_IN_PLACE_MAX_STRIDE ((size_t)8 << 10)

/* Whether the blocked path packs B: not where op(B)'s rows are contiguous (not
 * transposed), at most B_IN_PLACE_MAX_STRIDE apart, and C has at most the kernel's
 * b_in_place_rows rows (gemm.h says why), except under a tile hook: the folded update's
 * wgrad (512×784×64 at batch 64), its B read in place beside the hook's own traffic,
 * made the fine-tuning step 12-15% slower (ab_builds --workload finetune, each order),
 * where packed it is 3% faster. */
static bool b_worth_packing(const fz_sgemm_kernel *kern, const fz_gemm_op *op)
{
    return !(op->tb == FZ_NOTRANS && op->m <= kern->b_in_place_rows && !op->after_tile &&
             op->ldb <= B_IN_PLACE_MAX_STRIDE / sizeof(float));
}

bool sgemm_blocked_reads_b_in_place(const fz_sgemm_kernel *kern, const fz_gemm_op *op)
{
    return a_worth_packing(kern, op) && !b_worth_packing(kern, op);
}

/* Streaming C's stores pays where C is written once and is not read back soon from a
 * cache anyway: beta 0 and one K block (no tile is read back by a later block), and C
 * larger than the L2.  A streamed line skips the read that a cached store makes of it
 * first; the wgrad dYᵀ·X of a 1024×1024 layer at batch 32 is bound by that traffic.
 * Measured on an Emerald Rapids VM (one thread, the same loop nest with and without the
 * kernel's fence, calls alternated in one process, medians of the per-round ratios):
 * AVX-512 1024×1024×32 1.27-1.60×, ×64 1.15-1.24×, ×256 1.03-1.06×, 1024³ 1.01×;
 * AVX2 1.23×, 1.06×, 1.01×, 1.03×.  The whole 8×1024 MLP step, whose optimizer then
 * reads dW from memory rather than from the L3: 1.13× at batch 32, 1.07× at 64, 1.02×
 * at 256 (2 threads: 1.06× and 1.03×).  Products whose C fits the L2 (the batch-256
 * layer's forward and dgrad, 1 MiB) keep C cached for the layer that reads it next. */
static bool c_worth_streaming(const fz_sgemm_kernel *kern, const fz_gemm_op *op,
                              const fz_gemm_ctx *ctx, fz_blocking blk)
{
    return op->k <= blk.kc && c_written_once_past_l2(kern, op, ctx);
}

/* One thread's share of the blocked GEMM; returns the FLOPs it executed.  Every thread
 * runs the same number of NC and KC iterations (a group without columns left idles
 * through them), so the team-wide barriers pair up. */
static uint64_t blocked_worker(const blocked_job *job, int t, int nt)
{
    const fz_sgemm_kernel *kern = job->kern;
    const fz_gemm_op *op = job->op;
    size_t m = op->m, n = op->n, k = op->k, mr = kern->mr, nr = kern->nr;
    int groups = job->groups, per_group = nt / groups;
    int g = t / per_group, tg = t % per_group;
    float *own_bp = job->bbuf + (size_t)g * job->bstride;
    /* A group of one thread packs its B block alone: no barrier to wait at. */
    bool shared_b = per_group > 1;
    float *ap = job->abuf + (size_t)t * job->astride;
    unsigned stages = epilogue_stages(op);
    uint64_t done = 0;
    _Alignas(64) float scratch[TILE_SCRATCH_FLOATS];
    const void *lines[PREFETCH_LINES_MAX];

    fz_range cols = split_range_by(n, nr, g, groups), rows = split_range_by(m, mr, tg, per_group);
    size_t n0 = cols.begin, n1 = cols.end, m0 = rows.begin, m1 = rows.end;
    size_t widest = (n + nr - 1) / nr / (size_t)groups * nr + nr;
    size_t jc_rounds = (widest + job->blk.nc - 1) / job->blk.nc;

    for (size_t round = 0; round < jc_rounds; round++) {
        size_t jc = n0 + round * job->blk.nc;
        size_t ncur = jc < n1 ? min_size(job->blk.nc, n1 - jc) : 0;
        for (size_t pc = 0; pc < k; pc += job->blk.kc) {
            size_t kcur = min_size(job->blk.kc, k - pc);
            bool first = pc == 0, last = pc + kcur == k;

            const float *bp = own_bp;
            if (job->b_in_place) {
                /* Read where it lies: nothing to pack, nobody to wait for. */
                if (ncur)
                    bp = op->b + pc * op->ldb + jc;
            } else if (job->bpre) {
                /* Packed before this call and only read during it: no barrier needed.
                 * (A group past its columns, ncur 0, reads nothing.) */
                if (ncur)
                    bp = job->bpre + pc * job->npad + jc * kcur;
            } else {
                /* The group's threads pack the B block together, whole panels each. */
                fz_range mine = split_range_by(ncur, nr, tg, per_group);
                size_t b0 = mine.begin, b1 = mine.end;
                if (b1 > b0)
                    kern->pack_b(own_bp + b0 * kcur,
                                 op->b + (jc + b0) * job->s.csb + pc * job->s.rsb,
                                 job->s.csb, job->s.rsb, b1 - b0, kcur);
#ifdef _OPENMP
                if (shared_b) {
#pragma omp barrier
                }
#endif
            }
            for (size_t ic = m0; ic < m1 && ncur; ic += job->blk.mc) {
                size_t mcur = min_size(job->blk.mc, m1 - ic);
                const float *ablock = op->a + ic * job->s.rsa + pc * job->s.csa;
                size_t rsa = job->s.rsa, csa = job->s.csa;
                if (!job->a_in_place) {
                    kern->pack_a(ap, ablock, rsa, csa, mcur, kcur);
                    ablock = ap;
                    rsa = 1;     /* a packed panel: MR rows side by side, mr·kcur apart */
                    csa = mr;
                }
                size_t panel = job->a_in_place ? mr * job->s.rsa : mr * kcur;
                for (size_t j = 0; j < ncur; j += nr) {
                    size_t nrc = min_size(nr, ncur - j);
                    for (size_t i = 0; i < mcur; i += mr) {
                        size_t mrc = min_size(mr, mcur - i);
                        fz_tile_epilogue ep = tile_epilogue(op, ic + i, jc + j, first, last);
                        ep.a_packed = !job->a_in_place;
                        ep.stream = job->stream_c;
                        if (job->b_in_place)
                            ep.ldb = op->ldb;
                        tile_dest d = tile_dest_for(kern, op, first && last, scratch,
                                                    ic + i, jc + j);
                        /* The next tile down the panel, else the top of the next panel
                         * (the next M block waits for its A to be packed: none). */
                        if (last && i + mr < mcur)
                            prefetch_for_next(op, &ep, lines, ic + i + mr, jc + j,
                                              min_size(mr, mcur - i - mr), nrc);
                        else if (last && j + nr < ncur)
                            prefetch_for_next(op, &ep, lines, ic, jc + j + nr,
                                              min_size(mr, mcur), min_size(nr, ncur - j - nr));
                        kern->ukr(kcur, ablock + i / mr * panel, rsa, csa,
                                  job->b_in_place ? bp + j : bp + j * kcur, d.c, d.ldc, mrc,
                                  nrc, &ep);
                        done += 2 * (uint64_t)mrc * nrc * kcur +
                                (last ? (uint64_t)mrc * nrc * stages : 0);
                        if (last)
                            tile_done_at(op, d, ic + i, jc + j, mrc, nrc);
                    }
                }
                if (t == 0 && job->progress)
                    job->progress(job->progress_arg);
            }
            /* Nobody repacks B while a thread of the group may still read it. */
#ifdef _OPENMP
            if (!job->bpre && !job->b_in_place && shared_b) {
#pragma omp barrier
            }
#endif
        }
    }
    if (job->stream_c)   /* C complete and visible before the team joins */
        kern->fence();
    return done;
}

/* Per-thread costs of a layout, relative to one microkernel tile's work per k step
 * (MR·NR FMAs): packing an element of A, and reading an element of a B block that
 * another thread of the group packed (presumably its lines come one miss at a time
 * from that core's L2; the two barriers per KC block come with it).  Fitted on an
 * Emerald Rapids VM (2 cores, AVX-512 6×64 tile, KC 128) to the batch-256 1024×1024
 * layer's three products on 2 threads, each timed with both layouts (fastest of 8
 * calls, 11 interleaved repetitions, twice): the forward's X·Wᵀ and dgrad's dY·W
 * (256×1024×1024) took 2.01-2.16 ms with N split (each thread packs all of A and its
 * own half of B: nothing shared, no barriers) against 2.16-2.30 ms with M split (one
 * B shared, rows split 132/124), and 1 thread 3.7-4.0 ms; the wgrad's dYᵀ·X
 * (1024×1024×256: A twice as long to pack per thread when not split, 2 KC blocks)
 * 1.94-1.96 ms with M split against 2.03-2.04 ms with N split. */
#define COST_PACK_A 0.22
#define COST_SHARED_B 0.11

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

/* How many groups of threads split N (the rest of each group splits M and shares its
 * packed B): the divisor of `threads` that is a multiple of the team's L3 groups `l3`
 * (so that no group spans two L3s) with the least estimated time for the busiest
 * thread: its tiles, the rows of A it packs (every thread of a group packs its own
 * rows, so fewer threads per group means more rows each), and the B it reads from its
 * group's other threads' packs.  Splitting N or M in whole tiles, the layout never
 * changes a result. */
int sgemm_split_groups(const fz_sgemm_kernel *kern, const fz_gemm_op *op, int threads,
                       int l3, bool packs_a, bool packs_b)
{
    size_t mp = ceil_div(op->m, kern->mr), np = ceil_div(op->n, kern->nr);
    int best = l3;
    double best_cost = 0.0;
    for (int g = l3; g <= threads; g += l3) {
        if (threads % g)
            continue;
        size_t per = (size_t)(threads / g);
        size_t rows = ceil_div(mp, per), cols = ceil_div(np, (size_t)g);
        double cost = (double)rows * cols;
        if (packs_a)
            cost += COST_PACK_A * (double)(rows * kern->mr);
        if (packs_b && per > 1)
            cost += COST_SHARED_B * (double)(cols * kern->nr) * (double)(per - 1) / per;
        if (g == l3 || cost < best_cost) {
            best = g;
            best_cost = cost;
        }
    }
    return best;
}

static void sgemm_blocked(const fz_sgemm_kernel *kern, const fz_gemm_op *op,
                          const fz_gemm_ctx *ctx, fz_blocking blk, const float *bpre,
                          fz_counter *flops)
{
    /* NC sizes a KC-deep block of B; a product shallower than KC fills the same bytes
     * with a wider block, so A is packed fewer times (NC never changes a result). */
    if (op->k < blk.kc)
        blk.nc = blk.nc / kern->nr * (blk.kc / op->k) * kern->nr;
    blocked_job job = { .kern = kern, .op = op, .s = strides_of(op), .blk = blk,
                        .bpre = bpre, .npad = round_up(op->n, kern->nr) };
    job.a_in_place = !a_worth_packing(kern, op);
    /* B in place needs A packed (the microkernel's in-place B reads a packed A). */
    job.b_in_place = !bpre && sgemm_blocked_reads_b_in_place(kern, op);
    job.stream_c = c_worth_streaming(kern, op, ctx, blk);
    if (ctx) {
        job.progress = ctx->progress;
        job.progress_arg = ctx->progress_arg;
    }

    int threads = 1;
#ifdef _OPENMP
    if (ctx && (uint64_t)op->m * op->n * op->k >= PARALLEL_MNK)
        threads = ctx->threads > 0 ? ctx->threads : 1;
#endif
    int groups = threads > 1 && ctx->groups > 0 && threads % ctx->groups == 0
                 ? ctx->groups : 1;
    groups = sgemm_split_groups(kern, op, threads, groups, !job.a_in_place,
                                !bpre && !job.b_in_place);
    job.groups = groups;

    /* One allocation for every pack buffer, sized to this product.  Plain malloc, not
     * aligned_alloc: glibc then serves the next call of the same size from its heap
     * instead of a fresh mmap, whose page faults cost a few percent at these sizes. */
    size_t kc = min_size(blk.kc, op->k);
    job.bstride = bpre || job.b_in_place
                  ? 0 : round_up(kc * min_size(blk.nc, round_up(op->n, kern->nr)), 16);
    job.astride = job.a_in_place
                  ? 0 : round_up(kc * min_size(blk.mc, round_up(op->m, kern->mr)), 16);
    size_t floats = 0;
    void *raw = NULL;
    if (size_mul_ok(job.bstride, (size_t)groups, &floats) &&
        size_add_ok(floats, job.astride * (size_t)threads, &floats) &&
        size_add_ok(floats, 16, &floats) && floats < SIZE_MAX / sizeof(float))
        raw = malloc(floats * sizeof(float));
    if (!raw) {
        /* Out of memory for packing: the scalar kernel needs none, so the result still
         * comes, slowly, rather than not at all. */
        kernels_scalar()->sgemm_ctx(op, NULL, flops);
        return;
    }
    job.bbuf = (float *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    job.abuf = job.bbuf + job.bstride * (size_t)groups;

#ifdef _OPENMP
    if (threads > 1) {
#pragma omp parallel num_threads(threads)
        {
            /* The runtime may grant fewer threads (nested regions): lay out what came. */
            int nt = omp_get_num_threads();
            blocked_job mine = job;
            if (nt != threads)
                mine.groups = 1;
            counter_add(flops, blocked_worker(&mine, omp_get_thread_num(), nt));
        }
    } else
#endif
        counter_add(flops, blocked_worker(&job, 0, 1));
    free(raw);
}

/* Whether op takes the small path: it hands A to the microkernel where it lies and
 * needs only KC (one block deep), so the whole blocking is derived only for the blocked
 * path. */
static bool takes_small_path(const fz_sgemm_kernel *kern, const fz_gemm_op *op,
                             const fz_gemm_ctx *ctx)
{
    fz_cache_sizes none = { 0, 0, 0 };
    return (uint64_t)op->m * op->n * op->k <= SMALL_MNK &&
           op->k * round_up(op->n, kern->nr) <= SMALL_B_FLOATS &&
           op->k <= blocking_kc(ctx ? ctx->caches : none, kern->mr, kern->nr,
                                sizeof(float));
}

/* Whether the narrow kernel's rows of A, read where they lie (a_worth_packing), share
 * the L1 without evicting each other: rows of a plain A that share one or two L1 sets
 * (rows_share_l1_sets), 14 of them, overflow its 8 ways (Zen 4, the classifier head's forward 256×10×1024 NT, A's
 * rows 4 KiB apart: 144 µs against 83 µs with the 6×64 kernel's six rows).  A
 * transposed A puts the tile's rows side by side. */
static bool narrow_rows_fit(const fz_gemm_op *op)
{
    return op->ta == FZ_TRANS || !rows_share_l1_sets(op->lda);
}

/* A kernel with a narrow variant keeps its own small transposed form, where that takes
 * the product: the 6×64 tile's form has C's rows on 64 lanes and 4 chains per column of
 * C (the seed network's 64×5 and 64×1 layers), where the 14×16 tile's would have one. */
const fz_sgemm_kernel *sgemm_kernel_for_op(const fz_sgemm_kernel *kern, const fz_gemm_op *op,
                                           const fz_gemm_ctx *ctx)
{
    /* The seed network's products on AVX-512 (Zen 4, each kernel's fastest of 40
     * alternating rounds of 20000 calls of each table's GEMM on the three shapes):
     * 64×5×10 NT (small, transposed) 6×64 277 ns, 6×16 247 ns: one 64-lane tile for 5
     * rows of C costs four 8×16 transposes where the 16-lane tiles need 8×8 ones; 1×5×64
     * TN 168 ns against 121 ns: the 64-float panel stride spreads a 5-wide B over four
     * times the cache lines.  64×1×5 NT (a one-column C) stays on the 6×64 tile's straight
     * store, 106 ns against 173 ns. */
    if (kern->tiny && op->n > 1 && op->n <= kern->tiny->nr &&
        takes_small_path(kern->tiny, op, ctx))
        return kern->tiny;
    if (kern->narrow && op->n <= kern->narrow->nr) {
        /* C within one of kern's tiles: the narrow tile would compute more rows (as
         * many as it has, for A where it lies) for the same few chains, which cost the
         * seed network's step 17% (its wgrad of 1×5×64). */
        if (op->m <= kern->mr ||
            (small_transposed_fits(kern, op) && takes_small_path(kern, op, ctx)))
            return kern;
        return narrow_rows_fit(op) ? kern->narrow : kern;
    }
    if (kern->few_rows && short_path_fits(kern->few_rows, op))
        return kern->few_rows;
    return kern;
}

/* Whether op runs on the short path with `kern`, the kernel sgemm_kernel_for_op chose. */
static bool takes_short_path(const fz_sgemm_kernel *kern, const fz_gemm_op *op)
{
    return kern->reads_b_in_place && short_path_fits(kern, op);
}

bool sgemm_reads_packed_b(const fz_sgemm_kernel *kern, const fz_gemm_op *op,
                          const fz_gemm_ctx *ctx)
{
    kern = sgemm_kernel_for_op(kern, op, ctx);
    return op->m > 0 && op->n > 0 && !takes_short_path(kern, op) &&
           !(takes_small_path(kern, op, ctx) && small_transposed_fits(kern, op));
}

bool sgemm_streams_c(const fz_sgemm_kernel *kern, const fz_gemm_op *op,
                     const fz_gemm_ctx *ctx)
{
    kern = sgemm_kernel_for_op(kern, op, ctx);
    if (op->m > 0 && op->n > 0 && takes_short_path(kern, op))
        return c_written_once_past_l2(kern, op, ctx);
    return op->m > 0 && op->n > 0 && !takes_small_path(kern, op, ctx) &&
           c_worth_streaming(kern, op, ctx, sgemm_blocking_for_op(kern, ctx, op));
}

void sgemm_run_with_b(const fz_sgemm_kernel *kern, const fz_gemm_op *op,
                      const fz_gemm_ctx *ctx, const float *bpre, fz_counter *flops)
{
    if (op->m == 0 || op->n == 0)
        return;
    if (takes_short_path(kern, op))   /* reads B where it lies: bpre has nothing for it */
        sgemm_short(kern, op, ctx, flops);
    else if (takes_small_path(kern, op, ctx))
        sgemm_small(kern, op, bpre, flops);
    else
        sgemm_blocked(kern, op, ctx, sgemm_blocking_for_op(kern, ctx, op), bpre, flops);
}

void sgemm_run(const fz_sgemm_kernel *kern, const fz_gemm_op *op, const fz_gemm_ctx *ctx,
               fz_counter *flops)
{
    sgemm_run_with_b(sgemm_kernel_for_op(kern, op, ctx), op, ctx, NULL, flops);
}

/* The table of an ISA carries its microkernel: nothing per ISA here. */
const fz_sgemm_kernel *sgemm_kernel_for(const char *isa)
{
    const fz_kernels *k = kernels_for(isa);
    return k ? k->microkernel : NULL;
}
