#!/usr/bin/env bats
# 01-blocking: the iterative server. One process serves one client at a time, and every reply
# is tagged with the server's own PID. The contract is /work/shared/CONTRACT.md; helper.bash
# says what the helpers do.

bats_require_minimum_version 1.5.0

load helper

STAGE=01-blocking

setup_file() {
    make -s -C "$ROOT/$STAGE" all >&2
}

# Who may answer here: the server itself, always.
check_tag() {
    is "$SERVER_PID" "$1" "the tag (the server's PID)"
}

LONGEST=$(printf '%1024s' '' | tr ' ' x)     # a line at the limit: 1024 bytes
TOO_LONG=$(printf '%1025s' '' | tr ' ' x)    # one byte over
TOO_LONG_REPLY='error: line too long (limit 1024 bytes)'

# ---------------------------------------------------------------------------------------------
# The client's output and the echo

@test "01: one client prints its three lines for the default message, answered by the server's PID" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${#lines[@]}" -eq 3 ]
    is "PID $CLIENT_PID sending message to server: 'Hello echo server!'" "${lines[0]}"
    is "Sent: 19 bytes" "${lines[1]}"
    is "PID $CLIENT_PID received: $SERVER_PID: Hello echo server!" "${lines[2]}"
}

@test "01: the client runs 2 clients by default, one after another" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 6 ]
    local i
    for i in 0 3; do
        is "PID $CLIENT_PID sending message to server: 'Hello echo server!'" "${lines[i]}"
        is "Sent: 19 bytes" "${lines[i + 1]}"
        is "PID $CLIENT_PID received: $SERVER_PID: Hello echo server!" "${lines[i + 2]}"
    done
}

@test "01: a custom message is sent as its bytes plus the newline and echoed whole" {
    start_server "$STAGE"
    local message="it's 100% %s a \\ custom message"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 "$message"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 3 ]
    is "PID $CLIENT_PID sending message to server: '$message'" "${lines[0]}"
    is "Sent: $((${#message} + 1)) bytes" "${lines[1]}"
    is "PID $CLIENT_PID received: $SERVER_PID: $message" "${lines[2]}"
}

@test "01: -c 3 runs three clients, three lines each" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT" -c 3 hi
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 9 ]
    local i
    for i in 0 3 6; do
        is "PID $CLIENT_PID sending message to server: 'hi'" "${lines[i]}"
        is "Sent: 3 bytes" "${lines[i + 1]}"
        is "PID $CLIENT_PID received: $SERVER_PID: hi" "${lines[i + 2]}"
    done
}

@test "01: a client message of exactly 1024 bytes is echoed" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 "$LONGEST"
    [ "$status" -eq 0 ]
    is "Sent: 1025 bytes" "${lines[1]}"
    is "PID $CLIENT_PID received: $SERVER_PID: $LONGEST" "${lines[2]}"
}

# ---------------------------------------------------------------------------------------------
# The server's output

@test "01: the banner names 127.0.0.1, the kernel's port and the server's PID, before any client" {
    start_server "$STAGE"
    [[ $SERVER_BANNER =~ ^Server\ listening\ on\ 127\.0\.0\.1:[1-9][0-9]*\ \(PID\ $SERVER_PID\)$ ]]
    read_server_output
    [ "${#server_lines[@]}" -eq 1 ]
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
}

@test "01: -p PORT listens on that port and the banner says so" {
    local port
    port=$(free_port "$STAGE")
    start_server "$STAGE" -p "$port"
    is "Server listening on 127.0.0.1:$port (PID $SERVER_PID)" "$SERVER_BANNER"
    run_client "$STAGE" -p "$port" -c 1
    [ "$status" -eq 0 ]
}

@test "01: -a ::1 listens on the IPv6 loopback; the banner shows [::1]:PORT" {
    has_ipv6_loopback || skip "this machine has no IPv6 loopback address"
    start_server "$STAGE" -a ::1
    is "Server listening on [::1]:$SERVER_PORT (PID $SERVER_PID)" "$SERVER_BANNER"
    run_client "$STAGE" -a ::1 -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    is "PID $CLIENT_PID received: $SERVER_PID: Hello echo server!" "${lines[2]}"
}

