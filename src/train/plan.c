/*
 * The plan (plan.h).  The backward follows PyTorch's autograd: a layer's input gradient
 * is only computed when some parameter below it requires grad; the input never does.
 */
#include <stdlib.h>

#include "align.h"
#include "error.h"
#include "linear.h"
#include "plan.h"
#include "elementwise.h"
#include "loss.h"

/* Tensors smaller than this fraction of the bucket size that do not adjoin the open
 * bucket are copied into a staging buffer, which goes as buckets of its own: BitFit's
 * biases, one per layer and each between two weights in the arena, would otherwise be a
 * collective each, and on many nodes every collective pays its latency (DESIGN.md,
 * "Data parallel": 8 of them cost 5 ms on 64 nodes, one 0.63 ms). */
#define STAGE_FRACTION 64

bool plan_staged_size(uint64_t bucket_bytes, size_t n)
{
    return n * sizeof(float) < bucket_bytes / STAGE_FRACTION;
}

/* Per layer what the backward computes and the forward keeps. */
static void plan_layers(const fz_model *m, fz_plan *plan)
{
    bool up = false; /* some parameter of the layers below this one requires grad */
    plan->lowest = m->n_layers;
    for (size_t l = 0; l < m->n_layers; l++) {
        fz_plan_layer *p = &plan->layer[l];
        fz_linear layer = model_layer(m, l);
        p->need_dW = m->tensors[layer.W_index].requires_grad;
        p->need_db = layer.b && m->tensors[layer.b_index].requires_grad;
        p->need_dX = up;
        p->keep_X = p->need_dW || p->need_dX;
        if ((p->need_dW || p->need_db) && plan->lowest == m->n_layers)
            plan->lowest = l;
        up = up || p->need_dW || p->need_db;
    }
    plan->any_trainable = up;
    plan->cache_level = plan->lowest < m->n_layers ? plan->lowest : 0;
}

/* Which frozen weights are packed once: only where the GEMM reads a pack at this batch
 * (a tall, narrow product such as the seed network's 64×10 -> 5 packs X instead). */
static void plan_packs(const fz_model *m, const plan_inputs *in, fz_plan *plan)
{
    for (size_t l = 0; l < m->n_layers; l++) {
        fz_plan_layer *p = &plan->layer[l];
        fz_linear layer = model_layer(m, l);
        bool frozen = !p->need_dW && in->prepack && in->exec->k->microkernel;
        p->pack_fwd = frozen && linear_forward_reads_pack(in->exec, &layer, in->batch);
        p->pack_dgrad = frozen && p->need_dX &&
                        linear_dgrad_reads_pack(in->exec, &layer, in->batch);
    }
}

/* Where gradients and kept activations lie: each slice starts on a cache line
 * (align.h); the byte counts report the floats used, not the padding.  Layer 1's input
 * is the caller's memory: counted in act_bytes, never allocated. */
static void plan_layout(const fz_model *m, fz_plan *plan)
{
    plan->act_bytes = 0;
    plan->act_floats = 0;
    for (size_t l = 0; l < m->n_layers; l++) {
        fz_plan_layer *p = &plan->layer[l];
        if (p->keep_X)
            plan->act_bytes += plan->batch * m->widths[l] * sizeof(float);
        p->act_off = plan->act_floats;
        if (l > 0 && p->keep_X)
            plan->act_floats += line_floats(plan->batch * m->widths[l]);
    }
    plan->grad_floats = plan->grad_elems = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const fz_tensor *t = &m->tensors[i];
        const fz_plan_layer *p = &plan->layer[t->layer];
        plan->grad_off[i] = PLAN_NO_GRAD;
        if (t->is_bias ? p->need_db : p->need_dW) {
            plan->grad_off[i] = plan->grad_floats;
            plan->grad_floats += line_floats(t->numel);
            plan->grad_elems += t->numel;
        }
    }
}

/* Building the buckets: the run still gathering, and the staged pieces not yet in a
 * bucket (piece[stage_first .. n_pieces)). */
