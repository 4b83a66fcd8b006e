#!/usr/bin/env bats
# yardsticks.bats: the benchmark's yardsticks, the least server of each model
# (tests/bench/ref_server.c and ref_event.c), speak the protocol exactly, and each has the shape
# of its model: how many processes and threads it runs, and how many held connections it
# serves at once. make bench compares every stage with one of them, so a yardstick that cut a
# corner of the protocol would make a target easy; one that ran the wrong model, meaningless.

bats_require_minimum_version 1.5.0

load helper
load pool_helper
load result_line

BENCH="$ROOT/tests/bench"

setup_file() {
    make -s -C "$ROOT/tests/bench" all >&2
}

# The yardsticks by name, and the command line of each.
YARDSTICKS=(serial fork thread pool poll epoll)
yardstick_command() {
    case $1 in
    serial) echo "$BENCH/ref_server -s" ;;
    fork) echo "$BENCH/ref_server -f" ;;
    thread) echo "$BENCH/ref_server -c" ;;
    pool) echo "$BENCH/ref_server -t 4" ;;
    poll) echo "$BENCH/ref_event" ;;
    epoll) echo "$BENCH/ref_event -e" ;;
    esac
}

has_epoll() { [ "$(uname -s)" = Linux ]; }

# start_yardstick NAME: start it with helper.bash's start_server; YARDSTICK names it for check_tag.
start_yardstick() {
    YARDSTICK=$1
    local command
    read -r -a command <<<"$(yardstick_command "$1")"
    SERVER_BINARY=${command[0]} start_server "yardstick $1" "${command[@]:1}"
}

# Who may answer, by model: the one process (serial, poll, epoll), a child (fork), a thread
# counted per connection (thread) or one of the pool's 4 (pool).
check_tag() {
    case $YARDSTICK in
    serial | poll | epoll) is "$SERVER_PID" "$1" "the tag (the server's PID)" ;;
    fork)
        if ! [[ $1 =~ ^[1-9][0-9]*$ ]] || [ "$1" = "$SERVER_PID" ]; then
            echo "the tag '$1' is not a child's PID" >&2
            return 1
        fi
        ;;
    thread) [[ $1 =~ ^Thread-[1-9][0-9]*$ ]] || { echo "the tag '$1' is not Thread-N" >&2; return 1; } ;;
    pool) [[ $1 =~ ^Thread-[1-4]$ ]] || { echo "the tag '$1' is not Thread-1..4" >&2; return 1; } ;;
    esac
}

# each_yardstick TEST_FUNCTION: run it against every yardstick in turn (epoll where there is
# one), each started fresh and stopped after; the first failure names the yardstick.
each_yardstick() {
    local name
    for name in "${YARDSTICKS[@]}"; do
        [ "$name" != epoll ] || has_epoll || continue
        start_yardstick "$name"
        "$1" || { echo "... against the $name yardstick ($(yardstick_command "$name"))" >&2; return 1; }
        helper_teardown
    done
}

# hold_with_loadgen COUNT [REPLIES]: loadgen -H holds COUNT connections open, each having sent
# a line (and checked its reply, where one came); waits for its report, at most 10 s, and sets
# HELD_SERVED. REPLIES: the replies to wait for (loadgen -e), when fewer than COUNT will come.
# The connections stay open until release_held.
hold_with_loadgen() {
    local fifo="$BATS_TEST_TMPDIR/hold.in" report="$BATS_TEST_TMPDIR/hold.out"
    mkfifo "$fifo"
    # The test's end, read-write: opening it does not wait for the other end. loadgen's end of
    # file comes when the test closes it (start_tracked closes it in loadgen: it is in
    # HELD_FDS). loadgen opens the FIFO itself: bash gives a background command /dev/null.
    exec {HOLD_FD}<>"$fifo"
    HELD_FDS+=("$HOLD_FD")
    # shellcheck disable=SC2016 # the script's own arguments, expanded by sh
    start_tracked sh -c 'exec "$@" <"$0"' "$fifo" \
        "$BENCH/loadgen" -p "$SERVER_PORT" -H "$1" ${2:+-e "$2"} -T 5 >"$report"
    HOLDER_PID=$TRACKED_PID
    wait_until 10 grep -q served= "$report" || return 1
    [[ $(cat "$report") =~ ^held=$1\ connected=$1\ served=([0-9]+)$ ]] ||
        { echo "hold_with_loadgen: $(cat "$report")" >&2; return 1; }
    HELD_SERVED=${BASH_REMATCH[1]}
}

release_held() {
    close_connection "$HOLD_FD"
    wait_until 10 has_exited "$HOLDER_PID"
    rm -f "$BATS_TEST_TMPDIR/hold.in"
}

# The server and every process below it, one PID a line.
server_processes() {
    echo "$SERVER_PID"
    server_children
}

# ---------------------------------------------------------------------------------------------
# The protocol

