/*
 * Internal: a classification data set in memory — inputs as float rows, one integer class
 * label per row — read from a pair of IDX files (Fashion-MNIST's images and labels), and
 * the subsets by class that the fine-tuning benchmark needs (pretrain on classes 0-4,
 * fine-tune on 5-9 relabelled 0-4).
 */
#ifndef FZ_CLASS_DATA_H
#define FZ_CLASS_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "freezebench.h"

/* Where Debian's dataset-fashion-mnist package puts the files. */
#define FZ_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
#define FZ_FASHION_MNIST_CLASSES 10

typedef struct {
    size_t n;          /* samples */
    size_t features;   /* values per sample: rows × columns of an image */
    size_t classes;    /* every label is in [0, classes) */
    float *x;          /* n × features, row-major, each value in [0, 1] */
    int32_t *y;        /* n labels */
} fz_class_data;

/* Reads images (an IDX file of 3 dimensions: count, rows, columns, unsigned bytes) and
 * labels (1 dimension) through idx_read, gzip'd or not.  Pixel values become value/255;
 * the image count must equal the label count, every label must be below `classes`
 * (1 to INT32_MAX), and there must be at least one sample.  FZ_EFORMAT naming the file
 * (and the label's index) for a file that breaks this, FZ_EIO, FZ_EINVAL, FZ_ENOMEM as
 * idx_read.  On failure *out is empty. */
fz_status class_data_from_idx(const char *images_path, const char *labels_path,
                              size_t classes, fz_class_data *out);

/* Fashion-MNIST's `split` ("train" or "t10k") from `dir` (NULL: FZ_FASHION_MNIST_DIR),
 * the file names the package uses: <split>-images-idx3-ubyte.gz and
 * <split>-labels-idx1-ubyte.gz. */
fz_status class_data_fashion_mnist(const char *dir, const char *split, fz_class_data *out);

/* A new set of the samples of `src` whose label is in [first, end), in their order.
 * With `relabel`, each label becomes label - first and the set has end - first classes
 * (classes 5-9 become 0-4); without, labels and the class count stay.  FZ_EINVAL for a
 * range that is empty or reaches past src->classes, or that no sample falls in;
 * FZ_ENOMEM.  `src` is never changed; on failure *out is empty. */
fz_status class_data_select(const fz_class_data *src, size_t first, size_t end,
                            bool relabel, fz_class_data *out);

void class_data_free(fz_class_data *d);

#endif