@test "01: -a 0.0.0.0 listens on every IPv4 interface, 127.0.0.1 included" {
    start_server "$STAGE" -a 0.0.0.0
    is "Server listening on 0.0.0.0:$SERVER_PORT (PID $SERVER_PID)" "$SERVER_BANNER"
    run_client "$STAGE" -a 127.0.0.1 -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
}

@test "01: every line is logged as 'Server sending response [TAG: LINE]', in order" {
    start_server "$STAGE"
    printf 'alpha\nbeta\n\ngamma delta\n' | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" alpha beta '' 'gamma delta'
    wait_until 5 server_has_lines 5
    read_server_output
    [ "${#server_lines[@]}" -eq 5 ]
    is "$SERVER_BANNER" "${server_lines[0]}"
    is "Server sending response [$SERVER_PID: alpha]" "${server_lines[1]}"
    is "Server sending response [$SERVER_PID: beta]" "${server_lines[2]}"
    is "Server sending response [$SERVER_PID: ]" "${server_lines[3]}"
    is "Server sending response [$SERVER_PID: gamma delta]" "${server_lines[4]}"
}

@test "01: -q answers every line but logs none" {
    start_server "$STAGE" -q
    printf 'one\ntwo\n' | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" one two
    run_client "$STAGE" -p "$SERVER_PORT" -c 2
    [ "$status" -eq 0 ]
    stop_server
    read_server_output
    [ "${#server_lines[@]}" -eq 2 ]
    is "$SERVER_BANNER" "${server_lines[0]}"
    is "Server shutting down" "${server_lines[1]}"
}

@test "01: stdout into a file is line-buffered: a log line is there while the server runs" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    wait_until 5 server_printed "Server sending response [$SERVER_PID: Hello echo server!]"
    is_running "$SERVER_PID"
}

# ---------------------------------------------------------------------------------------------
# The model: one client at a time

@test "01: every client, in separate runs, is answered by the same PID: the server's" {
    start_server "$STAGE"
    local run
    for run in 1 2 3; do
        run_client "$STAGE" -p "$SERVER_PORT" -c 2 "run $run"
        [ "$status" -eq 0 ]
        is "PID $CLIENT_PID received: $SERVER_PID: run $run" "${lines[2]}"
        is "PID $CLIENT_PID received: $SERVER_PID: run $run" "${lines[5]}"
    done
}

@test "01: while a client holds its connection, the next ones wait in the backlog, then are served in turn" {
    start_server "$STAGE"
    local first reply
    open_connection first
    send "$first" 'first\n'
    read_reply "$first" reply
    is "$SERVER_PID: first" "$reply"

    start_client second "$STAGE" -p "$SERVER_PORT" -c 1 second
    start_client third "$STAGE" -p "$SERVER_PORT" -c 1 third
    # Both connected and sent their line (the kernel queues them), but nobody answers them.
    wait_until 5 client_printed second '^Sent: 7 bytes$'
    wait_until 5 client_printed third '^Sent: 6 bytes$'
    never_within 1 eval 'client_printed second received || client_printed third received'

    close_connection "$first"
    finish_client second 5
    [ "$status" -eq 0 ]
    is "PID $CLIENT_PID received: $SERVER_PID: second" "${lines[2]}"
    finish_client third 5
    [ "$status" -eq 0 ]
    is "PID $CLIENT_PID received: $SERVER_PID: third" "${lines[2]}"
}

# ---------------------------------------------------------------------------------------------
# The wire protocol

@test "01: a line of exactly 1024 bytes is echoed whole" {
    start_server "$STAGE"
    printf '%s\n' "$LONGEST" | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" "$LONGEST"
}

@test "01: a line of 1025 bytes gets exactly the error line, and nothing for the lines after it" {
    start_server "$STAGE"
    printf 'before\n%s\nafter\n' "$TOO_LONG" | talk >"$BATS_TEST_TMPDIR/replies"
    printf '%s: before\n%s\n' "$SERVER_PID" "$TOO_LONG_REPLY" >"$BATS_TEST_TMPDIR/expected"
    cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/replies"
}

