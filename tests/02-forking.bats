#!/usr/bin/env bats
# 02-forking: a child process per connection. Every connection is served, and its replies
# tagged, by a new child of the server; the server reaps its children and runs at most -m of
# them at once. The contract is /work/shared/CONTRACT.md; helper.bash says what the helpers do.

bats_require_minimum_version 1.5.0

load helper

STAGE=02-forking

setup_file() {
    make -s -C "$ROOT/$STAGE" all >&2
}

# Who may answer here: a child's PID, never the server's own.
check_tag() {
    if ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
        echo "the tag '$1' is not a PID" >&2
        return 1
    fi
    if [ "$1" = "$SERVER_PID" ]; then
        echo "the tag $1 is the server's own PID, not a child's" >&2
        return 1
    fi
}

# A held connection: send LINE on FD, check the reply, and set TAG to the child that sent it.
exchange() {
    local fd=$1 line=$2 reply
    send "$fd" '%s\n' "$line"
    read_reply "$fd" reply || { echo "no reply to '$line'" >&2; return 1; }
    TAG=${reply%%: *}
    check_tag "$TAG" && is "$TAG: $line" "$reply"
}

# Is PID a child of the server (asked of ps)?
is_child_of_server() {
    is "$SERVER_PID" "$(ps -o ppid= -p "$1" | tr -d ' ')" "the parent of $1"
}

children_count() {
    server_children | wc -l | tr -d ' '
}

has_children() {
    [ "$(children_count)" -eq "$1" ]
}

LONGEST=$(printf '%1024s' '' | tr ' ' x)     # a line at the limit: 1024 bytes
TOO_LONG=$(printf '%1025s' '' | tr ' ' x)    # one byte over
TOO_LONG_REPLY='error: line too long (limit 1024 bytes)'

# ---------------------------------------------------------------------------------------------
# The client's output and the echo

@test "02: one client prints its three lines for the default message, answered by a child's PID" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${#lines[@]}" -eq 3 ]
    is "PID $CLIENT_PID sending message to server: 'Hello echo server!'" "${lines[0]}"
    is "Sent: 19 bytes" "${lines[1]}"
    [[ ${lines[2]} =~ ^PID\ $CLIENT_PID\ received:\ ([0-9]+):\ Hello\ echo\ server!$ ]]
    check_tag "${BASH_REMATCH[1]}"
}

@test "02: the client runs 2 clients by default, answered by two different children" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 6 ]
    expect_client_lines 0 'Hello echo server!'
    local first=$TAG
    expect_client_lines 1 'Hello echo server!'
    [ "$TAG" != "$first" ]
}

@test "02: a custom message is sent as its bytes plus the newline and echoed whole" {
    start_server "$STAGE"
    local message="it's 100% %s a \\ custom message"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 "$message"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 3 ]
    is "Sent: $((${#message} + 1)) bytes" "${lines[1]}"
    expect_client_lines 0 "$message"
}

@test "02: -c 3 runs three clients, three lines each" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT" -c 3 hi
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 9 ]
    expect_client_lines 0 hi
    expect_client_lines 1 hi
    expect_client_lines 2 hi
}

@test "02: a client message of exactly 1024 bytes is echoed" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 "$LONGEST"
    [ "$status" -eq 0 ]
    is "Sent: 1025 bytes" "${lines[1]}"
    expect_client_lines 0 "$LONGEST"
}

# ---------------------------------------------------------------------------------------------
# The server's output

@test "02: the banner names 127.0.0.1, the kernel's port and the server's PID, before any client" {
    start_server "$STAGE"
    [[ $SERVER_BANNER =~ ^Server\ listening\ on\ 127\.0\.0\.1:[1-9][0-9]*\ \(PID\ $SERVER_PID\)$ ]]
    read_server_output
    [ "${#server_lines[@]}" -eq 1 ]
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
}