several_lines_answered() {
    printf 'hello\nsecond line\n\nlast, without its newline' | talk >"$BATS_TEST_TMPDIR/replies" &&
        expect_replies "$BATS_TEST_TMPDIR/replies" hello "second line" "" "last, without its newline"
}

@test "every yardstick answers each line of a connection exactly, in order, the last one without its newline too" {
    each_yardstick several_lines_answered
}

many_lines_at_once_answered() {
    local sent="$BATS_TEST_TMPDIR/lines" got="$BATS_TEST_TMPDIR/replies"
    seq 1 2000 | sed 's/^/line /' >"$sent"
    talk <"$sent" >"$got" || return 1
    IFS= read -r TAG <"$got" && TAG=${TAG%%: *} && check_tag "$TAG" || return 1
    sed "s/^/$TAG: /" "$sent" | cmp - "$got"
}

@test "every yardstick answers 2,000 lines sent at once, in order: many lines in one read" {
    each_yardstick many_lines_at_once_answered
}

too_long_line_refused() {
    # 1025 bytes and no newline: one more than a line may hold. The connection closes after
    # the error line; a fresh one is served as before.
    printf '%01025d' 0 | talk >"$BATS_TEST_TMPDIR/replies" || return 1
    is "error: line too long (limit 1024 bytes)" "$(cat "$BATS_TEST_TMPDIR/replies")" "the reply" || return 1
    printf '%01024d\n' 7 | talk >"$BATS_TEST_TMPDIR/replies" || return 1
    expect_replies "$BATS_TEST_TMPDIR/replies" "$(printf '%01024d' 7)"
}

@test "every yardstick answers a line over 1024 bytes with the error line and closes it; 1024 bytes pass" {
    each_yardstick too_long_line_refused
}

many_clients_served() {
    run "$BENCH/loadgen" -p "$SERVER_PORT" -c 16 -n 10 -l 3 -s 1024
    [ "$status" -eq 0 ] || { echo "loadgen: $output" >&2; return 1; }
    is 160 "$(value connections)" "connections" && is 480 "$(value lines)" "lines"
}

@test "every yardstick serves 16 clients at once, every reply checked: 160 connections, 480 lines" {
    each_yardstick many_clients_served
}

stops_cleanly() {
    kill -TERM "$SERVER_PID"
    wait_until 10 has_exited "$SERVER_PID" || return 1
    local status_at_stop=0
    wait "$SERVER_PID" || status_at_stop=$?
    SERVER_PID=
    is 0 "$status_at_stop" "the exit status" && is "Server shutting down" "$(tail -n 1 "$SERVER_OUT")"
}

@test "every yardstick stops at SIGTERM: it says so and exits 0" {
    each_yardstick stops_cleanly
}

@test "a yardstick takes one model: two are a usage error, as is an unknown option" {
    run "$BENCH/ref_server" -f -t 4
    [ "$status" -eq 2 ]
    [[ $output == *"usage: ref_server [-p PORT] [-s | -f | -c | -t THREADS] [-q]"* ]]
    run "$BENCH/ref_server" -s -c
    [ "$status" -eq 2 ]
    run "$BENCH/ref_event" -x
    [ "$status" -eq 2 ]
    [[ $output == *"usage: ref_event [-p PORT] [-e] [-q]"* ]]
}

# ---------------------------------------------------------------------------------------------
# The shape of each model

@test "serial (ref_server -s): one process, one thread; of 5 held connections it serves 1" {
    start_yardstick serial
    hold_with_loadgen 5 1
    is 1 "$HELD_SERVED" "connections served"
    local conn reply
    # The others wait in the backlog: nothing answers a second client meanwhile.
    open_connection conn
    send "$conn" 'waiting\n'
    expect_no_reply "$conn" 0.5
    is 1 "$(thread_count "$SERVER_PID")" "threads"
    is "" "$(server_children)" "children"
    release_held
    read_reply "$conn" reply
    is "$SERVER_PID: waiting" "$reply"
}

@test "fork (ref_server -f): a child per connection, one thread each; 5 held, 5 children, reaped after" {
    start_yardstick fork
    hold_with_loadgen 5
    is 5 "$HELD_SERVED" "connections served"
    local children
    mapfile -t children < <(server_children)
    is 5 "${#children[@]}" "children with 5 connections held"
    local pid
    for pid in "$SERVER_PID" "${children[@]}"; do
        is 1 "$(thread_count "$pid")" "threads of $pid"
    done
    release_held
    # Each accept reaps the children that have exited by then: one more connection reaps them.
    wait_until 5 all_exited "${children[@]}"
    printf 'one more\n' | talk >/dev/null
    wait_until 5 all_gone "${children[@]}"
}

