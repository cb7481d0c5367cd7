/*
 * Argument parsing for the freezebench command: getopt_long (through cli/cli_common.h,
 * as the bench programs), the command first, then its options, `--opt value` or
 * `--opt=value`.  Every error names the argument it is about, because "invalid
 * argument" alone sends the user hunting.
 */
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "cli_args.h"
#include "cli_common.h"
#include "decimal.h"

void fz_cli_usage(FILE *f)
{
    fputs(
"usage: freezebench params MODEL.npz [--freeze SPEC] [--map MAP] [--ignore-unknown]\n"
"       freezebench train --model IN.npz --data DATA.npz --epochs N --batch B --lr LR\n"
"                         --out OUT.npz [--freeze SPEC] [--momentum M] [--weight-decay WD]\n"
"                         [--seed S] [--log-every K] [--threads T] [--schedule SCHED]\n"
"                         [--cache-frozen [--cache-max-bytes N]] [--map MAP]\n"
"                         [--ignore-unknown] [--loss L] [--optimizer O]\n"
"                         [--betas B1,B2] [--eps E] [--quiet]\n"
"       freezebench eval --model M.npz --data DATA.npz [--loss L] [--map MAP]\n"
"                        [--ignore-unknown] [--threads T] [--quiet]\n"
"       freezebench --help | --version\n"
"The command comes first, then its options, each --opt VALUE or --opt=VALUE (an\n"
"abbreviated option name is refused).\n"
"\n"
"Train MLPs (Linear, ReLU between layers; MSE or cross-entropy; SGD or AdamW) with\n"
"frozen parameters.\n"
"Models are NumPy .npz archives keyed by PyTorch state_dict names (fc1.weight of shape\n"
"(out, in), fc1.bias of shape (out,), ... fcL), float32 ('<f4'), as written by\n"
"  np.savez(path, **{k: v.numpy() for k, v in model.state_dict().items()})\n"
"The architecture is read from the shapes of fc1.weight .. fcL.weight, or of any MLP's\n"
"Linear layers (nn.Sequential's 0.weight, 2.weight, ...; see --map).\n"
"\n"
"params   prints every parameter, its shape and requires_grad after --freeze:\n"
"           Parameter: fc1.weight, Shape: [5, 10], Requires grad: False\n"
"train    fine-tunes IN.npz on DATA.npz and writes the trained parameters to OUT.npz\n"
"         (through a temporary file in the same directory, renamed when complete).\n"
"eval     prints the loss of M.npz on DATA.npz, and for cross-entropy the accuracy:\n"
"           loss 0.4123 accuracy 0.8710\n"
"\n"
"options:\n"
"  --freeze SPEC       parameters to freeze (requires_grad = False); default none.\n"
"                      comma-separated items: globs over names (fc1.*, fc2.weight,\n"
"                      *.bias), none, prefix:K (first K layers), last (all but the\n"
"                      last layer), bitfit (every weight).  A glob matching nothing\n"
"                      is an error.\n"
"  --model IN.npz      initial parameters (train)\n"
"  --data DATA.npz     data: float32 x (N x in) and y: float32 (N x out) for mse, or\n"
"                      class labels (N,) of int64, int32 or uint8 for cross-entropy\n"
"  --loss L            mse (default; nn.MSELoss) or cross-entropy (nn.CrossEntropyLoss:\n"
"                      softmax and log-likelihood of y's class, mean over the batch)\n"
"  --optimizer O       sgd (default; torch.optim.SGD) or adamw (torch.optim.AdamW:\n"
"                      --lr default 1e-3, --weight-decay default 0.01, decoupled)\n"
"  --betas B1,B2       AdamW's betas, each in [0, 1) (default 0.9,0.999)\n"
"  --eps E             AdamW's eps, >= 0 (default 1e-8)\n"
"  --out OUT.npz       where the trained parameters go\n"
"  --epochs N          passes over the data, N >= 1\n"
"  --batch B           mini-batch size, 1 <= B <= N.  Each epoch takes the samples in\n"
"                      order in batches of B; the last N mod B samples are dropped\n"
"                      (DataLoader's drop_last=True), so every step has B samples.\n"
"  --lr LR             learning rate, >= 0 (required for sgd)\n"
"  --momentum M        SGD momentum, >= 0 (default 0; torch.optim.SGD, dampening 0)\n"
"  --weight-decay WD   sgd: L2 weight decay added to the gradient, >= 0 (default 0);\n"
"                      adamw: decoupled, p *= 1 - LR*WD (default 0.01)\n"
"  --seed S            shuffle the sample order every epoch with a generator seeded by\n"
"                      S (default: no shuffling, samples in file order)\n"
"  --log-every K       print the loss every K epochs and at the last (default 10):\n"
"                        Epoch [10/100], Loss: 0.1234\n"
"                      the loss of an epoch is the mean of its steps' MSE losses, each\n"
"                      taken before that step's update\n"
"  --threads T         kernel threads, 0 = one per physical core (default: the\n"
"                      library's, FREEZEBENCH_THREADS)\n"
"  --schedule SCHED    freeze schedule E:SPEC,E:SPEC,...: from epoch E (0-based:\n"
"                      epochs completed) on, exactly SPEC is frozen and the rest\n"
"                      trainable (\"0:prefix:7,2:prefix:5,4:none\"); before the first\n"
"                      entry --freeze holds.  A newly trainable tensor starts with\n"
"                      zero momentum, as one added to torch.optim.SGD.  Refused before\n"
"                      any training (exit 2): an entry at epoch N or later (it would\n"
"                      never apply) and one that freezes every parameter.\n"
"  --cache-frozen      compute the frozen prefix's output (the layers below the lowest\n"
"                      trainable one) once per sample and start later steps above it;\n"
"                      the parameters are bitwise those without it\n"
"  --cache-max-bytes N cap on the cache's memory; a cache above it is not made (a note\n"
"                      on stderr) and the prefix is recomputed (default: no cap)\n"
"  --map MAP           which arrays are the Linear layers: 'fc1=0,fc2=2,fc3=head'\n"
"                      (layer fcK is PREFIX.weight and PREFIX.bias if present).\n"
"                      Without it: fc1..fcL if the archive has fc1.weight, else every\n"
"                      2-D *.weight in archive order (nn.Sequential: 0.weight,\n"
"                      2.weight, ...).  A layer without a bias is allowed.  OUT.npz\n"
"                      keeps the archive's own names.\n"
"  --ignore-unknown    keep arrays that are no layer's parameter (buffers) unchanged\n"
"                      and write them back, with a note; without it they are refused.\n"
"                      A parameter (*.weight, *.bias) of a module that is no Linear\n"
"                      layer (a LayerNorm) is refused even so: the forward would skip\n"
"                      that module and train another network than yours\n"
"  --architecture A    what runs between the layers, in forward order: \"linear relu\n"
"                      linear\" (or with names: \"linear:0 relu linear:2\"); anything\n"
"                      but Linear layers with ReLU between them is refused.  An archive\n"
"                      written by scripts/export_mlp.py records it; without either,\n"
"                      ReLU is assumed, with a note\n"
"  --quiet             train, eval: only errors on stderr (train: no loss lines, notes\n"
"                      or progress; eval still prints its result, which was asked for)\n"
"  -h, --help          this text\n"
"  --version           the version and the git revision of the build\n"
"\n"
"Numbers are decimal: digits only for N, B, S, K, T; LR, M and WD may add a fraction\n"
"and an exponent (0.01, 1e-3).  No sign, spaces, hex, inf or nan.  A malformed SPEC,\n"
"SCHED or MAP (an empty item, a trailing comma, a bad character) is refused before\n"
"any file is read; one that does not fit the model (prefix:K past its layers) once\n"
"it is read, before any data: both exit 2.  A glob that matches nothing exits 1.\n"
"OUT.npz must be a regular file or not exist yet: a directory, symbolic link, FIFO or\n"
"device node there is refused (never replaced), as is a directory that does not take\n"
"new files; these are checked before any work (exit 2).  A new OUT.npz gets mode 0666\n"
"less the umask, a replaced one keeps its mode.\n"
"\n"
"Data-parallel: started by mpirun with R > 1 ranks (mpirun -np R freezebench train\n"
"...; detected from OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_SIZE), train splits every\n"
"batch of B samples into R shards of B/R (B must be a multiple of R), sums the\n"
"trainable gradients over the ranks (frozen ones are never sent) and trains exactly\n"
"the model one process would train at --batch B, up to float rounding.  Every rank\n"
"reads the files and checks its OUT.npz; rank 0 prints and writes OUT.npz.  Before\n"
"any work the ranks agree: every rank must be given the same command, --epochs,\n"
"--batch, --lr, --momentum, --weight-decay, --seed, --schedule, --freeze, --map and\n"
"FREEZEBENCH_DP_BUCKET_BYTES (exit 2 otherwise), and the same data (sample count\n"
"and contents).  An error on any rank, before training or during it, prints\n"
"\"freezebench: rank N: ...\" and ends all ranks.  Needs a build with MPI.\n"
"\n"
"Runs longer than a few seconds report progress on stderr.\n"
"exit status: 0 success, 1 a file or training error (a model with a NaN or infinite\n"
"parameter, training that diverges: nothing is written), 2 a usage error.\n", f);
}

