/*
 * The seed program, in C: SimpleNet (10 -> 5 -> ReLU -> 1) with fc1 frozen, trained for
 * 100 epochs of SGD (lr 0.01) on MSE over 64 random samples.  The PyTorch original is in
 * the README, side by side.
 *
 *   usage: simple_net [SEED]
 *          simple_net --help | --version
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "freezebench.h"

enum { SAMPLES = 64, IN = 10, HIDDEN = 5, OUT = 1, EPOCHS = 100 };

/* Standard normal samples (Box-Muller over splitmix64), like torch.randn. */
static uint64_t rng_state;
static double uniform01(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
static void randn(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(sqrt(-2.0 * log(uniform01())) * cos(6.283185307179586 * uniform01()));
}

int main(int argc, char **argv)
{
    /* Every freezebench program answers these two the same way (cli/cli_common.h); linked
     * to the shared library, --version also names the library loaded if it differs. */
    if (fz_cli_version_asked(argc, argv))
        return fz_cli_print_version(stdout, "simple_net");
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        puts("usage: simple_net [SEED]\n"
             "Trains SimpleNet (10 -> 5 -> ReLU -> 1, fc1 frozen) for 100 epochs of SGD on 64\n"
             "random samples drawn from SEED (default 42), as the README's PyTorch program.");
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
    }
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 42;
    rng_state = seed ^ 0x5eedull;

    const size_t widths[] = { IN, HIDDEN, OUT };
    fz_model *model = fz_mlp_create(widths, 3, seed);
    if (!model) {
        fprintf(stderr, "simple_net: %s\n", fz_last_error());
        return 1;
    }
    /* for param in model.fc1.parameters(): param.requires_grad = False */
    if (fz_freeze(model, "fc1.*") != FZ_OK) {
        fprintf(stderr, "simple_net: %s\n", fz_last_error());
        return 1;
    }
    for (size_t i = 0; i < fz_param_count(model); i++) {
        const char *name = fz_param_name(model, i);
        printf("Parameter: %s, Requires grad: %s\n", name,
               fz_requires_grad(model, name) ? "True" : "False");
    }

    float fc1_before[HIDDEN * IN + HIDDEN];
    size_t nw, nb;
    float *w1 = fz_param_data(model, "fc1.weight", &nw);
    float *b1 = fz_param_data(model, "fc1.bias", &nb);
    memcpy(fc1_before, w1, nw * sizeof(float));
    memcpy(fc1_before + nw, b1, nb * sizeof(float));

    float inputs[SAMPLES * IN], targets[SAMPLES * OUT];
    randn(inputs, SAMPLES * IN);
    randn(targets, SAMPLES * OUT);

    fz_sgd sgd = { .lr = 0.01f, .momentum = 0.0f, .weight_decay = 0.0f };
    fz_trainer *trainer = fz_trainer_create(model, SAMPLES, sgd);
    if (!trainer) {
        fprintf(stderr, "simple_net: %s\n", fz_last_error());
        return 1;
    }
    for (int epoch = 0; epoch < EPOCHS; epoch++) {
        float loss;
        if (fz_train_step(trainer, inputs, targets, &loss) != FZ_OK) {
            fprintf(stderr, "simple_net: %s\n", fz_last_error());
            return 1;
        }
        if ((epoch + 1) % 10 == 0)
            printf("Epoch [%d/%d], Loss: %.4f\n", epoch + 1, EPOCHS, (double)loss);
    }

    bool unchanged = !memcmp(fc1_before, w1, nw * sizeof(float)) &&
                     !memcmp(fc1_before + nw, b1, nb * sizeof(float));
    printf("fc1 after training: %s\n", unchanged ? "bit-for-bit unchanged (frozen)"
                                                 : "CHANGED (freezing failed)");
    fz_flops f = fz_flops_executed(trainer);
    printf("Last step FLOPs: forward %.0f, backward %.0f, optimizer %.0f (kernel: %s)\n",
           f.fwd, f.bwd, f.opt, fz_isa());
    fz_trainer_free(trainer);
    fz_model_free(model);
    return unchanged ? 0 : 1;
}
