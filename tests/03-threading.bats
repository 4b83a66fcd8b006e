#!/usr/bin/env bats
# 03-threading: a thread per connection. Every connection is served by a new thread of the one
# server process, and its replies are tagged Thread-N, N counting the connections accepted from
# 1; at most -m handler threads run at once. The contract is /work/shared/CONTRACT.md;
# helper.bash and pool_helper.bash say what the helpers do.

bats_require_minimum_version 1.5.0

load helper
load pool_helper

STAGE=03-threading

setup_file() {
    make -s -C "$ROOT/$STAGE" all >&2
}

# Who may answer here: a thread of the server, Thread-N with N counted from 1.
check_tag() {
    if ! [[ $1 =~ ^Thread-[1-9][0-9]*$ ]]; then
        echo "the tag '$1' is not Thread-N" >&2
        return 1
    fi
}

# A held connection: send LINE on FD, check the reply, and set TAG to the thread that sent it.
exchange() {
    local fd=$1 line=$2 reply
    send "$fd" '%s\n' "$line"
    read_reply "$fd" reply || { echo "no reply to '$line'" >&2; return 1; }
    TAG=${reply%%: *}
    check_tag "$TAG" && is "$TAG: $line" "$reply"
}

# The server is one process: no child, not even a zombie.
expect_no_children() {
    local children
    children=$(server_children)
    [ -z "$children" ] || { echo "the server has children: $children" >&2; return 1; }
}

LONGEST=$(printf '%1024s' '' | tr ' ' x)     # a line at the limit: 1024 bytes
TOO_LONG=$(printf '%1025s' '' | tr ' ' x)    # one byte over
TOO_LONG_REPLY='error: line too long (limit 1024 bytes)'

# ---------------------------------------------------------------------------------------------
# The client's output and the echo

@test "03: one client prints its three lines for the default message, answered by Thread-1" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${#lines[@]}" -eq 3 ]
    is "PID $CLIENT_PID sending message to server: 'Hello echo server!'" "${lines[0]}"
    is "Sent: 19 bytes" "${lines[1]}"
    is "PID $CLIENT_PID received: Thread-1: Hello echo server!" "${lines[2]}"
}

@test "03: the client runs 3 clients by default, one after another: Thread-1, Thread-2, Thread-3" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${#lines[@]}" -eq 9 ]
    local i
    for i in 0 1 2; do
        expect_client_lines "$i" 'Hello echo server!'
        is "Thread-$((i + 1))" "$TAG"
    done
}

@test "03: a custom message is sent as its bytes plus the newline and echoed whole" {
    start_server "$STAGE"
    local message="it's 100% %s a \\ custom message"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 "$message"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 3 ]
    is "Sent: $((${#message} + 1)) bytes" "${lines[1]}"
    expect_client_lines 0 "$message"
}

@test "03: 'Sent: N bytes' counts bytes, not characters: 'héllo wörld' is 13 bytes and the newline" {
    start_server "$STAGE"
    local message=$'h\xc3\xa9llo w\xc3\xb6rld'
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 "$message"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 3 ]
    is "PID $CLIENT_PID sending message to server: '$message'" "${lines[0]}"
    is "Sent: 14 bytes" "${lines[1]}"
    is "PID $CLIENT_PID received: Thread-1: $message" "${lines[2]}"
}

@test "03: -c 3 runs three clients, three lines each" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT" -c 3 hi
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 9 ]
    expect_client_lines 0 hi
    expect_client_lines 1 hi
    expect_client_lines 2 hi
}

@test "03: a client message of exactly 1024 bytes is echoed" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 "$LONGEST"
    [ "$status" -eq 0 ]
    is "Sent: 1025 bytes" "${lines[1]}"
    expect_client_lines 0 "$LONGEST"
}

# ---------------------------------------------------------------------------------------------
# The server's output

@test "03: the banner names 127.0.0.1, the kernel's port and the server's PID, before any client" {
    start_server "$STAGE"
    [[ $SERVER_BANNER =~ ^Server\ listening\ on\ 127\.0\.0\.1:[1-9][0-9]*\ \(PID\ $SERVER_PID\)$ ]]
    read_server_output
    [ "${#server_lines[@]}" -eq 1 ]
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
}

