#!/usr/bin/env bash
# check-solutions.sh [NN-K ...]: prove every exercise check against its reference solution
# (default: every tests/exercises/NN-K.bats, in order). `make check-exercises` runs it.
#
# A check is only worth something if it tells the two apart: the code as shipped, where the
# exercise is not done, and a solution, where it is. So for each check, in scratch copies of the
# working tree (the files git tracks plus the untracked ones it does not ignore: it works in a
# clean clone and on uncommitted work alike), this proves
#   (a) the check FAILS on the shipped code, on an assertion ("not ok" in its TAP output, not a
#       file that bats cannot load), and
#   (b) with tests/exercises/solutions/NN-K.patch applied (git apply), every stage builds with
#       -Werror and the check PASSES, with no test skipped.
# One line per check, with its time; for a check that is not proven, the reason on that line and
# the output that shows it below; a summary line last. Exit 0 when every check is proven, else 1.
#
# Environment:
#   JOBS=N           how many checks at once (default 2: a check mostly waits for a server)
#   CHECK_STRICT=1   a skipped test is a failure, not just reported (CI sets it)
#   CHECK_SUITES=1   also run the stage's own suite with the solution applied (tests/NN-*.bats,
#                    and tests/reliability.bats when the patch changes common/): for whoever
#                    writes a solution; too slow for CI. -s on the command line does the same.
#   CC               the compiler (default: make's, cc)
set -u
root=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
cd "$root" || exit 1

usage() {
    echo "usage: tests/exercises/check-solutions.sh [-s] [NN-K ...]" >&2
    exit 2
}

with_suites=${CHECK_SUITES:-0}
names=()
for arg in "$@"; do
    case $arg in
    -s) with_suites=1 ;;
    -h | --help) usage ;;
    [0-9][0-9]-[0-9]*) names+=("$arg") ;;
    *) usage ;;
    esac
