#!/usr/bin/env bats
# 03-threading: a thread per connection. Every connection is served by a new thread of the one
# server process, and its replies are tagged Thread-N, N counting the connections accepted from
# 1; at most -m handler threads run at once. The contract is docs/contract.md;
# helper.bash and pool_helper.bash say what the helpers do, contract_cases.bash what the cases
# shared with the other stages check.

bats_require_minimum_version 1.5.0

load helper
load pool_helper
load contract_cases

STAGE=03-threading # built before the first test by contract_cases.bash's setup_file

# Who may answer here: a thread of the server, Thread-N with N counted from 1.
check_tag() {
    if ! [[ $1 =~ ^Thread-[1-9][0-9]*$ ]]; then
        echo "the tag '$1' is not Thread-N" >&2
        return 1
    fi
}

# The server is one process: no child, not even a zombie.
expect_no_children() {
    local children
    children=$(server_children)
    [ -z "$children" ] || { echo "the server has children: $children" >&2; return 1; }
}

# ---------------------------------------------------------------------------------------------
# The client's output and the echo

@test "03: one client prints its three lines for the default message, answered by Thread-1" {
    start_server "$STAGE"
    one_client_prints_its_three_lines -c 1
    is Thread-1 "$TAG"
}

@test "03: the client runs 3 clients by default, one after another: Thread-1, Thread-2, Thread-3" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${#lines[@]}" -eq 9 ]
    expect_blocks 3 'Hello echo server!'
    is "Thread-1 Thread-2 Thread-3" "${BLOCK_TAGS[*]}" "the clients' tags"
}

@test "03: a custom message is sent as its bytes plus the newline and echoed whole" {
    start_server "$STAGE"
    custom_message_is_sent_with_its_newline_and_echoed_whole
}

@test "03: 'Sent: N bytes' counts bytes, not characters: 'héllo wörld' is 13 bytes and the newline" {
    start_server "$STAGE"
    sent_counts_bytes_not_characters -c 1
    is Thread-1 "$TAG"
}

@test "03: -c 3 runs three clients, three lines each" {
    start_server "$STAGE"
    three_clients_print_three_lines_each
}

@test "03: a client message of exactly 1024 bytes is echoed" {
    start_server "$STAGE"
    client_message_of_1024_bytes_is_echoed -c 1
}

# ---------------------------------------------------------------------------------------------
# The client: clients at once (-j), slow clients (-d), the summary line

@test "03: -c 6 -j 3: six whole blocks, then 'Clients served: 6 in S.SS s (TAG: COUNT, ...)', tags as first seen: six threads" {
    start_server "$STAGE"
    clients_at_once_print_whole_blocks_and_the_summary
    is "Thread-1 Thread-2 Thread-3 Thread-4 Thread-5 Thread-6" \
        "$(printf '%s\n' "${BLOCK_TAGS[@]}" | sort -t- -k2n | tr '\n' ' ' | sed 's/ $//')" "the threads"
}

@test "03: -c 2 -j 1 -d 0.3: the clients in turn, each 0.3 s slow to close; the summary counts at least 0.60 s" {
    start_server "$STAGE"
    slow_clients_in_turn_print_the_summary
}

@test "03: -c 3 -j 1 -d 0: the blog post's lines alone, no summary" {
    start_server "$STAGE"
    one_job_without_delay_prints_no_summary
}

# ---------------------------------------------------------------------------------------------
# The server's output

@test "03: the banner names 127.0.0.1, the kernel's port and the server's PID, before any client" {
    start_server "$STAGE"
    banner_names_address_port_and_pid
}

@test "03: -p PORT listens on that port and the banner says so" {
    p_port_is_listened_on_and_named_in_the_banner -c 1
}

@test "03: -a ::1 listens on the IPv6 loopback; the banner shows [::1]:PORT" {
    ipv6_loopback_is_listened_on_and_bracketed_in_the_banner -c 1
}