@test "03: -p PORT listens on that port and the banner says so" {
    local port
    port=$(free_port "$STAGE")
    start_server "$STAGE" -p "$port"
    is "Server listening on 127.0.0.1:$port (PID $SERVER_PID)" "$SERVER_BANNER"
    run_client "$STAGE" -p "$port" -c 1
    [ "$status" -eq 0 ]
}

@test "03: -a ::1 listens on the IPv6 loopback; the banner shows [::1]:PORT" {
    has_ipv6_loopback || skip "this machine has no IPv6 loopback address"
    start_server "$STAGE" -a ::1
    is "Server listening on [::1]:$SERVER_PORT (PID $SERVER_PID)" "$SERVER_BANNER"
    run_client "$STAGE" -a ::1 -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    expect_client_lines 0 'Hello echo server!'
}

@test "03: -a 0.0.0.0 listens on every IPv4 interface, 127.0.0.1 included" {
    start_server "$STAGE" -a 0.0.0.0
    is "Server listening on 0.0.0.0:$SERVER_PORT (PID $SERVER_PID)" "$SERVER_BANNER"
    run_client "$STAGE" -a 127.0.0.1 -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
}

@test "03: every line is logged as 'Server sending response [Thread-N: LINE]', in order" {
    start_server "$STAGE"
    printf 'alpha\nbeta\n\ngamma delta\n' | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" alpha beta '' 'gamma delta'
    is Thread-1 "$TAG"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    wait_until 5 server_has_lines 6
    read_server_output
    [ "${#server_lines[@]}" -eq 6 ]
    is "$SERVER_BANNER" "${server_lines[0]}"
    is "Server sending response [Thread-1: alpha]" "${server_lines[1]}"
    is "Server sending response [Thread-1: beta]" "${server_lines[2]}"
    is "Server sending response [Thread-1: ]" "${server_lines[3]}"
    is "Server sending response [Thread-1: gamma delta]" "${server_lines[4]}"
    is "Server sending response [Thread-2: Hello echo server!]" "${server_lines[5]}"
}

@test "03: -q answers every line but logs none" {
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

@test "03: stdout into a file is line-buffered: a log line is there while the server runs" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    expect_client_lines 0 'Hello echo server!'
    wait_until 5 server_printed "Server sending response [$TAG: Hello echo server!]"
    is_running "$SERVER_PID"
}

@test "03: the log lines of concurrent connections (threads of one process) never mix within a line" {
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
    local tags=()
    for letter in "${letters[@]}"; do
        mapfile -t lines <"$BATS_TEST_TMPDIR/request-$letter"
        expect_replies "$BATS_TEST_TMPDIR/replies-$letter" "${lines[@]}"
        tags+=("$TAG")
    done
    # Six connections, six threads: Thread-1 to Thread-6 in some order.
    is "$(printf 'Thread-%d\n' 1 2 3 4 5 6)" "$(printf '%s\n' "${tags[@]}" | sort)" "the tags"
    wait_until 5 server_has_lines 121
    read_server_output
    [ "${#server_lines[@]}" -eq 121 ]
    local whole='^Server sending response \[Thread-[1-6]: (A+|B+|C+|D+|E+|F+)\]$'
    for ((i = 1; i < 121; i++)); do
        [[ ${server_lines[i]} =~ $whole ]] || { echo "mixed log line $i" >&2; false; }
        [ "${#BASH_REMATCH[1]}" -eq 1000 ]
    done
}

# ---------------------------------------------------------------------------------------------
# The model: a thread per connection, in one process

@test "03: successive connections are served by Thread-1, Thread-2, ... Thread-6" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT" -c 5
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 15 ]
    local i
    for i in 0 1 2 3 4; do
        expect_client_lines "$i" 'Hello echo server!'
        is "Thread-$((i + 1))" "$TAG"
    done
    printf 'sixth\n' | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" sixth
    is Thread-6 "$TAG"
    expect_no_children
}

