#!/usr/bin/env bats
# 04-combined: a supervised pool of -w worker processes, each running -t pool threads that
# accept and serve one connection at a time. Replies are tagged PID/Thread-N: the worker's PID
# (a child of the server, never the server itself) and N in 1..T. The main process only
# supervises: it starts a new worker when one dies, and stops them all on SIGTERM or SIGINT.
# Its client runs 4 clients at once by default and prints each one's lines as a whole block,
# then the summary line (contract_cases.bash's expect_summary). The contract is docs/contract.md;
# helper.bash and pool_helper.bash say what the helpers do,
# contract_cases.bash what the cases shared with the other stages check.

bats_require_minimum_version 1.5.0

load helper
load pool_helper
load contract_cases

STAGE=04-combined # built before the first test by contract_cases.bash's setup_file

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
    mapfile -t WORKERS < <(announced_workers)
    [ "${#WORKERS[@]}" -eq "$count" ]
}

# The cases that start the server themselves (-p, -a) start the pool.
start_stage() {
    start_pool "$@"
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

# ---------------------------------------------------------------------------------------------
# The client's output and the echo

@test "04: one client (-c 1 -j 1) prints its three lines, answered by PID/Thread-N of a worker" {
    start_pool
    one_client_prints_its_three_lines -c 1 -j 1
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
    sent_counts_bytes_not_characters -c 1 -j 1
}

@test "04: a client message of exactly 1024 bytes is echoed" {
    start_pool
    client_message_of_1024_bytes_is_echoed -c 2 -j 2
}

# ---------------------------------------------------------------------------------------------
# The client: clients at once (-j), slow clients (-d), the summary line

@test "04: -c 6 -j 3: six whole blocks, then 'Clients served: 6 in S.SS s (TAG: COUNT, ...)', tags as first seen" {
    start_pool
    clients_at_once_print_whole_blocks_and_the_summary
}

@test "04: -c 2 -j 1 -d 0.3: the clients in turn, each 0.3 s slow to close; the summary counts at least 0.60 s" {
    start_pool
    slow_clients_in_turn_print_the_summary
}

@test "04: -c 3 -j 1 -d 0: the blog post's lines alone, no summary" {
    start_pool
    one_job_without_delay_prints_no_summary
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
    p_port_is_listened_on_and_named_in_the_banner -c 2 -j 2
}

@test "04: -a ::1 listens on the IPv6 loopback; the banner shows [::1]:PORT" {
    ipv6_loopback_is_listened_on_and_bracketed_in_the_banner -c 2 -j 2
}

@test "04: every line is logged as 'Server sending response [PID/Thread-N: LINE]', in order" {
    start_pool
    every_line_is_logged_in_order
}

@test "04: -q answers every line but logs none" {
    start_pool -q
    quiet_server_answers_but_logs_nothing -c 4 -j 2
}

@test "04: stdout into a file is line-buffered: a worker's log line is there while the server runs" {
    start_pool
    log_is_line_buffered -c 1 -j 1
}

@test "04: the log lines of concurrent connections (threads of several workers) never mix within a line" {
    start_pool -w 2 -t 4 # eight threads: every connection is served at once
    concurrent_log_lines_never_mix 8
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
    second_client_is_served_while_the_first_holds_its_connection -c 1 -j 1
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

@test "04: a worker sent SIGTERM stops gracefully, exits 0, and is replaced too" {
    start_pool -w 2 -t 2
    local victim=${WORKERS[1]}
    kill -TERM "$victim"
    wait_until 5 server_printed "Server worker PID $victim exited with status 0; starting a new one"
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
    local new
    mapfile -t new < <(announced_workers | tail -n 3)
    for pid in "${new[@]}"; do
        is_child_of_server "$pid"
    done
    is "$(printf '%s\n' "${new[@]}" | sort)" "$(server_children | sort)" "the server's children"
    WORKERS=("${new[@]}")
    hold_answered 3 held
    is "$(every_thread_tag 1)" "$(printf '%s\n' "${HELD_TAGS[@]}" | LC_ALL=C sort)" "the held connections' tags"
}

@test "04: a worker that exits by itself is reported with its exit status and replaced" {
    # To make a worker exit (status 1) on its own, let none of its threads start: cap the
    # supervisor's address space (RLIMIT_AS) at its size now plus 64 KiB. A worker forked from
    # it inherits the cap and the same mappings, so it has no room for a thread's stack, which
    # takes more in any C library (glibc: as much as ulimit -s, 8 MiB by default; musl: 128 KiB
    # and a guard page). The supervisor itself maps nothing new. Raising ulimit -s under a
    # ulimit -v instead fails glibc's threads only: musl sizes its stacks whatever ulimit -s
    # says, so its workers would start their threads and never exit. The worker forked before
    # the cap is killed; each new one then fails, so the report comes again and again.
    command -v prlimit >/dev/null 2>&1 || skip "needs prlimit (util-linux, Linux) to cap a running server"
    # A sanitizer's runtime maps memory of its own at any time: under the cap it fails first.
    [ -z "${CHECK_SANITIZER:-}" ] || skip "a $CHECK_SANITIZER-sanitized server cannot run under a tight RLIMIT_AS"
    start_server "$STAGE" -w 1 -t 1
    wait_for_workers 1
    local first second kib
    first=$(announced_workers | head -n 1)
    kib=$(ps -o vsz= -p "$SERVER_PID" | tr -d ' ') # its virtual size, in KiB
    prlimit --pid "$SERVER_PID" --as="$(((kib + 64) * 1024)):" # the soft limit only
    kill -KILL "$first"
    wait_for_workers 3
    second=$(announced_workers | sed -n 2p)
    wait_until 5 server_printed "Server worker PID $second exited with status 1; starting a new one"
    read_server_output
    is "Server worker PID $first was killed by signal 9; starting a new one" "${server_lines[2]}"
    is "Server started worker PID $second with 1 threads" "${server_lines[3]}"
    is "Server worker PID $second exited with status 1; starting a new one" "${server_lines[4]}"
    [[ ${server_lines[5]} =~ ^Server\ started\ worker\ PID\ [0-9]+\ with\ 1\ threads$ ]]
    [ "$(announced_workers | sed -n 3p)" != "$second" ]
    # It exited because its thread could not start, as it said on stderr.
    grep -qxF "server: worker $second: pthread_create: $(strerror_text EAGAIN)" "$SERVER_ERR"
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
    idle_connections_close_after_about_a_second
}

@test "04: -i 0 is accepted and leaves an idle connection open" {
    start_pool -i 0
    idle_connection_stays_open
}

@test "04: -c 2 -j 2 -d 10: two slow clients are served at once, by two pool threads, before either closes" {
    start_pool
    two_slow_clients_are_served_at_once
    # Two pool threads: of one worker or of both, but never the same thread twice.
    [ "${LESSON_TAGS[0]}" != "${LESSON_TAGS[1]}" ]
}

# ---------------------------------------------------------------------------------------------
# The wire protocol

@test "04: a line of exactly 1024 bytes is echoed whole" {
    start_pool
    line_of_1024_bytes_is_echoed_whole
}

@test "04: a line of 1025 bytes gets exactly the error line, and nothing for the lines after it" {
    start_pool
    line_of_1025_bytes_gets_the_error_and_nothing_after
}

@test "04: a last line of 1025 bytes without a newline gets the error line too" {
    start_pool
    last_line_of_1025_bytes_gets_the_error_too
}

@test "04: after an over-long line the server closes that connection itself, then serves the next client" {
    start_pool -w 1 -t 1
    over_long_line_ends_its_connection_then_the_next_client_is_served -c 1 -j 1
    # The one thread is free again: the next client got it.
    is "${WORKERS[0]}/Thread-1" "$TAG"
}

@test "04: an over-long line closes only its own connection: another in the same worker goes on" {
    start_pool -w 1 -t 2
    over_long_line_ends_only_its_own_connection
    # The worker lives on: no report, no new worker.
    [ "$(announced_workers | wc -l)" -eq 1 ]
    is_running "${WORKERS[0]}"
}

@test "04: NUL and every other byte but the newline are echoed exactly" {
    start_pool
    every_byte_but_the_newline_is_echoed_exactly
}

@test "04: a line sent in pieces gets one reply, once it is complete" {
    start_pool
    line_in_pieces_gets_one_reply_once_complete
}

@test "04: many lines in one write get one reply each, in order" {
    start_pool
    many_lines_in_one_write_get_one_reply_each
}

@test "04: a last line without a newline before EOF is answered" {
    start_pool
    last_line_without_a_newline_is_answered
}

@test "04: an empty line gets the reply 'TAG: '" {
    start_pool
    empty_line_gets_the_reply_tag_colon_space
}

@test "04: a client that resets its connection in the middle of a line does not stop the server" {
    start_pool -w 1 -t 2
    reset_in_the_middle_of_a_line_leaves_the_others_served -c 2 -j 1
    [ "$(announced_workers | wc -l)" -eq 1 ] # no worker died
}

@test "04: a client that resets without reading its replies does not stop the server" {
    start_pool -w 1 -t 1
    resets_before_reading_the_replies_do_not_stop_the_server -c 1 -j 1
    # The same worker served it: the reset killed nobody.
    is "${WORKERS[0]}/Thread-1" "$TAG"
    [ "$(announced_workers | wc -l)" -eq 1 ]
}

@test "04: a client that closes without reading its replies kills no worker; SIGPIPE is ignored" {
    start_pool -w 1 -t 2
    closing_before_reading_the_replies_does_not_stop_the_server -c 2 -j 1
    if [ -r "/proc/${WORKERS[0]}/status" ]; then
        sigpipe_ignored "${WORKERS[0]}"
    fi
    # The one worker served it all: SIGPIPE killed nobody, so nothing was replaced.
    local i
    for i in 0 1; do
        [[ ${BLOCK_TAGS[i]} == "${WORKERS[0]}/Thread-"* ]]
    done
    [ "$(announced_workers | wc -l)" -eq 1 ]
    [ "$(grep -c '^Server worker PID ' "$SERVER_OUT")" -eq 0 ] # no worker reported dead
    is_running "${WORKERS[0]}"
}

# ---------------------------------------------------------------------------------------------
# Signals

@test "04: SIGTERM: exit 0 within 5 s though clients hold connections; 'Server shutting down' last; no worker left" {
    start_pool
    stops_though_clients_hold_connections TERM
    all_gone "${WORKERS[@]}"
}

@test "04: SIGINT: exit 0 within 5 s though clients hold connections; 'Server shutting down' last; no worker left" {
    start_pool
    stops_though_clients_hold_connections INT
    all_gone "${WORKERS[@]}"
}

@test "04: SIGTERM with no client: exit 0; banner, workers, then 'Server shutting down'; no worker left" {
    start_pool -w 3 -t 2
    sigterm_with_no_client_ends_the_output_with_the_goodbye
    all_gone "${WORKERS[@]}"
}

@test "04: SIGTERM with every thread busy and a client in the backlog: exit 0 within 5 s, no worker left" {
    start_pool -w 2 -t 1
    sigterm_with_a_client_in_the_backlog_stops_the_server 2
    all_gone "${WORKERS[@]}"
}

@test "04: complete lines sent just before SIGTERM are answered" {
    start_pool
    complete_lines_sent_just_before_sigterm_are_answered
}

@test "04: complete lines sent just before SIGTERM are answered on every held connection, in every worker" {
    start_pool -w 2 -t 2
    complete_lines_sent_just_before_sigterm_are_answered_on_every_connection 4
    all_gone "${WORKERS[@]}"
}

@test "04: lines that arrived while the workers were frozen are answered, though the stop comes first" {
    # SIGSTOP freezes the workers; the lines arrive meanwhile, and the supervisor, still running,
    # takes SIGTERM and signals the stop. At SIGCONT each pool thread finds its line and the stop
    # together: the stop wins, and the worker must still answer every complete line received.
    start_pool -w 2 -t 2
    lines_that_arrive_while_frozen_are_answered_though_the_stop_comes_too 4 "${WORKERS[@]}"
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
    h_prints_the_usage_on_stdout_and_exits_0
    [[ ${lines[0]} == *"[-w N]"*"[-t N]"* ]]
    [[ $output == *"-w N "*"(default 2;"* ]]
    [[ $output == *"-t N "*"(default 4;"* ]]
}

@test "04: an unknown option is bad usage (exit 2), -m included: 04 sizes its pool with -w and -t" {
    unknown_options_are_bad_usage -m
}

@test "04: an option without its value is bad usage (exit 2)" {
    options_without_their_value_are_bad_usage -w -t
}

@test "04: an extra argument is bad usage (exit 2)" {
    extra_arguments_are_bad_usage
}

@test "04: after bad usage, the usage still gives the defaults (-w 2, -t 4), whatever came before" {
    expect_usage_error "$STAGE" -w 5 -t 7 -x
    [[ $stderr == *"-w N "*"(default 2;"* ]]
    [[ $stderr == *"-t N "*"(default 4;"* ]]
}

@test "04: a port outside 0-65535 or not a whole number is bad usage (exit 2)" {
    ports_outside_0_to_65535_are_bad_usage
}

@test "04: a negative or non-numeric idle timeout is bad usage (exit 2)" {
    bad_idle_timeouts_are_bad_usage
}

@test "04: -w below 1 or not a whole number is bad usage (exit 2)" {
    counts_below_1_are_bad_usage -w
}

@test "04: -t below 1 or not a whole number is bad usage (exit 2)" {
    counts_below_1_are_bad_usage -t
}

@test "04: a port in use: 'server: cannot listen on 127.0.0.1:PORT: REASON' (the C library's text for EADDRINUSE), exit 1" {
    start_pool
    port_in_use_is_refused_with_exit_1 -c 2 -j 2
    is "$(printf '%s\n' "${WORKERS[@]}" | sort)" "$(server_children | sort)" "the server's children"
}

@test "04: a bad address: 'server: cannot listen on 999.1.1.1:...', exit 1, no worker started" {
    bad_address_is_refused_with_exit_1
}

@test "04: client without -p: the usage, -j JOBS included, on stderr, exit 2" {
    client_without_p_prints_its_usage_and_exits_2
    [[ $stderr == *"usage: client "*"[-j JOBS]"* ]]
}

@test "04: client to a port nobody listens on: 'client: cannot connect to 127.0.0.1:PORT: REASON' (the C library's text for ECONNREFUSED), exit 1" {
    client_to_a_port_nobody_listens_on_is_refused_with_exit_1 -c 1 -j 1
}

@test "04: clients at once to a port nobody listens on: one-line reasons, no summary, exit 1" {
    clients_at_once_to_a_port_nobody_listens_on_print_no_summary
}

@test "04: client with a message longer than 1024 bytes: exit 1 with a one-line reason" {
    start_pool
    client_refuses_a_message_over_1024_bytes -c 1 -j 1
}

@test "04: client -h: the usage on stdout, -j and -d included, with this stage's defaults -c 8 -j 4" {
    client_h_shows_every_option 8 4
}

@test "04: client -j or -d with a bad value, or none: the reason then the usage on stderr, exit 2" {
    bad_jobs_and_delays_are_bad_usage
}

@test "04: client -d takes 0 to 3600 s with up to 3 decimals, -j 1 to 1000" {
    every_delay_and_job_count_in_range_is_taken
}
