#!/bin/sh
# freezebench train under mpirun: the result equals one process's training (up to float
# rounding), also under a freeze schedule, and a rank that fails mid-training ends every rank with its message instead
# of leaving the others in a collective: rank 1's step 3 fails (FREEZEBENCH_DP_FAIL),
# freezebench prints the error and calls MPI_Abort, all within `timeout`.
#   usage: dp_rank_failure.sh MPIRUN FREEZEBENCH PYTHON
set -u
mpirun=$1 fz=$2 py=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$py" "$(dirname "$0")/dp_fixture.py" "$dir" || exit $?   # 77 without numpy: SKIP
train="train --model $dir/m.npz --data $dir/d.npz --epochs 4 --batch 16 --lr 0.05 --freeze prefix:1"
"$fz" $train --out "$dir/one.npz" >/dev/null || { echo "one process failed"; exit 1; }
timeout 60 "$mpirun" -np 2 --oversubscribe "$fz" $train --out "$dir/two.npz" >/dev/null ||
    { echo "2 ranks failed"; exit 1; }
"$py" - "$dir" <<'PY' || exit 1
import sys
import numpy as np
a, b = np.load(f"{sys.argv[1]}/one.npz"), np.load(f"{sys.argv[1]}/two.npz")
worst = max(float(abs(a[k] - b[k]).max()) for k in a)
assert (a["fc1.weight"] == b["fc1.weight"]).all(), "frozen fc1.weight changed"
assert worst < 1e-5, f"2 ranks differ from one process by {worst}"
print(f"2 ranks vs one process: max |diff| {worst:.3g}")
PY
# A freeze schedule changes which tensors travel between steps (every rank re-plans
# alike, and fz_dp_step checks that they agree): the same result as one process.
sched="--schedule 0:prefix:2,2:prefix:1,3:none --momentum 0.9"
"$fz" $train $sched --out "$dir/one_s.npz" >/dev/null || { echo "one process (schedule) failed"; exit 1; }
timeout 60 "$mpirun" -np 2 --oversubscribe "$fz" $train $sched --out "$dir/two_s.npz" \
    >/dev/null || { echo "2 ranks (schedule) failed"; exit 1; }
"$py" - "$dir" <<'PY' || exit 1
import sys
import numpy as np
a, b = np.load(f"{sys.argv[1]}/one_s.npz"), np.load(f"{sys.argv[1]}/two_s.npz")
worst = max(float(abs(a[k] - b[k]).max()) for k in a)
assert worst < 1e-5, f"with a schedule, 2 ranks differ from one process by {worst}"
moved = float(abs(a["fc1.weight"] - np.load(f"{sys.argv[1]}/m.npz")["fc1.weight"]).max())
assert moved > 0, "the schedule never unfroze fc1"
print(f"with a schedule, 2 ranks vs one process: max |diff| {worst:.3g}")
PY
start=$(date +%s)
FREEZEBENCH_DP_FAIL=1:3 timeout 30 "$mpirun" -np 2 --oversubscribe "$fz" $train \
    --out "$dir/fail.npz" >"$dir/out" 2>&1
rc=$? took=$(( $(date +%s) - start ))
cat "$dir/out"
if [ $rc -eq 0 ] || [ $rc -eq 124 ]; then
    echo "expected a failure, got exit $rc (124: a hang)"; exit 1
fi
grep -q "rank 1: fz_dp_step: rank 1: step 3: failure injected" "$dir/out" ||
    { echo "the failing rank's message is missing"; exit 1; }
[ ! -e "$dir/fail.npz" ] || { echo "a failed run wrote its output"; exit 1; }
echo "rank 1's failure ended all ranks in ${took}s with exit $rc"
