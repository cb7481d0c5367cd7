#!/bin/sh
# freeze_sweep on 2 ranks given different arguments: every rank must run the same
# configurations with the same steps in the same order, or one waits forever in an
# allreduce the other never starts.  Each case ends every rank within seconds, before
# any step, with exit 2, the message of the rank concerned ("freeze_sweep: rank 1: ...")
# and no CSV written.  Each rank gets its own arguments through a wrapper that reads
# OMPI_COMM_WORLD_RANK: EXTRA_0 and EXTRA_1 are appended to rank 0's and rank 1's
# command line, ENV_1 is put in rank 1's environment.
#   usage: dp_sweep_ranks_disagree.sh MPIRUN FREEZE_SWEEP
set -u
mpirun=$1 sweep=$2
case $sweep in /*) ;; *) sweep=$PWD/$sweep ;; esac
. "$(dirname "$0")/dp_ranks_testutil.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
per_rank_wrapper "$dir"

fail=0 e0="" e1="" env1=""
ranks_cmd() {
    timeout 60 "$mpirun" -np 2 --oversubscribe "$dir/per_rank.sh" "$sweep" --quick-probes \
        --model 16x4@8 --allow-dirty --output "$dir/out.csv" >"$dir/stdout" 2>"$dir/stderr"
}
# expect NAME NEEDLE...: with e0, e1 and env1 as set, exit 2 within the timeout, every
# NEEDLE in stderr, no CSV.
expect() {
    name=$1
    shift
    ranks_expect "$name" 2 "$dir/stderr" "$dir/out.csv" "freeze_sweep: rank" "$@"
}

# What sets the steps of each configuration.
e0="--repetitions 2 --min-time 0.001" e1="--repetitions 3 --min-time 0.001"
expect "--repetitions per rank" "freeze_sweep: rank 1: --repetitions 3 on this rank, 2 on rank 0"
e0="--repetitions 2 --min-time 0.001" e1="--repetitions 2 --min-time 0.002"
expect "--min-time per rank" "freeze_sweep: rank 1: --min-time 0.002 on this rank, 0.001 on rank 0"
e0="--repetitions 2 --benchmark_min_time=0.001" e1="--repetitions 2 --benchmark_min_time=0.002"
expect "--benchmark_min_time per rank" "freeze_sweep: rank 1: --min-time 0.002 on this rank"
# What sets the configurations, which the ranks visit in one order.
e0="--repetitions 2 --min-time 0.001" e1="--repetitions 2 --min-time 0.001 --model 32x3@8"
expect "--model per rank" "freeze_sweep: rank 1: --model '16x4@8 32x3@8' on this rank, '16x4@8' on rank 0"
e0="--repetitions 2 --min-time 0.001" e1="--repetitions 2 --min-time 0.001 --spec prefix:1"
expect "--spec per rank" "freeze_sweep: rank 1: --spec"
e0="--repetitions 2 --min-time 0.001 --threads 1" e1="--repetitions 2 --min-time 0.001 --threads 2"
expect "--threads per rank" "freeze_sweep: rank 1: --threads '2' on this rank, '1' on rank 0"
# What ends the program at once on one rank only.
e0="--repetitions 2" e1="--repetitions x"
expect "rank 1's argument does not parse" "freeze_sweep: rank 1: --repetitions"
e0="--repetitions 2" e1="--repetitions 2 --machine"
expect "--machine on rank 1 only" "freeze_sweep: rank 1: --machine 'given' on this rank, (not given) on rank 0"
e0="--repetitions 2" e1="--help"
expect "--help on rank 1 only" "freeze_sweep: rank 1: --help 'given' on this rank"
e0="--repetitions 2" e1="--repetitions 2 --benchmark_filter=none"
expect "an unsupported flag on rank 1 only" "freeze_sweep: rank 1: --benchmark_filter=none: not supported"
# The allreduce's buckets: sums of other lengths would meet (Open MPI's raw error, or a
# hang); fz_dp_create refuses on every rank, naming the variable.
e0="--repetitions 2 --min-time 0.001" e1="--repetitions 2 --min-time 0.001" env1="FREEZEBENCH_DP_BUCKET_BYTES=1024"
expect "FREEZEBENCH_DP_BUCKET_BYTES per rank" "freeze_sweep: rank 1: model 16x4 at batch 8: fz_dp_create: rank 1: the ranks were given different FREEZEBENCH_DP_BUCKET_BYTES (1024 on this rank"
e0="--repetitions 2 --min-time 0.001" e1="--repetitions 2 --min-time 0.001" env1="FREEZEBENCH_DP_BUCKET_BYTES=lots"
expect "a bad FREEZEBENCH_DP_BUCKET_BYTES on rank 1 only" "freeze_sweep: rank 1: model 16x4 at batch 8: fz_dp_create: rank 1: FREEZEBENCH_DP_BUCKET_BYTES='lots'" \
    "freeze_sweep: rank 0: model 16x4 at batch 8: fz_dp_create: rank 0: another rank could not create its trainer"
exit $fail
