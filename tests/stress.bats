#!/usr/bin/env bats
# stress.bats: the servers under load and under rude clients, the cases a polite test never
# meets. In `make test` (about a minute), and in `make check` under the sanitizers: step 1 runs
# all of it against ASan+UBSan builds, step 2 the 03 and 04 cases against TSan builds (which is
# why every test's name starts with its stage: check.sh picks them with bats --filter).
#
#   500 concurrent clients x 20 lines (02, 03, 04), closed-loop and pipelined
#   a flood of idle connections against a small pool (03, 04)
#   the server started under `ulimit -n 32` and hit by 100 clients (03, 04)
#   clients that send half a line and vanish, that reset mid-line, that never read (all stages)
#   04: SIGKILL a worker under load; SIGKILL the supervisor
#
# Every wait is bounded; the only fixed waits measure something (the CPU used while the
# server is out of descriptors).

bats_require_minimum_version 1.5.0

load helper
load pool_helper
load check/stress_helper
load result_line

setup_file() {
    make -s -C "$BATS_TEST_DIRNAME/bench" loadgen >&2
    rude_client_path >/dev/null
}

# check_tag: pool_helper's hold_answered asks the suite whether a tag is right; any will do here.
check_tag() {
    [ -n "$1" ]
}

# ---------------------------------------------------------------------------------------------
# 500 concurrent clients x 20 lines

# Closed loop: 500 clients at once, each sending a line and waiting for its reply, 20 times;
# loadgen checks every reply is exactly "TAG: LINE" for the line just sent.
five_hundred_clients_closed_loop() {
    start_server "$@" -q
    run bounded 120 "$ROOT/tests/bench/loadgen" -p "$SERVER_PORT" -c 500 -n 1 -l 20 -T 60
    echo "$output"
    [ "$status" -eq 0 ]
    is 500 "$(value connections)" "connections served"
    is 10000 "$(value lines)" "lines answered"
    is_running "$SERVER_PID"
}

# Pipelined: 500 connections at once, each sending its 20 lines in one write (and its EOF)
# before reading anything; every connection must get its 20 replies in order, from one TAG.
# Beyond the order of replies, this checks the contract's "the waiting clients sit in the
# listen backlog and are served in turn, not refused": with a backlog too short for them, the
# kernel drops some handshakes, and (with SYN cookies, Linux's default) a client that sent
# more than one segment before the server accepted it is reset.
five_hundred_clients_pipelined() {
    # The 500 connections arrive faster than the server accepts them: they must fit in the
    # listen backlog, which the system caps (Linux: net.core.somaxconn, 4096 since 5.4).
    local cap
    cap=$(cat /proc/sys/net/core/somaxconn 2>/dev/null || sysctl -n kern.ipc.somaxconn 2>/dev/null) || true
    if [ -n "$cap" ] && [ "$cap" -lt 512 ]; then
        skip "the system caps the listen backlog at $cap (somaxconn); 500 waiting clients need 512"
    fi
    start_server "$@" -q
    run bounded 120 "$(rude_client_path)" burst -p "$SERVER_PORT" -c 500 -l 20 -T 90
    echo "$output"
    [ "$status" -eq 0 ]
    is "connections=500 lines=10000" "$output"
    is_running "$SERVER_PID"
}

@test "02-forking: 500 concurrent clients x 20 lines, every reply right" {
    five_hundred_clients_closed_loop 02-forking
}

@test "02-forking: 500 concurrent clients pipelining 20 lines each, replies in order" {
    five_hundred_clients_pipelined 02-forking
}

@test "03-threading: 500 concurrent clients x 20 lines, every reply right" {
    five_hundred_clients_closed_loop 03-threading
}

@test "03-threading: 500 concurrent clients pipelining 20 lines each, replies in order" {
    five_hundred_clients_pipelined 03-threading
}

@test "04-combined: 500 concurrent clients x 20 lines, every reply right" {
    five_hundred_clients_closed_loop 04-combined
}

@test "04-combined: 500 concurrent clients pipelining 20 lines each, replies in order" {
    five_hundred_clients_pipelined 04-combined
}

# ---------------------------------------------------------------------------------------------
# A flood of idle connections against a small pool

# Eight connections that never send a byte, against a server that serves two at a time with a
# 1 s idle timeout; then a real client. The timeout must free the slots two by two (the rest
# wait in the backlog), and the client, queued behind them, must then be served.
idle_flood() {
    start_server "$@" -i 1
    local conns=() conn i
    for ((i = 0; i < 8; i++)); do
        open_connection conn
        conns+=("$conn")
    done
    start_client fresh "$1" -p "$SERVER_PORT" -c 1
    for conn in "${conns[@]}"; do
        expect_eof "$conn" 20
    done
    finish_client fresh 20
    echo "$output"
    echo "$stderr"
    [ "$status" -eq 0 ]
    [[ ${lines[2]} == *"received: "*": Hello echo server!" ]]
    is 8 "$(count_in "$SERVER_ERR" 'idle for 1 s; closing the connection$')" "idle timeouts logged"
    is_running "$SERVER_PID"
}

