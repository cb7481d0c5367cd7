/*
 * A program built only from the installed freezebench: pkg-config's flags, the installed
 * header and library.  One training step on a tiny MLP with its first layer frozen;
 * prints the version and the loss, and exits non-zero when a call fails, the frozen
 * layer changed or the trainable one did not (the step did not run as the header says).
 */
#include <stdio.h>
#include <string.h>

#include <freezebench.h>

int main(void)
{
    const size_t widths[] = { 4, 8, 2 };
    float x[3 * 4], y[3 * 2], loss = -1.0f;
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = (float)i / 10.0f;
    for (size_t i = 0; i < sizeof y / sizeof y[0]; i++)
        y[i] = 1.0f;
    fz_model *m = fz_mlp_create(widths, 3, 42);
    if (!m || fz_freeze(m, "fc1.*") != FZ_OK) {
        fprintf(stderr, "consumer: %s\n", fz_last_error());
        return 1;
    }
    size_t n = 0;
    const float *w1 = fz_param_data(m, "fc1.weight", &n);
    float before[8 * 4];
    if (!w1 || n != 8 * 4) {
        fprintf(stderr, "consumer: fc1.weight: %s\n", fz_last_error());
        return 1;
    }
    memcpy(before, w1, sizeof before);
    const float *w2 = fz_param_data(m, "fc2.weight", &n);
    float before2[2 * 8];
    if (!w2 || n != 2 * 8) {
        fprintf(stderr, "consumer: fc2.weight: %s\n", fz_last_error());
        return 1;
    }
    memcpy(before2, w2, sizeof before2);
    fz_sgd opt = { .lr = 0.1f };
    fz_trainer *t = fz_trainer_create(m, 3, opt);
    if (!t || fz_train_step(t, x, y, &loss) != FZ_OK || fz_trainer_steps(t) != 1) {
        fprintf(stderr, "consumer: %s\n", fz_last_error());
        return 1;
    }
    if (memcmp(before, w1, sizeof before) != 0) {
        fprintf(stderr, "consumer: the frozen fc1.weight changed\n");
        return 1;
    }
    if (memcmp(before2, w2, sizeof before2) == 0) {
        fprintf(stderr, "consumer: the trainable fc2.weight did not change\n");
        return 1;
    }
    printf("freezebench %s (header %s) loss %.6f steps %llu\n", fz_version(),
           FZ_VERSION_STRING, (double)loss, (unsigned long long)fz_trainer_steps(t));
    fz_trainer_free(t);
    fz_model_free(m);
    return 0;
}
