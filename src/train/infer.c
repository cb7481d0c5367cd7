/* Inference: the forward pass alone, with two scratch buffers and nothing kept. */
#include <stdlib.h>

#include "error.h"
#include "exec.h"
#include "linear.h"
#include "model.h"

fz_status fz_forward(fz_model *m, size_t batch, const float *x, float *y)
{
    if (!m || !x || !y)
        return set_error(FZ_EINVAL, "fz_forward: %s is NULL",
                         !m ? "model" : !x ? "x" : "y");
    if (batch == 0)
        return set_error(FZ_EINVAL, "fz_forward: batch is 0");
    size_t maxw = model_max_width(m), n;
    if (!size_mul_ok(batch, maxw, &n) || !size_mul_ok(n, sizeof(float), &(size_t){0}))
        return set_error(FZ_ENOMEM, "fz_forward: batch %zu × width %zu overflows size_t",
                         batch, maxw);
    float *scratch[2] = { malloc(n * sizeof(float)), malloc(n * sizeof(float)) };
    if (!scratch[0] || !scratch[1]) {
        free(scratch[0]);
        free(scratch[1]);
        return set_error(FZ_ENOMEM, "fz_forward: out of memory for 2×%zu floats", n);
    }
    fz_exec ex = exec_now(NULL, NULL);
    const float *in = x;
    for (size_t l = 0; l < m->n_layers; l++) {
        fz_linear layer = model_layer(m, l);
        bool last = l + 1 == m->n_layers;
        float *dst = last ? y : scratch[l % 2];
        linear_forward(&ex, &layer, NULL, batch, in, dst, !last, NULL);
        in = dst;
    }
    free(scratch[0]);
    free(scratch[1]);
    return FZ_OK;
}