@test "03: -a 0.0.0.0 listens on every IPv4 interface, 127.0.0.1 included" {
    every_ipv4_interface_is_listened_on
}

@test "03: every line is logged as 'Server sending response [Thread-N: LINE]', in order" {
    start_server "$STAGE"
    every_line_is_logged_in_order
    is Thread-1 "$TAG"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    wait_until 5 server_has_lines 6
    read_server_output
    [ "${#server_lines[@]}" -eq 6 ]
    is "Server sending response [Thread-2: Hello echo server!]" "${server_lines[5]}"
}

@test "03: -q answers every line but logs none" {
    start_server "$STAGE" -q
    quiet_server_answers_but_logs_nothing -c 2
}

@test "03: stdout into a file is line-buffered: a log line is there while the server runs" {
    start_server "$STAGE"
    log_is_line_buffered -c 1
}

@test "03: the log lines of concurrent connections (threads of one process) never mix within a line" {
    start_server "$STAGE"
    concurrent_log_lines_never_mix 6
    # Six connections, six threads: Thread-1 to Thread-6 in some order.
    is "$(printf 'Thread-%d\n' 1 2 3 4 5 6)" "$(printf '%s\n' "${CONNECTION_TAGS[@]}" | sort)" \
        "the tags"
}

# ---------------------------------------------------------------------------------------------
# The model: a thread per connection, in one process

@test "03: successive connections are served by Thread-1, Thread-2, ... Thread-6" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT" -c 5
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 15 ]
    expect_blocks 5 'Hello echo server!'
    is "Thread-1 Thread-2 Thread-3 Thread-4 Thread-5" "${BLOCK_TAGS[*]}" "the clients' tags"
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
    second_client_is_served_while_the_first_holds_its_connection -c 1
    is Thread-1 "$FIRST_TAG"
    is Thread-2 "$SECOND_TAG"
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
    at_most_40_at_once_the_41st_waits has_threads "$SERVER_PID" $((base + 40))
    is "$(printf 'Thread-%d\n' {1..40})" "$(printf '%s\n' "${HELD_TAGS[@]}")" "the tags of the 40"
    is Thread-41 "$TAG"
    expect_no_children
}

@test "03: -c 2 -j 2 -d 10: two slow clients are served at once, by two threads of one process, before either closes" {
    start_server "$STAGE"
    two_slow_clients_are_served_at_once
    [[ ${LESSON_TAGS[0]} == Thread-* && ${LESSON_TAGS[1]} == Thread-* ]]
    has_no_children
}

# ---------------------------------------------------------------------------------------------
# The wire protocol

@test "03: a line of exactly 1024 bytes is echoed whole" {
    start_server "$STAGE"
    line_of_1024_bytes_is_echoed_whole
}

@test "03: a line of 1025 bytes gets exactly the error line, and nothing for the lines after it" {
    start_server "$STAGE"
    line_of_1025_bytes_gets_the_error_and_nothing_after
    is Thread-1 "$TAG"
}

@test "03: a last line of 1025 bytes without a newline gets the error line too" {
    start_server "$STAGE"
    last_line_of_1025_bytes_gets_the_error_too
}

@test "03: after an over-long line the server closes that connection itself, then serves the next client" {
    start_server "$STAGE"
    over_long_line_ends_its_connection_then_the_next_client_is_served -c 1
    is Thread-2 "$TAG"
}

@test "03: an over-long line closes only its own connection: concurrent ones in the same process go on" {
    start_server "$STAGE"
    local idle
    open_connection idle # Thread-1, silent until the over-long line has come and gone
    over_long_line_ends_only_its_own_connection
    is Thread-2 "$KEEP_TAG"
    exchange "$idle" 'not idle any more'
    is Thread-1 "$TAG"
    is_running "$SERVER_PID"
}

@test "03: NUL and every other byte but the newline are echoed exactly" {
    start_server "$STAGE"
    every_byte_but_the_newline_is_echoed_exactly
    is Thread-1 "$TAG"
}

