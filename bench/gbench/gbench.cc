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
#include <memory>
#include <sstream>
#include <string>
#include <vector>

// Google Benchmark 1.7 exports its flags but declares them only in an internal header
// (commandlineflags.h).  The shim reads these three after Initialize has parsed them, so
// it agrees with Google Benchmark on their values however they were given (command
// line or BENCHMARK_* environment variables): it must hand RunSpecifiedBenchmarks its
// own file reporter exactly when --benchmark_out is set (it exits otherwise), and list
// the benchmarks itself.
namespace benchmark {
extern std::string FLAGS_benchmark_out;
extern std::string FLAGS_benchmark_out_format;
extern bool FLAGS_benchmark_list_tests;
}  // namespace benchmark

struct fzb_state {
    benchmark::State &st;
};

// A phase timed by a counter of its own: the counter's name and the phase's.
struct fzb_phase {
    std::string counter, phase;
};

struct fzb_bench {
    benchmark::internal::Benchmark *gb;   // owned by Google Benchmark
    void *user;
    std::vector<fzb_phase> phases;        // fzb_set_phase_counters
};

namespace {

using Run = benchmark::BenchmarkReporter::Run;

// Keyed by name/args, the stable name without the time type: runs come back with the
// same two parts (run_name.function_name and .args).  A map's values stay where they
// are, so the fzb_bench pointers handed to C stay valid until fzb_clear.
std::map<std::string, fzb_bench> &registry()
{
    static std::map<std::string, fzb_bench> benches;
    return benches;
}

const fzb_bench *registered(const Run &r)
{
    const std::string &base = r.run_name.function_name;
    auto it = registry().find(r.run_name.args.empty() ? base : base + "/" + r.run_name.args);
    return it == registry().end() ? nullptr : &it->second;
}

double min_of(const std::vector<double> &v) { return *std::min_element(v.begin(), v.end()); }
double max_of(const std::vector<double> &v) { return *std::max_element(v.begin(), v.end()); }

char *dup(const std::string &s) { return strdup(s.c_str()); }

// Repetitions and minimum time are settings of a measurement, not what it measures, yet
// Google Benchmark names a benchmark with them once they are set per benchmark
// (".../min_time:0.100/repeats:3/real_time").  Without them the same configuration has
// the same name in runs of any length, so compare.py can match the runs.
bool is_setting(const std::string &part)
{
    for (const char *s : { "min_time:", "min_warmup_time:", "repeats:" })
        if (part.compare(0, strlen(s), s) == 0)
            return true;
    return false;
}

std::vector<Run> stable_names(const std::vector<Run> &runs)
{
    std::vector<Run> out(runs);
    for (Run &r : out) {
        r.run_name.min_time.clear();
        r.run_name.min_warmup_time.clear();
        r.run_name.repetitions.clear();
    }
    return out;
}

// Google Benchmark lists a benchmark under its full name: name/args as registered, then
// its settings and time type.  The registered name/args is the longest key that ends at
// a '/' of the full name (the sweep registers both ".../threads:1" and
// ".../threads:1/epoch"); what follows it is Google Benchmark's, settings dropped.
std::string stable_listed_name(const std::string &full)
{
    const std::string *key = nullptr;
    for (const auto &kv : registry()) {
        const std::string &k = kv.first;
        if (full.compare(0, k.size(), k) == 0 && (full.size() == k.size() || full[k.size()] == '/')
            && (!key || k.size() > key->size()))
            key = &k;
    }
    if (!key)
        return full;
    std::string out = *key;
    std::istringstream rest(full.substr(key->size()));
    std::string part;
    while (std::getline(rest, part, '/'))
        if (!part.empty() && !is_setting(part))
            out += "/" + part;
    return out;
}

// The entry of one phase of run r, timed by the counter named in p (a sum of seconds
// over the iterations that Google Benchmark has divided by them): manual time, as
// Google Benchmark names a benchmark whose function sets its own time.  False where r
// has no such time: an error, a complexity report, a counter r lacks or one that is not
// per iteration (its value would not be seconds per iteration).
bool phase_entry(const Run &r, const fzb_phase &p, Run *out)
{
    if (r.error_occurred || r.report_big_o || r.report_rms)
        return false;
    auto c = r.counters.find(p.counter);
    if (c == r.counters.end() || c->second.flags != benchmark::Counter::kAvgIterations)
        return false;
    *out = r;   // the same iterations, repetition, run type, aggregate and time unit
    out->run_name.args = r.run_name.args.empty() ? p.phase : r.run_name.args + "/" + p.phase;
    out->run_name.time_type = "manual_time";
    out->counters.clear();   // they are the run's, reported with it
    out->memory_result = nullptr;
    out->allocs_per_iter = 0;
    out->max_heapbytes_used = 0;
    // The reporters show a time as accumulated seconds over the iterations, in the run's
    // time unit, and a percentage aggregate (cv) as it is, as they do for the run's own.
    double v = c->second.value;
    out->real_accumulated_time = r.aggregate_unit == benchmark::kPercentage
                                 ? v : v * (double)r.iterations;
    out->cpu_accumulated_time = out->real_accumulated_time;
    return true;
}

// The runs of one report with stable names, then, phase by phase, the phase entries of
// those runs whose benchmark has phase counters.
std::vector<Run> with_phases(const std::vector<Run> &runs)
{
    std::vector<Run> out = stable_names(runs);
    size_t most = 0;
    for (const Run &r : runs) {
        const fzb_bench *b = registered(r);
        most = b ? std::max(most, b->phases.size()) : most;
    }
    for (size_t p = 0; p < most; p++) {
        for (size_t i = 0; i < runs.size(); i++) {   // the runs only, not their entries
            const fzb_bench *b = registered(out[i]);
            Run e;
            if (b && p < b->phases.size() && phase_entry(out[i], b->phases[p], &e))
                out.push_back(e);
        }
    }
    return out;
}

// Keeps every run while the console reporter (if any) prints it.
class Capture : public benchmark::ConsoleReporter {
public:
    explicit Capture(bool print) : ConsoleReporter(OO_Tabular), print_(print) {}
    bool ReportContext(const Context &c) override { return print_ ? ConsoleReporter::ReportContext(c) : true; }
    void ReportRuns(const std::vector<Run> &runs) override
    {
        std::vector<Run> named = stable_names(runs);
        runs_.insert(runs_.end(), named.begin(), named.end());
        if (print_)
            ConsoleReporter::ReportRuns(named);
    }
    std::vector<Run> runs_;

private:
    bool print_;
};

// The --benchmark_out file in Google Benchmark's format, with stable names and the phase
// entries.  The CSV format writes its header (with a column per counter) at its first
// report and aborts on a counter the header lacks, but the probes and the configurations
// have different counters: `hold` keeps every report until the end and hands them over
// at once, so the header has them all.
template <class Format>
class FileReport : public Format {
public:
    template <class... A>
    explicit FileReport(bool hold, A... args) : Format(args...), hold_(hold) {}
    void ReportRuns(const std::vector<Run> &runs) override
    {
        std::vector<Run> out = with_phases(runs);
        if (hold_)
            held_.insert(held_.end(), out.begin(), out.end());
        else
            Format::ReportRuns(out);
    }
    void Finalize() override
    {
        if (!held_.empty())
            Format::ReportRuns(held_);
        Format::Finalize();
    }

private:
    bool hold_;
    std::vector<Run> held_;
};

std::unique_ptr<benchmark::BenchmarkReporter> file_reporter(const std::string &format)
{
    using R = std::unique_ptr<benchmark::BenchmarkReporter>;
    if (format == "json")
        return R(new FileReport<benchmark::JSONReporter>(false));
    if (format == "csv") {
        // Deprecated upstream, still what --benchmark_out_format=csv asks for.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
        return R(new FileReport<benchmark::CSVReporter>(true));
#pragma GCC diagnostic pop
    }
    // console: plain, as Google Benchmark writes it to a file
    return R(new FileReport<benchmark::ConsoleReporter>(false, benchmark::ConsoleReporter::OO_None));
}

bool to_c(const Run &in, fzb_run *out)
{
    const fzb_bench *b = registered(in);
    out->name = dup(in.benchmark_name());
    out->base = dup(in.run_name.function_name);
    out->user = b ? b->user : nullptr;
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
    // Runs come back named "base/arg:value/..." (an empty argument name shows no "name:");
    // the same key finds the benchmark.
    std::string key = name;
    for (size_t i = 0; i < n_args; i++) {
        key += "/";
        if (arg_names && arg_names[i][0])
            key += std::string(arg_names[i]) + ":";
        key += std::to_string(args[i]);
    }
    auto added = registry().emplace(key, fzb_bench{ nullptr, user, {} });
    if (!added.second)
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
    added.first->second.gb = b;
    return &added.first->second;
}

void fzb_set_repetitions(fzb_bench *b, int n) { b->gb->Repetitions(n); }
void fzb_set_min_time(fzb_bench *b, double seconds) { b->gb->MinTime(seconds); }

void fzb_set_phase_counters(fzb_bench *b, const char *const *counters, const char *const *phases,
                            size_t n)
{
    b->phases.clear();
    for (size_t i = 0; i < n; i++)
        b->phases.push_back({ counters[i], phases[i] });
}

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
    std::unique_ptr<benchmark::BenchmarkReporter> file;
    if (!benchmark::FLAGS_benchmark_out.empty())
        file = file_reporter(benchmark::FLAGS_benchmark_out_format);
    if (benchmark::FLAGS_benchmark_list_tests) {
        // Google Benchmark lists full names on the console reporter's stream, which may
        // be quiet: the list is what was asked for, so it goes to stdout, names stable.
        std::ostringstream listed;
        rep.SetOutputStream(&listed);
        benchmark::RunSpecifiedBenchmarks(&rep, file.get());
        std::istringstream lines(listed.str());
        std::string line;
        while (std::getline(lines, line))
            printf("%s\n", stable_listed_name(line).c_str());
        fflush(stdout);
    } else {
        benchmark::RunSpecifiedBenchmarks(&rep, file.get());
    }

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

bool fzb_list_only(void) { return benchmark::FLAGS_benchmark_list_tests; }

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
