#include "ft_args.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
#include "decimal.h"
#include "error.h"

const char ft_usage[] =
    "usage: finetune [options]\n"
    "Pretrains an MLP on Fashion-MNIST classes 0-4, then fine-tunes it on classes 5-9\n"
    "(relabelled 0-4) with a new 5-way head under each freeze spec, per optimizer, timing\n"
    "every epoch's training (evaluation excluded) and evaluating test accuracy during it.\n"
    "  --data-dir DIR          Fashion-MNIST's IDX files (default " FZ_FASHION_MNIST_DIR ")\n"
    "  --widths W,W,...        the hidden stack, inputs first (default 784,512,512,512;\n"
    "                          --quick: 784,64,64,64); a 5-output head is added\n"
    "  --batch B               batch size (default 64)\n"
    "  --pretrain-epochs N     epochs on classes 0-4, AdamW (default 3; --quick: 1)\n"
    "  --epochs N              fine-tuning epochs per spec (default 3)\n"
    "  --evals-per-epoch E     test accuracy E times an epoch, after each of E nearly equal\n"
    "                          parts of its steps (default 4; at most the steps per epoch):\n"
    "                          the time to the target is read at these points\n"
    "  --optimizer adamw|sgd|both   (default both) AdamW: torch.optim.AdamW's defaults\n"
    "                          (lr 1e-3, betas 0.9,0.999, eps 1e-8, weight decay 0.01);\n"
    "                          SGD: lr 0.05, momentum 0.9, no weight decay\n"
    "  --spec S                a freeze spec (none, prefix:K, last, bitfit, globs), a\n"
    "                          schedule \"E:SPEC,E:SPEC\", or `gradual`; repeatable.  Default:\n"
    "                          none, prefix:1 .. prefix:H-1 (H hidden layers), last (the\n"
    "                          head alone), bitfit and gradual (0:prefix:H,1:prefix:H-1,..)\n"
    "  --cache                 also run each spec that freezes a prefix with the\n"
    "                          frozen-prefix cache (fz_epoch_opts.cache_frozen), asked\n"
    "                          for in the epochs where a step can read it\n"
    "  --threads T             threads (default 1; 0 = all cores)\n"
    "  --seed S                seed of the models, the new head and the shuffles (default 1)\n"
    "  --target-fraction F     target accuracy = F x the best accuracy of spec none with\n"
    "                          the same optimizer and cache setting (default 0.95)\n"
    "  --quick                 512 training and 256 test samples per phase, small widths:\n"
    "                          seconds, for tests; its numbers are not results\n"
    "  --output PATH           CSV path (default results/finetune-<system_id>-<threads>.csv;\n"
    "                          an existing default file is never replaced: a dated name)\n"
    "  --overwrite             replace an existing --output file\n"
    "  --allow-dirty           write the CSV even from a build of a tree with uncommitted\n"
    "                          changes (refused otherwise)\n"
    "  --no-csv                print the table only\n"
    "  --quiet                 only errors: no progress or table (the CSV is still written)\n"
    "  --version, --help\n";

fz_train_opts ft_optimizer_opts(fz_optim which)
{
    fz_train_opts o = { .loss = FZ_LOSS_CROSS_ENTROPY, .optim = which };
    o.sgd = (fz_sgd){ .lr = 0.05f, .momentum = 0.9f, .weight_decay = 0.0f };
    o.adamw = fz_adamw_defaults();
    return o;
}

void ft_optimizer_text(fz_optim which, char *out, size_t size)
{
    fz_train_opts o = ft_optimizer_opts(which);
    if (which == FZ_OPTIM_ADAMW)
        snprintf(out, size, "lr=%g betas=%g,%g eps=%g weight_decay=%g", o.adamw.lr,
                 o.adamw.beta1, o.adamw.beta2, o.adamw.eps, o.adamw.weight_decay);
    else
        snprintf(out, size, "lr=%g momentum=%g weight_decay=%g", o.sgd.lr, o.sgd.momentum,
                 o.sgd.weight_decay);
}

/* A schedule starts with "digits:"; a plain spec never does (prefix:K starts with a
 * letter). */
static bool looks_like_schedule(const char *s)
{
    size_t n = strspn(s, "0123456789");
    return n > 0 && s[n] == ':';
}

static fz_status add_spec(ft_args *a, const char *name, const char *text, bool schedule)
{
    if (a->n_specs == FT_MAX_SPECS)
        return set_error(FZ_EINVAL, "--spec: at most %d specs", FT_MAX_SPECS);
    ft_spec *s = &a->specs[a->n_specs];
    if (strlen(name) >= sizeof s->name || strlen(text) >= sizeof s->text)
        return set_error(FZ_EINVAL, "--spec '%s': too long", text);
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->text, sizeof s->text, "%s", text);
    s->schedule = schedule;
    a->n_specs++;
    return FZ_OK;
}

/* `gradual` for H hidden layers over E epochs: the head alone in epoch 0, then the top
 * hidden layer joins, and so on, one layer an epoch, never unfreezing fc1 before the
 * last listed epoch (entries past the run's epochs would never apply). */
