/*
 * freezebench — train MLPs on the CPU and measure what freezing parameters buys.
 *
 * This header is the whole public API.  Conventions:
 *   - Matrices are row-major float32.  A layer's weight `fcL.weight` is O×I (outputs ×
 *     inputs, as nn.Linear stores it), its bias `fcL.bias` has O entries.
 *   - Every call that can fail returns an fz_status (or NULL for constructors) and leaves a
 *     message saying what failed and where in fz_last_error().  A failed call leaves every
 *     object it was given as it was.
 *   - Parameters are named as a PyTorch state_dict names them: fc1.weight, fc1.bias, ...
 *   - Indices are 0-based everywhere: layer l (fc1 is layer 0), tensor i in state_dict
 *     order, width i.  Only names count from 1 (fcL), as PyTorch numbers its modules.
 *   - A *_count counts things (tensors); an *_elements counts floats.
 *   - The library writes nothing to stdout or stderr, except fz_machine_print to the file
 *     it is given: errors go to fz_last_error(), and notes (a fallback taken, an input
 *     kept aside) go to stderr only when FREEZEBENCH_VERBOSE=1; what they say can also be
 *     read through the API (fz_isa_status, fz_machine_get).
 *
 * The freezing model (see the README):  every parameter has its own requires_grad flag.
 * From the flags a trainer derives a backward plan — per layer need_dW, need_db and need_dX
 * (the input gradient is computed only if some parameter below still needs it) — and skips
 * every piece of work, stored activation and optimizer buffer that the plan does not need.
 */
#ifndef FREEZEBENCH_H
#define FREEZEBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "freezebench_version.h"   /* FZ_VERSION_MAJOR, _MINOR, _PATCH, FZ_VERSION_STRING */

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the declarations the shared library exports: it is built with hidden visibility,
 * so nothing else (the internal fz_* functions) is part of its ABI. */
#if defined(__GNUC__) || defined(__clang__)
#define FZ_API __attribute__((visibility("default")))
#else
#define FZ_API
#endif

/* The library's version, "MAJOR.MINOR.PATCH": the library that runs, which may be newer
 * than the header a program was built with (FZ_VERSION_STRING). */
FZ_API const char *fz_version(void);

/* ---- status and errors ------------------------------------------------------------ */

typedef enum {
    FZ_OK = 0,
    FZ_EINVAL,      /* an argument is invalid: NULL, zero size, malformed spec, ... */
    FZ_ENOMEM,      /* an allocation failed or a size overflows size_t */
    FZ_EIO,         /* a file could not be read or written */
    FZ_EFORMAT,     /* a file was read but its contents are not what was expected */
    FZ_ENOTFOUND,   /* a name (parameter, pattern) matched nothing */
    FZ_ENONFINITE,  /* a NaN or infinity in the inputs, or a loss that became one */
} fz_status;

/* Text of the last failure on the calling thread ("" if none).  Valid until the next
 * failing call on the same thread. */
FZ_API const char *fz_last_error(void);

/* Short name of a status: "FZ_EINVAL", ... */
FZ_API const char *fz_status_name(fz_status s);

/* ---- kernels -------------------------------------------------------------------- */

typedef enum { FZ_NOTRANS = 0, FZ_TRANS = 1 } fz_trans;

/* C = alpha·op(A)·op(B) + beta·C, row-major, with the meaning of cblas_sgemm:
 * op(A) is m×k, op(B) is k×n, C is m×n.  When beta == 0, C is not read (NaNs in it do
 * not propagate).  k == 0 or alpha == 0 gives C = beta·C without reading A or B (as in
 * BLAS: their NaNs do not propagate either); m or n of 0 does nothing.
 * Bad arguments are refused: C is not written and fz_last_error() says which argument —
 * a NULL matrix (C, or A or B when they are read), a transpose flag other than
 * FZ_NOTRANS/FZ_TRANS, or a leading dimension below its matrix's row length
 * (lda < k, or < m for FZ_TRANS; ldb < n, or < k for FZ_TRANS; ldc < n). */
FZ_API void fz_sgemm(fz_trans ta, fz_trans tb, size_t m, size_t n, size_t k, float alpha,
              const float *a, size_t lda, const float *b, size_t ldb,
              float beta, float *c, size_t ldc);

