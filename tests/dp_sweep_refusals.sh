#!/bin/sh
# freeze_sweep under mpirun on 2 ranks refuses, before any work and without hanging, a
# global batch that the ranks cannot split into equal shards (from --batch and from
# --model M@B), a Google Benchmark flag it cannot honour there, and --epoch-samples; each
# with one message (rank 0 alone prints it) and exit 2, writing no file.  And a step
# that fails on rank 1 alone (FREEZEBENCH_DP_FAIL) ends every rank with rank 1's
# message (MPI_Abort) instead of leaving rank 0 in a collective, writing no file.
#   usage: dp_sweep_refusals.sh MPIRUN FREEZE_SWEEP
set -u
mpirun=$1 sweep=$2
case $sweep in /*) ;; *) sweep=$PWD/$sweep ;; esac
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
fail=0
# expect MESSAGE ARGS...: exit 2 (mpirun passes the ranks' status on), MESSAGE once.
expect() {
    want=$1
    shift
    timeout 60 "$mpirun" -np 2 --oversubscribe "$sweep" --quick-probes "$@" \
        --allow-dirty --output "$dir/out.csv" >"$dir/stdout" 2>"$dir/stderr"
    rc=$?
    n=$(grep -c -e "$want" "$dir/stderr")
    if [ $rc -eq 124 ]; then
        echo "HANG: $*"; fail=1
    elif [ $rc -ne 2 ] || [ "$n" -ne 1 ]; then
        echo "FAIL: $*: exit $rc, '$want' printed $n times (want exit 2, once)"
        cat "$dir/stderr"; fail=1
    else
        echo "ok: $*: exit 2, $(grep -e "$want" "$dir/stderr")"
    fi
    if [ -e "$dir/out.csv" ]; then
        echo "FAIL: $*: a refused run wrote its CSV"; fail=1
    fi
}
expect "batch 7 of model 16x4 is not a multiple of the 2 ranks" --model 16x4 --batch 8,7
expect "batch 5 of model 16x4 is not a multiple of the 2 ranks" --model 16x4@5
expect "not supported under mpirun" --model 16x4@8 --benchmark_filter=none
expect "epoch-samples" --model 16x4@8 --epoch-samples 16
# A sweep no rank's memory can hold: refused by every rank alike, before any allocation.
expect "needs at least" --model 65536,65536@2 --spec none
timeout 60 env FREEZEBENCH_DP_FAIL=1:4 "$mpirun" -np 2 --oversubscribe "$sweep" \
    --quick-probes --model 16x4@8 --repetitions 2 --min-time 0.001 \
    --allow-dirty --output "$dir/out.csv" >"$dir/stdout" 2>"$dir/stderr"
rc=$?
if [ $rc -eq 124 ]; then
    echo "HANG: a failure on rank 1"; fail=1
elif [ $rc -eq 0 ] || ! grep -q "freeze_sweep: rank 1: .*failure injected" "$dir/stderr"; then
    echo "FAIL: a failure on rank 1: exit $rc, want non-zero with rank 1's message"
    cat "$dir/stderr"; fail=1
else
    echo "ok: a failure on rank 1: exit $rc, $(grep "freeze_sweep: rank 1:" "$dir/stderr")"
fi
[ ! -e "$dir/out.csv" ] || { echo "FAIL: the failed run wrote its CSV"; fail=1; }
exit $fail