typedef struct {
    fz_plan *plan;
    plan_piece open;         /* n == 0: none */
    size_t stage_first, stage_floats;
} bucketing;

static void close_run(bucketing *b)
{
    if (b->open.n)
        b->plan->bucket[b->plan->n_buckets++] = (plan_bucket){ .run = b->open,
                                                                .floats = b->open.n };
    b->open.n = 0;
}

static void close_stage(bucketing *b)
{
    fz_plan *plan = b->plan;
    if (plan->n_pieces > b->stage_first)
        plan->bucket[plan->n_buckets++] = (plan_bucket){
            .staged = true, .first_piece = b->stage_first,
            .n_pieces = plan->n_pieces - b->stage_first, .floats = b->stage_floats };
    b->stage_first = plan->n_pieces;
    b->stage_floats = 0;
}

/* The run collects gradients from the top of the arena down, as the backward writes
 * them.  A gradient that does not end where the run begins (a gap of padding included,
 * so no padding byte is ever sent) is staged when small, and otherwise closes the run
 * and opens the next.  The run and the stage each start as a bucket once they hold
 * bucket_bytes; what is left starts when the backward is done. */
static void plan_buckets(const fz_model *m, fz_plan *plan, uint64_t bucket_bytes)
{
    plan->n_buckets = plan->n_pieces = plan->final_bucket = 0;
    for (size_t l = 0; l < m->n_layers; l++)
        plan->layer[l].first_bucket = plan->layer[l].n_buckets = 0;
    if (!bucket_bytes)
        return;
    bucketing b = { .plan = plan };
    for (size_t l = m->n_layers; l-- > plan->lowest;) {
        fz_linear lin = model_layer(m, l);
        size_t idx[2] = { lin.b_index, lin.W_index };   /* descending, as the arena runs */
        size_t first = plan->n_buckets;
        for (int j = 0; j < 2; j++) {
            if (idx[j] == FZ_NO_BIAS || !plan_trains(plan, idx[j]))
                continue;
            size_t off = plan->grad_off[idx[j]], n = m->tensors[idx[j]].numel;
            if (b.open.n && off + n == b.open.off) {
                b.open.off = off;
                b.open.n += n;
            } else if (plan_staged_size(bucket_bytes, n)) {
                plan->piece[plan->n_pieces++] = (plan_piece){ off, n };
                b.stage_floats += n;
            } else {
                close_run(&b);
                b.open = (plan_piece){ off, n };
            }
        }
        if (b.open.n * sizeof(float) >= bucket_bytes)
            close_run(&b);
        if (b.stage_floats * sizeof(float) >= bucket_bytes)
            close_stage(&b);
        plan->layer[l].first_bucket = first;
        plan->layer[l].n_buckets = plan->n_buckets - first;
    }
    plan->final_bucket = plan->n_buckets;
    close_run(&b);
    close_stage(&b);
}

/* FNV-1a over the tensor count and, per tensor, its shape, whether it is a bias and
 * whether the plan trains it: a rank that differs would send buffers of other sizes,
 * which MPI cannot detect. */
static uint64_t plan_fingerprint(const fz_model *m, const fz_plan *plan)
{
    uint64_t h = 14695981039346656037ULL;
    uint64_t words[4] = { m->n_tensors, 0, 0, 0 };
    for (size_t i = 0; i <= m->n_tensors; i++) {
        if (i > 0) {
            const fz_tensor *tn = &m->tensors[i - 1];
            words[0] = tn->rows, words[1] = tn->cols, words[2] = tn->is_bias;
            words[3] = plan_trains(plan, i - 1);
        }
        const unsigned char *b = (const unsigned char *)words;
        for (size_t j = 0; j < sizeof words; j++)
            h = (h ^ b[j]) * 1099511628211ULL;
    }
    return h;
}

void plan_free(fz_plan *plan)
{
    if (!plan)
        return;
    free(plan->layer);
    free(plan->grad_off);
    free(plan->bucket);
    free(plan->piece);
    free(plan);
}