/* The kernel family that runs: "avx512", "avx2", "neon" or "scalar".  Chosen once, at the
 * first call into the library, from the CPU's features; FREEZEBENCH_ISA=scalar|avx2|
 * avx512|neon forces one (an ISA the CPU cannot run is refused with a note
 * and the best available one is used; fz_isa_status() tells whether that happened). */
FZ_API const char *fz_isa(void);
FZ_API fz_status   fz_isa_status(void);

/* Threads used by the kernels and the training step.  0 = one per physical core (of the
 * most performant kind on big.LITTLE machines) among the CPUs this process may use
 * (cgroup cpuset, taskset).  FREEZEBENCH_THREADS sets the initial value.  More threads
 * than cores are allowed, with a note (fz_machine's team_note).  Threads are bound to cores only when
 * binding is on (fz_set_binding).  Not to be called while
 * another thread trains or runs a kernel. */
FZ_API void fz_set_threads(int n);
FZ_API int  fz_get_threads(void);
/* Use SMT siblings (hyper-threads) too: the default count becomes one thread per PU.
 * FREEZEBENCH_SMT=1 sets the initial value; off by default, since two threads on one core
 * share its FMA units and caches. */
FZ_API void fz_set_smt(bool on);
/* Bind each thread of the team, the calling one included, to its own PU (hwloc), or
 * give them back the affinity the process had.  Off by default: a library should not
 * change its caller's CPU affinity unasked, and a bound thread cannot move away from a
 * busy neighbour.  FREEZEBENCH_BIND=1 sets the initial value.  Without hwloc nothing is
 * bound.  Not to be called while another thread trains or runs a kernel. */
FZ_API void fz_set_binding(bool on);
FZ_API bool fz_get_binding(void);

/* ---- the machine and the thread team --------------------------------------------- */

/* What the library found and how it uses it (the bench CSV's machine columns).  Counts
 * are of what this process may use (cgroup cpuset, taskset), not of the whole machine. */
typedef struct {
    char   cpu_model[128];      /* "AMD EPYC 7B13", from hwloc or /proc/cpuinfo; "unknown" */
    char   arch[32];            /* "x86_64", "aarch64" */
    char   isa[16];             /* the kernels that run: fz_isa() */
    int    packages, numa_nodes, l3_groups, cores, pus;   /* l3_groups 0: no L3 */
    size_t l1d, l2, l3;         /* bytes per cache, smallest over the cores; 0 = unknown */
    int    threads, groups;     /* the team: threads, and the L3 groups they form */
    size_t kc, mc, nc;          /* GEMM blocking the kernels in use derive from the caches
                                 * for their tile (a product whose C spills half the L2
                                 * takes deeper K blocks); 0 for the scalar kernels */
    bool   smt;                 /* SMT siblings asked for */
    bool   bound;               /* each thread bound to its own PU (fz_set_binding) */
    char   topology[192];       /* where the topology came from: "hwloc 2.9.0", or why
                                 * it is a fallback */
    char   team_note[192];      /* why the team is not the default layout (more threads
                                 * than cores: "oversubscribed", SMT siblings), or "" */
} fz_machine;

/* Fills *out (builds the thread team if needed).  FZ_EINVAL if out is NULL. */
FZ_API fz_status fz_machine_get(fz_machine *out);
/* A readable report of the machine, the team (which thread runs on which core) and the
 * blocking, a few lines long.  Nothing if f is NULL. */
FZ_API void      fz_machine_print(FILE *f);

/* ---- model ---------------------------------------------------------------------- */

typedef struct fz_model fz_model;

/* An MLP of n_widths-1 Linear layers with ReLU between them: widths = {in, h1, ..., out}.
 * Weights and biases are drawn uniformly in ±1/sqrt(in) of their layer (nn.Linear's
 * default init) from a generator seeded with `seed`.  Every parameter starts with
 * requires_grad = true.  NULL on failure (n_widths < 2, a zero width, sizes that
 * overflow, out of memory). */