static int usage_error(char *err, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int usage_error(char *err, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
    return FZ_CLI_USAGE_ERROR;
}

/* Numbers follow the one grammar of every command line (decimal.h): " 0.5" and "0x10"
 * are refused by every option, here and in the bench programs. */
static bool parse_ulong(const char *s, unsigned long min, unsigned long *v)
{
    uint64_t x;
    if (!parse_whole(s, min, ULONG_MAX, &x))
        return false;
    *v = (unsigned long)x;
    return true;
}

static bool parse_nonneg_float(const char *s, float *v)
{
    double x;
    if (!parse_real(s, &x) || x > 3.4e38)   /* beyond FLT_MAX would become inf */
        return false;
    *v = (float)x;
    return true;
}

/* Item k of a list quoted in a message: at most 40 bytes, never half a UTF-8
 * character. */
static int quote_len(const char *s, size_t len)
{
    size_t q = len < 40 ? len : 40;
    while (q > 0 && q < len && ((unsigned char)s[q] & 0xc0) == 0x80)
        q--;
    return (int)q;
}

/* --map's grammar, checked before any file is read: fc1=PREFIX,fc2=PREFIX,... in layer
 * order, no item and no PREFIX empty.  Whether a PREFIX names arrays is the archive's
 * question, answered when it is read. */
static int check_map(const char *map, char *err, size_t size)
{
    const char *p = map;
    for (size_t k = 1;; k++) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0)
            return usage_error(err, size, "--map '%.*s': item %zu is empty (%s)",
                               quote_len(map, strlen(map)), map, k,
                               !comma ? "a trailing comma"
                               : k == 1 ? "a leading comma" : "two commas in a row");
        char head[32];
        size_t h = (size_t)snprintf(head, sizeof head, "fc%zu=", k);
        if (len < h || strncmp(p, head, h) != 0)
            return usage_error(err, size, "--map: item %zu '%.*s' should be fc%zu=PREFIX "
                               "(layers in order from fc1)", k, quote_len(p, len), p, k);
        if (len == h)
            return usage_error(err, size, "--map: item %zu '%.*s' has no PREFIX", k,
                               quote_len(p, len), p);
        if (!comma)
            break;
        p = comma + 1;
    }
    /* The library's own check too: a prefix named by two layers (fc1=0,...,fc4=0) is as
     * much a usage error as a missing one, and is found here before any file is read. */
    if (fz_npz_map_check(map) != FZ_OK)
        return usage_error(err, size, "%s", fz_last_error());
    return 0;
}