fz_status plan_build(const fz_model *m, const plan_inputs *in, fz_plan **out)
{
    fz_plan *plan = calloc(1, sizeof *plan);
    /* At most one run and one staged bucket per tensor, and one piece per tensor. */
    size_t n = m->n_tensors ? m->n_tensors : 1;
    if (plan) {
        plan->layer = calloc(m->n_layers, sizeof *plan->layer);
        plan->grad_off = calloc(n, sizeof *plan->grad_off);
        plan->bucket = calloc(2 * n, sizeof *plan->bucket);
        plan->piece = calloc(n, sizeof *plan->piece);
    }
    if (!plan || !plan->layer || !plan->grad_off || !plan->bucket || !plan->piece) {
        plan_free(plan);
        return set_error(FZ_ENOMEM, "fz_train_step: out of memory for a backward plan "
                         "of %zu layers", m->n_layers);
    }
    plan->batch = in->batch;
    plan->exec = *in->exec;
    plan->exec.gemm.progress = NULL;       /* a step's own, not the plan's */
    plan->exec.gemm.progress_arg = NULL;
    plan->made_at = m->clock;
    plan_layers(m, plan);
    plan_packs(m, in, plan);
    plan_layout(m, plan);
    plan_buckets(m, plan, in->bucket_bytes);
    plan->fingerprint = plan_fingerprint(m, plan);
    *out = plan;
    return FZ_OK;
}

bool plan_current(const fz_plan *plan, const fz_model *m, const fz_exec *exec)
{
    return plan && model_current(plan->made_at, m->flags_changed_at) &&
           exec_same_blocking(&plan->exec, exec);
}

double plan_forward_flops(const fz_model *m, size_t batch, size_t from, size_t to)
{
    double f = 0, B = (double)batch;
    for (size_t l = from; l < to; l++) {
        double I = (double)m->widths[l], O = (double)m->widths[l + 1];
        f += 2 * B * I * O;                       /* GEMM */
        if (model_layer(m, l).b)
            f += B * O;                           /* bias, in the GEMM's epilogue */
        if (l + 1 < m->n_layers)
            f += B * O;                           /* ReLU */
    }
    return f;
}

fz_plan_flops plan_flops(const fz_model *m, const fz_plan *plan, const fz_train_opts *o)
{
    fz_plan_flops f = {0};
    double B = (double)plan->batch;
    size_t L = m->n_layers;
    f.fwd = plan_forward_flops(m, plan->batch, 0, L);
    for (size_t l = 0; l < L; l++) {
        double I = (double)m->widths[l], O = (double)m->widths[l + 1];
        const fz_plan_layer *p = &plan->layer[l];
        if (p->need_dW)
            f.dW += 2 * B * I * O;
        if (p->need_db)
            f.db += B * O;
        if (p->need_dX) {
            f.dX += 2 * B * I * O;
            f.relu_bwd += B * I;                  /* the ReLU below this layer */
        }
    }
    size_t classes = m->widths[L];
    double out = B * (double)classes;
    if (o->loss == FZ_LOSS_CROSS_ENTROPY) {
        f.fwd += (double)xent_forward_flops(plan->batch, classes);
        if (plan->any_trainable)
            f.loss_bwd = (double)xent_backward_flops(plan->batch, classes);
    } else {
        f.fwd += 3 * out;                         /* MSE forward */
        if (plan->any_trainable)
            f.loss_bwd = 2 * out;
    }

    fz_sgd opt = o->sgd;
    double per_param = o->optim == FZ_OPTIM_ADAMW
        ? (double)adamw_flops(1, o->adamw.weight_decay != 0.0f)
        : 2 + (opt.momentum != 0.0f ? 2 : 0) + (opt.weight_decay != 0.0f ? 2 : 0);
    for (size_t i = 0; i < m->n_tensors; i++)
        if (plan_trains(plan, i))
            f.opt += per_param * (double)m->tensors[i].numel;
    return f;
}