FZ_API fz_model   *fz_mlp_create(const size_t *widths, size_t n_widths, uint64_t seed);
/* The same with a bias in layer l (0-based) only where has_bias[l] (nn.Linear(...,
 * bias=False) elsewhere; NULL: every layer has one).  A layer without a bias has no
 * fcL.bias tensor, no bias term in its forward, no db and none of their FLOPs. */
FZ_API fz_model   *fz_mlp_create_biases(const size_t *widths, size_t n_widths,
                                        const bool *has_bias, uint64_t seed);
FZ_API void        fz_model_free(fz_model *m);

FZ_API size_t      fz_layer_count(const fz_model *m);            /* number of Linear layers */
FZ_API size_t      fz_width(const fz_model *m, size_t i);         /* widths[i], 0 <= i <= layers */

FZ_API size_t      fz_param_count(const fz_model *m);  /* tensors: 1 or 2 per layer */
/* Name of tensor i in state_dict order (fc1.weight, fc1.bias, fc2.weight, ...), the
 * library's own names whatever the archive called them; NULL if i is out of range.
 * Lookups take fz_param_state_name's names (the same for a model of fcL layers). */
FZ_API const char *fz_param_name(const fz_model *m, size_t i);
/* Name of tensor i in the state_dict the model came from ("0.weight", "head.bias"; the
 * same as fz_param_name for a model of fcL layers); fz_save_npz writes these.  Every
 * call that takes a tensor name or a glob (fz_param_data, fz_freeze, ...) takes these
 * names, and only these: the library's fcK names are never matched beside them, so in
 * an archive of layers fc0, fc1, fc2 "fc1.weight" is the archive's fc1 (which the
 * library calls fc2). */
FZ_API const char *fz_param_state_name(const fz_model *m, size_t i);
/* Data of the named tensor and its element count; NULL (and an FZ_ENOTFOUND message) if
 * no tensor has that name.  The pointer stays valid until the model is freed. */
FZ_API float      *fz_param_data(fz_model *m, const char *name, size_t *numel);
/* Shape of the named tensor: rows×cols for a weight, cols = 1 for a bias. */
FZ_API fz_status   fz_param_shape(const fz_model *m, const char *name, size_t *rows, size_t *cols);

/* Freeze specs: a comma-separated list of items, each one of
 *   a glob over parameter names (`*`, `?`, `[...]`):  fc1.*, fc2.weight, *.bias
 *   none          nothing
 *   prefix:K      every parameter of the first K layers, 0 <= K <= layers
 *   last          every layer but the last (linear probing)
 *   bitfit        every weight (biases stay trainable)
 * fz_freeze sets requires_grad = false on every parameter the spec names, fz_unfreeze
 * sets it true.  A spec that does not parse is FZ_EINVAL, a glob that matches nothing is
 * FZ_ENOTFOUND; either way the message names the offending item and no flag changes. */
FZ_API fz_status   fz_freeze(fz_model *m, const char *spec);
FZ_API fz_status   fz_unfreeze(fz_model *m, const char *spec);
/* requires_grad of the named tensor; false (and an FZ_ENOTFOUND message) if no tensor
 * has that name. */
FZ_API bool        fz_requires_grad(const fz_model *m, const char *name);

/* Forward pass only (inference): y (batch×out) = model(x) for x (batch×in). */
FZ_API fz_status   fz_forward(fz_model *m, size_t batch, const float *x, float *y);

/* ---- training ------------------------------------------------------------------- */

/* SGD exactly as torch.optim.SGD with dampening 0 and nesterov off:
 *   g += weight_decay·p;  buf = momentum·buf + g (buf = g on the first step);
 *   p -= lr·buf  (p -= lr·g without momentum). */
typedef struct { float lr, momentum, weight_decay; } fz_sgd;

typedef struct fz_trainer fz_trainer;

/* A trainer for `m` at a fixed batch size, with MSE loss (mean over all outputs, as
 * nn.MSELoss) and SGD.  The model must outlive the trainer.  NULL on failure — among
 * them a model with nothing to train (every parameter frozen), which PyTorch's backward
 * refuses too, and an lr, momentum or weight_decay that is negative, NaN or infinite.
 * A freeze change after creation takes effect at the next step. */
