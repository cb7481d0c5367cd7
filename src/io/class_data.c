/*
 * Classification data sets from IDX files, and their subsets by class.  The images and
 * labels are two files that only agree by convention, so everything that ties them
 * together (the count, the label range) is checked here, before a set is returned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "class_data.h"
#include "error.h"
#include "idx.h"

enum { IMAGES_NDIM = 3, LABELS_NDIM = 1 };

/* The set the two arrays describe, once they are known to agree. */
static fz_status from_arrays(const fz_idx_array *images, const char *images_path,
                             const fz_idx_array *labels, const char *labels_path,
                             size_t classes, fz_class_data *out)
{
    size_t n = images->dims[0], features = images->dims[1] * images->dims[2];
    if (n != labels->dims[0])
        return set_error(FZ_EFORMAT, "%s holds %zu images but %s holds %zu labels: the "
                         "counts must match", images_path, n, labels_path, labels->dims[0]);
    if (n == 0 || features == 0)
        return set_error(FZ_EFORMAT, "%s: no samples (%zu images of %zu × %zu)",
                         images_path, n, images->dims[1], images->dims[2]);
    for (size_t i = 0; i < n; i++)
        if (labels->data[i] >= classes)
            return set_error(FZ_EFORMAT, "%s: label %u at index %zu (byte %zu) is not below "
                             "the %zu classes", labels_path, labels->data[i], i,
                             (size_t)8 + i, classes);
    fz_class_data d = { n, features, classes, malloc(images->count * sizeof(float)),
                        malloc(n * sizeof(int32_t)) };
    if (!d.x || !d.y) {
        class_data_free(&d);
        return set_error(FZ_ENOMEM, "%s: out of memory for %zu images", images_path, n);
    }
    /* Division rather than a multiplication by 1/255, so 255 is exactly 1. */
    for (size_t i = 0; i < images->count; i++)
        d.x[i] = (float)images->data[i] / 255.0f;
    for (size_t i = 0; i < n; i++)
        d.y[i] = labels->data[i];
    *out = d;
    return FZ_OK;
}

fz_status class_data_from_idx(const char *images_path, const char *labels_path,
                              size_t classes, fz_class_data *out)
{
    if (!images_path || !labels_path || !out)
        return set_error(FZ_EINVAL, "class_data_from_idx: %s is NULL", !images_path ?
                         "images_path" : !labels_path ? "labels_path" : "out");
    *out = (fz_class_data){ 0 };
    if (classes < 1 || classes > INT32_MAX)
        return set_error(FZ_EINVAL, "class_data_from_idx: %zu classes (1 to %d)", classes,
                         INT32_MAX);
    fz_idx_array images, labels = { 0 };
    fz_status st = idx_read(images_path, IMAGES_NDIM, &images);
    if (st == FZ_OK)
        st = idx_read(labels_path, LABELS_NDIM, &labels);
    /* The features of one image must fit too; idx_read only checked the product with
     * the count, which a count of zero hides. */
    size_t features;
    if (st == FZ_OK && !size_mul_ok(images.dims[1], images.dims[2], &features))
        st = set_error(FZ_EFORMAT, "%s: %zu × %zu pixels overflow", images_path,
                       images.dims[1], images.dims[2]);
    size_t bytes;
    if (st == FZ_OK && !size_mul_ok(images.count, sizeof(float), &bytes))
        st = set_error(FZ_ENOMEM, "%s: %zu pixels as floats overflow size_t", images_path,
                       images.count);
    if (st == FZ_OK)
        st = from_arrays(&images, images_path, &labels, labels_path, classes, out);
    idx_free(&images);
    idx_free(&labels);
    return st;
}

fz_status class_data_fashion_mnist(const char *dir, const char *split, fz_class_data *out)
{
    if (!split || !out)
        return set_error(FZ_EINVAL, "class_data_fashion_mnist: %s is NULL",
                         !split ? "split" : "out");
    *out = (fz_class_data){ 0 };
    if (strcmp(split, "train") && strcmp(split, "t10k"))
        return set_error(FZ_EINVAL, "class_data_fashion_mnist: split '%s' is neither "
                         "'train' nor 't10k'", split);
    if (!dir)
        dir = FZ_FASHION_MNIST_DIR;
    char images[4096], labels[4096];
    int ni = snprintf(images, sizeof images, "%s/%s-images-idx3-ubyte.gz", dir, split);
    int nl = snprintf(labels, sizeof labels, "%s/%s-labels-idx1-ubyte.gz", dir, split);
    if (ni < 0 || (size_t)ni >= sizeof images || nl < 0 || (size_t)nl >= sizeof labels)
        return set_error(FZ_EINVAL, "class_data_fashion_mnist: folder name too long");
    return class_data_from_idx(images, labels, FZ_FASHION_MNIST_CLASSES, out);
}

fz_status class_data_select(const fz_class_data *src, size_t first, size_t end,
                            bool relabel, fz_class_data *out)
{
    if (!src || !out)
        return set_error(FZ_EINVAL, "class_data_select: %s is NULL", !src ? "src" : "out");
    *out = (fz_class_data){ 0 };
    if (first >= end || end > src->classes)
        return set_error(FZ_EINVAL, "class_data_select: classes [%zu, %zu) are not a "
                         "non-empty range within the set's %zu classes", first, end,
                         src->classes);
    size_t kept = 0;
    for (size_t i = 0; i < src->n; i++)
        kept += (size_t)src->y[i] >= first && (size_t)src->y[i] < end;
    if (kept == 0)
        return set_error(FZ_EINVAL, "class_data_select: no sample of the %zu has a class in "
                         "[%zu, %zu)", src->n, first, end);
    fz_class_data d = { kept, src->features, relabel ? end - first : src->classes,
                        malloc(kept * src->features * sizeof(float)),
                        malloc(kept * sizeof(int32_t)) };
    if (!d.x || !d.y) {
        class_data_free(&d);
        return set_error(FZ_ENOMEM, "class_data_select: out of memory for %zu samples",
                         kept);
    }
    size_t row = 0;
    for (size_t i = 0; i < src->n; i++) {
        size_t label = (size_t)src->y[i];
        if (label < first || label >= end)
            continue;
        memcpy(d.x + row * d.features, src->x + i * src->features,
               src->features * sizeof(float));
        d.y[row++] = (int32_t)(relabel ? label - first : label);
    }
    *out = d;
    return FZ_OK;
}

void class_data_free(fz_class_data *d)
{
    if (!d)
        return;
    free(d->x);
    free(d->y);
    *d = (fz_class_data){ 0 };
}