@test "03: a line sent in pieces gets one reply, once it is complete" {
    start_server "$STAGE"
    line_in_pieces_gets_one_reply_once_complete
    is Thread-1 "$TAG"
}

@test "03: many lines in one write get one reply each, in order" {
    start_server "$STAGE"
    many_lines_in_one_write_get_one_reply_each
    is Thread-1 "$TAG"
}

@test "03: a few lines in one short write on a held connection are answered in order" {
    start_server "$STAGE"
    local conn
    open_connection conn
    send "$conn" 'one\ntwo\nthree\n' # one write(2)
    expect_replies_on "$conn" Thread-1 one two three
}

@test "03: a last line without a newline before EOF is answered" {
    start_server "$STAGE"
    last_line_without_a_newline_is_answered
}

@test "03: an empty line gets the reply 'TAG: '" {
    start_server "$STAGE"
    empty_line_gets_the_reply_tag_colon_space
}

@test "03: a client that resets its connection in the middle of a line does not stop the server" {
    start_server "$STAGE"
    reset_in_the_middle_of_a_line_leaves_the_others_served -c 1
    is Thread-3 "${BLOCK_TAGS[0]}"
    is Thread-1 "$KEEP_TAG"
}

@test "03: a client that resets without reading its replies does not stop the server" {
    start_server "$STAGE"
    resets_before_reading_the_replies_do_not_stop_the_server -c 1
    is Thread-4 "$TAG"
}

@test "03: a client that closes without reading its replies does not stop the server; SIGPIPE is ignored" {
    start_server "$STAGE"
    closing_before_reading_the_replies_does_not_stop_the_server -c 1
    is Thread-1 "$KEEP_TAG"
    local round text='line 2, whose reply is written to a connection that is closed'
    for round in 2 3 4; do # the three connections that closed
        server_printed "Server sending response [Thread-$round: $text]"
    done
    is Thread-5 "${BLOCK_TAGS[0]}"
    is_running "$SERVER_PID"
}

@test "03: -i 1 closes idle connections after about a second, silent or not, and ends their threads" {
    start_server "$STAGE" -i 1
    local base
    base=$(thread_count "$SERVER_PID")
    idle_connections_close_after_about_a_second
    wait_until 5 has_threads "$SERVER_PID" "$base"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
    expect_client_lines 0 'Hello echo server!'
}

@test "03: -i 0 is accepted and leaves an idle connection open" {
    start_server "$STAGE" -i 0
    idle_connection_stays_open
}

@test "03: a connection that keeps sending within the idle timeout stays open" {
    start_server "$STAGE" -i 2
    connection_that_keeps_sending_stays_open
}

# ---------------------------------------------------------------------------------------------
# Signals

# Hold three connections, a thread for each, and stop the server with SIGNAL
# (stops_though_clients_hold_connections); the server has no child.
stop_with_connections_held() {
    start_server "$STAGE"
    local base
    base=$(thread_count "$SERVER_PID")
    stops_though_clients_hold_connections "$1" has_threads "$SERVER_PID" $((base + 3))
    [ "${#STOP_CHILDREN[@]}" -eq 0 ] || {
        echo "the server had children: ${STOP_CHILDREN[*]}" >&2
        return 1
    }
}

@test "03: SIGTERM: exit 0 within 5 s though clients hold connections; 'Server shutting down' last" {
    stop_with_connections_held TERM
}

@test "03: SIGINT: exit 0 within 5 s though clients hold connections; 'Server shutting down' last" {
    stop_with_connections_held INT
}

@test "03: SIGTERM with no client: exit 0, banner then 'Server shutting down'" {
    start_server "$STAGE"
    sigterm_with_no_client_ends_the_output_with_the_goodbye
}

@test "03: SIGTERM at the -m cap, with a client waiting in the backlog: exit 0 within 5 s" {
    start_server "$STAGE" -m 1
    sigterm_with_a_client_in_the_backlog_stops_the_server 1
}