FZ_API fz_trainer *fz_trainer_create(fz_model *m, size_t batch, fz_sgd opt);
FZ_API void        fz_trainer_free(fz_trainer *t);

/* One step on x (batch×in) and targets y (batch×out): forward, loss, the backward the
 * plan calls for, SGD on the trainable parameters.  *loss (if loss is not NULL) receives
 * the loss before the update.  FZ_EINVAL if nothing is trainable any more.
 * FZ_ENONFINITE, with the parameters untouched, if x or y holds a NaN or an infinity
 * (the message names the array and the element), if the loss is not finite, or if the
 * update made a parameter or a momentum value NaN or infinite (the model has diverged;
 * the message names the step, and for an update the tensor and the element).  In the
 * last case the parameters and the momentum are put back as they were before the step:
 * the trainer keeps a copy of the trainable ones for that (not counted in
 * fz_memory_used).
 * Frozen weights: the first step of a plan packs each weight the plan does not train
 * into the GEMM's panel layout, for the forward and, where its layer passes gradients
 * down, for dX; later steps reuse those copies (fz_memory_used().packed) instead of
 * repacking the weight in every product.  A freeze change, another kernel table
 * (FREEZEBENCH_ISA, an override) or cache sizes repack; so does fz_param_data or
 * fz_load_npz on a frozen weight.  Write through a pointer from fz_param_data before
 * the next step, not one kept from before it: a later write is not seen (by the packs,
 * nor by the largest |p| the optimizer keeps to know an update cannot overflow, so an
 * update that such a write makes overflow could go unreported).
 * FREEZEBENCH_PREPACK=0 when the trainer is created turns this off.  Results are
 * bitwise the same either way. */
FZ_API fz_status   fz_train_step(fz_trainer *t, const float *x, const float *y, float *loss);

/* ---- fine-tuning: cross-entropy, AdamW, evaluation -------------------------------- */

/* The loss a trainer minimises: MSE as nn.MSELoss (targets y, batch×out floats), or
 * cross-entropy as nn.CrossEntropyLoss (class labels, batch int32 values in
 * [0, out): softmax and negative log-likelihood fused, the mean over the batch). */
typedef enum { FZ_LOSS_MSE = 0, FZ_LOSS_CROSS_ENTROPY = 1 } fz_loss;

/* AdamW exactly as torch.optim.AdamW (amsgrad off): p *= 1 - lr·weight_decay;
 * m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²; p -= lr/(1-β1^t) · m/(√v/√(1-β2^t) + eps),
 * t counted per tensor from its first update.  fz_adamw_defaults() is PyTorch's:
 * lr 1e-3, betas 0.9 and 0.999, eps 1e-8, weight_decay 0.01. */
typedef struct { float lr, beta1, beta2, eps, weight_decay; } fz_adamw;
FZ_API fz_adamw    fz_adamw_defaults(void);

typedef enum { FZ_OPTIM_SGD = 0, FZ_OPTIM_ADAMW = 1 } fz_optim;

/* What a trainer runs: the loss, and the optimizer with its settings (sgd for
 * FZ_OPTIM_SGD, adamw for FZ_OPTIM_ADAMW; the other is ignored).  Zero-initialised
 * except sgd, it is fz_trainer_create's MSE and SGD. */
typedef struct {
    fz_loss loss;
    fz_optim optim;
    fz_sgd sgd;
    fz_adamw adamw;
} fz_train_opts;

/* fz_trainer_create with any loss and optimizer.  NULL on failure, as there, and for
 * settings PyTorch refuses: AdamW's lr, eps or weight_decay negative, a beta outside
 * [0, 1), anything NaN or infinite; a loss or optimizer not in the enums.
 * Cross-entropy needs at least 2 outputs.  Optimizer state (SGD's momentum, AdamW's two
 * moments) exists only for tensors some plan has trained: fz_memory_used().optimizer
 * shows what freezing saves.  A tensor first trained later (a freeze schedule) starts
 * with zero state and its own step count, as PyTorch's state for a parameter starts at
 * its first update; one frozen and trained again resumes both. */
FZ_API fz_trainer *fz_trainer_create_opts(fz_model *m, size_t batch, const fz_train_opts *o);