static void gradual_text(size_t hidden, unsigned epochs, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t e = 0; e < hidden && e < epochs; e++)
        len += (size_t)snprintf(out + len, size - len, "%s%zu:prefix:%zu", e ? "," : "", e,
                                hidden - e);
}

void ft_default_specs(ft_args *a)
{
    size_t hidden = a->n_widths - 2;   /* Linear layers below the head */
    char text[64], sched[256];
    a->n_specs = 0;
    add_spec(a, "none", "none", false);
    for (size_t k = 1; k < hidden && a->n_specs < FT_MAX_SPECS - 3; k++) {
        snprintf(text, sizeof text, "prefix:%zu", k);
        add_spec(a, text, text, false);
    }
    add_spec(a, "last", "last", false);
    add_spec(a, "bitfit", "bitfit", false);
    gradual_text(hidden, a->epochs, sched, sizeof sched);
    add_spec(a, "gradual", sched, true);
}

static fz_status parse_widths(const char *v, ft_args *a)
{
    size_t n = 0;
    const char *p = v;
    while (*p) {
        size_t len = strcspn(p, ",");
        char item[32];
        uint64_t w;
        if (len == 0 || len >= sizeof item || n == FT_MAX_WIDTHS)
            return set_error(FZ_EINVAL, "--widths '%s': expected 2 to %d widths, "
                             "comma-separated", v, FT_MAX_WIDTHS);
        memcpy(item, p, len);
        item[len] = '\0';
        if (!parse_whole(item, 1, 1u << 16, &w))
            return set_error(FZ_EINVAL, "--widths '%s': '%s' is not a width from 1 to %u",
                             v, item, 1u << 16);
        a->widths[n++] = (size_t)w;
        p += len;
        if (*p == ',' && !*++p)
            return set_error(FZ_EINVAL, "--widths '%s': a trailing comma", v);
    }
    if (n < 2)
        return set_error(FZ_EINVAL, "--widths '%s': at least the inputs and one hidden "
                         "layer", v);
    a->widths[n] = FT_CLASSES;
    a->n_widths = n + 1;
    return FZ_OK;
}

static fz_status parse_count(const char *opt, const char *v, uint64_t lo, uint64_t hi,
                             uint64_t *out)
{
    if (!parse_whole(v, lo, hi, out))
        return set_error(FZ_EINVAL, "%s '%s': expected a whole number from %llu to %llu",
                         opt, v, (unsigned long long)lo, (unsigned long long)hi);
    return FZ_OK;
}

enum { OPT_DATA = 0x100, OPT_WIDTHS, OPT_BATCH, OPT_PRE, OPT_EPOCHS, OPT_OPTIM, OPT_SPEC,
       OPT_CACHE, OPT_THREADS, OPT_SEED, OPT_TARGET, OPT_QUICK, OPT_OUTPUT, OPT_OVERWRITE,
       OPT_DIRTY, OPT_NOCSV, OPT_VERSION, OPT_QUIET, OPT_EVALS };

