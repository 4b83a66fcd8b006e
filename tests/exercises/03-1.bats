#!/usr/bin/env bats
# Exercise 03-1 (docs/03-threading.md): the server counts the lines it answered, over all its
# threads, and says so before it stops: "Server answered N lines". The count is shared by the
# handler threads, so it needs a lock (or an atomic): the second test runs the server built with
# ThreadSanitizer and expects no race report.
load exercise_helper

# 12 connections at once, each sending 5 lines and reading the 5 replies.
send_load() {
    local i pids=()
    for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
        (
            exec 5<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
            printf 'one\ntwo\nthree\nfour\nfive\n' >&5
            local reply n
            for n in 1 2 3 4 5; do
                read -r -t 5 reply <&5 || exit 1
            done
            exec 5>&-
        ) 3>&- &
        pids+=($!)
    done
    local failed=0
    for i in "${pids[@]}"; do
        wait "$i" || failed=1
    done
    [ $failed -eq 0 ] || {
        echo "a connection did not get its five replies"
        return 1
    }
}

@test "03-1: at the stop, 03's server prints how many lines it answered" {
    start_server 03-threading -q
    send_load
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    expect_before_shutdown "Server answered 60 lines"
}

@test "03-1: built with ThreadSanitizer, the server counts with no data race" {
    local cc=${CC:-cc} dir="$BATS_TEST_TMPDIR/tsan"
    mkdir -p "$dir"
    printf 'int main(void) { return 0; }\n' >"$dir/probe.c"
    "$cc" -fsanitize=thread "$dir/probe.c" -o "$dir/probe" 2>/dev/null && "$dir/probe" ||
        skip "$cc cannot build or run programs with -fsanitize=thread here"
    local sources=("$ROOT/03-threading/server.c")
    local file
    for file in "$ROOT"/common/*.c; do
        [ "${file##*/}" = echo_client.c ] || sources+=("$file")
    done
    "$cc" -std=c11 -D_POSIX_C_SOURCE=200809L -O1 -g -fsanitize=thread -I"$ROOT/common" \
        "${sources[@]}" -o "$dir/server" -pthread
    SERVER_BINARY="$dir/server" start_server 03-threading -q
    send_load
    stop_server
    if grep -q ThreadSanitizer "$SERVER_ERR"; then
        echo "ThreadSanitizer found a race:"
        cat "$SERVER_ERR"
        return 1
    fi
    [ "$SERVER_STATUS" -eq 0 ]
    expect_before_shutdown "Server answered 60 lines"
}
