# Sourced by the tests that run a program on 2 ranks, each with its own arguments (a
# wrapper reads OMPI_COMM_WORLD_RANK): EXTRA_0 and EXTRA_1 are appended to rank 0's and
# rank 1's command line, ENV_1 (ENV_r) is put in rank r's environment.

# per_rank_wrapper DIR: writes DIR/per_rank.sh, the wrapper mpirun starts on each rank.
per_rank_wrapper() {
    cat >"$1/per_rank.sh" <<'SH'
#!/bin/sh
r=${OMPI_COMM_WORLD_RANK:-0}
eval "extra=\${EXTRA_$r:-} envs=\${ENV_$r:-}"
exec env $envs "$@" $extra
SH
    chmod +x "$1/per_rank.sh"
}

# ranks_expect NAME WANT LOG WRITTEN FIRST NEEDLE...: runs ranks_cmd (the test's own
# function, which starts mpirun under a timeout and sends what to check to LOG) with
# EXTRA_0, EXTRA_1 and ENV_1 taken from e0, e1 and env1; it must exit WANT, not hang,
# with every NEEDLE in LOG and WRITTEN not written.  Sets fail=1 otherwise; prints LOG's
# first line matching FIRST when it passes; clears e0, e1 and env1 for the next case.
ranks_expect() {
    name=$1 want=$2 log=$3 written=$4 first=$5
    shift 5
    start=$(date +%s)
    export EXTRA_0="$e0" EXTRA_1="$e1" ENV_1="$env1"
    ranks_cmd
    rc=$? took=$(( $(date +%s) - start ))
    unset EXTRA_0 EXTRA_1 ENV_1
    bad=""
    [ $rc -eq 124 ] || [ $rc -eq 137 ] && bad="a hang (killed by timeout)"
    [ -z "$bad" ] && [ $rc -ne "$want" ] && bad="exit $rc, want $want"
    for needle in "$@"; do
        [ -z "$bad" ] && ! grep -qF -e "$needle" "$log" && bad="no '$needle'"
    done
    [ -z "$bad" ] && [ -e "$written" ] && bad="a refused run wrote ${written##*/}"
    if [ -n "$bad" ]; then
        echo "FAIL: $name: $bad"
        sed 's/^/    /' "$log"
        fail=1
    else
        echo "ok: $name: exit $rc in ${took}s: $(grep -m1 -e "$first" "$log")"
    fi
    rm -f "$written"
    e0="" e1="" env1=""
}
