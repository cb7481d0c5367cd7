// The C++ side of gbench.h: a thin adapter, nothing measured here that Google Benchmark
// does not measure itself.
#include "gbench.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <strings.h>
#include <iostream>
#include <map>
#include <string>
#include <vector>

struct fzb_state {
    benchmark::State &st;
};

namespace {

std::map<std::string, void *> &registry()
{
    static std::map<std::string, void *> names;   // name/args -> user pointer
    return names;
}

double min_of(const std::vector<double> &v) { return *std::min_element(v.begin(), v.end()); }
double max_of(const std::vector<double> &v) { return *std::max_element(v.begin(), v.end()); }

char *dup(const std::string &s) { return strdup(s.c_str()); }

// Keeps every run while the console reporter (if any) prints it.
class Capture : public benchmark::ConsoleReporter {
public:
    explicit Capture(bool print) : ConsoleReporter(OO_Tabular), print_(print) {}
    bool ReportContext(const Context &c) override { return print_ ? ConsoleReporter::ReportContext(c) : true; }
    void ReportRuns(const std::vector<Run> &runs) override
    {
        runs_.insert(runs_.end(), runs.begin(), runs.end());
        if (print_)
            ConsoleReporter::ReportRuns(runs);
    }
    std::vector<Run> runs_;

private:
    bool print_;
};

bool to_c(const benchmark::BenchmarkReporter::Run &in, fzb_run *out)
{
    const std::string &base = in.run_name.function_name;
    auto it = registry().find(in.run_name.args.empty() ? base : base + "/" + in.run_name.args);
    out->name = dup(in.benchmark_name());
    out->base = dup(base);
    out->user = it == registry().end() ? nullptr : it->second;
    out->aggregate = dup(in.run_type == in.RT_Aggregate ? in.aggregate_name : "");
    out->repetition = in.run_type == in.RT_Aggregate ? -1 : in.repetition_index;
    out->repetitions = in.repetitions;
    out->iterations = in.iterations;
    out->real_time_s = in.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(in.time_unit);
    out->error = in.error_occurred;
    out->error_message = dup(in.error_message);
    out->n_counters = in.counters.size();
    out->counters = (fzb_counter_value *)calloc(in.counters.size() + 1, sizeof *out->counters);
    if (!out->name || !out->base || !out->aggregate || !out->error_message || !out->counters)
        return false;
    size_t i = 0;
    for (const auto &kv : in.counters) {
        out->counters[i].name = dup(kv.first);
        out->counters[i].value = kv.second.value;
        if (!out->counters[i++].name)
            return false;
    }
    return true;
}

}  // namespace

extern "C" {

void fzb_init(int *argc, char **argv) { benchmark::Initialize(argc, argv); }

static const char *program_usage = "";

static void print_help()
{
    fputs(program_usage, stdout);
    std::cout << "\nGoogle Benchmark's flags:\n";
    benchmark::PrintDefaultHelp();
}

// The value of `arg` if it is --`flag` ("" for the bare flag), else nullptr.
static const char *flag_value(const char *arg, const char *flag)
{
    size_t n = strlen(flag);
    if (strncmp(arg, "--", 2) != 0 || strncmp(arg + 2, flag, n) != 0)
        return nullptr;
    const char *rest = arg + 2 + n;
    return *rest == '=' ? rest + 1 : *rest == '\0' ? rest : nullptr;
}

// Google Benchmark's reading of a boolean flag: bare or anything but a false word is true.
static bool truthy(const char *value)
{
    static const char *const falses[] = { "0", "f", "false", "n", "no", "off" };
    for (const char *f : falses)
        if (strcasecmp(value, f) == 0)
            return false;
    return true;
}

[[noreturn]] static void refuse(const char *program, const char *arg, const char *why)
{
    fprintf(stderr, "%s: %s: %s\n", program, arg, why);
    exit(2);
}

// The command line's own arguments, with the Google Benchmark flags that would be
// silently ignored here rewritten or refused: every program sets repetitions and min
// time per benchmark (Google Benchmark's flags then do nothing), and reads every
// repetition back through its own console reporter (which the format, colour, tabular
// and aggregates-only flags do not reach, or starve).
static std::vector<char *> checked_flags(int argc, char **argv)
{
    static std::vector<std::string> rewritten;   // stays alive: argv points into it
    const char *slash = strrchr(argv[0], '/');
    const char *program = slash ? slash + 1 : argv[0];
    static const struct { const char *flag, *option; } mapped[] = {
        { "benchmark_repetitions", "--repetitions" },
        { "benchmark_min_time", "--min-time" },
    };
    rewritten.reserve(rewritten.size() + (size_t)argc);   // no reallocation below
    std::vector<char *> out;
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        const char *v;
        for (const auto &m : mapped) {
            if ((v = flag_value(arg, m.flag)) && *v) {
                rewritten.push_back(std::string(m.option) + "=" + v);
                arg = &rewritten.back()[0];
            }
        }
        if ((v = flag_value(arg, "benchmark_format")) && strcmp(v, "console") != 0)
            refuse(program, arg, "not supported: the program prints its own table on stdout; "
                   "for JSON or CSV use --benchmark_out=FILE --benchmark_out_format=json|csv");
        if (((v = flag_value(arg, "benchmark_report_aggregates_only"))
             || (v = flag_value(arg, "benchmark_display_aggregates_only"))) && truthy(v))
            refuse(program, arg, "not supported: the program needs every repetition, not "
                   "only the aggregates (its table shows median and spread)");
        if ((v = flag_value(arg, "benchmark_color")) || (v = flag_value(arg, "benchmark_counters_tabular")))
            refuse(program, arg, "not supported: Google Benchmark's report here (kernel_bench, "
                   "freeze_sweep --verbose) is always plain and tabular");
        out.push_back(arg);
    }
    return out;
}

