/*
 * The backward plan, following PyTorch's autograd: a layer's input gradient is only
 * computed when some parameter below it requires grad (up[l]); the input never does.
 */
#include "plan.h"

void plan_backward(const fz_model *m, fz_plan *plan)
{
    bool up = false; /* some parameter of the layers below this one requires grad */
    plan->n_layers = m->n_layers;
    plan->lowest = m->n_layers;
    plan->any_trainable = false;
    for (size_t l = 0; l < m->n_layers; l++) {
        fz_plan_layer *p = &plan->layer[l];
        fz_linear layer = fz_model_layer(m, l);
        p->need_dW = m->tensors[layer.W_index].requires_grad;
        p->need_db = layer.b && m->tensors[layer.b_index].requires_grad;
        p->need_dX = up;
        p->keep_X = p->need_dW || p->need_dX;
        if ((p->need_dW || p->need_db) && plan->lowest == m->n_layers)
            plan->lowest = l;
        up = up || p->need_dW || p->need_db;
    }
    plan->any_trainable = up;
    plan->flags_version = m->flags_version;
}

double plan_forward_flops(const fz_model *m, size_t batch, size_t from, size_t to)
{
    double f = 0, B = (double)batch;
    for (size_t l = from; l < to; l++) {
        double I = (double)m->widths[l], O = (double)m->widths[l + 1];
        f += 2 * B * I * O;                       /* GEMM */
        if (fz_model_layer(m, l).b)
            f += B * O;                           /* bias, in the GEMM's epilogue */
        if (l + 1 < m->n_layers)
            f += B * O;                           /* ReLU */
    }
    return f;
}

fz_plan_flops plan_flops(const fz_model *m, const fz_plan *plan, size_t batch,
                         fz_sgd opt)
{
    fz_plan_flops f = {0};
    double B = (double)batch;
    size_t L = m->n_layers;
    f.fwd = plan_forward_flops(m, batch, 0, L);
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
    double out = B * (double)m->widths[L];
    f.fwd += 3 * out;                             /* MSE forward */
    if (plan->any_trainable)
        f.loss_bwd = 2 * out;

    double per_param = 2 + (opt.momentum != 0.0f ? 2 : 0) + (opt.weight_decay != 0.0f ? 2 : 0);
    for (size_t i = 0; i < m->n_tensors; i++)
        if (plan_need_grad(plan, &m->tensors[i]))
            f.opt += per_param * (double)m->tensors[i].numel;
    return f;
}

size_t plan_activation_bytes(const fz_model *m, const fz_plan *plan, size_t batch)
{
    size_t bytes = 0;
    for (size_t l = 0; l < m->n_layers; l++)
        if (plan->layer[l].keep_X)
            bytes += batch * m->widths[l] * sizeof(float);
    return bytes;
}