/* fz_train_step for a cross-entropy trainer: labels holds batch class indices, each in
 * [0, out) (FZ_EINVAL naming the first that is not, parameters untouched).  An MSE
 * trainer refuses it (FZ_EINVAL), as a cross-entropy trainer refuses fz_train_step. */
FZ_API fz_status   fz_train_step_labels(fz_trainer *t, const float *x, const int32_t *labels,
                                        float *loss);

/* The loss of m on n samples (x: n×in), in batches, without training: MSE against y
 * (n×out), or cross-entropy against labels (n values in [0, out)), the mean over every
 * sample; for cross-entropy also the accuracy, the fraction of samples whose largest
 * output (the first, on a tie) is their label (NaN for MSE). */
typedef struct { double loss, accuracy; size_t samples; } fz_eval;
FZ_API fz_status   fz_evaluate(fz_model *m, fz_loss loss, size_t n, const float *x,
                               const float *y, const int32_t *labels, fz_eval *out);

/* FLOPs of the last completed step, per phase (conventions: DESIGN.md at the repository
 * root): as planned from the backward plan, and as the kernels counted them while they
 * ran.  The two agree (a flag change shows up in both with the next step).  A failed step
 * changes neither: before the first completed step both are 0, whatever failed steps ran. */
typedef struct { double fwd, bwd, opt; } fz_flops;
FZ_API fz_flops    fz_flops_planned(const fz_trainer *t);
FZ_API fz_flops    fz_flops_executed(const fz_trainer *t);

/* The backward pass split as DeepBench reports it: dgrad (input gradients: loss
 * gradient, dX = dY·W, ReLU backward) and wgrad (dW = dYᵀ·X and db). */
typedef struct { double dgrad, wgrad; } fz_bwd_split;
FZ_API fz_bwd_split fz_bwd_planned(const fz_trainer *t);
FZ_API fz_bwd_split fz_bwd_executed(const fz_trainer *t);

/* The backward plan of layer l (0-based: fc1 is 0), as it stands for the next step. */
typedef struct { bool need_dW, need_db, need_dX; } fz_layer_plan;
FZ_API fz_status   fz_layer_plan_get(fz_trainer *t, size_t layer, fz_layer_plan *out);

/* Memory the plan keeps, in bytes: forward activations saved for the backward pass, the
 * gradient buffers, the optimizer (momentum) state, and the frozen weights' packed
 * copies (see fz_train_step; 0 until the first step of a plan packs them). */
typedef struct { size_t activations, gradients, optimizer, packed; } fz_memory;
FZ_API fz_memory   fz_memory_used(fz_trainer *t);

/* Steps completed by this trainer (a failed step does not count). */
FZ_API uint64_t    fz_trainer_steps(const fz_trainer *t);

/* Time spent in each phase of the last step, in seconds (0 where the phase did no work). */
typedef struct { double fwd, bwd, opt; } fz_times;
FZ_API fz_times    fz_times_last(const fz_trainer *t);

/* Where the last completed step updated its parameters (floats): in the optimizer
 * phase, or inside the backward, where each trained weight's SGD update is folded into
 * its wgrad GEMM, tile by tile, whenever the step's update is shown unable to overflow
 * before the backward starts, at batches of 64 rows or more (DESIGN.md §2, "The update
 * folded into the backward"; FREEZEBENCH_FUSED_UPDATE at fz_trainer_create: 0 never,
 * 1 at any batch).  A folded update's
 * time is part of fz_times_last().bwd; its FLOPs stay in the optimizer's count.  Both
 * 0 before the first completed step. */
typedef struct { uint64_t optimizer_floats, folded_floats; } fz_update_split;
FZ_API fz_update_split fz_update_last(const fz_trainer *t);

/* Parameter elements (floats) of the trainable and of the frozen tensors. */
FZ_API size_t      fz_trainable_elements(const fz_model *m);
FZ_API size_t      fz_frozen_elements(const fz_model *m);

/* ---- data-parallel training over MPI ------------------------------------------------ */

/* In its own library and header: freezebench_dp.h, libfreezebench-dp (pkg-config
 * freezebench-dp), built where MPI is found, so that this library never links MPI. */

/* ---- parameter files (NumPy .npz, keyed by state_dict names) ------------------------ */