@test "02: -p PORT listens on that port and the banner says so" {
    local port
    port=$(free_port "$STAGE")
    start_server "$STAGE" -p "$port"
    is "Server listening on 127.0.0.1:$port (PID $SERVER_PID)" "$SERVER_BANNER"
    run_client "$STAGE" -p "$port" -c 1
    [ "$status" -eq 0 ]
}

@test "02: -a ::1 listens on the IPv6 loopback; the banner shows [::1]:PORT" {
    has_ipv6_loopback || skip "this machine has no IPv6 loopback address"
    start_server "$STAGE" -a ::1
    is "Server listening on [::1]:$SERVER_PORT (PID $SERVER_PID)" "$SERVER_BANNER"
    run_client "$STAGE" -a ::1 -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    expect_client_lines 0 'Hello echo server!'
}

@test "02: -a 0.0.0.0 listens on every IPv4 interface, 127.0.0.1 included" {
    start_server "$STAGE" -a 0.0.0.0
    is "Server listening on 0.0.0.0:$SERVER_PORT (PID $SERVER_PID)" "$SERVER_BANNER"
    run_client "$STAGE" -a 127.0.0.1 -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
}

@test "02: every line is logged as 'Server sending response [TAG: LINE]', in order, with the child's tag" {
    start_server "$STAGE"
    printf 'alpha\nbeta\n\ngamma delta\n' | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" alpha beta '' 'gamma delta'
    wait_until 5 server_has_lines 5
    read_server_output
    [ "${#server_lines[@]}" -eq 5 ]
    is "$SERVER_BANNER" "${server_lines[0]}"
    is "Server sending response [$TAG: alpha]" "${server_lines[1]}"
    is "Server sending response [$TAG: beta]" "${server_lines[2]}"
    is "Server sending response [$TAG: ]" "${server_lines[3]}"
    is "Server sending response [$TAG: gamma delta]" "${server_lines[4]}"
}

@test "02: -q answers every line but logs none" {
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

@test "02: stdout into a file is line-buffered: a log line is there while the server runs" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    expect_client_lines 0 'Hello echo server!'
    wait_until 5 server_printed "Server sending response [$TAG: Hello echo server!]"
    is_running "$SERVER_PID"
}

@test "02: the log lines of concurrent connections never mix within a line" {
    start_server "$STAGE"
    local letters=(A B C D E F) letter line pids=() i
    for letter in "${letters[@]}"; do
        line=$(printf '%1000s' '' | tr ' ' "$letter")
        for ((i = 0; i < 20; i++)); do
            printf '%s\n' "$line"
        done >"$BATS_TEST_TMPDIR/request-$letter"
        talk <"$BATS_TEST_TMPDIR/request-$letter" >"$BATS_TEST_TMPDIR/replies-$letter" 3>&- &
        pids+=($!)
        TRACKED_PIDS+=($!)
    done
    for i in "${pids[@]}"; do
        wait "$i"
    done
    for letter in "${letters[@]}"; do
        line=$(printf '%1000s' '' | tr ' ' "$letter")
        mapfile -t lines <"$BATS_TEST_TMPDIR/request-$letter"
        expect_replies "$BATS_TEST_TMPDIR/replies-$letter" "${lines[@]}"
    done
    wait_until 5 server_has_lines 121
    read_server_output
    [ "${#server_lines[@]}" -eq 121 ]
    local whole='^Server sending response \[[0-9]+: (A+|B+|C+|D+|E+|F+)\]$'
    for ((i = 1; i < 121; i++)); do
        [[ ${server_lines[i]} =~ $whole ]] || { echo "mixed log line $i" >&2; false; }
        [ "${#BASH_REMATCH[1]}" -eq 1000 ]
    done
}

# ---------------------------------------------------------------------------------------------
# The model: a child process per connection