@test "03: N counts connections: all lines of one connection share its tag; a silent connection counts" {
    start_server "$STAGE"
    printf 'one\ntwo\nthree\n' | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" one two three
    is Thread-1 "$TAG"
    # A connection that sends nothing at all is accepted, and counted, all the same.
    talk </dev/null >"$BATS_TEST_TMPDIR/nothing"
    [ ! -s "$BATS_TEST_TMPDIR/nothing" ]
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    expect_client_lines 0 'Hello echo server!'
    is Thread-3 "$TAG"
}

@test "03: the handler threads are threads of the server process, which has no child" {
    start_server "$STAGE"
    local base
    base=$(thread_count "$SERVER_PID")
    [ -n "$base" ] && [ "$base" -ge 1 ]
    hold_answered 3 conn
    is "Thread-1 Thread-2 Thread-3" "${HELD_TAGS[*]}" "the tags of the held connections"
    # Each held connection has its own thread, inside the server's PID.
    is "$((base + 3))" "$(thread_count "$SERVER_PID")" "the server's thread count with 3 connections held"
    expect_no_children
    # The same threads keep serving their own connections.
    exchange "${HELD[1]}" 'again'
    is Thread-2 "$TAG"
    close_connection "${HELD[0]}"
    wait_until 5 has_threads "$SERVER_PID" $((base + 2))
    close_connection "${HELD[1]}"
    close_connection "${HELD[2]}"
    wait_until 5 has_threads "$SERVER_PID" "$base"
    expect_no_children
}

@test "03: a second client is served while a first one holds its connection idle" {
    start_server "$STAGE"
    local first
    open_connection first
    exchange "$first" 'first'
    is Thread-1 "$TAG"
    start_client second "$STAGE" -p "$SERVER_PORT" -c 1 second
    finish_client second 5
    [ "$status" -eq 0 ]
    expect_client_lines 0 second
    is Thread-2 "$TAG"
    exchange "$first" 'first again' # the first connection is still served, by its own thread
    is Thread-1 "$TAG"
}

@test "03: a second client is served while a first one has connected and sent nothing yet" {
    start_server "$STAGE"
    local first
    open_connection first # accepted first, so Thread-1, but silent
    start_client second "$STAGE" -p "$SERVER_PORT" -c 1 second
    finish_client second 5
    [ "$status" -eq 0 ]
    expect_client_lines 0 second
    is Thread-2 "$TAG"
    exchange "$first" 'at last'
    is Thread-1 "$TAG"
}

@test "03: -m 2: with two connections held, a third client waits in the backlog, then is served" {
    start_server "$STAGE" -m 2
    local base
    base=$(thread_count "$SERVER_PID")
    hold_answered 2 held
    local a=${HELD[0]} b=${HELD[1]}

    start_client third "$STAGE" -p "$SERVER_PORT" -c 1 third
    wait_until 5 client_printed third '^Sent: 6 bytes$' # connected: not refused
    never_within 1 client_printed third received
    is_running "$CLIENT_PID"
    # At the cap: no third handler thread was started.
    is "$((base + 2))" "$(thread_count "$SERVER_PID")" "the server's thread count at the cap"

    close_connection "$a"
    finish_client third 5
    [ "$status" -eq 0 ] # served, not refused
    [ -z "$stderr" ]
    expect_client_lines 0 third
    is Thread-3 "$TAG"
    exchange "$b" 'b again'
    is Thread-2 "$TAG"
}

@test "03: -m 2: a raw connection over the cap gets its reply only once a slot frees" {
    start_server "$STAGE" -m 2
    hold_answered 2 held
    local third reply
    open_connection third
    send "$third" 'waiting\n'
    expect_no_reply "$third" 1
    close_connection "${HELD[1]}"
    read_reply "$third" reply 5
    is "Thread-3: waiting" "$reply"
    exchange "${HELD[0]}" 'first again'
    is Thread-1 "$TAG"
}