/* The archives hold one float32 array per parameter, named as the state_dict names it
 * (fc1.weight of shape (O, I), fc1.bias of shape (O,)), as PyTorch and NumPy write them:
 *     np.savez("m.npz", **{k: v.numpy() for k, v in model.state_dict().items()})
 * Both np.savez (stored) and np.savez_compressed (deflate) archives are read; every
 * member's CRC-32 is checked.  Only little-endian float32 ('<f4') in C order is read.
 * requires_grad flags are not stored. */

/* Replaces every parameter of `m` by the archive's.  Every array is decoded and checked
 * before the first parameter changes; on any failure the model is as it was.
 *   FZ_EIO        the file cannot be opened or read
 *   FZ_ENOTFOUND  an array names no tensor of the model, or a tensor has no array
 *   FZ_EFORMAT    a shape differs from the model's; a dtype other than '<f4' (a '>f4'
 *                 is reported as a byte-order error); fortran_order True; a truncated
 *                 or corrupt archive or a CRC-32 mismatch; zip features numpy does not
 *                 write (encryption, other compression methods, zip64 end records)
 *   FZ_ENONFINITE a parameter holds a NaN or an infinity (the message names the tensor
 *                 and the element, [row, col] of a weight)
 * The message names the tensor, or the byte offset where the archive went wrong. */
FZ_API fz_status   fz_load_npz(fz_model *m, const char *path);

/* Writes every parameter as an uncompressed .npz that np.load reads.  The archive goes
 * to a temporary file in the same directory that is renamed over `path` once complete,
 * so `path` is never half-written.  A SIGINT, SIGTERM or SIGHUP that ends the process
 * during the write removes the temporary file before the process ends (when the
 * program leaves that signal's default action; a signal it ignores or handles itself is
 * left to it), and one left by a writer that could not clean up (SIGKILL, a crash) is
 * removed by the next save to that name.  A new file gets 0666 less the umask, a
 * replaced one keeps its mode.  Only regular files are written: an existing directory,
 * symlink, FIFO or device node at `path` is refused (FZ_EIO), never replaced.  FZ_EINVAL
 * for an empty path, FZ_EIO on a write failure (with the system's reason). */
FZ_API fz_status   fz_save_npz(const fz_model *m, const char *path);

/* A new model with the archive's architecture and parameters: the widths come from
 * fc1.weight .. fcL.weight (each layer's input count must equal the previous layer's
 * output count) when the archive's fcK weights are exactly those, or otherwise from any
 * MLP's Linear layers (fz_mlp_from_state_dict with opts NULL); then the parameters load
 * as in fz_load_npz.  Every parameter requires grad.  NULL on failure, with the
 * message. */
FZ_API fz_model   *fz_mlp_from_npz(const char *path);