@test "02: each connection is served by a new child PID, never the server's" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT" -c 5
    [ "$status" -eq 0 ]
    local tags=() i
    for i in 0 1 2 3 4; do
        expect_client_lines "$i" 'Hello echo server!'
        tags+=("$TAG")
    done
    [ "$(printf '%s\n' "${tags[@]}" | sort -u | wc -l)" -eq 5 ]
}

@test "02: the process serving a connection is a child of the server, while the connection is open" {
    start_server "$STAGE"
    local conns=() conn tags=() i
    for i in 1 2 3; do
        open_connection conn
        conns+=("$conn")
        exchange "$conn" "connection $i"
        tags+=("$TAG")
    done
    for i in 0 1 2; do
        is_child_of_server "${tags[i]}"
        is_running "${tags[i]}"
    done
    [ "$(printf '%s\n' "${tags[@]}" | sort -u | wc -l)" -eq 3 ]
    [ "$(server_children | sort)" = "$(printf '%s\n' "${tags[@]}" | sort)" ]
    # Each connection keeps its own child for its whole life.
    exchange "${conns[1]}" 'again'
    is "${tags[1]}" "$TAG"
}

@test "02: a second client is served while a first one holds its connection idle" {
    start_server "$STAGE"
    local first
    open_connection first
    exchange "$first" 'first'
    local first_tag=$TAG
    start_client second "$STAGE" -p "$SERVER_PORT" -c 1 second
    finish_client second 5
    [ "$status" -eq 0 ]
    expect_client_lines 0 second
    [ "$TAG" != "$first_tag" ]
    exchange "$first" 'first again' # the first connection is still served
    is "$first_tag" "$TAG"
}

@test "02: no zombie remains after 30 connections, however they ended" {
    start_server "$STAGE"
    local conn
    open_connection conn
    exchange "$conn" 'watched'
    is "$TAG" "$(server_children)" # ps does see the server's children
    close_connection "$conn"

    run_client "$STAGE" -p "$SERVER_PORT" -c 20
    [ "$status" -eq 0 ]
    local i
    for ((i = 0; i < 5; i++)); do
        printf 'hi\nhalf a li' | talk -1 -R >/dev/null         # reset by the client
        printf '%s\n' "$TOO_LONG" | talk >/dev/null          # closed by the server
    done
    if ! wait_until 5 has_children 0; then
        echo "children left, zombies (Z) included:" >&2
        ps -o pid=,stat=,comm= -p "$(server_children | paste -sd, -)" >&2
        false
    fi
    [ -z "$(server_zombies)" ]
    is_running "$SERVER_PID"
}

@test "02: -m 2: with two connections held, a third client waits for a free slot, then is served" {
    start_server "$STAGE" -m 2
    local a b
    open_connection a
    exchange "$a" a
    open_connection b
    exchange "$b" b

    start_client third "$STAGE" -p "$SERVER_PORT" -c 1 third
    wait_until 5 client_printed third '^Sent: 6 bytes$'
    never_within 1 client_printed third received
    has_children 2

    close_connection "$a"
    finish_client third 5
    [ "$status" -eq 0 ] # served, not refused
    [ -z "$stderr" ]
    expect_client_lines 0 third
    exchange "$b" 'b again'
}

@test "02: without -m, at most 40 children at once; the 41st client waits for a free slot" {
    start_server "$STAGE"
    local conns=() conn reply i
    for ((i = 1; i <= 40; i++)); do
        open_connection conn
        conns+=("$conn")
        send "$conn" 'client %d\n' "$i"
    done
    for ((i = 1; i <= 40; i++)); do
        read_reply "${conns[i - 1]}" reply
        [[ $reply =~ ^[0-9]+:\ client\ $i$ ]]
    done
    has_children 40

    local last
    open_connection last
    send "$last" 'number 41\n'
    expect_no_reply "$last" 1
    close_connection "${conns[0]}"
    read_reply "$last" reply 5
    [[ $reply =~ ^([0-9]+):\ number\ 41$ ]]
    check_tag "${BASH_REMATCH[1]}"
}