@test "03: without -m, at most 40 handler threads at once; the 41st client waits for a free slot" {
    start_server "$STAGE"
    local base
    base=$(thread_count "$SERVER_PID")
    local conns=() conn reply i
    for ((i = 1; i <= 40; i++)); do
        open_connection conn
        conns+=("$conn")
        send "$conn" 'client %d\n' "$i"
    done
    for ((i = 1; i <= 40; i++)); do
        read_reply "${conns[i - 1]}" reply
        is "Thread-$i: client $i" "$reply"
    done
    is "$((base + 40))" "$(thread_count "$SERVER_PID")" "the server's thread count"

    local last
    open_connection last
    send "$last" 'number 41\n'
    expect_no_reply "$last" 1
    close_connection "${conns[0]}"
    read_reply "$last" reply 5
    is "Thread-41: number 41" "$reply"
    expect_no_children
}

# ---------------------------------------------------------------------------------------------
# The wire protocol

@test "03: a line of exactly 1024 bytes is echoed whole" {
    start_server "$STAGE"
    printf '%s\n' "$LONGEST" | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" "$LONGEST"
}

@test "03: a line of 1025 bytes gets exactly the error line, and nothing for the lines after it" {
    start_server "$STAGE"
    printf 'before\n%s\nafter\n' "$TOO_LONG" | talk >"$BATS_TEST_TMPDIR/replies"
    printf 'Thread-1: before\n%s\n' "$TOO_LONG_REPLY" >"$BATS_TEST_TMPDIR/expected"
    cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/replies"
}

@test "03: a last line of 1025 bytes without a newline gets the error line too" {
    start_server "$STAGE"
    printf '%s' "$TOO_LONG" | talk >"$BATS_TEST_TMPDIR/replies"
    printf '%s\n' "$TOO_LONG_REPLY" >"$BATS_TEST_TMPDIR/expected"
    cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/replies"
}

@test "03: after an over-long line the server closes that connection itself, then serves the next client" {
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
    is Thread-2 "$TAG"
}

@test "03: an over-long line closes only its own connection: concurrent ones in the same process go on" {
    start_server "$STAGE"
    local keep idle
    open_connection keep
    exchange "$keep" before
    is Thread-1 "$TAG"
    open_connection idle # Thread-2, silent so far
    printf '%s\n' "$TOO_LONG" | talk >"$BATS_TEST_TMPDIR/replies"
    printf '%s\n' "$TOO_LONG_REPLY" >"$BATS_TEST_TMPDIR/expected"
    cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/replies"
    exchange "$keep" after
    is Thread-1 "$TAG"
    exchange "$idle" 'not idle any more'
    is Thread-2 "$TAG"
    is_running "$SERVER_PID"
}

@test "03: NUL and every other byte but the newline are echoed exactly" {
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
    is Thread-1 "$TAG"
}

@test "03: a line sent in pieces gets one reply, once it is complete" {
    start_server "$STAGE"
    local conn reply
    open_connection conn
    send "$conn" 'hel'
    expect_no_reply "$conn" 0.3
    send "$conn" 'lo wo'
    expect_no_reply "$conn" 0.3
    send "$conn" 'rld\n'
    read_reply "$conn" reply
    is "Thread-1: hello world" "$reply"
    exchange "$conn" next
}

@test "03: many lines in one write get one reply each, in order" {
    start_server "$STAGE"
    local texts=() i
    for ((i = 1; i <= 300; i++)); do
        texts+=("line $i of many, padded to make the whole write longer than 4096 bytes")
    done
    printf '%s\n' "${texts[@]}" >"$BATS_TEST_TMPDIR/request"
    [ "$(wc -c <"$BATS_TEST_TMPDIR/request")" -gt 8192 ]
    talk <"$BATS_TEST_TMPDIR/request" >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" "${texts[@]}"
    is Thread-1 "$TAG"
}

@test "03: a few lines in one short write on a held connection are answered in order" {
    start_server "$STAGE"
    local conn reply
    open_connection conn
    send "$conn" 'one\ntwo\nthree\n' # one write(2)
    read_reply "$conn" reply
    is "Thread-1: one" "$reply"
    read_reply "$conn" reply
    is "Thread-1: two" "$reply"
    read_reply "$conn" reply
    is "Thread-1: three" "$reply"
}

