#!/usr/bin/env bats
# 04-combined: a supervised pool of -w worker processes, each running -t pool threads that
# accept and serve one connection at a time. Replies are tagged PID/Thread-N: the worker's PID
# (a child of the server, never the server itself) and N in 1..T. The main process only
# supervises: it starts a new worker when one dies, and stops them all on SIGTERM or SIGINT.
# The client runs -j clients at once and prints each one's lines as a whole block. The contract
# is /work/shared/CONTRACT.md; helper.bash and pool_helper.bash say what the helpers do.

bats_require_minimum_version 1.5.0

load helper
load pool_helper

STAGE=04-combined

setup_file() {
    make -s -C "$ROOT/$STAGE" all >&2
}

# Who may answer here: PID/Thread-N, PID a worker the server announced ("Server started worker
# PID PID with T threads"), never the server's own PID, and N in 1..T.
check_tag() {
    if ! [[ $1 =~ ^([1-9][0-9]*)/Thread-([1-9][0-9]*)$ ]]; then
        echo "the tag '$1' is not PID/Thread-N" >&2
        return 1
    fi
    local pid=${BASH_REMATCH[1]} n=${BASH_REMATCH[2]} threads
    if [ "$pid" = "$SERVER_PID" ]; then
        echo "the tag $1 names the supervisor's own PID, not a worker's" >&2
        return 1
    fi
    threads=$(sed -n "s/^Server started worker PID $pid with \([0-9][0-9]*\) threads$/\1/p" "$SERVER_OUT")
    if [ -z "$threads" ]; then
        echo "the tag $1 names PID $pid, which is no worker the server started" >&2
        return 1
    fi
    if ((n > threads)); then
        echo "the tag $1 names thread $n of a worker with $threads threads" >&2
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

# Is PID a child of the server (asked of ps)?
is_child_of_server() {
    is "$SERVER_PID" "$(ps -o ppid= -p "$1" | tr -d ' ')" "the parent of $1"
}

# start_pool [OPTION...]: start the server and wait until it has announced its workers (-w, 2
# by default); WORKERS holds their PIDs, in the order announced.
start_pool() {
    local count=2 arg previous=
    for arg in "$@"; do
        [ "$previous" = -w ] && count=$arg
        previous=$arg
    done
    start_server "$STAGE" "$@"
    wait_for_workers "$count"
    WORKERS=($(announced_workers))
    [ "${#WORKERS[@]}" -eq "$count" ]
}

# Every PID/Thread-N of the workers in WORKERS with T threads each, sorted, one a line.
every_thread_tag() {
    local threads=$1 pid i
    for pid in "${WORKERS[@]}"; do
        for ((i = 1; i <= threads; i++)); do
            echo "$pid/Thread-$i"
        done
    done | LC_ALL=C sort
}

# expect_blocks COUNT MESSAGE: lines holds, from its start, COUNT whole blocks of three lines
# for MESSAGE (expect_client_lines: each block is its client's three lines, in order, none mixed
# with another's). The tag of each block in BLOCK_TAGS.
expect_blocks() {
    local count=$1 message=$2 i
    BLOCK_TAGS=()
    for ((i = 0; i < count; i++)); do
        expect_client_lines "$i" "$message" || { echo "block $i is not whole" >&2; return 1; }
        BLOCK_TAGS+=("$TAG")
    done
}

# expect_summary LINE: LINE is "Clients served: TAG: COUNT, ...", sorted by tag (as strcmp
# sorts), with a count per tag that is the number of blocks in BLOCK_TAGS that tag names.
expect_summary() {
    local expected
    expected="Clients served: $(printf '%s\n' "${BLOCK_TAGS[@]}" | LC_ALL=C sort | uniq -c |
        awk '{ printf "%s%s: %s", (NR > 1 ? ", " : ""), $2, $1 }')"
    is "$expected" "$1" "the summary line"
    # And, read back from the line itself: the counts add up to the number of clients.
    local entries total=0 entry entry_list
    entries=${1#Clients served: }
    IFS=',' read -r -a entry_list <<<"$entries"
    for entry in "${entry_list[@]}"; do
        [[ $entry =~ ^\ ?[0-9]+/Thread-[0-9]+:\ ([0-9]+)$ ]] || { echo "bad entry '$entry'" >&2; return 1; }
        total=$((total + BASH_REMATCH[1]))
    done
    is "${#BLOCK_TAGS[@]}" "$total" "the sum of the summary's counts"
}

LONGEST=$(printf '%1024s' '' | tr ' ' x)     # a line at the limit: 1024 bytes
TOO_LONG=$(printf '%1025s' '' | tr ' ' x)    # one byte over
TOO_LONG_REPLY='error: line too long (limit 1024 bytes)'

# ---------------------------------------------------------------------------------------------
# The client's output and the echo

@test "04: one client (-c 1 -j 1) prints its three lines, answered by PID/Thread-N of a worker" {
    start_pool
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 -j 1
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${#lines[@]}" -eq 3 ]
    is "PID $CLIENT_PID sending message to server: 'Hello echo server!'" "${lines[0]}"
    is "Sent: 19 bytes" "${lines[1]}"
    [[ ${lines[2]} =~ ^PID\ $CLIENT_PID\ received:\ ([0-9]+)/Thread-([1-4]):\ Hello\ echo\ server!$ ]]
    check_tag "${BASH_REMATCH[1]}/Thread-${BASH_REMATCH[2]}"
}

@test "04: the client's default is -c 8 -j 4: eight whole blocks, then the summary" {
    start_pool
    run_client "$STAGE" -p "$SERVER_PORT"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${#lines[@]}" -eq 25 ]
    expect_blocks 8 'Hello echo server!'
    expect_summary "${lines[24]}"
}

@test "04: -j 8 -c 80 with long messages: every block whole, the summary's counts add up to 80" {
    start_pool -w 2 -t 4
    local message
    message="$(printf '%1000s' '' | tr ' ' m)"
    run_client "$STAGE" -p "$SERVER_PORT" -c 80 -j 8 "$message"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${#lines[@]}" -eq 241 ]
    expect_blocks 80 "$message"
    expect_summary "${lines[240]}"
}

@test "04: -j 1 runs the clients in turn and prints no summary" {
    start_pool
    run_client "$STAGE" -p "$SERVER_PORT" -c 5 -j 1 'one at a time'
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${#lines[@]}" -eq 15 ]
    expect_blocks 5 'one at a time'
    [[ $output != *"Clients served"* ]]
}

@test "04: more jobs than clients (-c 3 -j 8): three blocks and a summary that counts 3" {
    start_pool
    run_client "$STAGE" -p "$SERVER_PORT" -c 3 -j 8 few
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 10 ]
    expect_blocks 3 few
    expect_summary "${lines[9]}"
}

@test "04: a custom message is sent as its bytes plus the newline and echoed whole" {
    start_pool
    local message="it's 100% %s a \\ custom message"
    run_client "$STAGE" -p "$SERVER_PORT" -c 2 -j 2 "$message"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 7 ]
    is "Sent: $((${#message} + 1)) bytes" "${lines[1]}"
    expect_blocks 2 "$message"
    expect_summary "${lines[6]}"
}

@test "04: 'Sent: N bytes' counts bytes, not characters: 'héllo wörld' is 13 bytes and the newline" {
    start_pool
    local message=$'h\xc3\xa9llo w\xc3\xb6rld'
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 -j 1 "$message"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 3 ]
    is "PID $CLIENT_PID sending message to server: '$message'" "${lines[0]}"
    is "Sent: 14 bytes" "${lines[1]}"
    [[ ${lines[2]} == "PID $CLIENT_PID received: "*"/Thread-"*": $message" ]]
}

@test "04: a client message of exactly 1024 bytes is echoed" {
    start_pool
    run_client "$STAGE" -p "$SERVER_PORT" -c 2 -j 2 "$LONGEST"
    [ "$status" -eq 0 ]
    is "Sent: 1025 bytes" "${lines[1]}"
    expect_blocks 2 "$LONGEST"
}

# ---------------------------------------------------------------------------------------------
# The server's output

@test "04: the banner, then 'Server started worker PID N with 4 threads' for each of the 2 default workers" {
    start_pool
    [[ $SERVER_BANNER =~ ^Server\ listening\ on\ 127\.0\.0\.1:[1-9][0-9]*\ \(PID\ $SERVER_PID\)$ ]]
    read_server_output
    [ "${#server_lines[@]}" -eq 3 ]
    is "$SERVER_BANNER" "${server_lines[0]}"
    is "Server started worker PID ${WORKERS[0]} with 4 threads" "${server_lines[1]}"
    is "Server started worker PID ${WORKERS[1]} with 4 threads" "${server_lines[2]}"
    [ "${WORKERS[0]}" != "${WORKERS[1]}" ]
    local pid
    for pid in "${WORKERS[@]}"; do
        [ "$pid" != "$SERVER_PID" ]
        is_child_of_server "$pid"
        is_running "$pid"
    done
    is "$(printf '%s\n' "${WORKERS[@]}" | sort)" "$(server_children | sort)" "the server's children"
}

@test "04: -w 3 -t 2: three workers announced with 2 threads each, all children of the server" {
    start_pool -w 3 -t 2
    read_server_output
    [ "${#server_lines[@]}" -eq 4 ]
    local i
    for i in 0 1 2; do
        is "Server started worker PID ${WORKERS[i]} with 2 threads" "${server_lines[i + 1]}"
        is_child_of_server "${WORKERS[i]}"
    done
    [ "$(printf '%s\n' "${WORKERS[@]}" | sort -u | wc -l)" -eq 3 ]
    is "$(printf '%s\n' "${WORKERS[@]}" | sort)" "$(server_children | sort)" "the server's children"
}

@test "04: -p PORT listens on that port and the banner says so" {
    local port
    port=$(free_port "$STAGE")
    start_pool -p "$port"
    is "Server listening on 127.0.0.1:$port (PID $SERVER_PID)" "$SERVER_BANNER"
    run_client "$STAGE" -p "$port" -c 2 -j 2
    [ "$status" -eq 0 ]
}

@test "04: -a ::1 listens on the IPv6 loopback; the banner shows [::1]:PORT" {
    has_ipv6_loopback || skip "this machine has no IPv6 loopback address"
    start_pool -a ::1
    is "Server listening on [::1]:$SERVER_PORT (PID $SERVER_PID)" "$SERVER_BANNER"
    run_client "$STAGE" -a ::1 -p "$SERVER_PORT" -c 2 -j 2
    [ "$status" -eq 0 ]
    expect_blocks 2 'Hello echo server!'
}

@test "04: every line is logged as 'Server sending response [PID/Thread-N: LINE]', in order" {
    start_pool
    printf 'alpha\nbeta\n\ngamma delta\n' | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" alpha beta '' 'gamma delta'
    wait_until 5 server_has_lines 7
    read_server_output
    [ "${#server_lines[@]}" -eq 7 ]
    is "$SERVER_BANNER" "${server_lines[0]}"
    is "Server sending response [$TAG: alpha]" "${server_lines[3]}"
    is "Server sending response [$TAG: beta]" "${server_lines[4]}"
    is "Server sending response [$TAG: ]" "${server_lines[5]}"
    is "Server sending response [$TAG: gamma delta]" "${server_lines[6]}"
}

@test "04: -q answers every line but logs none" {
    start_pool -q
    printf 'one\ntwo\n' | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" one two
    run_client "$STAGE" -p "$SERVER_PORT" -c 4 -j 2
    [ "$status" -eq 0 ]
    stop_server
    read_server_output
    [ "${#server_lines[@]}" -eq 4 ]
    is "$SERVER_BANNER" "${server_lines[0]}"
    [[ ${server_lines[1]} == "Server started worker PID "* ]]
    [[ ${server_lines[2]} == "Server started worker PID "* ]]
    is "Server shutting down" "${server_lines[3]}"
}

@test "04: stdout into a file is line-buffered: a worker's log line is there while the server runs" {
    start_pool
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 -j 1
    [ "$status" -eq 0 ]
    expect_client_lines 0 'Hello echo server!'
    wait_until 5 server_printed "Server sending response [$TAG: Hello echo server!]"
    is_running "$SERVER_PID"
}

@test "04: the log lines of concurrent connections (threads of several workers) never mix within a line" {
    start_pool -w 2 -t 4
    local letters=(A B C D E F G H) letter line pids=() i
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
        mapfile -t lines <"$BATS_TEST_TMPDIR/request-$letter"
        expect_replies "$BATS_TEST_TMPDIR/replies-$letter" "${lines[@]}"
    done
    wait_until 5 server_has_lines 163
    read_server_output
    [ "${#server_lines[@]}" -eq 163 ]
    local whole='^Server sending response \[([0-9]+/Thread-[1-4]): (A+|B+|C+|D+|E+|F+|G+|H+)\]$'
    for ((i = 3; i < 163; i++)); do
        [[ ${server_lines[i]} =~ $whole ]] || { echo "mixed log line $i" >&2; false; }
        [ "${#BASH_REMATCH[2]}" -eq 1000 ]
        check_tag "${BASH_REMATCH[1]}"
    done
}

# ---------------------------------------------------------------------------------------------
# The model: pre-forked workers, a pool of threads in each

@test "04: -w 3 -t 2, 120 clients: replies from at most 3 worker PIDs, children of the server, threads 1..2" {
    start_pool -w 3 -t 2
    run_client "$STAGE" -p "$SERVER_PORT" -c 120 -j 6
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 361 ]
    expect_blocks 120 'Hello echo server!' # check_tag: an announced worker, N in 1..2
    expect_summary "${lines[360]}"
    local pids pid
    pids=$(printf '%s\n' "${BLOCK_TAGS[@]}" | cut -d/ -f1 | sort -u)
    [ "$(echo "$pids" | wc -l)" -le 3 ]
    for pid in $pids; do
        [ "$pid" != "$SERVER_PID" ]
        is_child_of_server "$pid"
    done
    [ -z "$(printf '%s\n' "${BLOCK_TAGS[@]}" | grep -Ev '/Thread-[12]$')" ]
    # The pool is fixed: no worker was added or replaced while serving.
    is "$(printf '%s\n' "${WORKERS[@]}" | sort)" "$(server_children | sort)" "the server's children"
}

@test "04: the supervisor serves no client and runs no thread; each worker runs its -t pool threads" {
    start_pool -w 2 -t 3
    is 1 "$(thread_count "$SERVER_PID")" "the supervisor's thread count"
    local pid count
    for pid in "${WORKERS[@]}"; do
        count=$(thread_count "$pid")
        # T pool threads, and maybe the worker's main thread waiting for them.
        ((count >= 3 && count <= 4)) || { echo "worker $pid runs $count threads, not 3 (+1)" >&2; false; }
    done
    run_client "$STAGE" -p "$SERVER_PORT" -c 30 -j 6
    [ "$status" -eq 0 ]
    [[ $output != *" $SERVER_PID/Thread-"* ]]
    is 1 "$(thread_count "$SERVER_PID")" "the supervisor's thread count after serving"
}

@test "04: -w 2 -t 3: six held connections are served at once, one by each PID/Thread-N" {
    start_pool -w 2 -t 3
    hold_answered 6 held
    # Six connections, six threads: every thread of every worker serves one of them.
    is "$(every_thread_tag 3)" "$(printf '%s\n' "${HELD_TAGS[@]}" | LC_ALL=C sort)" "the held connections' tags"
    # Each connection stays with its thread.
    local i
    for i in 0 1 2 3 4 5; do
        exchange "${HELD[i]}" "again $i"
        is "${HELD_TAGS[i]}" "$TAG"
    done
}

@test "04: -w 2 -t 2: with 4 connections held the 5th waits in the backlog, then the freed thread serves it" {
    start_pool -w 2 -t 2
    hold_answered 4 held
    is "$(every_thread_tag 2)" "$(printf '%s\n' "${HELD_TAGS[@]}" | LC_ALL=C sort)" "the held connections' tags"
    local fifth reply
    open_connection fifth # connected: in the backlog, not refused
    send "$fifth" 'fifth\n'
    expect_no_reply "$fifth" 1
    close_connection "${HELD[2]}"
    read_reply "$fifth" reply 5
    is "${HELD_TAGS[2]}: fifth" "$reply" "the reply to the fifth connection (the freed thread's)"
    exchange "${HELD[0]}" 'first again'
    is "${HELD_TAGS[0]}" "$TAG"
}

@test "04: -w 1 -t 1: with the one thread busy a client waits for it, and is served once it frees" {
    start_pool -w 1 -t 1
    hold_answered 1 held
    is "${WORKERS[0]}/Thread-1" "${HELD_TAGS[0]}"
    start_client waiting "$STAGE" -p "$SERVER_PORT" -c 1 -j 1 waiting
    wait_until 5 client_printed waiting '^Sent: 8 bytes$' # connected: not refused
    never_within 1 client_printed waiting received
    close_connection "${HELD[0]}"
    finish_client waiting 5
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    expect_client_lines 0 waiting
    is "${WORKERS[0]}/Thread-1" "$TAG"
}

@test "04: a second client is served while a first one holds its connection idle" {
    start_pool
    local first
    open_connection first
    exchange "$first" 'first'
    local first_tag=$TAG
    start_client second "$STAGE" -p "$SERVER_PORT" -c 1 -j 1 second
    finish_client second 5
    [ "$status" -eq 0 ]
    expect_client_lines 0 second
    [ "$TAG" != "$first_tag" ]
    exchange "$first" 'first again' # the first connection is still served, by the same thread
    is "$first_tag" "$TAG"
}

@test "04: a worker killed with SIGKILL is reported and replaced; the new worker serves clients" {
    start_pool -w 2 -t 1
    local victim=${WORKERS[0]} survivor=${WORKERS[1]}
    kill -KILL "$victim"
    wait_until 5 server_printed "Server worker PID $victim was killed by signal 9; starting a new one"
    wait_for_workers 3
    local new
    new=$(announced_workers | tail -n 1)
    [ "$new" != "$victim" ] && [ "$new" != "$survivor" ] && [ "$new" != "$SERVER_PID" ]
    # The report, then the new worker's line right after it.
    read_server_output
    [ "${#server_lines[@]}" -eq 5 ]
    is "Server worker PID $victim was killed by signal 9; starting a new one" "${server_lines[3]}"
    is "Server started worker PID $new with 1 threads" "${server_lines[4]}"
    is_child_of_server "$new"
    wait_until 5 is_gone "$victim" # reaped: no zombie left behind
    is "$(printf '%s\n' "$survivor" "$new" | sort)" "$(server_children | sort)" "the server's children"
    # Both workers' one thread serve a held connection each: the new PID answers.
    hold_answered 2 held
    is "$(printf '%s\n' "$survivor/Thread-1" "$new/Thread-1" | LC_ALL=C sort)" \
        "$(printf '%s\n' "${HELD_TAGS[@]}" | LC_ALL=C sort)" "the held connections' tags"
    close_connection "${HELD[0]}"
    close_connection "${HELD[1]}"
    run_client "$STAGE" -p "$SERVER_PORT" -c 6 -j 2
    [ "$status" -eq 0 ]
    expect_blocks 6 'Hello echo server!'
    [[ $output != *"$victim/Thread-"* ]]
}

@test "04: a worker killed while serving: its client sees the close, the others go on, clients still served" {
    start_pool -w 2 -t 2
    hold_answered 4 held
    local victim=${HELD_TAGS[0]%%/*} i
    kill -KILL "$victim"
    wait_until 5 server_printed "Server worker PID $victim was killed by signal 9; starting a new one"
    wait_for_workers 3
    for i in 0 1 2 3; do
        if [ "${HELD_TAGS[i]%%/*}" = "$victim" ]; then
            expect_eof "${HELD[i]}" 5
        else
            exchange "${HELD[i]}" "still here $i"
            is "${HELD_TAGS[i]}" "$TAG"
        fi
    done
    run_client "$STAGE" -p "$SERVER_PORT" -c 8 -j 4
    [ "$status" -eq 0 ]
    expect_blocks 8 'Hello echo server!'
    expect_summary "${lines[24]}"
}

@test "04: a worker ended by SIGTERM is reported with signal 15 and replaced too" {
    start_pool -w 2 -t 2
    local victim=${WORKERS[1]}
    kill -TERM "$victim"
    wait_until 5 server_printed "Server worker PID $victim was killed by signal 15; starting a new one"
    wait_for_workers 3
    local new
    new=$(announced_workers | tail -n 1)
    is_child_of_server "$new"
    is_running "$SERVER_PID"
    hold_answered 4 held
    WORKERS=("${WORKERS[0]}" "$new")
    is "$(every_thread_tag 2)" "$(printf '%s\n' "${HELD_TAGS[@]}" | LC_ALL=C sort)" "the held connections' tags"
}

@test "04: every worker killed at once: each is reported and replaced, and clients are served" {
    start_pool -w 3 -t 1
    kill -KILL "${WORKERS[@]}"
    local pid
    for pid in "${WORKERS[@]}"; do
        wait_until 5 server_printed "Server worker PID $pid was killed by signal 9; starting a new one"
    done
    wait_for_workers 6
    local new=($(announced_workers | tail -n 3))
    for pid in "${new[@]}"; do
        is_child_of_server "$pid"
    done
    is "$(printf '%s\n' "${new[@]}" | sort)" "$(server_children | sort)" "the server's children"
    WORKERS=("${new[@]}")
    hold_answered 3 held
    is "$(every_thread_tag 1)" "$(printf '%s\n' "${HELD_TAGS[@]}" | LC_ALL=C sort)" "the held connections' tags"
}

@test "04: a worker that exits by itself is reported with its exit status and replaced" {
    # To make a worker exit (status 1) on its own, let none of its threads start: with glibc a
    # thread's stack is as large as the stack limit, and here that is more than the address
    # space allowed. Each new worker fails the same way, so the report comes again and again.
    getconf GNU_LIBC_VERSION >/dev/null 2>&1 || skip "needs glibc's thread stacks sized by ulimit -s"
    # A sanitizer's runtime reserves terabytes of address space at start, far past ulimit -v.
    [ -z "${CHECK_SANITIZER:-}" ] || skip "a $CHECK_SANITIZER-sanitized server cannot start under ulimit -v"
    local old_stack old_vm
    old_stack=$(ulimit -S -s)
    old_vm=$(ulimit -S -v)
    if ! ulimit -S -s 4000000 2>/dev/null || ! ulimit -S -v 3000000 2>/dev/null; then
        skip "cannot set ulimit -s 4000000 -v 3000000 here"
    fi
    start_server "$STAGE" -w 1 -t 1
    ulimit -S -v "$old_vm"
    ulimit -S -s "$old_stack"
    wait_for_workers 1
    local first
    first=$(announced_workers | head -n 1)
    wait_until 5 server_printed "Server worker PID $first exited with status 1; starting a new one"
    wait_for_workers 2
    read_server_output
    is "Server worker PID $first exited with status 1; starting a new one" "${server_lines[2]}"
    [[ ${server_lines[3]} =~ ^Server\ started\ worker\ PID\ [0-9]+\ with\ 1\ threads$ ]]
    [ "$(announced_workers | sed -n 2p)" != "$first" ]
    local status=0
    stop_server TERM 10 || status=$?
    [ "$status" -eq 0 ]
}

@test "04: -i 1 closes an idle connection, and its thread then serves the next client" {
    start_pool -w 1 -t 1 -i 1
    local silent start elapsed
    open_connection silent # takes the only thread
    start_client next "$STAGE" -p "$SERVER_PORT" -c 1 -j 1 next
    start=$(now_ms)
    expect_eof "$silent" 5
    elapsed=$(($(now_ms) - start))
    ((elapsed >= 500 && elapsed <= 5000))
    finish_client next 5
    [ "$status" -eq 0 ]
    expect_client_lines 0 next
    is "${WORKERS[0]}/Thread-1" "$TAG"
}

@test "04: -i 1 closes idle connections after about a second, silent or not" {
    start_pool -i 1
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

@test "04: -i 0 is accepted and leaves an idle connection open" {
    start_pool -i 0
    local conn
    open_connection conn
    exchange "$conn" hi
    expect_no_reply "$conn" 1.5
    exchange "$conn" 'still here'
}

# ---------------------------------------------------------------------------------------------
# The wire protocol

@test "04: a line of exactly 1024 bytes is echoed whole" {
    start_pool
    printf '%s\n' "$LONGEST" | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" "$LONGEST"
}

@test "04: a line of 1025 bytes gets exactly the error line, and nothing for the lines after it" {
    start_pool
    printf 'before\n%s\nafter\n' "$TOO_LONG" | talk >"$BATS_TEST_TMPDIR/replies"
    local tag
    tag=$(head -n 1 "$BATS_TEST_TMPDIR/replies" | cut -d: -f1)
    check_tag "$tag"
    printf '%s: before\n%s\n' "$tag" "$TOO_LONG_REPLY" >"$BATS_TEST_TMPDIR/expected"
    cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/replies"
}

@test "04: a last line of 1025 bytes without a newline gets the error line too" {
    start_pool
    printf '%s' "$TOO_LONG" | talk >"$BATS_TEST_TMPDIR/replies"
    printf '%s\n' "$TOO_LONG_REPLY" >"$BATS_TEST_TMPDIR/expected"
    cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/replies"
}

@test "04: after an over-long line the server closes that connection itself, then serves the next client" {
    start_pool -w 1 -t 1
    local conn reply
    open_connection conn
    send "$conn" '%s\n' "$TOO_LONG"
    read_reply "$conn" reply
    is "$TOO_LONG_REPLY" "$reply"
    expect_eof "$conn" 5 # we have not closed our side: the server did
    close_connection "$conn"
    # The one thread is free again: the next client gets it.
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 -j 1
    [ "$status" -eq 0 ]
    expect_client_lines 0 'Hello echo server!'
    is "${WORKERS[0]}/Thread-1" "$TAG"
}

@test "04: an over-long line closes only its own connection: another in the same worker goes on" {
    start_pool -w 1 -t 2
    local keep
    open_connection keep
    exchange "$keep" before
    local keep_tag=$TAG
    printf '%s\n' "$TOO_LONG" | talk >"$BATS_TEST_TMPDIR/replies"
    printf '%s\n' "$TOO_LONG_REPLY" >"$BATS_TEST_TMPDIR/expected"
    cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/replies"
    exchange "$keep" after
    is "$keep_tag" "$TAG"
    # The worker lives on: no report, no new worker.
    [ "$(announced_workers | wc -l)" -eq 1 ]
    is_running "${WORKERS[0]}"
}

@test "04: NUL and every other byte but the newline are echoed exactly" {
    start_pool
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

@test "04: a line sent in pieces gets one reply, once it is complete" {
    start_pool
    local conn reply
    open_connection conn
    send "$conn" 'hel'
    expect_no_reply "$conn" 0.3
    send "$conn" 'lo wo'
    expect_no_reply "$conn" 0.3
    send "$conn" 'rld\n'
    read_reply "$conn" reply
    [[ $reply =~ ^([0-9]+/Thread-[0-9]+):\ hello\ world$ ]]
    check_tag "${BASH_REMATCH[1]}"
    exchange "$conn" next
}

@test "04: many lines in one write get one reply each, in order" {
    start_pool
    local texts=() i
    for ((i = 1; i <= 300; i++)); do
        texts+=("line $i of many, padded to make the whole write longer than 4096 bytes")
    done
    printf '%s\n' "${texts[@]}" >"$BATS_TEST_TMPDIR/request"
    [ "$(wc -c <"$BATS_TEST_TMPDIR/request")" -gt 8192 ]
    talk <"$BATS_TEST_TMPDIR/request" >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" "${texts[@]}"
}

@test "04: a last line without a newline before EOF is answered" {
    start_pool
    printf 'first\nlast words' | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" first 'last words'
}

@test "04: an empty line gets the reply 'TAG: '" {
    start_pool
    printf '\n' | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" ''
    [ "$(wc -c <"$BATS_TEST_TMPDIR/replies")" -eq $((${#TAG} + 3)) ] # "TAG: \n"
}

@test "04: a client that resets its connection in the middle of a line does not stop the server" {
    start_pool -w 1 -t 2
    local keep
    open_connection keep
    exchange "$keep" before
    local keep_tag=$TAG
    printf 'half a li' | talk -R
    run_client "$STAGE" -p "$SERVER_PORT" -c 2 -j 1
    [ "$status" -eq 0 ]
    expect_blocks 2 'Hello echo server!'
    exchange "$keep" after
    is "$keep_tag" "$TAG"
    [ "$(announced_workers | wc -l)" -eq 1 ] # no worker died
}

@test "04: a client that resets without reading its replies does not stop the server" {
    start_pool -w 1 -t 1
    local i
    for ((i = 1; i <= 200; i++)); do
        printf 'line %d, whose reply is written to a connection that is gone\n' "$i"
    done >"$BATS_TEST_TMPDIR/request"
    local round
    for round in 1 2 3; do
        talk -R <"$BATS_TEST_TMPDIR/request"
    done
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 -j 1
    [ "$status" -eq 0 ]
    expect_client_lines 0 'Hello echo server!'
    # The same worker served it: the reset killed nobody.
    is "${WORKERS[0]}/Thread-1" "$TAG"
    [ "$(announced_workers | wc -l)" -eq 1 ]
}

# Has the server logged at least N lines that end with TEXT?
logged_at_least() {
    [ "$(grep -cF -e "$2" "$SERVER_OUT")" -ge "$1" ]
}

@test "04: a client that closes without reading its replies kills no worker; SIGPIPE is ignored" {
    start_pool -w 1 -t 2
    if [ -r "/proc/$SERVER_PID/status" ]; then
        sigpipe_ignored "$SERVER_PID"
        sigpipe_ignored "${WORKERS[0]}"
    fi
    local keep conn round i
    open_connection keep
    exchange "$keep" before
    local keep_tag=$TAG
    for ((i = 1; i <= 200; i++)); do
        printf 'line %d, whose reply is written to a connection that is closed\n' "$i"
    done >"$BATS_TEST_TMPDIR/request"
    for round in 1 2 3; do
        # Many lines, then a full close before any reply is read: the first replies draw a reset
        # from our side, and a later one is written to a connection that is gone.
        open_connection conn
        cat "$BATS_TEST_TMPDIR/request" >&"$conn"
        close_connection "$conn"
        wait_until 5 logged_at_least "$round" ': line 2, whose reply is written to a connection that is closed]'
        exchange "$keep" "after round $round"
        is "$keep_tag" "$TAG"
    done
    run_client "$STAGE" -p "$SERVER_PORT" -c 2 -j 1
    [ "$status" -eq 0 ]
    expect_blocks 2 'Hello echo server!'
    # The one worker served it all: SIGPIPE killed nobody, so nothing was replaced.
    for i in 0 1; do
        [[ ${BLOCK_TAGS[i]} == "${WORKERS[0]}/Thread-"* ]]
    done
    [ "$(announced_workers | wc -l)" -eq 1 ]
    ! grep -q '^Server worker PID ' "$SERVER_OUT"
    is_running "${WORKERS[0]}"
}

# ---------------------------------------------------------------------------------------------
# Signals

# Hold three connections (two idle after a reply, one with half a line), stop the server with
# SIGNAL, and check: exit 0 within 5 s, "Server shutting down" last, no worker left.
stop_with_connections_held() {
    local signal=$1 a b c
    start_pool
    open_connection a
    exchange "$a" a
    open_connection b
    exchange "$b" b
    open_connection c
    send "$c" 'half a line' # and never the rest
    local status=0
    stop_server "$signal" 10 || status=$?
    [ "$status" -eq 0 ]
    ((STOP_MS <= 5000))
    read_server_output
    is "Server shutting down" "${server_lines[${#server_lines[@]} - 1]}"
    local pid
    for pid in "${WORKERS[@]}"; do
        is_gone "$pid" || { echo "worker $pid outlived the server" >&2; return 1; }
    done
    expect_eof "$a" 1
    expect_eof "$b" 1
}

@test "04: SIGTERM: exit 0 within 5 s though clients hold connections; 'Server shutting down' last; no worker left" {
    stop_with_connections_held TERM
}

@test "04: SIGINT: exit 0 within 5 s though clients hold connections; 'Server shutting down' last; no worker left" {
    stop_with_connections_held INT
}

@test "04: SIGTERM with no client: exit 0; banner, workers, then 'Server shutting down'; no worker left" {
    start_pool -w 3 -t 2
    local status=0
    stop_server TERM 10 || status=$?
    [ "$status" -eq 0 ]
    ((STOP_MS <= 5000))
    read_server_output
    [ "${#server_lines[@]}" -eq 5 ]
    is "Server shutting down" "${server_lines[4]}"
    all_gone "${WORKERS[@]}"
}

@test "04: SIGTERM with every thread busy and a client in the backlog: exit 0 within 5 s, no worker left" {
    start_pool -w 2 -t 1
    hold_answered 2 held
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
    all_gone "${WORKERS[@]}"
}

@test "04: complete lines sent just before SIGTERM are answered" {
    start_pool
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

@test "04: complete lines sent just before SIGTERM are answered on every held connection, in every worker" {
    start_pool -w 2 -t 2
    hold_answered 4 held
    local i reply
    for i in 0 1 2 3; do
        send "${HELD[i]}" 'goodbye %d\n' "$i"
    done
    kill -TERM "$SERVER_PID"
    for i in 0 1 2 3; do
        read_reply "${HELD[i]}" reply
        is "${HELD_TAGS[i]}: goodbye $i" "$reply"
    done
    local status=0
    stop_server TERM 10 || status=$?
    [ "$status" -eq 0 ]
    all_gone "${WORKERS[@]}"
}

@test "04: lines that arrived while the workers were frozen are answered, though the stop comes first" {
    # SIGSTOP freezes the workers; the lines arrive meanwhile, and the supervisor, still running,
    # takes SIGTERM and signals the stop. At SIGCONT each pool thread finds its line and the stop
    # together: the stop wins, and the worker must still answer every complete line received.
    start_pool -w 2 -t 2
    hold_answered 4 held
    local i reply
    kill -STOP "${WORKERS[@]}"
    for i in 0 1 2 3; do
        send "${HELD[i]}" 'goodbye %d\n' "$i"
    done
    kill -TERM "$SERVER_PID"
    kill -CONT "${WORKERS[@]}"
    for i in 0 1 2 3; do
        read_reply "${HELD[i]}" reply
        is "${HELD_TAGS[i]}: goodbye $i" "$reply"
    done
    local status=0
    stop_server TERM 10 || status=$?
    [ "$status" -eq 0 ]
    ((STOP_MS <= 5000))
    all_gone "${WORKERS[@]}"
}

@test "04: the supervisor killed with SIGKILL: every worker exits soon after, and nobody listens any more" {
    start_pool -w 3 -t 2
    hold_answered 2 held
    kill -KILL "$SERVER_PID"
    if ! wait_until 5 all_exited "${WORKERS[@]}"; then
        local pid
        for pid in "${WORKERS[@]}"; do
            is_running "$pid" && echo "worker $pid still runs" >&2
        done
        false
    fi
    # Their connections were closed with them, and the port is closed.
    expect_eof "${HELD[0]}" 2
    expect_eof "${HELD[1]}" 2
    local port=$SERVER_PORT
    run bounded 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
    [ "$status" -ne 0 ]
}

# ---------------------------------------------------------------------------------------------
# Bad usage and failures

@test "04: -h prints the usage, -w N and -t N with their defaults 2 and 4, on stdout and exits 0" {
    run --separate-stderr bounded 5 "$ROOT/$STAGE/server" -h
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "usage: server [-a ADDRESS] [-p PORT] [-i SECONDS] [-q] [-h]"*"[-w N]"*"[-t N]"* ]]
    [[ $output == *"-w N "*"(default 2;"* ]]
    [[ $output == *"-t N "*"(default 4;"* ]]
    [ -z "$stderr" ]
}

@test "04: an unknown option is bad usage (exit 2), -m included: 04 sizes its pool with -w and -t" {
    expect_usage_error "$STAGE" -x
    expect_usage_error "$STAGE" -m 2
    expect_usage_error "$STAGE" --port=5000
}

@test "04: an option without its value is bad usage (exit 2)" {
    expect_usage_error "$STAGE" -p
    expect_usage_error "$STAGE" -a
    expect_usage_error "$STAGE" -i
    expect_usage_error "$STAGE" -w
    expect_usage_error "$STAGE" -t
}

@test "04: an extra argument is bad usage (exit 2)" {
    expect_usage_error "$STAGE" extra
    expect_usage_error "$STAGE" -q extra
    expect_usage_error "$STAGE" -i 5 extra
}

@test "04: after bad usage, the usage still gives the defaults (-w 2, -t 4), whatever came before" {
    expect_usage_error "$STAGE" -w 5 -t 7 -x
    [[ $stderr == *"-w N "*"(default 2;"* ]]
    [[ $stderr == *"-t N "*"(default 4;"* ]]
}

@test "04: a port outside 0-65535 or not a whole number is bad usage (exit 2)" {
    expect_usage_error "$STAGE" -p 65536
    expect_usage_error "$STAGE" -p -1
    expect_usage_error "$STAGE" -p x
    expect_usage_error "$STAGE" -p 80x
    expect_usage_error "$STAGE" -p ''
}

@test "04: a negative or non-numeric idle timeout is bad usage (exit 2)" {
    expect_usage_error "$STAGE" -i -1
    expect_usage_error "$STAGE" -i x
    expect_usage_error "$STAGE" -i 1.5
}

@test "04: -w below 1 or not a whole number is bad usage (exit 2)" {
    expect_usage_error "$STAGE" -w 0
    expect_usage_error "$STAGE" -w -1
    expect_usage_error "$STAGE" -w x
    expect_usage_error "$STAGE" -w 2x
    expect_usage_error "$STAGE" -w ''
}

@test "04: -t below 1 or not a whole number is bad usage (exit 2)" {
    expect_usage_error "$STAGE" -t 0
    expect_usage_error "$STAGE" -t -1
    expect_usage_error "$STAGE" -t x
    expect_usage_error "$STAGE" -t 4x
    expect_usage_error "$STAGE" -t ''
}

@test "04: a port in use: 'server: cannot listen on 127.0.0.1:PORT: Address already in use', exit 1" {
    start_pool
    run --separate-stderr bounded 5 "$ROOT/$STAGE/server" -p "$SERVER_PORT"
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    is "server: cannot listen on 127.0.0.1:$SERVER_PORT: Address already in use" "$stderr"
    run_client "$STAGE" -p "$SERVER_PORT" -c 2 -j 2 # the first server is untouched
    [ "$status" -eq 0 ]
    is "$(printf '%s\n' "${WORKERS[@]}" | sort)" "$(server_children | sort)" "the server's children"
}

@test "04: a bad address: 'server: cannot listen on 999.1.1.1:...', exit 1, no worker started" {
    run --separate-stderr bounded 30 "$ROOT/$STAGE/server" -a 999.1.1.1
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ $stderr == "server: cannot listen on 999.1.1.1:"?* ]]
}

@test "04: client without -p: the usage, -j JOBS included, on stderr, exit 2" {
    run --separate-stderr bounded 5 "$ROOT/$STAGE/client"
    [ "$status" -eq 2 ]
    [ -z "$output" ]
    [[ $stderr == *"usage: client "*"[-j JOBS]"* ]]
}

@test "04: client -j below 1 or not a whole number: the usage on stderr, exit 2" {
    start_pool
    local jobs
    for jobs in 0 -1 x ''; do
        run --separate-stderr bounded 5 "$ROOT/$STAGE/client" -p "$SERVER_PORT" -j "$jobs"
        [ "$status" -eq 2 ]
        [ -z "$output" ]
        [[ $stderr == *"usage: client "* ]]
    done
}

@test "04: client to a port nobody listens on: 'client: cannot connect to 127.0.0.1:PORT: Connection refused', exit 1" {
    local port
    port=$(free_port "$STAGE")
    run_client "$STAGE" -p "$port" -c 1 -j 1
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    is "client: cannot connect to 127.0.0.1:$port: Connection refused" "$stderr"
}

@test "04: clients at once (-j 4) to a port nobody listens on: one-line reasons, no summary, exit 1" {
    local port
    port=$(free_port "$STAGE")
    run_client "$STAGE" -p "$port" -c 8 -j 4
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [ "${#stderr_lines[@]}" -ge 1 ]
    local line
    for line in "${stderr_lines[@]}"; do
        is "client: cannot connect to 127.0.0.1:$port: Connection refused" "$line"
    done
}

@test "04: client with a message longer than 1024 bytes: exit 1 with a one-line reason" {
    start_pool
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 -j 1 "$TOO_LONG"
    [ "$status" -eq 1 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ $stderr == "client: "?* ]]
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 -j 1 # and the server goes on
    [ "$status" -eq 0 ]
}