/* Any MLP's state_dict: the Linear layers are found as follows, and the model keeps the
 * archive's names (fz_param_state_name) for fz_save_npz.
 *   - opts->map ("fc1=0,fc2=2,fc3=head"): layer fcK is PREFIX.weight (2-D) and
 *     PREFIX.bias (1-D) if the archive has it, for K = 1..L in order (fz_npz_map_check
 *     says what a map may be);
 *   - the archive's weights named fcK.weight (K a number) are exactly fc1.weight ..
 *     fcL.weight: layers fc1..fcL in the order of their numbers (a missing fcK.bias
 *     makes a layer without a bias);
 *   - otherwise every 2-D array whose name ends in ".weight", in archive order (the
 *     state_dict's, which np.savez keeps: module registration order), each with its
 *     ".bias" if present (nn.Sequential's 0.weight, 0.bias, 2.weight, ...).  So does an
 *     archive whose fcK names are some other numbering: fc0, fc1, fc2; or fc2 and fc3
 *     without fc1; or fc1, fc2, fc4.
 * Whatever the rule, the model answers to the archive's names only: a freeze glob, a
 * lookup (fz_param_data, fz_requires_grad, ...) and a message use them, and the
 * library's own fcK names (fz_param_name) are never matched beside them, so in an
 * archive of fc2 and fc3, 'fc2.*' is the archive's fc2 (the first layer) alone.
 * Consecutive layers must chain (inputs = the previous outputs).
 * What runs between them: an archive written by scripts/export_mlp.py records it (the
 * uint8 array "_freezebench_architecture", the text of torch.fx's trace: "linear:0
 * relu linear:2"), and opts->architecture may state it; each must be exactly the
 * layers found, in that order, with ReLU between them (a leading flatten aside), or the
 * archive is refused, FZ_EFORMAT, naming the first step that is not (a Tanh, a
 * LayerNorm, a ReLU after the last layer): freezebench would train another model.
 * Without either, ReLU is assumed, with a note (FREEZEBENCH_VERBOSE=1) saying so.  A
 * record the archive had is kept with the model and written back by fz_save_npz (an
 * archive without one is written without one, so load_state_dict(strict=True) takes
 * it back).
 * Any other array is refused with FZ_ENOTFOUND naming it, unless opts->ignore_unknown
 * and it is a buffer: then it is kept unchanged, never trained, written back by
 * fz_save_npz (so load_state_dict(strict=True) accepts the result), with a note naming
 * it.  An unknown parameter (an array named *.weight or *.bias that is no Linear
 * layer's: a LayerNorm's, a 1-D weight) is refused, FZ_EFORMAT, ignore_unknown or not:
 * keeping it aside would change what the forward computes.  Arrays must be float32 (the reader
 * refuses other dtypes, int64 buffers included).  A model with a BatchNorm layer (an
 * array named *.running_mean, *.running_var or *.num_batches_tracked) is refused,
 * FZ_EFORMAT, ignore_unknown or not, with a message that says why: freezebench trains
 * Linear/ReLU MLPs, and its forward would skip the BatchNorm.  opts NULL: no map, refuse
 * unknown. */
typedef struct {
    const char *map;
    bool ignore_unknown;
    /* What the network computes between the layers, in forward order ("linear:0 relu
     * linear:2", or kinds alone: "linear relu linear"), checked as the archive's own
     * record is (below); NULL: only the record, if any. */
    const char *architecture;
} fz_npz_import;
FZ_API fz_model   *fz_mlp_from_state_dict(const char *path, const fz_npz_import *opts);

/* Checks a map's syntax without an archive, so a program can refuse a bad one as a
 * usage error before reading anything: items "fcK=PREFIX" for K = 1, 2, ... in order,
 * separated by single commas (no empty item, no trailing comma), each PREFIX non-empty,
 * at most 120 bytes, and named once (one archive layer cannot be two of the model's:
 * the message names both).  FZ_OK, or FZ_EINVAL with the message.
 * fz_mlp_from_state_dict runs it before reading the file. */
FZ_API fz_status   fz_npz_map_check(const char *map);

/* ---- epochs: the frozen-prefix activation cache and freeze schedules ---------------- */

/* One epoch over a data set of n samples, x (n×in) and y (n×out), in batches of the
 * trainer's size: steps = n / batch, the remainder dropped (DataLoader's drop_last).
 * order (n indices < n, or NULL for 0..n-1) is the sample order: a shuffle is the
 * caller's, so the same order gives the same parameters with or without the cache.
 *
 * The frozen-prefix cache (opts->cache_frozen): when the layers below the lowest
 * trainable layer fcK are frozen, their output for a sample never changes, so the
 * trainer keeps fcK's input for every sample (n × widths[K-1] floats) as the steps
 * compute it, and a later step whose samples are all cached starts at fcK: the prefix's
 * forward runs once per sample instead of once per epoch.  Parameters are bitwise those
 * of the same epochs without the cache.  The cache lives in the trainer and follows the
 * plan: it is kept while the layers below it stay frozen and unwritten and x is the same
 * array of the same n (x's contents must not change between epochs, or call
 * fz_epoch_cache_drop); an unfreeze below it drops it and the next epochs rebuild it at
 * the new boundary; a freeze that moves the boundary up keeps it as the starting point
 * while the cache at the new boundary is built, then drops it.  A cache larger than
 * opts->cache_max_bytes (0: no cap) or one that cannot be allocated is not made: the
 * epoch recomputes the prefix, stats->cache_fallback is set and stats->note says why. */
