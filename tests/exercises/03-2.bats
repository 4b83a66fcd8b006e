#!/usr/bin/env bats
# Exercise 03-2 (docs/03-threading.md): the server counts the lines it answered, over all its
# threads, and says so before it stops: "Server answered N lines". The count is shared by the
# handler threads, so it needs a lock (or an atomic): the second test runs the server built with
# ThreadSanitizer and expects no race report.
load exercise_helper

# send_load [N]: N connections (12) at once, each sending 5 lines and reading the 5 replies.
send_load() {
    # shellcheck disable=SC2034 # reply is set by read_reply, by name
    local i _ conn reply conns=()
    for ((i = 0; i < ${1:-12}; i++)); do
        open_connection conn
        conns+=("$conn")
        send "$conn" 'one\ntwo\nthree\nfour\nfive\n'
    done
    for conn in "${conns[@]}"; do
        for _ in 1 2 3 4 5; do
            read_reply "$conn" reply 5 || {
                echo "a connection did not get its five replies"
                return 1
            }
        done
        close_connection "$conn"
    done
}

@test "03-2: at the stop, 03's server prints how many lines it answered" {
    start_server 03-threading -q
    send_load
    stop_server TERM 6 # it exits, with status 0, within 6 s
    expect_before_shutdown "Server answered 60 lines"
}

@test "03-2: the count is the lines answered, whatever the load: 7 connections, 35 lines" {
    start_server 03-threading -q
    send_load 7
    local silent
    open_connection silent # a connection that sends nothing adds no line
    close_connection "$silent"
    stop_server TERM 6
    expect_before_shutdown "Server answered 35 lines"
}

@test "03-2: built with ThreadSanitizer, the server counts with no data race" {
    build_with_tsan 03-threading
    start_server 03-threading -q
    send_load
    stop_server TERM 6 || (($? != 124)) # it exits within 6 s; its status is checked below
    if grep -q ThreadSanitizer "$SERVER_ERR"; then
        echo "ThreadSanitizer found a race: its report is the server's stderr, below"
        return 1
    fi
    [ "$SERVER_STATUS" -eq 0 ]
    expect_before_shutdown "Server answered 60 lines"
}