@test "thread (ref_server -c): one process, a thread per connection; Thread-N counts them; gone after" {
    start_yardstick thread
    is 1 "$(thread_count "$SERVER_PID")" "threads before any client"
    printf 'one\n' | talk >"$BATS_TEST_TMPDIR/first"
    printf 'two\n' | talk >"$BATS_TEST_TMPDIR/second"
    is "Thread-1: one" "$(cat "$BATS_TEST_TMPDIR/first")"
    is "Thread-2: two" "$(cat "$BATS_TEST_TMPDIR/second")"
    hold_with_loadgen 5
    is 5 "$HELD_SERVED" "connections served"
    is 6 "$(thread_count "$SERVER_PID")" "threads with 5 connections held"
    is "" "$(server_children)" "children"
    release_held
    wait_until 5 has_threads "$SERVER_PID" 1
}

@test "pool (ref_server -t 4): 4 threads made at the start; of 6 held connections it serves 4" {
    start_yardstick pool
    is 5 "$(thread_count "$SERVER_PID")" "threads before any client (4 and main)"
    hold_with_loadgen 6 4
    is 4 "$HELD_SERVED" "connections served"
    local conn reply
    open_connection conn
    send "$conn" 'waiting\n'
    expect_no_reply "$conn" 0.5
    is 5 "$(thread_count "$SERVER_PID")" "threads with 6 connections held"
    is "" "$(server_children)" "children"
    release_held
    read_reply "$conn" reply
    [[ $reply =~ ^Thread-[1-4]:\ waiting$ ]]
}

event_loop_serves_all_in_one_thread() {
    hold_with_loadgen 300 || return 1
    is 300 "$HELD_SERVED" "connections served" &&
        is 1 "$(thread_count "$SERVER_PID")" "threads with 300 connections held" &&
        is "" "$(server_children)" "children" || return 1
    # And the 301st is served at once beside them.
    printf 'beside\n' | talk >"$BATS_TEST_TMPDIR/replies" &&
        expect_replies "$BATS_TEST_TMPDIR/replies" beside || return 1
    release_held
}

@test "event loop (ref_event, poll and epoll): one process, one thread, serving 300 held connections at once" {
    YARDSTICKS=(poll epoll)
    each_yardstick event_loop_serves_all_in_one_thread
}

# A client that sends lines and never reads the replies: once the socket buffers both ways are
# full, the loop must wait for room on that connection only. The writer is `yes`, which never
# ends: however much the buffers take (Linux grows a socket's buffer while it is being read), it
# stalls rather than finishes. Stalled is more than asleep: while the loop is still reading its
# lines, the writer sleeps each time its socket is full and wakes when the loop has read some,
# so one look at its state can catch a pause. Stalled is asleep and not a byte written for a
# whole second (see is_stalled); only then does the load start, and when it has been served the
# writer must not have written a byte more.
stalled_client_stalls_only_itself() {
    # The writer's stderr is dropped: its one message comes at the end, when the stopped
    # yardstick resets the connection whose lines it never read ("Connection reset by peer").
    # shellcheck disable=SC2016 # the script's own arguments, expanded by that bash
    start_tracked "$BASH" -c 'exec 2>/dev/null 5<>"/dev/tcp/127.0.0.1/$1" &&
        exec yes "a line that is never read back" >&5' writer "$SERVER_PORT"
    local writer=$TRACKED_PID
    wait_until 30 is_stalled "$writer" || return 1
    local written
    written=$(bytes_written "$writer")
    run "$BENCH/loadgen" -p "$SERVER_PORT" -c 4 -n 50 -l 2 -T 5
    [ "$status" -eq 0 ] || { echo "loadgen: $output" >&2; return 1; }
    is 400 "$(value lines)" "lines answered beside the stalled client" || return 1
    is_asleep "$writer" || { echo "the writer is not stuck any more" >&2; return 1; }
    is "$written" "$(bytes_written "$writer")" "bytes written by the stalled client, before and after the load"
}

is_asleep() {
    [[ $(process_state "$1") == S* ]]
}

# bytes_written PID: the bytes PID has written so far (Linux: wchar in /proc/PID/io), or
# "unknown" where the system does not say.
bytes_written() {
    local name value
    {
        while read -r name value; do
            [ "$name" = wchar: ] && { echo "$value"; return 0; }
        done <"/proc/$1/io"
    } 2>/dev/null
    echo unknown
}

# is_stalled PID: asleep at both ends of a second, and not a byte written in it. A writer that
# is only waiting for the loop to read writes again within a second, even on a busy machine.
is_stalled() {
    local before
    before=$(bytes_written "$1")
    is_asleep "$1" || return 1
    sleep 1 # no signal says "stuck": the stall is the absence of progress over a span
    is_asleep "$1" && [ "$(bytes_written "$1")" = "$before" ]
}

@test "event loop: a client that never reads its replies stalls only itself" {
    YARDSTICKS=(poll epoll)
    each_yardstick stalled_client_stalls_only_itself
}