@test "01: a last line of 1025 bytes without a newline gets the error line too" {
    start_server "$STAGE"
    printf '%s' "$TOO_LONG" | talk >"$BATS_TEST_TMPDIR/replies"
    printf '%s\n' "$TOO_LONG_REPLY" >"$BATS_TEST_TMPDIR/expected"
    cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/replies"
}

@test "01: after an over-long line the server closes the connection itself, then serves the next client" {
    start_server "$STAGE"
    local conn reply
    open_connection conn
    send "$conn" '%s\n' "$TOO_LONG"
    read_reply "$conn" reply
    is "$TOO_LONG_REPLY" "$reply"
    expect_eof "$conn" 5 # we have not closed our side: the server did
    close_connection "$conn"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    is "PID $CLIENT_PID received: $SERVER_PID: Hello echo server!" "${lines[2]}"
}

@test "01: NUL and every other byte but the newline are echoed exactly" {
    start_server "$STAGE"
    local payload="$BATS_TEST_TMPDIR/payload" i
    {
        printf 'NUL:\0:NUL '
        for ((i = 0; i < 256; i++)); do
            ((i == 10)) || printf "\\$(printf '%03o' "$i")"
        done
    } >"$payload"
    [ "$(wc -c <"$payload")" -eq 265 ]
    { cat "$payload"; printf '\n'; } | talk >"$BATS_TEST_TMPDIR/reply"
    expect_reply_bytes "$BATS_TEST_TMPDIR/reply" "$payload"
}

@test "01: a line sent in pieces gets one reply, once it is complete" {
    start_server "$STAGE"
    local conn reply
    open_connection conn
    send "$conn" 'hel'
    expect_no_reply "$conn" 0.3
    send "$conn" 'lo wo'
    expect_no_reply "$conn" 0.3
    send "$conn" 'rld\n'
    read_reply "$conn" reply
    is "$SERVER_PID: hello world" "$reply"
    send "$conn" 'next\n'
    read_reply "$conn" reply
    is "$SERVER_PID: next" "$reply"
}

@test "01: many lines in one write get one reply each, in order" {
    start_server "$STAGE"
    local texts=() i
    for ((i = 1; i <= 300; i++)); do
        texts+=("line $i of many, padded to make the whole write longer than 4096 bytes")
    done
    printf '%s\n' "${texts[@]}" >"$BATS_TEST_TMPDIR/request"
    [ "$(wc -c <"$BATS_TEST_TMPDIR/request")" -gt 8192 ]
    talk <"$BATS_TEST_TMPDIR/request" >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" "${texts[@]}"
}

@test "01: a last line without a newline before EOF is answered" {
    start_server "$STAGE"
    printf 'first\nlast words' | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" first 'last words'
}

@test "01: an empty line gets the reply 'TAG: '" {
    start_server "$STAGE"
    printf '\n' | talk >"$BATS_TEST_TMPDIR/replies"
    printf '%s: \n' "$SERVER_PID" >"$BATS_TEST_TMPDIR/expected"
    cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/replies"
}

@test "01: a client that resets its connection in the middle of a line does not stop the server" {
    start_server "$STAGE"
    # -1: the server answers the first line, so it is surely serving the connection.
    printf 'hello\nhalf a li' | talk -1 -R >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" hello
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    is "PID $CLIENT_PID received: $SERVER_PID: Hello echo server!" "${lines[2]}"
}

@test "01: a client that leaves without reading its replies does not stop the server (SIGPIPE)" {
    start_server "$STAGE"
    local i
    {
        echo hello
        for ((i = 1; i <= 200; i++)); do
            printf 'line %d, whose reply is written to a connection that is gone\n' "$i"
        done
    } >"$BATS_TEST_TMPDIR/request"
    # Once the server has the lines and our FIN (-C), its first reply draws a reset, and the
    # next write fails with EPIPE: a SIGPIPE unless it is ignored. -R resets at once instead.
    local round
    for round in 1 2 3; do
        talk -1 -C <"$BATS_TEST_TMPDIR/request" >/dev/null
        talk -1 -R <"$BATS_TEST_TMPDIR/request" >/dev/null
    done
    is_running "$SERVER_PID"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    is "PID $CLIENT_PID received: $SERVER_PID: Hello echo server!" "${lines[2]}"
}

