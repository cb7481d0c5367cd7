/* The losses (loss.h).  Values are summed in double: they are reported, not
 * differentiated, and a float sum over a large batch would drift from PyTorch's pairwise
 * sum. */
#include <math.h>

#include "loss.h"

float mse_forward(const float *out, const float *y, size_t n, fz_counter *flops)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        float d = out[i] - y[i];
        sum += (double)(d * d);
    }
    counter_add(flops, 3 * (uint64_t)n);
    return (float)(sum / (double)n);
}

void mse_backward(float *dout, const float *out, const float *y, size_t n, size_t mean_over,
                  fz_counter *flops)
{
    float scale = 2.0f / (float)mean_over;
    for (size_t i = 0; i < n; i++)
        dout[i] = scale * (out[i] - y[i]);
    counter_add(flops, 2 * (uint64_t)n);
}

float xent_forward_backward(const float *logits, const int32_t *labels, size_t rows,
                            size_t classes, size_t mean_over_rows, float *dlogits,
                            fz_counter *fwd, fz_counter *bwd)
{
    double total = 0.0;
    float scale = 1.0f / (float)mean_over_rows;
    for (size_t r = 0; r < rows; r++) {
        const float *x = logits + r * classes;
        float max = x[0];
        for (size_t j = 1; j < classes; j++)
            max = x[j] > max ? x[j] : max;
        double sum = 0.0;
        for (size_t j = 0; j < classes; j++)
            sum += (double)expf(x[j] - max);
        /* -log softmax(x)[label] = log Σ exp(x - max) - (x[label] - max) */
        total += log(sum) - (double)(x[labels[r]] - max);
        if (dlogits) {
            float *d = dlogits + r * classes;
            float inv = (float)(1.0 / sum);
            for (size_t j = 0; j < classes; j++)
                d[j] = scale * (expf(x[j] - max) * inv);
            d[labels[r]] -= scale;
        }
    }
    counter_add(fwd, xent_forward_flops(rows, classes));
    if (dlogits)
        counter_add(bwd, xent_backward_flops(rows, classes));
    return (float)(total / (double)mean_over_rows);
}
