/* The MSE loss.  The value is summed in double: it is reported, not differentiated, and
 * a float sum over a large batch would drift from PyTorch's pairwise sum. */
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
