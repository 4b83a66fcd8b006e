#!/usr/bin/env bash
# check.sh [STEP...]: what `make check` runs: five checks, one after another, each saying what
# it checks and ending with a verdict line. docs/check.md explains them.
#
#   1  every stage built with AddressSanitizer + UndefinedBehaviorSanitizer, then the whole bats
#      suite against those builds: any sanitizer report fails the step
#   2  03-threading and 04-combined built with ThreadSanitizer, then their suites: no data race
#   3  valgrind over a scripted session of each stage: no memory error, no definite leak
#   4  the line reader's fuzzer, for a short time over the seed corpus
#   5  cppcheck and clang-tidy over the C sources, shellcheck over the scripts: no finding
#
# STEP: run only these steps (default: all five), e.g. `tests/check/check.sh 2 3`.
# Environment:
#   CHECK_STAGES="02-forking"  only these stages (steps 1-3 and 5); default every stage
#   CHECK_FUZZ_SECONDS=30      how long step 4 fuzzes
#   CHECK_CC=clang             the compiler of the sanitizer builds (default clang, else cc)
#   CHECK_STRICT=1             a step whose tool is missing fails instead of being skipped (CI)
# (`make check CHECK_STAGES=02-forking` works too: make passes its command line's variables on.)
# For the suites: steps 1 and 2 set CHECK_SANITIZER=address or thread in the tests'
# environment, so that a test that cannot run under a sanitizer (under ulimit -v, say) can skip
# itself, and a test that counts threads can leave out the sanitizer runtime's own.
# Steps 1-3 rebuild the stages in place (their suites run NN-name/server); whatever happens,
# the normal builds are put back at the end. Exit 0 when no step failed.
set -uo pipefail

check_dir=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$check_dir/../.." && pwd)
cd "$root" || exit 1
build=$check_dir/build
mkdir -p "$build"

usage() {
    sed -n '2,/^set -uo/p' "$check_dir/check.sh" | sed '$d; s/^# \{0,1\}//'
}

steps=()
for arg in "$@"; do
    case $arg in
    [1-5]) steps+=("$arg") ;;
    -h | --help) usage; exit 0 ;;
    *) echo "check.sh: no step '$arg' (steps are 1 to 5)" >&2; usage >&2; exit 2 ;;
    esac
