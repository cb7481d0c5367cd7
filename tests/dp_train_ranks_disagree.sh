#!/bin/sh
# freezebench train on 2 ranks given different arguments, or where one rank alone fails
# before training: every case ends every rank within seconds, before any collective the
# others would wait in forever, with a nonzero exit (2 for arguments, 1 for files), the
# message of the rank concerned ("freezebench: rank N: ...") and no OUT.npz written.
# Each rank gets its own arguments through a wrapper that reads OMPI_COMM_WORLD_RANK:
# EXTRA_0 and EXTRA_1 are appended to rank 0's and rank 1's command line, ENV_1 is put
# in rank 1's environment.
#   usage: dp_train_ranks_disagree.sh MPIRUN FREEZEBENCH PYTHON
set -u
mpirun=$1 fz=$2 py=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$py" "$(dirname "$0")/dp_fixture.py" "$dir" --variants || exit $?   # 77: SKIP
mkdir "$dir/outdir.npz"   # a directory where rank 1's OUT.npz should go
. "$(dirname "$0")/dp_ranks_testutil.sh"
per_rank_wrapper "$dir"

base="train --model $dir/m.npz --batch 16 --out $dir/out.npz"
fail=0 e0="" e1="" env1=""
ranks_cmd() {
    timeout 30 "$mpirun" -np 2 --oversubscribe "$dir/per_rank.sh" "$fz" $base >"$dir/out" 2>&1
}
# expect NAME RC NEEDLE...: with e0, e1 and env1 as set, exit RC within the timeout and
# every NEEDLE in the output, nothing written.
expect() {
    name=$1 want=$2
    shift 2
    ranks_expect "$name" "$want" "$dir/out" "$dir/out.npz" "freezebench:" "$@"
}
common="--data $dir/d.npz --epochs 2 --lr 0.05"

# Arguments that set the number of steps: the ranks would take different numbers of
# steps, and the one with more would wait forever in its next allreduce.
e0="--data $dir/d.npz --epochs 2 --lr 0.05" e1="--data $dir/d.npz --epochs 4 --lr 0.05"
expect "--epochs per rank" 2 "rank 1: --epochs 4 on this rank, 2 on rank 0"
e0="$common" e1="--data $dir/d48.npz --epochs 2 --lr 0.05"
expect "sample count per rank" 2 "rank 1: the sample count of --data 48 on this rank, 64 on rank 0"
e0="$common" e1="--data $dir/d_other.npz --epochs 2 --lr 0.05"
expect "data contents per rank" 2 "rank 1: the contents of --data"
# The optimizer's settings: the ranks' models would drift apart.
e0="$common" e1="--data $dir/d.npz --epochs 2 --lr 0.1"
expect "--lr per rank" 2 "rank 1: --lr 0.1 on this rank, 0.05 on rank 0"
e0="$common" e1="$common --momentum 0.9"
expect "--momentum per rank" 2 "rank 1: --momentum 0.9 on this rank, 0 on rank 0"
e0="$common --weight-decay 0.01" e1="$common"
expect "--weight-decay per rank" 2 "rank 1: --weight-decay 0 on this rank, 0.01 on rank 0"
e0="$common --seed 1" e1="$common --seed 2"
expect "--seed per rank" 2 "rank 1: --seed '2' on this rank, '1' on rank 0"
e0="$common --schedule 0:prefix:1,1:none" e1="$common --schedule 0:prefix:2,1:none"
expect "--schedule per rank" 2 "rank 1: --schedule '0:prefix:2,1:none' on this rank"
e0="$common" e1="$common --freeze prefix:1"
expect "--freeze per rank" 2 "rank 1: --freeze 'prefix:1' on this rank, 'none' on rank 0"
e0="$common" e1="$common" env1="FREEZEBENCH_DP_BUCKET_BYTES=1024"
expect "FREEZEBENCH_DP_BUCKET_BYTES per rank" 2 \
    "rank 1: FREEZEBENCH_DP_BUCKET_BYTES '1024' on this rank, (not given) on rank 0"
# One rank failing alone before training.
e0="$common" e1="--data $dir/d.npz --epochs 2 --lr fast"
expect "rank 1's argument does not parse" 2 "rank 1: --lr: 'fast'"
e0="$common" e1="--help"
expect "--help on rank 1 only" 2 "rank 1: the command 'help' on this rank, 'train' on rank 0"
base="train --model $dir/m.npz --batch 16"   # --out per rank
e0="$common --out $dir/out.npz" e1="$common --out $dir/outdir.npz"
expect "--out a directory on rank 1 only" 2 "rank 1: --out:" "directory"
base="train --model $dir/m.npz --batch 16 --out $dir/out.npz"
e0="$common" e1="--data $dir/d8.npz --epochs 2 --lr 0.05"
expect "too few samples for --batch on rank 1 only" 1 "rank 1: $dir/d8.npz: 8 samples are fewer than --batch 16"
base="train --batch 16 --out $dir/out.npz $common"   # --model per rank
e0="--model $dir/m.npz" e1="--model $dir/absent.npz"
expect "a missing model file on rank 1 only" 1 "rank 1: $dir/absent.npz"
e0="--model $dir/m.npz" e1="--model $dir/d.npz"
expect "a file that is no model on rank 1 only" 1 "rank 1: $dir/d.npz"
# The same refusal on every rank is printed once, without a rank.
base="train --model $dir/m.npz --batch 15 --out $dir/out.npz $common"
expect "--batch 15 on 2 ranks" 2 "freezebench: --batch 15: not a multiple of the 2 ranks"
n=$(grep -c "not a multiple" "$dir/out")
[ "$n" -eq 1 ] || { echo "FAIL: the batch refusal was printed $n times (want once)"; fail=1; }
base="train --model $dir/m.npz --batch 16 --out $dir/out.npz $common"
e0="--schedule 0:prefix:1,,1:none" e1="--schedule 0:prefix:1,,1:none"
expect "a malformed --schedule on every rank" 2 "freezebench: --schedule:" "empty entry"
exit $fail