@test "01: -i 1 closes an idle connection after about a second, silent or not" {
    start_server "$STAGE" -i 1
    local silent chatty reply start elapsed
    open_connection silent
    start=$(now_ms)
    expect_eof "$silent" 5
    elapsed=$(($(now_ms) - start))
    ((elapsed >= 500 && elapsed <= 5000))

    open_connection chatty
    send "$chatty" 'hi\n'
    read_reply "$chatty" reply
    is "$SERVER_PID: hi" "$reply"
    start=$(now_ms)
    expect_eof "$chatty" 5
    elapsed=$(($(now_ms) - start))
    ((elapsed >= 500 && elapsed <= 5000))
}

@test "01: -i 0 is accepted and leaves an idle connection open" {
    start_server "$STAGE" -i 0
    local conn reply
    open_connection conn
    send "$conn" 'hi\n'
    read_reply "$conn" reply
    is "$SERVER_PID: hi" "$reply"
    expect_no_reply "$conn" 1.5
    send "$conn" 'still here\n'
    read_reply "$conn" reply
    is "$SERVER_PID: still here" "$reply"
}

@test "01: a connection that keeps sending within the idle timeout stays open" {
    start_server "$STAGE" -i 2
    local conn reply i
    open_connection conn
    for i in 1 2 3 4 5 6; do
        send "$conn" 'line %d\n' "$i"
        read_reply "$conn" reply
        is "$SERVER_PID: line $i" "$reply"
        expect_no_reply "$conn" 0.5
    done # 3 s in all, longer than the timeout
}

# ---------------------------------------------------------------------------------------------
# Signals

@test "01: SIGTERM: exit 0 within 5 s though a client holds its connection; 'Server shutting down' last" {
    start_server "$STAGE"
    local conn reply
    open_connection conn
    send "$conn" 'hello\n'
    read_reply "$conn" reply
    is "$SERVER_PID: hello" "$reply"
    send "$conn" 'half a line' # and never the rest
    local status=0
    stop_server TERM 10 || status=$?
    [ "$status" -eq 0 ]
    ((STOP_MS <= 5000))
    read_server_output
    is "Server shutting down" "${server_lines[${#server_lines[@]} - 1]}"
    [ "${#server_lines[@]}" -eq 3 ] # banner, one log line, the goodbye
}

@test "01: SIGINT: exit 0 within 5 s though a client holds its connection; 'Server shutting down' last" {
    start_server "$STAGE"
    local conn reply
    open_connection conn
    send "$conn" 'hello\n'
    read_reply "$conn" reply
    is "$SERVER_PID: hello" "$reply"
    local status=0
    stop_server INT 10 || status=$?
    [ "$status" -eq 0 ]
    ((STOP_MS <= 5000))
    read_server_output
    is "Server shutting down" "${server_lines[${#server_lines[@]} - 1]}"
}

@test "01: SIGTERM with no client: exit 0, banner then 'Server shutting down'" {
    start_server "$STAGE"
    local status=0
    stop_server TERM 10 || status=$?
    [ "$status" -eq 0 ]
    ((STOP_MS <= 5000))
    read_server_output
    [ "${#server_lines[@]}" -eq 2 ]
    is "Server shutting down" "${server_lines[1]}"
}

@test "01: complete lines sent just before SIGTERM are answered" {
    start_server "$STAGE"
    local conn reply
    open_connection conn
    send "$conn" 'first\n'
    read_reply "$conn" reply
    is "$SERVER_PID: first" "$reply"
    send "$conn" 'last one\nand another\n'
    kill -TERM "$SERVER_PID"
    read_reply "$conn" reply
    is "$SERVER_PID: last one" "$reply"
    read_reply "$conn" reply
    is "$SERVER_PID: and another" "$reply"
    local status=0
    stop_server TERM 10 || status=$?
    [ "$status" -eq 0 ]
    read_server_output
    is "Server shutting down" "${server_lines[${#server_lines[@]} - 1]}"
}

