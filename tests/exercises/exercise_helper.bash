# exercise_helper.bash: what the exercise checks (tests/exercises/NN-K.bats) add to the main test
# helpers, ../helper.bash and ../pool_helper.bash, which it loads: their headers list what they
# offer (start_server, stop_server, run_client, open_connection, wait_until, never_within,
# announced_workers, wait_for_workers, all_exited, thread_count, ...). Load it with
# `load exercise_helper`.
#
# A check starts a stage's server (SERVER_BINARY, if set, names another build of it), drives it,
# and looks at what it printed. It fails on the code as shipped and passes once its exercise
# (docs/NN-*.md) is done; run one with `make exercise STAGE=NN EX=K` from the repository's root.
#
#   client_ok STAGE [ARG...]        run STAGE/client against the server (-p SERVER_PORT added),
#                                   at most 10 s; fail, showing what it printed, unless it exits
#                                   0. Sets output, lines, stderr, ... as run_client does
#   reply_tags                      the tags of the replies in that client's output, one a line
#   expect_before_shutdown LINE     the server's last two lines are LINE, "Server shutting down"
#   build_with_tsan STAGE           build STAGE's server with ThreadSanitizer, and set
#                                   SERVER_BINARY to it; skip the test where the compiler ($CC,
#                                   else cc) cannot build or run such a program
#
# teardown() runs helper.bash's, then kills the workers 04's server announced if they outlived
# it, then prints what the server wrote: bats shows it only for a test that failed.

load ../helper
load ../pool_helper

# helper.bash takes the repository's root to be the test file's parent folder; here it is the
# grandparent.
# shellcheck disable=SC2034 # helper.bash and the checks read it
ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

# status, output and stderr are finish_client's.
# shellcheck disable=SC2154
client_ok() {
    local stage=$1
    shift
    start_client last "$stage" -p "$SERVER_PORT" "$@"
    finish_client last 10
    [ "$status" -eq 0 ] && return 0
    echo "the client failed (status $status); it printed:"
    printf '%s\n' "$output" "$stderr"
    return 1
}

reply_tags() {
    sed -n 's/^PID [0-9]* received: \(.*\): .*$/\1/p' <<<"$output"
}

expect_before_shutdown() {
    local last before
    last=$(tail -n 1 "$SERVER_OUT")
    before=$(tail -n 2 "$SERVER_OUT" | head -n 1)
    is "Server shutting down" "$last" "the server's last line" &&
        is "$1" "$before" "the server's line before \"Server shutting down\""
}

build_with_tsan() {
    local stage=$1 cc=${CC:-cc} dir="$BATS_TEST_TMPDIR/tsan"
    mkdir -p "$dir"
    printf 'int main(void) { return 0; }\n' >"$dir/probe.c"
    "$cc" -fsanitize=thread "$dir/probe.c" -o "$dir/probe" 2>/dev/null && "$dir/probe" ||
        skip "$cc cannot build or run programs with -fsanitize=thread here"
    local sources=("$ROOT/$stage/server.c")
    local file
    for file in "$ROOT"/common/*.c; do
        [ "${file##*/}" = echo_client.c ] || sources+=("$file")
    done
    "$cc" -std=c11 -D_POSIX_C_SOURCE=200809L -O1 -g -fsanitize=thread -I"$ROOT/common" \
        "${sources[@]}" -o "$dir/server" -pthread
    # shellcheck disable=SC2034 # start_server (helper.bash) runs it
    SERVER_BINARY="$dir/server"
}

teardown() {
    local workers=() pid
    if [ -n "${SERVER_OUT:-}" ] && [ -f "$SERVER_OUT" ]; then
        mapfile -t workers < <(announced_workers)
    fi
    helper_teardown
    # A worker whose supervisor died is no child of the server any more: helper_teardown cannot
    # find it. Killed only if that PID still runs a server.
    for pid in "${workers[@]}"; do
        if is_running "$pid" && [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = server ]; then
            echo "teardown: worker $pid outlived the server; killed" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    if [ -n "${SERVER_OUT:-}" ] && [ -s "$SERVER_OUT" ]; then
        echo "the server's stdout:"
        cat "$SERVER_OUT"
    fi
    if [ -n "${SERVER_ERR:-}" ] && [ -s "$SERVER_ERR" ]; then
        echo "the server's stderr:"
        cat "$SERVER_ERR"
    fi
    return 0
}