# ---------------------------------------------------------------------------------------------
# The wire protocol

@test "02: a line of exactly 1024 bytes is echoed whole" {
    start_server "$STAGE"
    printf '%s\n' "$LONGEST" | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" "$LONGEST"
}

@test "02: a line of 1025 bytes gets exactly the error line, and nothing for the lines after it" {
    start_server "$STAGE"
    printf 'before\n%s\nafter\n' "$TOO_LONG" | talk >"$BATS_TEST_TMPDIR/replies"
    local tag
    tag=$(head -n 1 "$BATS_TEST_TMPDIR/replies" | cut -d: -f1)
    check_tag "$tag"
    printf '%s: before\n%s\n' "$tag" "$TOO_LONG_REPLY" >"$BATS_TEST_TMPDIR/expected"
    cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/replies"
}

@test "02: a last line of 1025 bytes without a newline gets the error line too" {
    start_server "$STAGE"
    printf '%s' "$TOO_LONG" | talk >"$BATS_TEST_TMPDIR/replies"
    printf '%s\n' "$TOO_LONG_REPLY" >"$BATS_TEST_TMPDIR/expected"
    cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/replies"
}

@test "02: after an over-long line the server closes that connection itself, then serves the next client" {
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
    expect_client_lines 0 'Hello echo server!'
}

@test "02: an over-long line closes only its own connection: a concurrent one goes on untouched" {
    start_server "$STAGE"
    local keep
    open_connection keep
    exchange "$keep" before
    local keep_tag=$TAG
    printf '%s\n' "$TOO_LONG" | talk >"$BATS_TEST_TMPDIR/replies"
    printf '%s\n' "$TOO_LONG_REPLY" >"$BATS_TEST_TMPDIR/expected"
    cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/replies"
    exchange "$keep" after
    is "$keep_tag" "$TAG"
}

