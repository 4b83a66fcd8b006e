#!/usr/bin/env bash
# fuzz.sh SECONDS [WORK_CORPUS]: fuzz the line reader (common/line_reader.c) for SECONDS.
#
# `make fuzz` runs it for FUZZ_SECONDS (default 60); `make check` (step 4) for a short time.
# The target is tests/check/fuzz_line_reader.c: arbitrary bytes in arbitrary chunks, checked
# against the framing rules, under AddressSanitizer and UndefinedBehaviorSanitizer.
#
# With clang's libFuzzer (clang -fsanitize=fuzzer), coverage-guided: it starts from the seed
# corpus tests/check/corpus/ and keeps the new inputs it finds in WORK_CORPUS (default
# tests/check/build/fuzz-corpus/, kept between runs so that fuzzing goes on where it stopped;
# the committed seeds are never changed). Without libFuzzer (gcc, Apple's clang), the
# standalone driver fuzz_driver.c runs the seeds and random mutations of them instead.
#
# Set FUZZ_CC to choose the compiler (default: clang if there is one, else cc).
# Exit 0 when no input broke a rule; otherwise 1, with the report, the input that broke it and
# the command that replays it.
set -uo pipefail

seconds=${1:?usage: fuzz.sh SECONDS [WORK_CORPUS]}
case $seconds in
'' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, not '$seconds'" >&2; exit 2 ;;
esac
check_dir=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$check_dir/../.." && pwd)
build=$check_dir/build
seeds=$check_dir/corpus
work=${2:-$build/fuzz-corpus}
mkdir -p "$build" "$work" "$build/fuzz-artifacts" || exit 1

if [ -n "${FUZZ_CC:-}" ]; then
    cc=$FUZZ_CC
elif command -v clang >/dev/null 2>&1; then
    cc=clang
else
    cc=cc
fi
flags=(-std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
    -Wmissing-prototypes -g -O1 -fno-omit-frame-pointer -I"$root/common")
sources=("$check_dir/fuzz_line_reader.c" "$root/common/line_reader.c")

# Can this compiler do it? Try each way on a one-line program first, so that a missing
# runtime gives one clear line instead of a linker's page.
probe() {
    local source=$build/probe.c
    if [ "$1" = fuzzer ]; then
        printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
            'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
            'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
            >"$source"
    else
        echo 'int main(void) { return 0; }' >"$source"
    fi
    shift
    "$cc" "$@" -o "$build/probe" "$source" >/dev/null 2>&1
}

if probe fuzzer -fsanitize=fuzzer,address,undefined; then
    mode=libfuzzer
    # shellcheck disable=SC2054 # the commas are inside one option, -fsanitize=LIST
    sanitize=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
elif probe main -fsanitize=address,undefined; then
    mode=standalone
    # shellcheck disable=SC2054 # the commas are inside one option, -fsanitize=LIST
    sanitize=(-fsanitize=address,undefined -fno-sanitize-recover=all)
    echo "fuzz.sh: $cc cannot build a libFuzzer target (clang can; on Debian its runtime is in"
    echo "         libclang-rt-14-dev or the libclang-rt-dev of your clang); using the standalone"
    echo "         driver, which is blind to coverage and so finds less in the same time"
else
    mode=standalone
    sanitize=()
    echo "fuzz.sh: $cc has neither libFuzzer nor AddressSanitizer; running the standalone driver"
    echo "         without sanitizers: only the framing rules are checked, not memory accesses"
fi

binary=$build/fuzz_line_reader
if [ "$mode" = standalone ]; then
    sources+=("$check_dir/fuzz_driver.c")
    binary=$build/fuzz_line_reader_standalone
fi
echo "fuzz.sh: building $binary ($mode, $cc)"
if ! "$cc" "${flags[@]}" "${sanitize[@]}" -o "$binary" "${sources[@]}"; then
    echo "fuzz.sh: the fuzz target does not build" >&2
    exit 1
fi

log=$build/fuzz.log
start=$(date +%s)
if [ "$mode" = libfuzzer ]; then
    # -max_len: inputs up to three buffers long, so lines cross the buffer's end many times.
    # -timeout: one input may take at most 10 s (an endless loop in the reader is a bug too).
    echo "fuzz.sh: libFuzzer for $seconds s over the seeds in tests/check/corpus/ (new inputs kept in ${work#"$root"/})"
    "$binary" -max_total_time="$seconds" -max_len=12288 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/" \
        "$work" "$seeds" >"$log" 2>&1
    status=$?
else
    echo "fuzz.sh: the standalone driver for $seconds s over the seeds in tests/check/corpus/"
    # No exec: the subshell, not this script, reports the abort, into the log.
    (cd "$build/fuzz-artifacts" && "$binary" "$seconds" "$seeds") >"$log" 2>&1
    status=$?
fi
elapsed=$(($(date +%s) - start))

if [ "$status" -eq 0 ]; then
    if [ "$mode" = libfuzzer ]; then
        # The seeds' result, the last progress line and the totals.
        grep -E '^(INFO: seed corpus|#[0-9]+[[:space:]]+INITED)' "$log" | head -2
        grep -E '^#[0-9]+' "$log" | tail -1
        grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$log"
    else
        cat "$log"
    fi
    echo "fuzz.sh: no input broke a framing rule in $elapsed s"
    exit 0
fi

echo "fuzz.sh: an input broke the line reader (exit status $status); the report:"
# From the first line of the report (ours, a sanitizer's or libFuzzer's), its first 40 lines,
# without the stack frames of libFuzzer and libc, which say nothing about the reader.
awk '/framing rule broken|ERROR: |runtime error|deadly signal|fuzz_driver:/ { on = 1 }
     /fuzzer::|__sanitizer_print_stack_trace|__libc_start|in _start |libc\.so|pthread_kill|raise signal|abort stdlib|rudimentary signal|Combine libFuzzer/ { next }
     on && n < 40 { sub(/ \(BuildId: [0-9a-f]+\)$/, ""); print; n++ }' "$log"
crash=$(find "$build/fuzz-artifacts" -type f -newer "$build/probe" \( -name 'crash-*' -o \
    -name 'timeout-*' -o -name 'oom-*' \) 2>/dev/null | head -1)
if [ -n "$crash" ]; then
    echo "fuzz.sh: the input that broke it: ${crash#"$root"/} ($(wc -c <"$crash") bytes)"
    if [ "$mode" = libfuzzer ]; then
        echo "fuzz.sh: replay it with: ${binary#"$root"/} ${crash#"$root"/}"
    else
        echo "fuzz.sh: replay it with: ${binary#"$root"/} 0 ${crash#"$root"/}"
    fi
fi
exit 1