done
if [ ${#names[@]} -eq 0 ]; then
    for check in tests/exercises/[0-9][0-9]-*.bats; do
        name=${check##*/}
        names+=("${name%.bats}")
    done
fi
jobs=${JOBS:-2}
# wait -n (bash 4.3) lets a finished check make room for the next; without it, one at a time.
if ! [[ $jobs =~ ^[1-9][0-9]*$ ]] ||
    ((BASH_VERSINFO[0] < 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] < 3))); then
    jobs=1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/check-solutions.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# The working tree as it is, once, as a tar file to unpack for every copy.
if ! git ls-files -z --cached --others --exclude-standard |
    tar --null -T - -cf "$work/tree.tar" 2>"$work/tar.err"; then
    echo "check-solutions: cannot copy the working tree (is this a git checkout?):" >&2
    cat "$work/tar.err" >&2
    exit 1
fi

# new_copy DIR: a copy of the working tree in DIR. tests/run-bats keeps the bats-core it fetched
# where there is no bats (tests/.bats-core/, which git ignores): the copy uses that one too.
new_copy() {
    mkdir -p "$1" && tar -xf "$work/tree.tar" -C "$1" || return 1
    if [ -d tests/.bats-core ]; then
        ln -s "$root/tests/.bats-core" "$1/tests/.bats-core"
    fi
}

# in_clean_env DIR COMMAND...: run COMMAND in DIR as from a student's shell (clean-env.sh): this
# script may itself run under bats or make, and nothing of theirs may reach the checks.
in_clean_env() {
    local dir=$1
    shift
    (cd "$dir" && exec "$root/tests/exercises/clean-env.sh" "$@")
}

# build DIR: every stage, warnings as errors, silent unless it fails.
build() {
    in_clean_env "$1" make -s CFLAGS="-O2 -g -Werror" all
}

# run_tap DIR LOG SUITE...: run the bats suites in DIR, their TAP output into LOG; its status.
run_tap() {
    local dir=$1 log=$2
    shift 2
    in_clean_env "$dir" tests/run-bats --tap "$@" >"$log" 2>&1
}

# How many tests of the TAP output in LOG were skipped.
skipped_in() {
    grep -c '^ok .* # skip' "$1"
}

# prove NAME: steps (a) and (b) for the check NAME: (a) in the shipped copy, which every check
# shares (none writes to it), (b) in a copy of its own, made from the built shipped one so that
# make rebuilds only what the patch changes. Writes the verdict line to NAME.report, the output
# that explains it after it, and "ok", "skip" or "fail" to NAME.result.
prove() {
    local name=$1 started=$SECONDS verdict result=fail shown=
    local check=tests/exercises/$name.bats patch=tests/exercises/solutions/$name.patch
    local patched=$work/$name.patched log=$work/$name.log
    if [ ! -f "$check" ]; then
        verdict="no check $check"
    elif [ ! -f "$patch" ]; then
        verdict="no solution: $patch is missing"
    elif ! cp -pR "$shipped" "$patched"; then
        verdict="cannot copy the working tree"
    elif run_tap "$shipped" "$log" "$check"; then
        verdict="passes on the shipped code: the exercise asks for nothing"
        shown=$log
    elif ! grep -q '^not ok ' "$log"; then
        verdict="fails on the shipped code, but on no assertion (does bats load it?)"
        shown=$log
    elif ! (cd "$patched" && git apply "$root/$patch") >"$log" 2>&1; then
        verdict="its solution does not apply: git apply $patch"
        shown=$log
    elif ! build "$patched" >"$log" 2>&1; then
        verdict="with its solution, the code does not build with -Werror"
        shown=$log
    elif ! run_tap "$patched" "$log" "$check"; then
        verdict="fails with its solution applied"
        shown=$log
    else
        local skipped
        skipped=$(skipped_in "$log")
        result=ok
        verdict="fails as shipped, passes with its solution"
        if [ "$skipped" -gt 0 ]; then
            result=skip
            verdict="$verdict, but $skipped of its tests skipped"
            shown=$log
        fi
        if [ "$with_suites" = 1 ]; then
            local suites=(tests/"${name%%-*}"-*.bats)
            grep -q '^diff --git a/common/' "$patch" && suites+=(tests/reliability.bats)
            if ! run_tap "$patched" "$log" "${suites[@]}"; then
                result=fail
                verdict="$verdict; but with it, ${suites[*]} fails"
                shown=$log
            elif [ "$(skipped_in "$log")" -gt 0 ]; then
                [ "$result" = ok ] && result=skip
                verdict="$verdict; ${suites[*]} pass, with $(skipped_in "$log") skipped"
                shown=$log
            else
                verdict="$verdict; ${suites[*]} pass too"
            fi
        fi
    fi
    local mark
    case $result in
    ok) mark="ok  " ;;
    skip) mark="SKIP" ;;
    *) mark="FAIL" ;;
    esac
    {
        printf '%s %s: %s (%d s)\n' "$mark" "$name" "$verdict" $((SECONDS - started))
        [ -n "$shown" ] && sed 's/^/    | /' "$shown"
    } >"$work/$name.report"
    rm -rf "$patched"
    echo "$result" >"$work/$name.result"
}

# The reports, in the order of the checks, as soon as each and those before it are done.
printed=0
print_done() {
    while [ "$printed" -lt ${#names[@]} ] && [ -f "$work/${names[printed]}.result" ]; do
        cat "$work/${names[printed]}.report"
        printed=$((printed + 1))
    done
}

echo "check-solutions: ${#names[@]} checks, $jobs at a time"
started=$SECONDS
shipped=$work/shipped
if ! new_copy "$shipped" || ! build "$shipped" >"$work/build.log" 2>&1; then
    echo "FAIL the shipped code does not build with -Werror:"
    sed 's/^/    | /' "$work/build.log"
    exit 1
fi
for name in "${names[@]}"; do
    while [ "$(jobs -pr | wc -l)" -ge "$jobs" ]; do
        wait -n
        print_done
    done
    prove "$name" &
done
wait
print_done

proven=0 skipped=0 failed=0
for name in "${names[@]}"; do
    case $(cat "$work/$name.result" 2>/dev/null) in
    ok) proven=$((proven + 1)) ;;
    skip) skipped=$((skipped + 1)) ;;
    *) failed=$((failed + 1)) ;;
    esac
done
summary="check-solutions: $proven of ${#names[@]} checks proven"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped with skipped tests"
[ "$failed" -gt 0 ] && summary="$summary, $failed not"
echo "$summary, in $((SECONDS - started)) s"
if [ "$failed" -gt 0 ] || { [ "$skipped" -gt 0 ] && [ "${CHECK_STRICT:-0}" = 1 ]; }; then
    exit 1
fi
exit 0