@test "02: NUL and every other byte but the newline are echoed exactly" {
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

@test "02: a line sent in pieces gets one reply, once it is complete" {
    start_server "$STAGE"
    local conn reply
    open_connection conn
    send "$conn" 'hel'
    expect_no_reply "$conn" 0.3
    send "$conn" 'lo wo'
    expect_no_reply "$conn" 0.3
    send "$conn" 'rld\n'
    read_reply "$conn" reply
    [[ $reply =~ ^([0-9]+):\ hello\ world$ ]]
    check_tag "${BASH_REMATCH[1]}"
    exchange "$conn" next
}

@test "02: many lines in one write get one reply each, in order" {
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

@test "02: a last line without a newline before EOF is answered" {
    start_server "$STAGE"
    printf 'first\nlast words' | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" first 'last words'
}

@test "02: an empty line gets the reply 'TAG: '" {
    start_server "$STAGE"
    printf '\n' | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" ''
    [ "$(wc -c <"$BATS_TEST_TMPDIR/replies")" -eq $((${#TAG} + 3)) ] # "TAG: \n"
}

@test "02: a client that resets its connection in the middle of a line does not stop the server" {
    start_server "$STAGE"
    # -1: the server answers the first line, so it is surely serving the connection.
    printf 'hello\nhalf a li' | talk -1 -R >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" hello
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    expect_client_lines 0 'Hello echo server!'
}

@test "02: a client that leaves without reading its replies does not stop the server (SIGPIPE)" {
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
    expect_client_lines 0 'Hello echo server!'
}

@test "02: -i 1 closes idle connections after about a second, silent or not" {
    start_server "$STAGE" -i 1
    local silent chatty start elapsed
    open_connection silent
    open_connection chatty
    exchange "$chatty" hi
    start=$(now_ms)
    expect_eof "$chatty" 5
    expect_eof "$silent" 5
    elapsed=$(($(now_ms) - start))
    ((elapsed >= 500 && elapsed <= 5000))
}

@test "02: -i 0 is accepted and leaves an idle connection open" {
    start_server "$STAGE" -i 0
    local conn
    open_connection conn
    exchange "$conn" hi
    expect_no_reply "$conn" 1.5
    exchange "$conn" 'still here'
}

@test "02: a connection that keeps sending within the idle timeout stays open" {
    start_server "$STAGE" -i 2
    local conn i
    open_connection conn
    for i in 1 2 3 4 5 6; do
        exchange "$conn" "line $i"
        expect_no_reply "$conn" 0.5
    done # 3 s in all, longer than the timeout
}

# ---------------------------------------------------------------------------------------------
# Signals

# Hold three connections (two idle after a reply, one with half a line), stop the server with
# SIGNAL, and check: exit 0 within 5 s, "Server shutting down" last, no child left.
stop_with_connections_held() {
    local signal=$1 a b c
    start_server "$STAGE"
    open_connection a
    exchange "$a" a
    open_connection b
    exchange "$b" b
    open_connection c
    send "$c" 'half a line' # and never the rest
    wait_until 5 has_children 3
    local children=($(server_children)) pid
    local status=0
    stop_server "$signal" 10 || status=$?
    [ "$status" -eq 0 ]
    ((STOP_MS <= 5000))
    read_server_output
    is "Server shutting down" "${server_lines[${#server_lines[@]} - 1]}"
    for pid in "${children[@]}"; do
        is_gone "$pid" || { echo "child $pid outlived the server" >&2; return 1; }
    done
    expect_eof "$a" 1
}

@test "02: SIGTERM: exit 0 within 5 s though clients hold connections; 'Server shutting down' last; no child left" {
    stop_with_connections_held TERM
}

@test "02: SIGINT: exit 0 within 5 s though clients hold connections; 'Server shutting down' last; no child left" {
    stop_with_connections_held INT
}

@test "02: SIGTERM with no client: exit 0, banner then 'Server shutting down'" {
    start_server "$STAGE"
    local status=0
    stop_server TERM 10 || status=$?
    [ "$status" -eq 0 ]
    ((STOP_MS <= 5000))
    read_server_output
    [ "${#server_lines[@]}" -eq 2 ]
    is "Server shutting down" "${server_lines[1]}"
}

@test "02: complete lines sent just before SIGTERM are answered" {
    start_server "$STAGE"
    local conn reply
    open_connection conn
    exchange "$conn" first
    local tag=$TAG
    send "$conn" 'last one\nand another\n'
    kill -TERM "$SERVER_PID"
    read_reply "$conn" reply
    is "$tag: last one" "$reply"
    read_reply "$conn" reply
    is "$tag: and another" "$reply"
    local status=0
    stop_server TERM 10 || status=$?
    [ "$status" -eq 0 ]
    read_server_output
    is "Server shutting down" "${server_lines[${#server_lines[@]} - 1]}"
}

# Is PID sleeping (S), rather than stopped (T) or running (R)?
is_sleeping() {
    [[ $(process_state "$1") == S* ]]
}

@test "02: lines that arrived before SIGTERM are answered even when the child sees the stop first" {
    start_server "$STAGE"
    local conn reply
    open_connection conn
    exchange "$conn" first
    local child=$TAG
    # The child is frozen while the lines arrive, and thawed only once the server has taken the
    # stop request (its handler runs as soon as it is thawed, before it sleeps again).
    kill -STOP "$child" "$SERVER_PID"
    send "$conn" 'arrived\nbefore the stop\n'
    kill -TERM "$SERVER_PID"
    kill -CONT "$SERVER_PID"
    wait_until 5 is_sleeping "$SERVER_PID"
    kill -CONT "$child"
    read_reply "$conn" reply
    is "$child: arrived" "$reply"
    read_reply "$conn" reply
    is "$child: before the stop" "$reply"
    local status=0
    stop_server TERM 10 || status=$?
    [ "$status" -eq 0 ]
    read_server_output
    is "Server shutting down" "${server_lines[${#server_lines[@]} - 1]}"
}

# ---------------------------------------------------------------------------------------------
# Bad usage and failures

@test "02: -h prints the usage, -m MAX included, on stdout and exits 0" {
    run --separate-stderr bounded 5 "$ROOT/$STAGE/server" -h
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "usage: server [-a ADDRESS] [-p PORT] [-i SECONDS] [-q] [-h]"*"[-m MAX]"* ]]
    [[ $output == *"-m MAX"* ]]
    [ -z "$stderr" ]
}

@test "02: an unknown option is bad usage (exit 2)" {
    expect_usage_error "$STAGE" -x
    expect_usage_error "$STAGE" -w 2
    expect_usage_error "$STAGE" --port=5000
}

@test "02: an option without its value is bad usage (exit 2)" {
    expect_usage_error "$STAGE" -p
    expect_usage_error "$STAGE" -a
    expect_usage_error "$STAGE" -i
    expect_usage_error "$STAGE" -m
}

@test "02: an extra argument is bad usage (exit 2)" {
    expect_usage_error "$STAGE" extra
    expect_usage_error "$STAGE" -q extra
}

@test "02: after bad usage, the usage still gives -m's default (40), whatever -m came before" {
    expect_usage_error "$STAGE" -m 5 -x
    [[ $stderr == *"-m MAX       at most MAX children at once (default 40;"* ]]
}

@test "02: a port outside 0-65535 or not a whole number is bad usage (exit 2)" {
    expect_usage_error "$STAGE" -p 65536
    expect_usage_error "$STAGE" -p -1
    expect_usage_error "$STAGE" -p x
    expect_usage_error "$STAGE" -p 80x
    expect_usage_error "$STAGE" -p ''
}

@test "02: a negative or non-numeric idle timeout is bad usage (exit 2)" {
    expect_usage_error "$STAGE" -i -1
    expect_usage_error "$STAGE" -i x
    expect_usage_error "$STAGE" -i 1.5
}

@test "02: -m below 1 or not a whole number is bad usage (exit 2)" {
    expect_usage_error "$STAGE" -m 0
    expect_usage_error "$STAGE" -m -1
    expect_usage_error "$STAGE" -m x
    expect_usage_error "$STAGE" -m 2x
    expect_usage_error "$STAGE" -m ''
}

@test "02: a port in use: 'server: cannot listen on 127.0.0.1:PORT: Address already in use', exit 1" {
    start_server "$STAGE"
    run --separate-stderr bounded 5 "$ROOT/$STAGE/server" -p "$SERVER_PORT"
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    is "server: cannot listen on 127.0.0.1:$SERVER_PORT: Address already in use" "$stderr"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 # the first server is untouched
    [ "$status" -eq 0 ]
}

@test "02: a bad address: 'server: cannot listen on 999.1.1.1:...', exit 1" {
    run --separate-stderr bounded 30 "$ROOT/$STAGE/server" -a 999.1.1.1
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ $stderr == "server: cannot listen on 999.1.1.1:"?* ]]
}

@test "02: client without -p: the usage on stderr, exit 2" {
    run --separate-stderr bounded 5 "$ROOT/$STAGE/client"
    [ "$status" -eq 2 ]
    [ -z "$output" ]
    [[ $stderr == *"usage: client "* ]]
}

@test "02: client to a port nobody listens on: 'client: cannot connect to 127.0.0.1:PORT: Connection refused', exit 1" {
    local port
    port=$(free_port "$STAGE")
    run_client "$STAGE" -p "$port"
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    is "client: cannot connect to 127.0.0.1:$port: Connection refused" "$stderr"
}

@test "02: client with a message longer than 1024 bytes: exit 1 with a one-line reason" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 "$TOO_LONG"
    [ "$status" -eq 1 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ $stderr == "client: "?* ]]
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 # and the server goes on
    [ "$status" -eq 0 ]
}
