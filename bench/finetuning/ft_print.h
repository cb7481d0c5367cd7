/* The fine-tuning benchmark's table on stdout: per run, each epoch's test accuracy and
 * cumulative training time, the best accuracy and when the target was reached. */
#ifndef FT_PRINT_H
#define FT_PRINT_H

#include <stdio.h>

#include "ft_experiment.h"

void ft_print(FILE *f, const ft_args *a, const ft_run *runs, size_t n);

#endif