@test "03-threading: a flood of idle connections with -m 2: the idle timeout frees them, a fresh client is served" {
    idle_flood 03-threading -m 2
}

@test "04-combined: a flood of idle connections with a pool of 2: the idle timeout frees them, a fresh client is served" {
    idle_flood 04-combined -w 1 -t 2
}

# ---------------------------------------------------------------------------------------------
# Out of descriptors: ulimit -n 32 and 100 clients

# The server may hold 32 descriptors; 100 clients connect and stay. Once it has no descriptor
# left, accept fails with EMFILE while the listening socket stays readable: a server that just
# loops would burn a whole CPU. It must back off (using little CPU), stay up, and serve again
# once descriptors are free.
out_of_descriptors() {
    [ -r /proc/self/stat ] || skip "measuring CPU time needs Linux's /proc"
    start_server_with_fd_limit 32 "$@" -q -i 30
    local fifo=$BATS_TEST_TMPDIR/hold.in
    mkfifo "$fifo"
    # Not start_tracked: opening the FIFO for reading waits for a writer, so it must happen in
    # the background process, not in this shell before the call.
    (close_held_fds; exec "$ROOT/tests/bench/loadgen" -p "$SERVER_PORT" -H 100 -T 3) \
        <"$fifo" >"$BATS_TEST_TMPDIR/hold.out" 2>"$BATS_TEST_TMPDIR/hold.err" 3>&- &
    local holder=$!
    TRACKED_PIDS+=("$holder")
    local hold
    exec {hold}>"$fifo"
    HELD_FDS+=("$hold")
    # loadgen says how many of its 100 were answered after 3 s: those the server had room for.
    wait_until 15 grep -q '^held=' "$BATS_TEST_TMPDIR/hold.out"
    output=$(cat "$BATS_TEST_TMPDIR/hold.out")
    echo "$output"
    local served
    served=$(value served)
    # Fewer than 100 served: the server did run out of descriptors (else this tests nothing).
    [ "$served" -lt 100 ]
    local reason
    reason=$(strerror_text EMFILE)
    wait_until 5 grep -qF "accept: $reason" "$SERVER_ERR"

    # Two seconds out of descriptors, with 100 - served clients waiting: the CPU it used.
    local before after used limit
    before=$(server_cpu_ticks)
    sleep 2
    after=$(server_cpu_ticks)
    used=$((after - before))
    limit=$(($(clock_ticks) / 2)) # a quarter of one CPU over the two seconds
    echo "CPU used while out of descriptors: $used ticks in 2 s (limit $limit)"
    [ "$used" -le "$limit" ]
    is_running "$SERVER_PID"
    # Said once, then at most once a second with a count: not ten lines a second (04 runs one
    # worker here, so one process reports).
    local said again
    said=$(count_in "$SERVER_ERR" '^server: accept: ')
    again=$(count_in "$SERVER_ERR" '^server: accept: .* \([0-9]+ more times since the last report\)$')
    echo "accept failures reported on $said lines, $again of them with a count"
    [ "$again" -ge 1 ]
    [ "$said" -le 6 ]

    # Free the descriptors: the holder closes its 100 connections.
    close_connection "$hold"
    wait_until 10 has_exited "$holder"

    # Serving again: 100 clients, 2 lines each, every reply right.
    run bounded 60 "$ROOT/tests/bench/loadgen" -p "$SERVER_PORT" -c 100 -n 1 -l 2 -T 30
    echo "$output"
    [ "$status" -eq 0 ]
    is 100 "$(value connections)" "connections served after the descriptors came back"
}

@test "03-threading: under ulimit -n 32, 100 clients: EMFILE neither spins nor stops the server, which serves again" {
    out_of_descriptors 03-threading -m 100
}

@test "04-combined: under ulimit -n 32, 100 clients: EMFILE neither spins nor stops the server, which serves again" {
    out_of_descriptors 04-combined -w 1 -t 64
}

# ---------------------------------------------------------------------------------------------
# Rude clients, every stage

# Half a line, then the client closes without reading (so the server's reply to that final line
# meets a closed socket); half a line, then a reset. Neither may stop the server or disturb the
# next client.
half_lines_and_resets() {
    start_server "$1"
    local conn
    open_connection conn
    send "$conn" 'half a li'
    close_connection "$conn"
    printf 'half a li' | talk -R
    open_connection conn
    send "$conn" 'a whole line\nand half'
    close_connection "$conn"
    run_client "$1" -p "$SERVER_PORT" -c 2
    echo "$output"
    echo "$stderr"
    [ "$status" -eq 0 ]
    is_running "$SERVER_PID"
    stop_server
    is 0 "$SERVER_STATUS" "exit status after SIGTERM"
}

@test "01-blocking: clients that send half a line and vanish, or reset mid-line, do not disturb the server" {
    half_lines_and_resets 01-blocking
}