typedef struct {
    bool   cache_frozen;
    size_t cache_max_bytes;
    /* A part of the epoch: its steps [first_step, first_step + step_count), with
     * step_count 0 meaning to the epoch's last step; both 0 run it whole.  A caller that
     * evaluates during an epoch runs it as consecutive parts with the same order, which
     * trains exactly as the whole epoch in one call (the cache included); the cache's
     * end-of-epoch bookkeeping happens in the part that runs the last step.  A part past
     * the epoch's steps is refused (FZ_EINVAL). */
    size_t first_step, step_count;
} fz_epoch_opts;

typedef struct {
    size_t   steps;          /* steps run */
    size_t   cached_steps;   /* of which started at the cached layer */
    double   loss;           /* mean of the steps' losses (before each update) */
    double   seconds;        /* wall time of the epoch */
    size_t   cache_layer;    /* layer (0-based) whose input is cached; 0: no cache (layer
                              * 0's input is the data itself, never cached) */
    size_t   cache_bytes;    /* memory the cache holds after the epoch */
    bool     cache_fallback; /* a cache was asked for and did not fit: see note */
    char     note[192];
    fz_flops planned, executed;   /* summed over the epoch's steps */
} fz_epoch_stats;

/* Runs the epoch (or the part opts names); opts NULL means the whole epoch without the
 * cache.  stats covers the steps run.  A failing step stops the epoch and returns its
 * status (the steps before it stay done; stats covers them).  FZ_EINVAL for NULL
 * arrays, n < batch, an index in order >= n or a part outside the epoch's steps. */
FZ_API fz_status fz_epoch_run(fz_trainer *t, const float *x, const float *y, size_t n,
                              const size_t *order, const fz_epoch_opts *opts,
                              fz_epoch_stats *stats);
/* fz_epoch_run for a cross-entropy trainer: labels holds n class indices, gathered
 * batch by batch in the same order as x's rows. */
FZ_API fz_status fz_epoch_run_labels(fz_trainer *t, const float *x, const int32_t *labels,
                                     size_t n, const size_t *order,
                                     const fz_epoch_opts *opts, fz_epoch_stats *stats);
/* Frees the trainer's cache (the next epoch with the cache rebuilds it). */
FZ_API void      fz_epoch_cache_drop(fz_trainer *t);

/* A freeze schedule (fz_freeze_schedule), "E:SPEC,E:SPEC,...": from epoch E (0-based: epochs completed
 * before it) on, exactly the parameters SPEC names are frozen and the rest trainable.
 * A SPEC may hold commas itself: an item that does not start with "digits:" continues
 * the previous spec ("0:fc1.*,fc2.*,3:none").  Epochs must increase.  A parameter that
 * becomes trainable for the first time starts with zero momentum (torch.optim.SGD's
 * state for a tensor added to it); one frozen and unfrozen again resumes its momentum,
 * as torch.optim keeps a frozen tensor's state. */
typedef struct fz_freeze_schedule fz_freeze_schedule;
FZ_API fz_freeze_schedule *fz_freeze_schedule_parse(const char *text);
FZ_API void      fz_freeze_schedule_free(fz_freeze_schedule *s);
/* Whether every spec resolves against m (no flag changes); an entry that would freeze
 * every parameter (nothing left to train) is FZ_EINVAL, as it is when applied.  Each
 * spec's syntax is checked already by fz_freeze_schedule_parse. */
FZ_API fz_status fz_freeze_schedule_check(const fz_freeze_schedule *s, fz_model *m);
/* Entry i (from 0, in epoch order): its epoch and spec (valid while s lives); false when
 * i is past the last entry.  For checks against a run, such as entries past its last
 * epoch, which would never apply. */
FZ_API bool      fz_freeze_schedule_entry(const fz_freeze_schedule *s, size_t i,
                                          unsigned long *epoch, const char **spec);
/* Applies the entry for `epoch`, if there is one (*applied says so; may be NULL).  On
 * failure the flags stay as they were. */
FZ_API fz_status fz_freeze_schedule_apply(const fz_freeze_schedule *s, fz_model *m,
                                           unsigned long epoch, bool *applied);

#ifdef __cplusplus
}
#endif

#endif /* FREEZEBENCH_H */