/* The options and which commands take them. */
typedef enum {
    OPT_FREEZE, OPT_MODEL, OPT_DATA, OPT_OUT, OPT_EPOCHS, OPT_BATCH, OPT_LR, OPT_MOMENTUM,
    OPT_WEIGHT_DECAY, OPT_SEED, OPT_LOG_EVERY, OPT_THREADS, OPT_SCHEDULE, OPT_CACHE_FROZEN,
    OPT_CACHE_MAX, OPT_MAP, OPT_IGNORE_UNKNOWN, OPT_LOSS, OPT_OPTIMIZER, OPT_BETAS, OPT_EPS,
    OPT_ARCHITECTURE, OPT_QUIET, N_OPTS
} option_id;

/* The commands an option is for, as bits of fz_cli_command. */
#define FOR_PARAMS (1u << FZ_CLI_PARAMS)
#define FOR_TRAIN (1u << FZ_CLI_TRAIN)
#define FOR_EVAL (1u << FZ_CLI_EVAL)

/* is_flag: takes no value. */
static const struct { const char *name; unsigned commands; bool is_flag; } OPTIONS[N_OPTS] = {
    [OPT_FREEZE] = { "--freeze", FOR_PARAMS | FOR_TRAIN },
    [OPT_MODEL] = { "--model", FOR_TRAIN | FOR_EVAL },
    [OPT_DATA] = { "--data", FOR_TRAIN | FOR_EVAL },  [OPT_OUT] = { "--out", FOR_TRAIN },
    [OPT_EPOCHS] = { "--epochs", FOR_TRAIN },       [OPT_BATCH] = { "--batch", FOR_TRAIN },
    [OPT_LR] = { "--lr", FOR_TRAIN },               [OPT_MOMENTUM] = { "--momentum", FOR_TRAIN },
    [OPT_WEIGHT_DECAY] = { "--weight-decay", FOR_TRAIN },
    [OPT_SEED] = { "--seed", FOR_TRAIN },           [OPT_LOG_EVERY] = { "--log-every", FOR_TRAIN },
    [OPT_THREADS] = { "--threads", FOR_TRAIN | FOR_EVAL },
    [OPT_SCHEDULE] = { "--schedule", FOR_TRAIN },
    [OPT_CACHE_FROZEN] = { "--cache-frozen", FOR_TRAIN, true },
    [OPT_CACHE_MAX] = { "--cache-max-bytes", FOR_TRAIN },
    [OPT_MAP] = { "--map", FOR_PARAMS | FOR_TRAIN | FOR_EVAL },
    [OPT_IGNORE_UNKNOWN] = { "--ignore-unknown", FOR_PARAMS | FOR_TRAIN | FOR_EVAL, true },
    [OPT_LOSS] = { "--loss", FOR_TRAIN | FOR_EVAL },
    [OPT_OPTIMIZER] = { "--optimizer", FOR_TRAIN },
    [OPT_BETAS] = { "--betas", FOR_TRAIN },          [OPT_EPS] = { "--eps", FOR_TRAIN },
    [OPT_ARCHITECTURE] = { "--architecture", FOR_PARAMS | FOR_TRAIN | FOR_EVAL },
    [OPT_QUIET] = { "--quiet", FOR_TRAIN | FOR_EVAL, true },
};

