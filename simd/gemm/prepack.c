/*
 * A GEMM's B packed once: for a weight that does not change between steps (a frozen
 * layer's W), the panels the loop nest would pack on every call are packed when the
 * handle is made and read from it afterwards.
 *
 * Layout.  The loop nest packs the block (jc, pc) of op(B) — KC deep, NC wide — as
 * NR-wide panels, panel j (columns j..j+NR) at j·kcur in the block.  Every jc the loop
 * nest visits is a multiple of NR (groups split N in whole panels and NC is a multiple
 * of NR), so a block is just a run of consecutive panels of the whole K-block row.  The
 * handle therefore packs each K block of all n columns once, at pc·round_up(n, NR), and
 * the block (jc, pc) is the slice starting at jc·kcur: the same panels, element for
 * element, whatever NC, MC, the thread count or the L3 groups.  Only KC (where the K
 * blocks start) and the kernel (NR, its packer) shape the layout, so those are what a
 * handle must match; the small path's single K block (k <= KC) is the first one.  The
 * kernel is the one that runs the product (sgemm_kernel_for_op: a narrow product's B
 * is packed in the 16-wide panels of the narrow kernel, not the main kernel's 64).
 */
#include <stdlib.h>
#include <string.h>

#include "align.h"
#include "error.h"
#include "gemm.h"

struct fz_sgemm_packed {
    const fz_sgemm_kernel *kern;   /* whose packer made it */
    fz_blocking blk;               /* made for this blocking; only kc moves a panel */
    fz_trans tb;                   /* the operand it holds, as the GEMM op names it */
    const float *b;
    size_t ldb, k, n, npad;        /* npad = n rounded up to NR */
    float *data;                   /* k·npad floats, 64-byte aligned */
};

fz_sgemm_packed *sgemm_prepack_b(const fz_sgemm_kernel *kern, const fz_gemm_op *op,
                                 const fz_gemm_ctx *ctx)
{
    if (!kern || !op || op->k == 0 || op->n == 0 || !op->b)
        return NULL;
    kern = sgemm_kernel_for_op(kern, op, ctx);   /* packed by the kernel that reads it */
    size_t nr = kern->nr, npad = (op->n + nr - 1) / nr * nr, floats;
    if (npad < op->n || !size_mul_ok(op->k, npad, &floats) ||
        floats > SIZE_MAX / sizeof(float))
        return NULL;
    fz_sgemm_packed *pb = malloc(sizeof *pb);
    /* Zeroed: a kernel's packer may leave lanes past n unwritten (its microkernel never
     * reads them); zeros keep the handle's bytes deterministic anyway. */
    float *data = aligned_calloc(64, floats, sizeof(float));
    if (!pb || !data) {
        free(pb);
        free(data);
        return NULL;
    }
    *pb = (fz_sgemm_packed){ .kern = kern,
                             .blk = sgemm_blocking_for_op(kern, ctx, op),
                             .tb = op->tb, .b = op->b, .ldb = op->ldb, .k = op->k,
                             .n = op->n, .npad = npad, .data = data };
    /* op(B) element (p, j) at b[p·rsb + j·csb]: lanes along j, depth along p. */
    size_t rsb = op->tb == FZ_NOTRANS ? op->ldb : 1;
    size_t csb = op->tb == FZ_NOTRANS ? 1 : op->ldb;
    for (size_t pc = 0; pc < op->k; pc += pb->blk.kc) {
        size_t kcur = op->k - pc < pb->blk.kc ? op->k - pc : pb->blk.kc;
        kern->pack_b(data + pc * npad, op->b + pc * rsb, csb, rsb, op->n, kcur);
    }
    return pb;
}

void sgemm_packed_free(fz_sgemm_packed *pb)
{
    if (!pb)
        return;
    free(pb->data);
    free(pb);
}

size_t sgemm_packed_bytes(const fz_sgemm_packed *pb)
{
    return pb ? pb->k * pb->npad * sizeof(float) : 0;
}

bool sgemm_packed_fits(const fz_sgemm_packed *pb, const fz_sgemm_kernel *kern,
                       const fz_gemm_op *op, const fz_gemm_ctx *ctx)
{
    /* A kernel override or other cache sizes (another KC) make the handle stale: the
     * GEMM then packs on the fly rather than read panels of another layout. */
    if (!pb || !kern)
        return false;
    kern = sgemm_kernel_for_op(kern, op, ctx);
    return pb->kern == kern && pb->tb == op->tb && pb->b == op->b &&
           pb->ldb == op->ldb && pb->k == op->k && pb->n == op->n &&
           pb->blk.kc == sgemm_blocking_for_op(kern, ctx, op).kc;
}

void sgemm_run_prepacked(const fz_sgemm_kernel *kern, const fz_gemm_op *op,
                         const fz_sgemm_packed *pb, const fz_gemm_ctx *ctx,
                         fz_counter *flops)
{
    if (!kern)
        kernels_scalar()->sgemm_ctx(op, ctx, flops);
    else
        sgemm_run_with_b(sgemm_kernel_for_op(kern, op, ctx), op, ctx,
                         sgemm_packed_fits(pb, kern, op, ctx) ? pb->data : NULL, flops);
}