static const struct option longopts[] = {
    { "data-dir", required_argument, NULL, OPT_DATA },
    { "widths", required_argument, NULL, OPT_WIDTHS },
    { "batch", required_argument, NULL, OPT_BATCH },
    { "pretrain-epochs", required_argument, NULL, OPT_PRE },
    { "epochs", required_argument, NULL, OPT_EPOCHS },
    { "evals-per-epoch", required_argument, NULL, OPT_EVALS },
    { "optimizer", required_argument, NULL, OPT_OPTIM },
    { "spec", required_argument, NULL, OPT_SPEC },
    { "cache", no_argument, NULL, OPT_CACHE },
    { "threads", required_argument, NULL, OPT_THREADS },
    { "seed", required_argument, NULL, OPT_SEED },
    { "target-fraction", required_argument, NULL, OPT_TARGET },
    { "quick", no_argument, NULL, OPT_QUICK },
    { "output", required_argument, NULL, OPT_OUTPUT },
    { "overwrite", no_argument, NULL, OPT_OVERWRITE },
    { "allow-dirty", no_argument, NULL, OPT_DIRTY },
    { "no-csv", no_argument, NULL, OPT_NOCSV },
    { "version", no_argument, NULL, OPT_VERSION },
    { "quiet", no_argument, NULL, OPT_QUIET },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* One option; `given` collects the --spec texts until the depth is known. */
static fz_status take(int code, const char *v, ft_args *a, const char **given, size_t *n_given,
                      bool *widths_given, bool *pre_given)
{
    uint64_t u;
    fz_status st = FZ_OK;
    switch (code) {
    case OPT_DATA: a->data_dir = v; break;
    case OPT_WIDTHS: st = parse_widths(v, a); *widths_given = true; break;
    case OPT_BATCH:
        if ((st = parse_count("--batch", v, 1, 1u << 16, &u)) == FZ_OK) a->batch = u;
        break;
    case OPT_PRE:
        if ((st = parse_count("--pretrain-epochs", v, 1, 1000, &u)) == FZ_OK)
            a->pretrain_epochs = (unsigned)u;
        *pre_given = true;
        break;
    case OPT_EPOCHS:
        if ((st = parse_count("--epochs", v, 1, 1000, &u)) == FZ_OK) a->epochs = (unsigned)u;
        break;
    case OPT_EVALS:
        if ((st = parse_count("--evals-per-epoch", v, 1, 1000, &u)) == FZ_OK)
            a->evals_per_epoch = (unsigned)u;
        break;
    case OPT_OPTIM:
        a->adamw = !strcmp(v, "adamw") || !strcmp(v, "both");
        a->sgd = !strcmp(v, "sgd") || !strcmp(v, "both");
        if (!a->adamw && !a->sgd)
            st = set_error(FZ_EINVAL, "--optimizer '%s': expected adamw, sgd or both", v);
        break;
    case OPT_SPEC:
        if (*n_given == FT_MAX_SPECS)
            st = set_error(FZ_EINVAL, "--spec: at most %d specs", FT_MAX_SPECS);
        else if (!*v)
            st = set_error(FZ_EINVAL, "--spec: an empty spec");
        else
            given[(*n_given)++] = v;
        break;
    case OPT_CACHE: a->cache = true; break;
    case OPT_THREADS: st = fzb_parse_threads("--threads", v, &a->threads); break;
    case OPT_SEED:
        if ((st = parse_count("--seed", v, 0, UINT64_MAX, &u)) == FZ_OK) a->seed = u;
        break;
    case OPT_TARGET:
        if (!parse_real(v, &a->target_fraction) || !(a->target_fraction > 0) ||
            a->target_fraction > 1)
            st = set_error(FZ_EINVAL, "--target-fraction '%s': expected a number in (0, 1]", v);
        break;
    case OPT_QUICK: a->quick = true; break;
    case OPT_OUTPUT: a->output = v; break;
    case OPT_OVERWRITE: a->overwrite = true; break;
    case OPT_DIRTY: a->allow_dirty = true; break;
    case OPT_NOCSV: a->write_csv = false; break;
    case OPT_VERSION: a->version = true; break;
    case OPT_QUIET: a->quiet = true; break;
    case 'h': a->help = true; break;
    default: st = set_error(FZ_EINVAL, "unknown option (see --help)"); break;
    }
    return st;
}

fz_status ft_args_parse(int argc, char **argv, ft_args *a)
{
    *a = (ft_args){ .data_dir = FZ_FASHION_MNIST_DIR, .batch = 64, .pretrain_epochs = 3,
                    .epochs = 3, .evals_per_epoch = 4, .sgd = true, .adamw = true,
                    .threads = 1, .seed = 1, .target_fraction = 0.95, .write_csv = true };
    const size_t defaults[] = { 784, 512, 512, 512, FT_CLASSES };
    memcpy(a->widths, defaults, sizeof defaults);
    a->n_widths = 5;
    const char *given[FT_MAX_SPECS];
    size_t n_given = 0;
    bool widths_given = false, pre_given = false;
    fz_cli_getopt_reset();   /* a full rescan, so tests may parse many argument lists */
    int code;
    const char *token;
    while ((code = fz_cli_getopt(argc, argv, "+:h", longopts, &token)) != -1) {
        if (code == '?' || code == ':') {   /* worded as every program words it */
            char msg[160];
            fz_cli_getopt_message(code, token, longopts, msg, sizeof msg);
            return set_error(FZ_EINVAL, "%s", msg);
        }
        fz_status st = take(code, optarg, a, given, &n_given, &widths_given, &pre_given);
        if (st != FZ_OK)
            return st;
    }
    if (optind < argc)
        return set_error(FZ_EINVAL, "'%s': no operands are taken (see --help)", argv[optind]);
    if (a->quick) {
        a->max_train = 512;
        a->max_test = 256;
        if (!widths_given) {
            const size_t small[] = { 784, 64, 64, 64, FT_CLASSES };
            memcpy(a->widths, small, sizeof small);
        }
        if (!pre_given)
            a->pretrain_epochs = 1;
    }
    if (a->widths[0] != 784)
        return set_error(FZ_EINVAL, "--widths: the first width is the input, 784 pixels of "
                         "a Fashion-MNIST image, not %zu", a->widths[0]);
    size_t len = 0;
    for (size_t i = 0; i < a->n_widths; i++)
        len += (size_t)snprintf(a->model_text + len, sizeof a->model_text - len, "%s%zu",
                                i ? "," : "", a->widths[i]);
    if (n_given == 0) {
        ft_default_specs(a);
        return FZ_OK;
    }
    for (size_t i = 0; i < n_given; i++) {
        fz_status st;
        if (!strcmp(given[i], "gradual")) {
            char sched[256];
            gradual_text(a->n_widths - 2, a->epochs, sched, sizeof sched);
            st = add_spec(a, "gradual", sched, true);
        } else {
            bool sched = looks_like_schedule(given[i]);
            /* A schedule's text is its name too, unless too long for one. */
            st = add_spec(a, strlen(given[i]) < sizeof a->specs[0].name ? given[i] :
                          "schedule", given[i], sched);
        }
        if (st != FZ_OK)
            return st;
    }
    return FZ_OK;
}