done
[ ${#steps[@]} -gt 0 ] || steps=(1 2 3 4 5)

all_stages=()
for server in 0*/server.c; do
    [ -e "$server" ] && all_stages+=("${server%/server.c}")
done
if [ -n "${CHECK_STAGES:-}" ]; then
    stages=()
    for stage in $CHECK_STAGES; do
        stage=${stage%/}
        if [ ! -e "$stage/server.c" ]; then
            echo "check.sh: CHECK_STAGES names '$stage', which is not a stage (${all_stages[*]})" >&2
            exit 2
        fi
        stages+=("$stage")
    done
else
    stages=("${all_stages[@]}")
fi

fuzz_seconds=${CHECK_FUZZ_SECONDS:-30}
jobs=$( (getconf _NPROCESSORS_ONLN || sysctl -n hw.ncpu) 2>/dev/null || echo 2)

if [ -n "${CHECK_CC:-}" ]; then
    san_cc=$CHECK_CC
elif command -v clang >/dev/null 2>&1; then
    san_cc=clang
else
    san_cc=cc
fi

# ---------------------------------------------------------------------------------------------
# Building the stages in place, and putting the normal builds back

rebuilt=()
restore_builds() {
    [ ${#rebuilt[@]} -gt 0 ] || return 0
    echo "check.sh: putting back the normal builds of ${rebuilt[*]}"
    local stage
    for stage in "${rebuilt[@]}"; do
        make -s -C "$stage" -B >/dev/null || echo "check.sh: could not rebuild $stage" >&2
    done
    rebuilt=()
}
on_exit() {
    local status=$?
    restore_builds
    exit "$status"
}
trap on_exit EXIT
trap 'echo; echo "check.sh: interrupted"; exit 130' INT TERM

# build_stages CC CFLAGS LDFLAGS STAGE...: rebuild each stage's server and client in place.
build_stages() {
    local cc=$1 cflags=$2 ldflags=$3 stage
    shift 3
    for stage in "$@"; do
        rebuilt+=("$stage")
        echo "check.sh: building $stage with $cc $cflags"
        if ! make -s -C "$stage" -B CC="$cc" CFLAGS="$cflags" LDFLAGS="$ldflags" >"$build/make.log" 2>&1; then
            cat "$build/make.log"
            return 1
        fi
        # A warning is a finding too: the contract wants none, with any compiler.
        if [ -s "$build/make.log" ]; then
            cat "$build/make.log"
            echo "check.sh: $stage: the build printed warnings"
            return 1
        fi
    done
}

# A sanitizer runtime that cannot map its shadow memory on a kernel with high ASLR entropy
# (older clang, vm.mmap_rnd_bits = 32) works with address randomisation off: sanitizer_prefix
# says how to run programs so that they do, or nothing when they run as they are.
sanitizer_prefix=()
probe_sanitizer() { # FLAG...
    local source=$build/probe.c binary=$build/probe-san
    printf '%s\n' '#include <stdlib.h>' \
        'int main(void) { char *p = malloc(4); p[0] = 1; int r = p[0] - 1; free(p); return r; }' \
        >"$source"
    sanitizer_prefix=()
    "$san_cc" "$@" -g -o "$binary" "$source" >"$build/probe.log" 2>&1 || return 2
    "$binary" >>"$build/probe.log" 2>&1 && return 0
    if command -v setarch >/dev/null 2>&1 && setarch "$(uname -m)" -R "$binary" >/dev/null 2>&1; then
        sanitizer_prefix=(setarch "$(uname -m)" -R)
        echo "check.sh: the sanitizer needs address randomisation off here; running the suites under ${sanitizer_prefix[*]}"
        return 0
    fi
    return 1
}

# show_reports DIR: the sanitizer reports written into DIR: the first two whole (their first
# 60 lines), the summary line of the others. Returns 1 if there were any.
show_reports() {
    local dir=$1 file count=0
    for file in "$dir"/*; do
        [ -e "$file" ] || continue
        count=$((count + 1))
        if [ "$count" -le 2 ]; then
            echo "---- report ${file##*/} (the process's PID is in the name):"
            sed -n '1,60p' "$file"
            [ "$(wc -l <"$file")" -le 60 ] || echo "     ... (the rest is in ${file#"$root"/})"
        else
            echo "---- report ${file##*/}: $(grep -m1 -E '^SUMMARY|ERROR:' "$file" || head -1 "$file")"
        fi
    done
    [ "$count" -gt 0 ] && echo "check.sh: $count sanitizer report(s), in ${dir#"$root"/}"
    [ "$count" -eq 0 ]
}

# run_suites STAGE...: the bats suites of the given stages, plus stress.bats restricted to
# them; the whole suite when every stage is selected. Their output is shown as it comes, and
# the tests that failed are listed again at the end.
run_suites() {
    local log=$build/bats.log status=0
    _run_suites "$@" 2>&1 | tee "$log" || status=1
    if grep -q '^not ok' "$log"; then
        echo "check.sh: the tests that failed:"
        grep '^not ok' "$log" | sed 's/^/   /'
    fi
    return "$status"
}
_run_suites() { # STAGE...
    local suites=() stage filter=
    for stage in "$@"; do
        [ -e "tests/$stage.bats" ] && suites+=("tests/$stage.bats")
        filter+="${filter:+|}$stage"
    done
    local status=0
    if [ ${#stages[@]} -eq ${#all_stages[@]} ] && [ "$*" = "${all_stages[*]}" ]; then
        # Every stage: the whole suite, exactly as `make test` runs it.
        ${sanitizer_prefix[@]+"${sanitizer_prefix[@]}"} tests/run-bats tests/ || status=1
        return "$status"
    fi
    if [ ${#suites[@]} -gt 0 ]; then
        ${sanitizer_prefix[@]+"${sanitizer_prefix[@]}"} tests/run-bats "${suites[@]}" || status=1
    fi
    if [ -e tests/stress.bats ]; then
        ${sanitizer_prefix[@]+"${sanitizer_prefix[@]}"} tests/run-bats --filter "^($filter)" tests/stress.bats || status=1
    fi
    return "$status"
}

missing_tool() { # WHAT HOW
    echo "check.sh: $1 is not installed ($2)"
    if [ "${CHECK_STRICT:-0}" = 1 ]; then
        step_note="$1 missing"
        return 1
    fi
    step_note="skipped: $1 missing"
    return 3
}

# ---------------------------------------------------------------------------------------------
# The steps. Each returns 0 (pass), 1 (fail; step_note says why) or 3 (skipped).

step_title=(
    ""
    "ASan+UBSan over the bats suites"
    "TSan over the 03 and 04 suites"
    "valgrind over a scripted session of each stage"
    "fuzzing the line reader"
    "static analysis: cppcheck, clang-tidy and shellcheck"
)

step_1() {
    echo "Every stage built with -fsanitize=address,undefined, then the bats suites against it."
    echo "Catches: out-of-bounds reads and writes, use after free, double free, leaks at exit"
    echo "(LeakSanitizer), undefined behaviour (signed overflow, misaligned or NULL access...)."
    probe_sanitizer -fsanitize=address,undefined || {
        if [ $? -eq 2 ]; then
            cat "$build/probe.log"
            missing_tool "AddressSanitizer for $san_cc" "use clang, or gcc with libasan and libubsan"
            return $?
        fi
        cat "$build/probe.log"
        step_note="a sanitized program does not run here"
        return 1
    }
    build_stages "$san_cc" "-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
        "-fsanitize=address,undefined" "${stages[@]}" || { step_note="the build failed"; return 1; }
    local logs=$build/asan-reports
    rm -rf "$logs" && mkdir -p "$logs"
    # Reports go to files, one per process (the PID ends the name): the suites decide pass or
    # fail by what the programs print, and a report must fail the step even when the program
    # still printed the right thing. halt_on_error: the first undefined behaviour ends the run.
    local suites_ok=0
    # Both runtimes live in one process, and UBSan's log_path wins: one prefix for both.
    # CHECK_SANITIZER tells the suites, for the few tests that cannot run under a sanitizer.
    CHECK_SANITIZER=address \
        ASAN_OPTIONS="log_path=$logs/asan-ubsan:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1" \
        UBSAN_OPTIONS="log_path=$logs/asan-ubsan:print_stacktrace=1:halt_on_error=1" \
        run_suites "${stages[@]}" || suites_ok=1
    if ! show_reports "$logs"; then
        step_note="the sanitizers reported errors (above; all in ${logs#"$root"/})"
        return 1
    fi
    [ "$suites_ok" -eq 0 ] || { step_note="tests failed under ASan+UBSan"; return 1; }
}

step_2() {
    echo "03-threading and 04-combined built with -fsanitize=thread, then their suites."
    echo "Catches: data races (two threads touching one variable, one writing, no lock between),"
    echo "lock-order inversions that can deadlock, unlocking a mutex one does not hold."
    local threaded=() stage
    for stage in "${stages[@]}"; do
        case $stage in 03-* | 04-*) threaded+=("$stage") ;; esac
    done
    if [ ${#threaded[@]} -eq 0 ]; then
        step_note="skipped: no threaded stage selected"
        return 3
    fi
    probe_sanitizer -fsanitize=thread || {
        if [ $? -eq 2 ]; then
            cat "$build/probe.log"
            missing_tool "ThreadSanitizer for $san_cc" "use clang, or gcc with libtsan"
            return $?
        fi
        cat "$build/probe.log"
        step_note="a ThreadSanitizer program does not run here"
        return 1
    }
    build_stages "$san_cc" "-O1 -g -fsanitize=thread" "-fsanitize=thread" "${threaded[@]}" ||
        { step_note="the build failed"; return 1; }
    local logs=$build/tsan-reports
    rm -rf "$logs" && mkdir -p "$logs"
    local suites_ok=0
    CHECK_SANITIZER=thread \
        TSAN_OPTIONS="log_path=$logs/tsan:halt_on_error=0:second_deadlock_stack=1" \
        run_suites "${threaded[@]}" || suites_ok=1
    if ! show_reports "$logs"; then
        step_note="ThreadSanitizer reported (above; all in ${logs#"$root"/})"
        return 1
    fi
    [ "$suites_ok" -eq 0 ] || { step_note="tests failed under TSan"; return 1; }
}

step_3() {
    echo "Each stage's server and client run under valgrind through a scripted session"
    echo "(tests/check/valgrind_session.sh), forked children traced, every process reporting."
    echo "Catches: reads of uninitialised memory, invalid reads and writes, bad frees, and memory"
    echo "definitely lost (allocated, never freed, no pointer left to it)."
    command -v valgrind >/dev/null 2>&1 || {
        missing_tool valgrind "apt-get install valgrind; there is none for recent macOS"
        return $?
    }
    build_stages cc "-O1 -g" "" "${stages[@]}" || { step_note="the build failed"; return 1; }
    cc -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -o "$build/rude_client" "$check_dir/rude_client.c" ||
        { step_note="tests/check/rude_client.c does not build"; return 1; }
    local logs=$build/valgrind-logs stage failed=0
    rm -rf "$logs" && mkdir -p "$logs"
    for stage in "${stages[@]}"; do
        "$check_dir/valgrind_session.sh" "$stage" "$logs" || failed=1
    done
    # Judge every process's report: a clean one ends with "ERROR SUMMARY: 0 errors".
    local log bad=0 count=0
    for log in "$logs"/*.log; do
        [ -e "$log" ] || continue
        count=$((count + 1))
        if ! grep -q 'ERROR SUMMARY: 0 errors' "$log"; then
            bad=$((bad + 1))
            echo "---- ${log#"$root"/}:"
            if grep -q 'ERROR SUMMARY' "$log"; then
                # The errors and the leak records, without valgrind's preamble.
                grep -v -e '^==[0-9]*== *$' -e 'Copyright' -e 'Command:' -e 'Using Valgrind' \
                    -e 'Memcheck, a memory error detector' -e 'rerun with' "$log" | head -80
            else
                echo "(no summary: the process was killed before valgrind could report)"
                tail -5 "$log"
            fi
        fi
    done
    echo "check.sh: $count processes ran under valgrind; $bad with errors or definite leaks"
    [ "$count" -gt 0 ] || { step_note="no valgrind report at all"; return 1; }
    [ "$bad" -eq 0 ] || { step_note="valgrind found errors or definite leaks (above; all in ${logs#"$root"/})"; return 1; }
    [ "$failed" -eq 0 ] || { step_note="a session did not go as the contract says"; return 1; }
}

step_4() {
    echo "The line reader's fuzz target (tests/check/fuzz_line_reader.c) for $fuzz_seconds s:"
    echo "arbitrary bytes in arbitrary chunks, under ASan+UBSan, checked against the framing"
    echo "rules: no line over the limit delivered, the lines delivered equal the input up to the"
    echo "first over-long line, no read past the bytes received. (make fuzz: longer runs.)"
    local work=$build/fuzz-check-corpus
    rm -rf "$work" && mkdir -p "$work"
    # A fresh work corpus: the verdict depends on the committed seeds, not on earlier runs.
    "$check_dir/fuzz.sh" "$fuzz_seconds" "$work" || { step_note="an input broke the line reader"; return 1; }
}

step_5() {
    echo "cppcheck and clang-tidy over common/, the selected stages and tests/check/; shellcheck"
    echo "over every shell script and bats file."
    echo "Catches what no test reached: leaks and NULL dereferences on error paths, unchecked"
    echo "results, thread-unsafe calls in threaded code, suspicious constructs. The checks chosen"
    echo "and why: .clang-tidy, tests/check/cppcheck-suppressions.txt and docs/check.md."
    local sources=(common/*.c) stage ran=0 failed=0
    for stage in "${stages[@]}"; do
        sources+=("$stage"/*.c)
    done
    local tools=(tests/check/*.c)
    local defines=(-D_POSIX_C_SOURCE=200809L)

    if command -v cppcheck >/dev/null 2>&1; then
        ran=$((ran + 1))
        echo "check.sh: $(cppcheck --version)"
        # --enable=warning,style,performance,portability: everything but "information" (its
        # notes on missing system headers) and unusedFunction (each stage is its own
        # program, so a helper only the clients use would look unused to a stage's server).
        # --library=posix: knows the POSIX calls (what read returns, that close frees...).
        # --inconclusive: also findings cppcheck is not sure of; none so far.
        if ! cppcheck --std=c11 "${defines[@]}" -Icommon --library=posix \
            --enable=warning,style,performance,portability --inconclusive \
            --inline-suppr --suppressions-list="$check_dir/cppcheck-suppressions.txt" \
            --error-exitcode=1 --quiet \
            --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
            "${sources[@]}" "${tools[@]}"; then
            failed=1
            echo "check.sh: cppcheck found the problems above"
        else
            echo "check.sh: cppcheck: no finding"
        fi
    else
        echo "check.sh: cppcheck is not installed (apt-get install cppcheck; brew install cppcheck)"
    fi

    local tidy=
    for tidy in clang-tidy clang-tidy-19 clang-tidy-18 clang-tidy-17 clang-tidy-16 clang-tidy-15 \
        clang-tidy-14 ""; do
        [ -n "$tidy" ] && command -v "$tidy" >/dev/null 2>&1 && break
    done
    if [ -n "$tidy" ]; then
        ran=$((ran + 1))
        echo "check.sh: $("$tidy" --version | grep -i version | head -1 | sed 's/^ *//')"
        # The checks are in .clang-tidy. Two documented exceptions, by file:
        #   common/options.c: concurrency-mt-unsafe flags getopt(), which is not thread-safe;
        #     the options are parsed once, in main, before any thread or child exists.
        #   tests/check/*.c: single-threaded test tools, whose long functions are on purpose.
        local logs=$build/clang-tidy
        rm -rf "$logs" && mkdir -p "$logs"
        local file i=0 pids=() files=()
        for file in "${sources[@]}" "${tools[@]}"; do
            local extra=()
            # shellcheck disable=SC2054 # --checks takes one comma-separated list
            case $file in
            common/options.c) extra=(--checks=-concurrency-mt-unsafe) ;;
            tests/check/*) extra=(--checks=-concurrency-mt-unsafe,-readability-function-cognitive-complexity) ;;
            esac
            "$tidy" --quiet --warnings-as-errors='*' ${extra[@]+"${extra[@]}"} "$file" -- \
                -std=c11 "${defines[@]}" -Icommon -pthread >"$logs/$i.log" 2>&1 &
            pids+=($!)
            files+=("$file")
            i=$((i + 1))
            # At most as many at once as there are processors.
            if [ ${#pids[@]} -ge "$jobs" ]; then
                wait "${pids[0]}" || echo "$i" >>"$logs/failed"
                pids=("${pids[@]:1}")
            fi
        done
        local pid
        for pid in "${pids[@]}"; do
            wait "$pid" || echo x >>"$logs/failed"
        done
        for ((i = 0; i < ${#files[@]}; i++)); do
            # Only the findings, not clang-tidy's "N warnings generated" chatter.
            grep -v -e 'warnings\? generated' -e 'warnings\? treated as errors' \
                -e '^Suppressed [0-9]* warnings' -e '^Use -header-filter' "$logs/$i.log"
        done
        if [ -e "$logs/failed" ]; then
            failed=1
            echo "check.sh: clang-tidy found the problems above"
        else
            echo "check.sh: clang-tidy: no finding in ${#files[@]} files"
        fi
    else
        echo "check.sh: clang-tidy is not installed (apt-get install clang-tidy; brew install llvm)"
    fi

    if command -v shellcheck >/dev/null 2>&1; then
        ran=$((ran + 1))
        echo "check.sh: shellcheck $(shellcheck --version | sed -n 's/^version: //p')"
        # Severity "warning" and up: the "info" notes are mostly about variables that bats's
        # run sets in a subshell, which shellcheck cannot see. -x follows `source`. A disable
        # comment in a file says why, beside it. In the suites and their helpers, SC2154 (a
        # variable used but never set) is off: bats's run sets status, output, lines, stderr
        # and stderr_lines, and helpers loaded with bats's `load` (which shellcheck cannot
        # follow) set others, such as helper.bash's server_lines.
        local scripts=(.ci/run tests/run-bats common/*.sh tests/*/*.sh)
        local suites=(tests/*.bats tests/*.bash tests/*/*.bash tests/exercises/*.bats)
        if ! shellcheck -x -S warning "${scripts[@]}" ||
            ! shellcheck -x -S warning -e SC2154 "${suites[@]}"; then
            failed=1
            echo "check.sh: shellcheck found the problems above"
        else
            echo "check.sh: shellcheck: no finding in $((${#scripts[@]} + ${#suites[@]})) files"
        fi
    else
        echo "check.sh: shellcheck is not installed (apt-get install shellcheck; brew install shellcheck)"
    fi

    if [ "$failed" -ne 0 ]; then
        step_note="static analysis found problems (above)"
        return 1
    fi
    if [ "$ran" -lt 3 ]; then
        [ "$ran" -gt 0 ] && echo "check.sh: $ran of the three analysers ran, and found nothing"
        missing_tool "cppcheck, clang-tidy or shellcheck" "see above"
        return $?
    fi
}

# ---------------------------------------------------------------------------------------------

if [[ " ${steps[*]} " =~ \ [123]\  ]]; then
    # The stress suite and loadgen.bats need the load generator.
    make -s -C tests/bench all >/dev/null || { echo "check.sh: tests/bench does not build" >&2; exit 1; }
fi

total_start=$(date +%s)
failed_steps=()
skipped_steps=()
for step in "${steps[@]}"; do
    echo
    echo "== check $step/5: ${step_title[$step]}"
    start=$(date +%s)
    step_note=
    "step_$step"
    result=$?
    elapsed=$(($(date +%s) - start))
    # The stage binaries go back to normal builds after each rebuilding step, so that a later
    # step, or an interruption, never leaves sanitizer builds behind.
    restore_builds
    case $result in
    0) echo "-- check $step/5: PASS ($elapsed s)" ;;
    3)
        echo "-- check $step/5: SKIPPED ($elapsed s): ${step_note#skipped: }"
        skipped_steps+=("$step")
        ;;
    *)
        echo "-- check $step/5: FAIL ($elapsed s): $step_note"
        failed_steps+=("$step (${step_title[$step]})")
        ;;
    esac
done

echo
total=$(($(date +%s) - total_start))
if [ ${#failed_steps[@]} -gt 0 ]; then
    echo "== make check: FAILED in $total s:"
    printf '   step %s\n' "${failed_steps[@]}"
    exit 1
fi
if [ ${#skipped_steps[@]} -gt 0 ]; then
    echo "== make check: passed in $total s, but step(s) ${skipped_steps[*]} skipped (a tool is missing; see above)"
    exit 0
fi
echo "== make check: all ${#steps[@]} step(s) passed in $total s"
