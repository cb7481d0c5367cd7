#!/bin/sh
# bench/dp_step's command line: --help and -h print the usage and exit 0 (they were
# refused as unknown options); a bad option or number, a malformed spec and a global
# batch the ranks cannot split are usage errors (exit 2) with a message naming them; 2
# ranks given different arguments (--steps, through a wrapper that reads
# OMPI_COMM_WORLD_RANK) end within seconds with rank 1's message, not in a hang at a
# barrier one rank never reaches; a tiny run still measures.
#   usage: dp_step_options.sh MPIRUN DP_STEP
set -u
mpirun=$1 dp_step=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
. "$(dirname "$0")/dp_ranks_testutil.sh"
per_rank_wrapper "$dir"
fail=0
# expect NP RC NEEDLE ARGS...: exit RC within the timeout, NEEDLE in the output.
expect() {
    np=$1 want=$2 needle=$3
    shift 3
    timeout 30 "$mpirun" -np "$np" --oversubscribe "$dir/per_rank.sh" "$dp_step" "$@" \
        >"$dir/out" 2>&1
    rc=$?
    if [ $rc -ne "$want" ] || ! grep -qF -e "$needle" "$dir/out"; then
        echo "FAIL: -np $np $*: exit $rc (want $want; 124: a hang), want '$needle' in:"
        sed 's/^/    /' "$dir/out"
        fail=1
    else
        echo "ok: -np $np $*: exit $rc: $(grep -m1 -F -e "$needle" "$dir/out")"
    fi
}
expect 1 0 "usage: dp_step" --help
expect 1 0 "usage: dp_step" -h
expect 1 0 "usage: dp_step" --width 8 --help
expect 1 2 "dp_step: unknown option --bogus" --bogus
expect 1 2 "dp_step: --batch: 'x' is not a whole number" --batch x
expect 1 2 "dp_step: --steps: '0' is not a whole number" --steps 0
expect 1 2 "dp_step: --width: '' is not a whole number" --width
expect 1 2 "dp_step: SPEC 'prefix:x'" --width 8 --layers 2 prefix:x
expect 1 2 "dp_step: --steps after the specs" none --steps 2
expect 2 2 "dp_step: --batch 3: not a multiple of the 2 ranks" --batch 3
EXTRA_0="--steps 1" EXTRA_1="--steps 2" \
    expect 2 2 "dp_step: rank 1: --steps 2 on this rank, 1 on rank 0" --width 8 --layers 2 --batch 4
EXTRA_1="--help" expect 2 2 "dp_step: rank 1: --help 'given' on this rank" --width 8
expect 2 0 "prefix:1" --width 8 --layers 2 --batch 4 --steps 2 none prefix:1
exit $fail