@test "02-forking: clients that send half a line and vanish, or reset mid-line, do not disturb the server" {
    half_lines_and_resets 02-forking
}

@test "03-threading: clients that send half a line and vanish, or reset mid-line, do not disturb the server" {
    half_lines_and_resets 03-threading
}

@test "04-combined: clients that send half a line and vanish, or reset mid-line, do not disturb the server" {
    half_lines_and_resets 04-combined
}

# A client that sends and sends but never reads: the server's replies fill every buffer and
# its write blocks. That must hold up this one connection only (in 01, which serves one client
# at a time, everyone waits: that is its lesson), and the idle timeout must end it.
never_reading() {
    local stage=$1 idle=4
    shift
    start_server "$stage" -q -i "$idle" "$@"
    local out=$BATS_TEST_TMPDIR/noread.out
    start_tracked "$(rude_client_path)" noread -p "$SERVER_PORT" -T 30 \
        >"$out" 2>"$BATS_TEST_TMPDIR/noread.err"
    local rude=$TRACKED_PID
    wait_until 20 grep -q '^blocked after' "$out"
    cat "$out"
    local start
    start=$(now_ms)
    run_client "$stage" -p "$SERVER_PORT" -c 1
    local took=$(($(now_ms) - start))
    echo "$output"
    echo "another client took $took ms"
    [ "$status" -eq 0 ]
    if [ "$stage" = 01-blocking ]; then
        # Served only once the idle timeout has ended the stuck connection.
        grep -q '^closed after' "$out"
    else
        # Served at once, while the stuck connection is still stuck.
        [ "$took" -lt $((idle * 1000 / 2)) ]
        if grep -q '^closed after' "$out"; then
            echo "the stuck connection was closed before the other client was served" >&2
            false
        fi
    fi
    wait_until 20 has_exited "$rude"
    wait "$rude"
    cat "$out"
    grep -q '^closed after' "$out"
    local reason
    reason=$(strerror_text ETIMEDOUT)
    grep -qF "cannot send reply: $reason" "$SERVER_ERR"
    is_running "$SERVER_PID"
}

@test "01-blocking: a client that never reads is ended by the idle timeout; the next client is then served" {
    never_reading 01-blocking
}

@test "02-forking: a client that never reads blocks only its own connection, until the idle timeout" {
    never_reading 02-forking
}

@test "03-threading: a client that never reads blocks only its own connection, until the idle timeout" {
    never_reading 03-threading
}

@test "04-combined: a client that never reads blocks only its own connection, until the idle timeout" {
    never_reading 04-combined -w 1 -t 2
}

# ---------------------------------------------------------------------------------------------
# 04-combined: killing processes

@test "04-combined: SIGKILL a worker under load: the supervisor starts a new one, and clients are served" {
    start_server 04-combined -q -w 2 -t 4
    wait_for_workers 2
    local workers victim
    mapfile -t workers < <(announced_workers)
    victim=${workers[0]}
    # Load while the worker dies: some of its connections die with it, so this run may fail.
    start_tracked "$ROOT/tests/bench/loadgen" -p "$SERVER_PORT" -c 16 -d 2 -l 5 -T 10 >/dev/null 2>&1
    local load=$TRACKED_PID
    kill -KILL "$victim"
    wait_until 5 server_printed "Server worker PID $victim was killed by signal 9; starting a new one"
    wait_for_workers 3
    wait_until 15 has_exited "$load"
    wait "$load" || true
    mapfile -t workers < <(announced_workers)
    is_running "${workers[1]}"
    is_running "${workers[2]}"
    has_exited "$victim"
    # After the load: every client served, by the two workers alive.
    run bounded 60 "$ROOT/tests/bench/loadgen" -p "$SERVER_PORT" -c 16 -n 20 -l 5 -T 30
    echo "$output"
    [ "$status" -eq 0 ]
    is 320 "$(value connections)" "connections served after the kill"
    is_running "$SERVER_PID"
}

@test "04-combined: SIGKILL the supervisor under load: every worker exits too" {
    start_server 04-combined -q -w 3 -t 2
    wait_for_workers 3
    local workers
    mapfile -t workers < <(announced_workers)
    # A connection in the middle of a line, and load, so that workers are busy when it happens.
    local conn
    open_connection conn
    send "$conn" 'half a li'
    start_tracked "$ROOT/tests/bench/loadgen" -p "$SERVER_PORT" -c 8 -d 5 -l 5 -T 10 >/dev/null 2>&1
    local load=$TRACKED_PID
    kill -KILL "$SERVER_PID"
    wait_until 5 has_exited "$SERVER_PID"
    # The workers see the stop pipe's end of file and stop, within the contract's 5 seconds.
    if ! wait_until 5 all_exited "${workers[@]}"; then
        ps -o pid,ppid,stat,args -p "$(IFS=,; echo "${workers[*]}")" >&2 || true
        false
    fi
    expect_eof "$conn" 5
}