/* getopt_long's table, made from OPTIONS (one list of names): an option's code is its
 * option_id + 0x100, clear of 1 (an operand), '?' and ':'. */
enum { OPT_CODE = 0x100 };
static void long_options(struct option *lo)
{
    for (int o = 0; o < N_OPTS; o++)
        lo[o] = (struct option){ OPTIONS[o].name + 2,
                                 OPTIONS[o].is_flag ? no_argument : required_argument,
                                 NULL, OPT_CODE + o };
    lo[N_OPTS] = (struct option){ 0 };
}

static const char *const COMMAND_NAMES[] = { [FZ_CLI_PARAMS] = "params",
                                              [FZ_CLI_TRAIN] = "train",
                                              [FZ_CLI_EVAL] = "eval" };

/* "B1,B2", each a number in [0, 1). */
static bool parse_betas(const char *v, float *b1, float *b2)
{
    const char *comma = strchr(v, ',');
    char first[64];
    if (!comma || (size_t)(comma - v) >= sizeof first)
        return false;
    memcpy(first, v, (size_t)(comma - v));
    first[comma - v] = '\0';
    return parse_nonneg_float(first, b1) && parse_nonneg_float(comma + 1, b2) &&
           *b1 < 1.0f && *b2 < 1.0f;
}

static int set_option(option_id id, const char *v, fz_cli_args *a, char *err, size_t size)
{
    const char *name = OPTIONS[id].name;
    unsigned long u;
    switch (id) {
    case OPT_FREEZE:
    case OPT_MODEL:
    case OPT_DATA:
    case OPT_OUT:
        if (!*v)
            return usage_error(err, size, "%s: the value is empty", name);
        *(id == OPT_FREEZE ? &a->freeze : id == OPT_MODEL ? &a->model
          : id == OPT_DATA ? &a->data : &a->out) = v;
        return 0;
    case OPT_EPOCHS:
    case OPT_LOG_EVERY:
        if (!parse_ulong(v, 1, &u))
            return usage_error(err, size, "%s: '%s' is not a whole number >= 1", name, v);
        *(id == OPT_EPOCHS ? &a->epochs : &a->log_every) = u;
        return 0;
    case OPT_BATCH:
        if (!parse_ulong(v, 1, &u) || u > SIZE_MAX)
            return usage_error(err, size, "%s: '%s' is not a whole number >= 1", name, v);
        a->batch = (size_t)u;
        return 0;
    case OPT_LR:
    case OPT_MOMENTUM:
    case OPT_WEIGHT_DECAY:
    case OPT_EPS: {
        float *f = id == OPT_LR ? &a->sgd.lr : id == OPT_MOMENTUM ? &a->sgd.momentum
                 : id == OPT_WEIGHT_DECAY ? &a->sgd.weight_decay : &a->adamw.eps;
        if (!parse_nonneg_float(v, f))
            return usage_error(err, size, "%s: '%s' is not a finite number >= 0", name, v);
        return 0;
    }
    case OPT_LOSS:
        if (!strcmp(v, "mse"))
            a->loss = FZ_LOSS_MSE;
        else if (!strcmp(v, "cross-entropy"))
            a->loss = FZ_LOSS_CROSS_ENTROPY;
        else
            return usage_error(err, size, "%s: '%s' is neither mse nor cross-entropy",
                               name, v);
        return 0;
    case OPT_OPTIMIZER:
        if (!strcmp(v, "sgd"))
            a->optim = FZ_OPTIM_SGD;
        else if (!strcmp(v, "adamw"))
            a->optim = FZ_OPTIM_ADAMW;
        else
            return usage_error(err, size, "%s: '%s' is neither sgd nor adamw", name, v);
        return 0;
    case OPT_BETAS:
        if (!parse_betas(v, &a->adamw.beta1, &a->adamw.beta2))
            return usage_error(err, size, "%s: '%s' is not two numbers in [0, 1), "
                               "B1,B2", name, v);
        return 0;
    case OPT_SEED: {
        uint64_t s;
        if (!parse_whole(v, 0, UINT64_MAX, &s))
            return usage_error(err, size, "%s: '%s' is not a whole number in 0..2^64-1",
                               name, v);
        a->seed = s;
        a->shuffle = true;
        return 0;
    }
    case OPT_THREADS:
        if (!parse_ulong(v, 0, &u) || u > 4096)
            return usage_error(err, size, "%s: '%s' is not a thread count in 0..4096",
                               name, v);
        a->threads = (int)u;
        return 0;
    case OPT_SCHEDULE:
    case OPT_ARCHITECTURE:
        if (!*v)
            return usage_error(err, size, "%s: the value is empty", name);
        *(id == OPT_SCHEDULE ? &a->schedule : &a->architecture) = v;
        return 0;
    case OPT_CACHE_FROZEN:
        a->cache_frozen = true;
        return 0;
    case OPT_MAP:
        if (!*v)
            return usage_error(err, size, "%s: the value is empty", name);
        a->map = v;
        return check_map(v, err, size);
    case OPT_IGNORE_UNKNOWN:
        a->ignore_unknown = true;
        return 0;
    case OPT_QUIET:
        a->quiet = true;
        return 0;
    case OPT_CACHE_MAX: {
        uint64_t b;
        if (!parse_whole(v, 1, SIZE_MAX, &b))
            return usage_error(err, size, "%s: '%s' is not a whole number of bytes >= 1",
                               name, v);
        a->cache_max_bytes = (size_t)b;
        return 0;
    }
    case N_OPTS:
        break;
    }
    return usage_error(err, size, "internal: option %d", (int)id);
}