void fzb_init_with_defaults(int *argc, char ***argv, const char *const *defaults, size_t n,
                            const char *usage)
{
    program_usage = usage;
    // Google Benchmark lets a later flag override an earlier one.
    static std::vector<char *> args;
    std::vector<char *> own = checked_flags(*argc, *argv);
    args.assign(*argv, *argv + 1);
    for (size_t i = 0; i < n; i++)
        args.push_back(const_cast<char *>(defaults[i]));
    args.insert(args.end(), own.begin(), own.end());
    args.push_back(nullptr);
    *argc = (int)args.size() - 1;
    *argv = args.data();
    benchmark::Initialize(argc, *argv, print_help);
}

fzb_bench *fzb_register(const char *name, fzb_fn fn, void *user,
                        const int64_t *args, const char *const *arg_names, size_t n_args)
{
    // Runs come back named "base/arg:value/..."; the same key finds the user pointer.
    std::string key = name;
    for (size_t i = 0; i < n_args; i++) {
        key += "/";
        if (arg_names)
            key += std::string(arg_names[i]) + ":";
        key += std::to_string(args[i]);
    }
    if (!registry().emplace(key, user).second)
        return nullptr;
    auto *b = benchmark::RegisterBenchmark(name, [fn, user](benchmark::State &st) {
        fzb_state s{st};
        fn(&s, user);
    });
    std::vector<int64_t> a(args, args + n_args);
    if (n_args)
        b->Args(a);
    if (arg_names && n_args)
        b->ArgNames(std::vector<std::string>(arg_names, arg_names + n_args));
    b->UseRealTime()->ComputeStatistics("min", min_of)->ComputeStatistics("max", max_of);
    return reinterpret_cast<fzb_bench *>(b);   // opaque to C, owned by Google Benchmark
}

static benchmark::internal::Benchmark *gb(fzb_bench *b)
{
    return reinterpret_cast<benchmark::internal::Benchmark *>(b);
}
void fzb_set_repetitions(fzb_bench *b, int n) { gb(b)->Repetitions(n); }
void fzb_set_min_time(fzb_bench *b, double seconds) { gb(b)->MinTime(seconds); }

bool fzb_keep_running(fzb_state *s) { return s->st.KeepRunning(); }
int64_t fzb_arg(const fzb_state *s, size_t i) { return s->st.range(i); }
void fzb_skip_with_error(fzb_state *s, const char *message) { s->st.SkipWithError(message); }
void fzb_pause_timing(fzb_state *s) { s->st.PauseTiming(); }
void fzb_resume_timing(fzb_state *s) { s->st.ResumeTiming(); }

void fzb_counter(fzb_state *s, const char *name, double value, fzb_counter_kind kind)
{
    using C = benchmark::Counter;
    C::Flags f = kind == FZB_RATE ? C::kIsIterationInvariantRate
               : kind == FZB_PER_ITER ? C::kAvgIterations : C::kDefaults;
    s->st.counters[name] = C(value, f);
}

fzb_results *fzb_run_all(fzb_console console)
{
    static std::ostream null_stream(nullptr);   // a stream with no buffer drops what it gets
    Capture rep(console != FZB_QUIET);
    std::ostream &os = console == FZB_STDOUT ? std::cout : console == FZB_STDERR ? std::cerr : null_stream;
    rep.SetOutputStream(&os);
    rep.SetErrorStream(console == FZB_QUIET ? &null_stream : &std::cerr);
    benchmark::RunSpecifiedBenchmarks(&rep);

    auto *r = (fzb_results *)calloc(1, sizeof(fzb_results));
    if (!r)
        return nullptr;
    r->runs = (fzb_run *)calloc(rep.runs_.size() + 1, sizeof(fzb_run));
    if (!r->runs) {
        free(r);
        return nullptr;
    }
    for (const auto &run : rep.runs_) {
        bool ok = to_c(run, &r->runs[r->n]);
        r->n++;   // counted even when half-filled, so fzb_results_free releases it
        if (!ok) {
            fzb_results_free(r);
            return nullptr;
        }
    }
    return r;
}

void fzb_results_free(fzb_results *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        fzb_run *run = &r->runs[i];
        free(run->name);
        free(run->base);
        free(run->aggregate);
        free(run->error_message);
        for (size_t c = 0; run->counters && c < run->n_counters; c++)
            free(run->counters[c].name);
        free(run->counters);
    }
    free(r->runs);
    free(r);
}

bool fzb_run_counter(const fzb_run *r, const char *name, double *value)
{
    for (size_t i = 0; i < r->n_counters; i++) {
        if (r->counters[i].name && strcmp(r->counters[i].name, name) == 0) {
            *value = r->counters[i].value;
            return true;
        }
    }
    return false;
}

void fzb_clear(void)
{
    benchmark::ClearRegisteredBenchmarks();
    registry().clear();
}

}  // extern "C"