@test "01: lines that arrived before SIGTERM are answered even when the server sees the stop first" {
    start_server "$STAGE"
    local conn reply
    open_connection conn
    send "$conn" 'first\n'
    read_reply "$conn" reply
    is "$SERVER_PID: first" "$reply"
    # Frozen, the server cannot read the lines before the stop request is there too.
    kill -STOP "$SERVER_PID"
    send "$conn" 'arrived\nbefore the stop\n'
    kill -TERM "$SERVER_PID"
    kill -CONT "$SERVER_PID"
    read_reply "$conn" reply
    is "$SERVER_PID: arrived" "$reply"
    read_reply "$conn" reply
    is "$SERVER_PID: before the stop" "$reply"
    local status=0
    stop_server TERM 10 || status=$?
    [ "$status" -eq 0 ]
    read_server_output
    is "Server shutting down" "${server_lines[${#server_lines[@]} - 1]}"
}

# ---------------------------------------------------------------------------------------------
# Bad usage and failures

@test "01: -h prints the usage on stdout and exits 0" {
    run --separate-stderr bounded 5 "$ROOT/$STAGE/server" -h
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "usage: server [-a ADDRESS] [-p PORT] [-i SECONDS] [-q] [-h]" ]]
    [ -z "$stderr" ]
}

@test "01: an unknown option is bad usage (exit 2), -m included: 01 has no children" {
    expect_usage_error "$STAGE" -x
    expect_usage_error "$STAGE" -m 2
    expect_usage_error "$STAGE" --port=5000
}

@test "01: an option without its value is bad usage (exit 2)" {
    expect_usage_error "$STAGE" -p
    expect_usage_error "$STAGE" -a
    expect_usage_error "$STAGE" -i
}

@test "01: an extra argument is bad usage (exit 2)" {
    expect_usage_error "$STAGE" extra
    expect_usage_error "$STAGE" -q extra
}

@test "01: a port outside 0-65535 or not a whole number is bad usage (exit 2)" {
    expect_usage_error "$STAGE" -p 65536
    expect_usage_error "$STAGE" -p -1
    expect_usage_error "$STAGE" -p x
    expect_usage_error "$STAGE" -p 80x
    expect_usage_error "$STAGE" -p ''
}

@test "01: a negative or non-numeric idle timeout is bad usage (exit 2)" {
    expect_usage_error "$STAGE" -i -1
    expect_usage_error "$STAGE" -i x
    expect_usage_error "$STAGE" -i 1.5
}

@test "01: a port in use: 'server: cannot listen on 127.0.0.1:PORT: Address already in use', exit 1" {
    start_server "$STAGE"
    run --separate-stderr bounded 5 "$ROOT/$STAGE/server" -p "$SERVER_PORT"
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    is "server: cannot listen on 127.0.0.1:$SERVER_PORT: Address already in use" "$stderr"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 # the first server is untouched
    [ "$status" -eq 0 ]
}

@test "01: a bad address: 'server: cannot listen on 999.1.1.1:...', exit 1" {
    run --separate-stderr bounded 30 "$ROOT/$STAGE/server" -a 999.1.1.1
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ $stderr == "server: cannot listen on 999.1.1.1:"?* ]]
}

@test "01: client without -p: the usage on stderr, exit 2" {
    run --separate-stderr bounded 5 "$ROOT/$STAGE/client"
    [ "$status" -eq 2 ]
    [ -z "$output" ]
    [[ $stderr == *"usage: client "* ]]
}

@test "01: client to a port nobody listens on: 'client: cannot connect to 127.0.0.1:PORT: Connection refused', exit 1" {
    local port
    port=$(free_port "$STAGE")
    run_client "$STAGE" -p "$port"
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    is "client: cannot connect to 127.0.0.1:$port: Connection refused" "$stderr"
}

@test "01: client with a message longer than 1024 bytes: exit 1 with a one-line reason" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 "$TOO_LONG"
    [ "$status" -eq 1 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ $stderr == "client: "?* ]]
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 # and the server goes on
    [ "$status" -eq 0 ]
}