@test "03: complete lines sent just before SIGTERM are answered" {
    start_server "$STAGE"
    complete_lines_sent_just_before_sigterm_are_answered
    is Thread-1 "$TAG"
}

@test "03: complete lines sent just before SIGTERM are answered on every held connection" {
    start_server "$STAGE"
    complete_lines_sent_just_before_sigterm_are_answered_on_every_connection 3
    is "Thread-1 Thread-2 Thread-3" "${HELD_TAGS[*]}" "the held connections' tags"
}

@test "03: lines that arrived while the server was frozen are answered, though the stop comes with them" {
    # SIGSTOP freezes every thread; the lines and SIGTERM arrive meanwhile. At SIGCONT each
    # handler thread finds its line and the stop request together: the stop wins, and the server
    # must still answer every complete line it has received.
    start_server "$STAGE"
    lines_that_arrive_while_frozen_are_answered_though_the_stop_comes_too 6 "$SERVER_PID"
    is "Thread-1 Thread-2 Thread-3 Thread-4 Thread-5 Thread-6" "${HELD_TAGS[*]}" \
        "the held connections' tags"
}

# ---------------------------------------------------------------------------------------------
# Bad usage and failures

@test "03: -h prints the usage, -m MAX and its default 40 included, on stdout and exits 0" {
    h_prints_the_usage_on_stdout_and_exits_0
    [[ ${lines[0]} == *"[-m MAX]"* ]]
    [[ $output == *"-m MAX"*"(default 40;"* ]]
}

@test "03: an unknown option is bad usage (exit 2)" {
    unknown_options_are_bad_usage -w -t
}

@test "03: an option without its value is bad usage (exit 2)" {
    options_without_their_value_are_bad_usage -m
}

@test "03: an extra argument is bad usage (exit 2)" {
    extra_arguments_are_bad_usage
}

@test "03: after bad usage, the usage still gives -m's default (40), whatever -m came before" {
    expect_usage_error "$STAGE" -m 5 -x
    [[ $stderr == *"-m MAX "*"(default 40;"* ]]
}

@test "03: a port outside 0-65535 or not a whole number is bad usage (exit 2)" {
    ports_outside_0_to_65535_are_bad_usage
}

@test "03: a negative or non-numeric idle timeout is bad usage (exit 2)" {
    bad_idle_timeouts_are_bad_usage
}

@test "03: -m below 1 or not a whole number is bad usage (exit 2)" {
    counts_below_1_are_bad_usage -m
}

@test "03: a port in use: 'server: cannot listen on 127.0.0.1:PORT: REASON' (the C library's text for EADDRINUSE), exit 1" {
    start_server "$STAGE"
    port_in_use_is_refused_with_exit_1 -c 1
}

@test "03: a bad address: 'server: cannot listen on 999.1.1.1:...', exit 1" {
    bad_address_is_refused_with_exit_1
}

@test "03: client without -p: the usage on stderr, exit 2" {
    client_without_p_prints_its_usage_and_exits_2
}

@test "03: client to a port nobody listens on: 'client: cannot connect to 127.0.0.1:PORT: REASON' (the C library's text for ECONNREFUSED), exit 1" {
    client_to_a_port_nobody_listens_on_is_refused_with_exit_1
}

@test "03: client with a message longer than 1024 bytes: exit 1 with a one-line reason" {
    start_server "$STAGE"
    client_refuses_a_message_over_1024_bytes -c 1
}

@test "03: client -h: the usage on stdout, -j and -d included, with this stage's defaults -c 3 -j 1" {
    client_h_shows_every_option 3 1
}

@test "03: client -j or -d with a bad value, or none: the reason then the usage on stderr, exit 2" {
    bad_jobs_and_delays_are_bad_usage
}

@test "03: client -d takes 0 to 3600 s with up to 3 decimals, -j 1 to 1000" {
    every_delay_and_job_count_in_range_is_taken
}

@test "03: clients at once to a port nobody listens on: one-line reasons, no summary, exit 1" {
    clients_at_once_to_a_port_nobody_listens_on_print_no_summary
}