int fz_cli_parse(int argc, char *const argv[], fz_cli_args *out, char *err, size_t err_size)
{
    fz_cli_args a = { .freeze = "none", .log_every = 10, .threads = -1,
                      .adamw = fz_adamw_defaults() };
    if (err_size)
        err[0] = '\0';
    /* --help and --version anywhere win over everything else, as in most GNU tools,
     * whatever else is on the line (even a bad option before them). */
    bool help = false, version = false;
    for (int i = 1; i < argc; i++) {
        help = help || !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h");
        version = version || !strcmp(argv[i], "--version");
    }
    if (help || version) {
        a.command = help ? FZ_CLI_HELP : FZ_CLI_VERSION;
        *out = a;
        return 0;
    }
    if (argc < 2)
        return usage_error(err, err_size, "no command given (params, train or eval); see "
                           "--help");
    if (!strcmp(argv[1], "params"))
        a.command = FZ_CLI_PARAMS;
    else if (!strcmp(argv[1], "train"))
        a.command = FZ_CLI_TRAIN;
    else if (!strcmp(argv[1], "eval"))
        a.command = FZ_CLI_EVAL;
    else if (!strcmp(argv[1], "help")) {
        a.command = FZ_CLI_HELP;   /* whatever follows: help has no options to check */
        *out = a;
        return 0;
    } else
        return usage_error(err, err_size, "unknown command '%s' (params, train or eval); "
                           "see --help", argv[1]);

    /* The options after the command, through getopt_long from argv[1] on (the command
     * is its argv[0]).  '-': operands come back in order as code 1 (params' MODEL.npz
     * may stand anywhere among the options), nothing is reordered; ':': a missing value
     * comes back as ':'. */
    struct option lo[N_OPTS + 1];
    long_options(lo);
    bool seen[N_OPTS] = { false };
    fz_cli_getopt_reset();
    int c;
    const char *tok;
    while ((c = fz_cli_getopt(argc - 1, argv + 1, "-:", lo, &tok)) != -1) {
        if (c == 1) {
            if (a.command == FZ_CLI_PARAMS && !a.model) {
                a.model = optarg;
                continue;
            }
            return usage_error(err, err_size, "unexpected argument '%s'", optarg);
        }
        if (c == '?' || c == ':') {
            char msg[128];
            fz_cli_getopt_message(c, tok, lo, msg, sizeof msg);
            return usage_error(err, err_size, "%s", msg);
        }
        option_id id = (option_id)(c - OPT_CODE);
        if (!(OPTIONS[id].commands & (1u << a.command)))
            return usage_error(err, err_size, "%s is not an option of %s", OPTIONS[id].name,
                               COMMAND_NAMES[a.command]);
        if (seen[id])
            return usage_error(err, err_size, "%s is given twice", OPTIONS[id].name);
        seen[id] = true;
        int rc = set_option(id, OPTIONS[id].is_flag ? "" : optarg, &a, err, err_size);
        if (rc)
            return rc;
    }
    /* After "--" every argument is an operand. */
    for (int i = optind + 1; i < argc; i++) {
        if (a.command == FZ_CLI_PARAMS && !a.model) {
            a.model = argv[i];
            continue;
        }
        return usage_error(err, err_size, "unexpected argument '%s'", argv[i]);
    }

    if (a.command == FZ_CLI_PARAMS && !a.model)
        return usage_error(err, err_size, "params needs MODEL.npz");
    if (a.command == FZ_CLI_EVAL)
        for (option_id r = OPT_MODEL; r <= OPT_DATA; r++)
            if (!seen[r])
                return usage_error(err, err_size, "eval needs %s", OPTIONS[r].name);
    if (a.command == FZ_CLI_TRAIN) {
        bool adamw = a.optim == FZ_OPTIM_ADAMW;
        const option_id required[] = { OPT_MODEL, OPT_DATA, OPT_OUT, OPT_EPOCHS, OPT_BATCH,
                                       OPT_LR };
        /* AdamW has PyTorch's default rate; SGD has none. */
        for (size_t r = 0; r < sizeof required / sizeof required[0] - adamw; r++)
            if (!seen[required[r]])
                return usage_error(err, err_size, "train needs %s",
                                   OPTIONS[required[r]].name);
        if (seen[OPT_CACHE_MAX] && !a.cache_frozen)
            return usage_error(err, err_size, "--cache-max-bytes needs --cache-frozen");
        if (!adamw && (seen[OPT_BETAS] || seen[OPT_EPS]))
            return usage_error(err, err_size, "%s is an option of --optimizer adamw",
                               seen[OPT_BETAS] ? "--betas" : "--eps");
        if (adamw && seen[OPT_MOMENTUM])
            return usage_error(err, err_size, "--momentum is an option of --optimizer sgd "
                               "(AdamW's are --betas)");
        if (adamw) {
            if (seen[OPT_LR])
                a.adamw.lr = a.sgd.lr;
            if (seen[OPT_WEIGHT_DECAY])
                a.adamw.weight_decay = a.sgd.weight_decay;
            a.sgd = (fz_sgd){0};
        }
    }
    *out = a;
    return 0;
}
