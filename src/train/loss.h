/* Internal: the MSE loss, as nn.MSELoss with reduction='mean'. */
#ifndef FZ_LOSS_H
#define FZ_LOSS_H

#include <stddef.h>
#include "counter.h"

/* Mean of (out - y)² over n elements.  Counts 3n. */
float mse_forward(const float *out, const float *y, size_t n, fz_counter *flops);
/* dout = 2·(out - y)/n.  Counts 2n. */
void mse_backward(float *dout, const float *out, const float *y, size_t n, fz_counter *flops);

#endif