@test "03: a last line without a newline before EOF is answered" {
    start_server "$STAGE"
    printf 'first\nlast words' | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" first 'last words'
}

@test "03: an empty line gets the reply 'TAG: '" {
    start_server "$STAGE"
    printf '\n' | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" ''
    [ "$(wc -c <"$BATS_TEST_TMPDIR/replies")" -eq $((${#TAG} + 3)) ] # "TAG: \n"
}

@test "03: a client that resets its connection in the middle of a line does not stop the server" {
    start_server "$STAGE"
    local keep
    open_connection keep
    exchange "$keep" before
    printf 'half a li' | talk -R
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    expect_client_lines 0 'Hello echo server!'
    is Thread-3 "$TAG"
    exchange "$keep" after # and the other threads go on
    is Thread-1 "$TAG"
}

@test "03: a client that resets without reading its replies does not stop the server" {
    start_server "$STAGE"
    local i
    for ((i = 1; i <= 200; i++)); do
        printf 'line %d, whose reply is written to a connection that is gone\n' "$i"
    done >"$BATS_TEST_TMPDIR/request"
    local round
    for round in 1 2 3; do
        talk -R <"$BATS_TEST_TMPDIR/request"
    done
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    expect_client_lines 0 'Hello echo server!'
    is Thread-4 "$TAG"
}

@test "03: a client that closes without reading its replies does not stop the server; SIGPIPE is ignored" {
    start_server "$STAGE"
    if [ -r "/proc/$SERVER_PID/status" ]; then
        sigpipe_ignored "$SERVER_PID"
    fi
    local keep conn round i
    open_connection keep
    exchange "$keep" before
    for ((i = 1; i <= 200; i++)); do
        printf 'line %d, whose reply is written to a connection that is closed\n' "$i"
    done >"$BATS_TEST_TMPDIR/request"
    for round in 2 3 4; do
        # Many lines, then a full close before any reply is read: the first replies draw a reset
        # from our side, and a later one is written to a connection that is gone.
        open_connection conn
        cat "$BATS_TEST_TMPDIR/request" >&"$conn"
        close_connection "$conn"
        wait_until 5 server_printed "Server sending response [Thread-$round: line 2, whose reply is written to a connection that is closed]"
        exchange "$keep" "after round $round"
        is Thread-1 "$TAG"
    done
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    expect_client_lines 0 'Hello echo server!'
    is Thread-5 "$TAG"
    is_running "$SERVER_PID"
}

@test "03: -i 1 closes idle connections after about a second, silent or not, and ends their threads" {
    start_server "$STAGE" -i 1
    local base silent chatty start elapsed
    base=$(thread_count "$SERVER_PID")
    open_connection silent
    open_connection chatty
    exchange "$chatty" hi
    start=$(now_ms)
    expect_eof "$chatty" 5
    expect_eof "$silent" 5
    elapsed=$(($(now_ms) - start))
    ((elapsed >= 500 && elapsed <= 5000))
    wait_until 5 has_threads "$SERVER_PID" "$base"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    expect_client_lines 0 'Hello echo server!'
}

@test "03: -i 0 is accepted and leaves an idle connection open" {
    start_server "$STAGE" -i 0
    local conn
    open_connection conn
    exchange "$conn" hi
    expect_no_reply "$conn" 1.5
    exchange "$conn" 'still here'
}

@test "03: a connection that keeps sending within the idle timeout stays open" {
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
# SIGNAL, and check: exit 0 within 5 s, "Server shutting down" last, the held connections closed.
stop_with_connections_held() {
    local signal=$1 a b c
    start_server "$STAGE"
    local base
    base=$(thread_count "$SERVER_PID")
    open_connection a
    exchange "$a" a
    open_connection b
    exchange "$b" b
    open_connection c
    send "$c" 'half a line' # and never the rest
    wait_until 5 has_threads "$SERVER_PID" $((base + 3))
    expect_no_children
    local status=0
    stop_server "$signal" 10 || status=$?
    [ "$status" -eq 0 ]
    ((STOP_MS <= 5000))
    read_server_output
    is "Server shutting down" "${server_lines[${#server_lines[@]} - 1]}"
    expect_eof "$a" 1
    expect_eof "$b" 1
}

@test "03: SIGTERM: exit 0 within 5 s though clients hold connections; 'Server shutting down' last" {
    stop_with_connections_held TERM
}

@test "03: SIGINT: exit 0 within 5 s though clients hold connections; 'Server shutting down' last" {
    stop_with_connections_held INT
}

@test "03: SIGTERM with no client: exit 0, banner then 'Server shutting down'" {
    start_server "$STAGE"
    local status=0
    stop_server TERM 10 || status=$?
    [ "$status" -eq 0 ]
    ((STOP_MS <= 5000))
    read_server_output
    [ "${#server_lines[@]}" -eq 2 ]
    is "Server shutting down" "${server_lines[1]}"
}

@test "03: SIGTERM at the -m cap, with a client waiting in the backlog: exit 0 within 5 s" {
    start_server "$STAGE" -m 1
    hold_answered 1 held
    local waiting
    open_connection waiting
    send "$waiting" 'in the backlog\n'
    expect_no_reply "$waiting" 0.3
    local status=0
    stop_server TERM 10 || status=$?
    [ "$status" -eq 0 ]
    ((STOP_MS <= 5000))
    read_server_output
    is "Server shutting down" "${server_lines[${#server_lines[@]} - 1]}"
}

@test "03: complete lines sent just before SIGTERM are answered" {
    start_server "$STAGE"
    local conn reply
    open_connection conn
    exchange "$conn" first
    send "$conn" 'last one\nand another\n'
    kill -TERM "$SERVER_PID"
    read_reply "$conn" reply
    is "Thread-1: last one" "$reply"
    read_reply "$conn" reply
    is "Thread-1: and another" "$reply"
    local status=0
    stop_server TERM 10 || status=$?
    [ "$status" -eq 0 ]
    read_server_output
    is "Server shutting down" "${server_lines[${#server_lines[@]} - 1]}"
}

@test "03: complete lines sent just before SIGTERM are answered on every held connection" {
    start_server "$STAGE"
    hold_answered 3 held
    local i reply
    for i in 0 1 2; do
        send "${HELD[i]}" 'goodbye %d\n' "$i"
    done
    kill -TERM "$SERVER_PID"
    for i in 0 1 2; do
        read_reply "${HELD[i]}" reply
        is "Thread-$((i + 1)): goodbye $i" "$reply"
    done
    local status=0
    stop_server TERM 10 || status=$?
    [ "$status" -eq 0 ]
}

@test "03: lines that arrived while the server was frozen are answered, though the stop comes with them" {
    # SIGSTOP freezes every thread; the lines and SIGTERM arrive meanwhile. At SIGCONT each
    # handler thread finds its line and the stop request together: the stop wins, and the server
    # must still answer every complete line it has received.
    start_server "$STAGE"
    hold_answered 6 held
    local i reply
    kill -STOP "$SERVER_PID"
    for i in 0 1 2 3 4 5; do
        send "${HELD[i]}" 'goodbye %d\n' "$i"
    done
    kill -TERM "$SERVER_PID"
    kill -CONT "$SERVER_PID"
    for i in 0 1 2 3 4 5; do
        read_reply "${HELD[i]}" reply
        is "Thread-$((i + 1)): goodbye $i" "$reply"
    done
    local status=0
    stop_server TERM 10 || status=$?
    [ "$status" -eq 0 ]
    ((STOP_MS <= 5000))
    read_server_output
    is "Server shutting down" "${server_lines[${#server_lines[@]} - 1]}"
}

# ---------------------------------------------------------------------------------------------
# Bad usage and failures

@test "03: -h prints the usage, -m MAX and its default 40 included, on stdout and exits 0" {
    run --separate-stderr bounded 5 "$ROOT/$STAGE/server" -h
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "usage: server [-a ADDRESS] [-p PORT] [-i SECONDS] [-q] [-h]"*"[-m MAX]"* ]]
    [[ $output == *"-m MAX"*"(default 40;"* ]]
    [ -z "$stderr" ]
}

@test "03: an unknown option is bad usage (exit 2)" {
    expect_usage_error "$STAGE" -x
    expect_usage_error "$STAGE" -w 2
    expect_usage_error "$STAGE" -t 2
    expect_usage_error "$STAGE" --port=5000
}

@test "03: an option without its value is bad usage (exit 2)" {
    expect_usage_error "$STAGE" -p
    expect_usage_error "$STAGE" -a
    expect_usage_error "$STAGE" -i
    expect_usage_error "$STAGE" -m
}

@test "03: an extra argument is bad usage (exit 2)" {
    expect_usage_error "$STAGE" extra
    expect_usage_error "$STAGE" -q extra
    expect_usage_error "$STAGE" -i 5 extra
}

@test "03: after bad usage, the usage still gives -m's default (40), whatever -m came before" {
    expect_usage_error "$STAGE" -m 5 -x
    [[ $stderr == *"-m MAX "*"(default 40;"* ]]
}

@test "03: a port outside 0-65535 or not a whole number is bad usage (exit 2)" {
    expect_usage_error "$STAGE" -p 65536
    expect_usage_error "$STAGE" -p -1
    expect_usage_error "$STAGE" -p x
    expect_usage_error "$STAGE" -p 80x
    expect_usage_error "$STAGE" -p ''
}

@test "03: a negative or non-numeric idle timeout is bad usage (exit 2)" {
    expect_usage_error "$STAGE" -i -1
    expect_usage_error "$STAGE" -i x
    expect_usage_error "$STAGE" -i 1.5
}

@test "03: -m below 1 or not a whole number is bad usage (exit 2)" {
    expect_usage_error "$STAGE" -m 0
    expect_usage_error "$STAGE" -m -1
    expect_usage_error "$STAGE" -m x
    expect_usage_error "$STAGE" -m 2x
    expect_usage_error "$STAGE" -m ''
}

@test "03: a port in use: 'server: cannot listen on 127.0.0.1:PORT: Address already in use', exit 1" {
    start_server "$STAGE"
    run --separate-stderr bounded 5 "$ROOT/$STAGE/server" -p "$SERVER_PORT"
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    is "server: cannot listen on 127.0.0.1:$SERVER_PORT: Address already in use" "$stderr"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 # the first server is untouched
    [ "$status" -eq 0 ]
}

@test "03: a bad address: 'server: cannot listen on 999.1.1.1:...', exit 1" {
    run --separate-stderr bounded 30 "$ROOT/$STAGE/server" -a 999.1.1.1
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ $stderr == "server: cannot listen on 999.1.1.1:"?* ]]
}

@test "03: client without -p: the usage on stderr, exit 2" {
    run --separate-stderr bounded 5 "$ROOT/$STAGE/client"
    [ "$status" -eq 2 ]
    [ -z "$output" ]
    [[ $stderr == *"usage: client "* ]]
}

@test "03: client -j (04-combined's option only): the usage on stderr, exit 2" {
    start_server "$STAGE"
    run --separate-stderr bounded 5 "$ROOT/$STAGE/client" -p "$SERVER_PORT" -j 2
    [ "$status" -eq 2 ]
    [ -z "$output" ]
    [[ $stderr == *"usage: client "* ]]
    [[ $stderr != *"-j JOBS"* ]]
}

@test "03: client to a port nobody listens on: 'client: cannot connect to 127.0.0.1:PORT: Connection refused', exit 1" {
    local port
    port=$(free_port "$STAGE")
    run_client "$STAGE" -p "$port"
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    is "client: cannot connect to 127.0.0.1:$port: Connection refused" "$stderr"
}

@test "03: client with a message longer than 1024 bytes: exit 1 with a one-line reason" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 "$TOO_LONG"
    [ "$status" -eq 1 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ $stderr == "client: "?* ]]
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 # and the server goes on
    [ "$status" -eq 0 ]
}
