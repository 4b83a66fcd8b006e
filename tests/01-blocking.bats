#!/usr/bin/env bats
# 01-blocking: the iterative server. One process serves one client at a time, and every reply
# is tagged with the server's own PID. The contract is docs/contract.md; helper.bash
# says what the helpers do, contract_cases.bash what the cases shared with the other stages check.

bats_require_minimum_version 1.5.0

load helper
load contract_cases

STAGE=01-blocking # built before the first test by contract_cases.bash's setup_file

# Who may answer here: the server itself, always.
check_tag() {
    is "$SERVER_PID" "$1" "the tag (the server's PID)"
}

# ---------------------------------------------------------------------------------------------
# The client's output and the echo

@test "01: one client prints its three lines for the default message, answered by the server's PID" {
    start_server "$STAGE"
    one_client_prints_its_three_lines -c 1
}

@test "01: the client runs 2 clients by default, one after another" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 6 ]
    expect_blocks 2 'Hello echo server!' # check_tag: the server's PID
}

@test "01: a custom message is sent as its bytes plus the newline and echoed whole" {
    start_server "$STAGE"
    custom_message_is_sent_with_its_newline_and_echoed_whole
}

@test "01: -c 3 runs three clients, three lines each" {
    start_server "$STAGE"
    three_clients_print_three_lines_each
}

@test "01: a client message of exactly 1024 bytes is echoed" {
    start_server "$STAGE"
    client_message_of_1024_bytes_is_echoed -c 1
}

# ---------------------------------------------------------------------------------------------
# The client: clients at once (-j), slow clients (-d), the summary line

@test "01: -c 6 -j 3: six whole blocks, then 'Clients served: 6 in S.SS s (TAG: COUNT, ...)', tags as first seen: all the server's PID" {
    start_server "$STAGE"
    clients_at_once_print_whole_blocks_and_the_summary
    [[ ${lines[18]} =~ ^Clients\ served:\ 6\ in\ [0-9]+\.[0-9]{2}\ s\ \($SERVER_PID:\ 6\)$ ]]
}

@test "01: -c 2 -j 1 -d 0.3: the clients in turn, each 0.3 s slow to close; the summary counts at least 0.60 s" {
    start_server "$STAGE"
    slow_clients_in_turn_print_the_summary
}

@test "01: -c 3 -j 1 -d 0: the blog post's lines alone, no summary" {
    start_server "$STAGE"
    one_job_without_delay_prints_no_summary
}

# ---------------------------------------------------------------------------------------------
# The server's output

@test "01: the banner names 127.0.0.1, the kernel's port and the server's PID, before any client" {
    start_server "$STAGE"
    banner_names_address_port_and_pid
}

@test "01: -p PORT listens on that port and the banner says so" {
    p_port_is_listened_on_and_named_in_the_banner -c 1
}

@test "01: -a ::1 listens on the IPv6 loopback; the banner shows [::1]:PORT" {
    ipv6_loopback_is_listened_on_and_bracketed_in_the_banner -c 1
}

@test "01: -a 0.0.0.0 listens on every IPv4 interface, 127.0.0.1 included" {
    every_ipv4_interface_is_listened_on
}

@test "01: every line is logged as 'Server sending response [TAG: LINE]', in order" {
    start_server "$STAGE"
    every_line_is_logged_in_order
}

@test "01: -q answers every line but logs none" {
    start_server "$STAGE" -q
    quiet_server_answers_but_logs_nothing -c 2
}

@test "01: stdout into a file is line-buffered: a log line is there while the server runs" {
    start_server "$STAGE"
    log_is_line_buffered -c 1
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
    local first
    open_connection first
    exchange "$first" first

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

@test "01: -c 2 -j 2 -d 1: two slow clients at once take at least 2 s: the second waits for the first to close" {
    start_server "$STAGE"
    local start elapsed
    start=$(now_ms)
    run_client "$STAGE" -p "$SERVER_PORT" -c 2 -j 2 -d 1
    elapsed=$(($(now_ms) - start))
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${#lines[@]}" -eq 7 ]
    expect_blocks 2 'Hello echo server!'
    expect_summary "${lines[6]}"
    [[ ${lines[6]} == *" s ($SERVER_PID: 2)" ]]
    ((SUMMARY_HUNDREDTHS >= 200)) || { echo "the summary counts $SUMMARY_HUNDREDTHS hundredths" >&2; false; }
    ((elapsed >= 2000)) || { echo "the client took $elapsed ms" >&2; false; }
}

@test "01: a slow client (-d 5) holds the server after its reply: the next connection is answered once it closes" {
    start_server "$STAGE"
    start_client slow "$STAGE" -p "$SERVER_PORT" -c 1 -d 5 slow
    wait_until 5 client_printed slow "^PID [0-9]+ received: $SERVER_PID: slow\$"
    local other
    open_connection other
    send "$other" 'other\n'
    expect_no_reply "$other" 1 # the slow client has its reply and is still connected
    finish_client slow 15
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 4 ]
    expect_blocks 1 slow
    expect_summary "${lines[3]}"
    ((SUMMARY_HUNDREDTHS >= 500))
    expect_reply_on "$other" other 5
}

# ---------------------------------------------------------------------------------------------
# The wire protocol

@test "01: a line of exactly 1024 bytes is echoed whole" {
    start_server "$STAGE"
    line_of_1024_bytes_is_echoed_whole
}

@test "01: a line of 1025 bytes gets exactly the error line, and nothing for the lines after it" {
    start_server "$STAGE"
    line_of_1025_bytes_gets_the_error_and_nothing_after
}

@test "01: a last line of 1025 bytes without a newline gets the error line too" {
    start_server "$STAGE"
    last_line_of_1025_bytes_gets_the_error_too
}

@test "01: after an over-long line the server closes the connection itself, then serves the next client" {
    start_server "$STAGE"
    over_long_line_ends_its_connection_then_the_next_client_is_served -c 1
}

@test "01: NUL and every other byte but the newline are echoed exactly" {
    start_server "$STAGE"
    every_byte_but_the_newline_is_echoed_exactly
}

@test "01: a line sent in pieces gets one reply, once it is complete" {
    start_server "$STAGE"
    line_in_pieces_gets_one_reply_once_complete
}

@test "01: many lines in one write get one reply each, in order" {
    start_server "$STAGE"
    many_lines_in_one_write_get_one_reply_each
}

@test "01: a last line without a newline before EOF is answered" {
    start_server "$STAGE"
    last_line_without_a_newline_is_answered
}

@test "01: an empty line gets the reply 'TAG: '" {
    start_server "$STAGE"
    empty_line_gets_the_reply_tag_colon_space
}

@test "01: a client that resets its connection in the middle of a line does not stop the server" {
    start_server "$STAGE"
    reset_in_the_middle_of_a_line_does_not_stop_the_server -c 1
}

@test "01: a client that leaves without reading its replies does not stop the server (SIGPIPE)" {
    start_server "$STAGE"
    leaving_without_reading_the_replies_does_not_stop_the_server -c 1
}

# The server closes the held connection FD within 5 s, and not before half a second has passed.
expect_idle_close() {
    local start elapsed
    start=$(now_ms)
    expect_eof "$1" 5
    elapsed=$(($(now_ms) - start))
    ((elapsed >= 500 && elapsed <= 5000))
}

@test "01: -i 1 closes an idle connection after about a second, silent or not" {
    start_server "$STAGE" -i 1
    local silent chatty
    open_connection silent
    expect_idle_close "$silent"
    open_connection chatty
    exchange "$chatty" hi
    expect_idle_close "$chatty"
}

@test "01: -i 0 is accepted and leaves an idle connection open" {
    start_server "$STAGE" -i 0
    idle_connection_stays_open
}

@test "01: a connection that keeps sending within the idle timeout stays open" {
    start_server "$STAGE" -i 2
    connection_that_keeps_sending_stays_open
}

# ---------------------------------------------------------------------------------------------
# Signals

@test "01: SIGTERM: exit 0 within 5 s though a client holds its connection; 'Server shutting down' last" {
    start_server "$STAGE"
    local conn
    open_connection conn
    exchange "$conn" hello
    send "$conn" 'half a line' # and never the rest
    expect_clean_stop TERM
    [ "${#server_lines[@]}" -eq 3 ] # banner, one log line, the goodbye
}

@test "01: SIGINT: exit 0 within 5 s though a client holds its connection; 'Server shutting down' last" {
    start_server "$STAGE"
    local conn
    open_connection conn
    exchange "$conn" hello
    expect_clean_stop INT
}

@test "01: SIGTERM with no client: exit 0, banner then 'Server shutting down'" {
    start_server "$STAGE"
    sigterm_with_no_client_ends_the_output_with_the_goodbye
}

@test "01: complete lines sent just before SIGTERM are answered" {
    start_server "$STAGE"
    complete_lines_sent_just_before_sigterm_are_answered
}

@test "01: lines that arrived before SIGTERM are answered even when the server sees the stop first" {
    start_server "$STAGE"
    local conn
    open_connection conn
    exchange "$conn" first
    # Frozen, the server cannot read the lines before the stop request is there too.
    kill -STOP "$SERVER_PID"
    send "$conn" 'arrived\nbefore the stop\n'
    kill -TERM "$SERVER_PID"
    kill -CONT "$SERVER_PID"
    expect_replies_on "$conn" "$SERVER_PID" arrived 'before the stop'
    expect_clean_stop TERM
}

# ---------------------------------------------------------------------------------------------
# Bad usage and failures

@test "01: -h prints the usage on stdout and exits 0" {
    h_prints_the_usage_on_stdout_and_exits_0
    is "usage: server [-a ADDRESS] [-p PORT] [-i SECONDS] [-q] [-h]" "${lines[0]}"
}

@test "01: an unknown option is bad usage (exit 2), -m included: 01 has no children" {
    unknown_options_are_bad_usage -m
}

@test "01: an option without its value is bad usage (exit 2)" {
    options_without_their_value_are_bad_usage
}

@test "01: an extra argument is bad usage (exit 2)" {
    extra_arguments_are_bad_usage
}

@test "01: a port outside 0-65535 or not a whole number is bad usage (exit 2)" {
    ports_outside_0_to_65535_are_bad_usage
}

@test "01: a negative or non-numeric idle timeout is bad usage (exit 2)" {
    bad_idle_timeouts_are_bad_usage
}

@test "01: a port in use: 'server: cannot listen on 127.0.0.1:PORT: REASON' (the C library's text for EADDRINUSE), exit 1" {
    start_server "$STAGE"
    port_in_use_is_refused_with_exit_1 -c 1
}

@test "01: a bad address: 'server: cannot listen on 999.1.1.1:...', exit 1" {
    bad_address_is_refused_with_exit_1
}

@test "01: client without -p: the usage on stderr, exit 2" {
    client_without_p_prints_its_usage_and_exits_2
}

@test "01: client to a port nobody listens on: 'client: cannot connect to 127.0.0.1:PORT: REASON' (the C library's text for ECONNREFUSED), exit 1" {
    client_to_a_port_nobody_listens_on_is_refused_with_exit_1
}

@test "01: client with a message longer than 1024 bytes: exit 1 with a one-line reason" {
    start_server "$STAGE"
    client_refuses_a_message_over_1024_bytes -c 1
}

@test "01: client -h: the usage on stdout, -j and -d included, with this stage's defaults -c 2 -j 1" {
    client_h_shows_every_option 2 1
}

@test "01: client -j or -d with a bad value, or none: the reason then the usage on stderr, exit 2" {
    bad_jobs_and_delays_are_bad_usage
}

@test "01: client -d takes 0 to 3600 s with up to 3 decimals, -j 1 to 1000" {
    every_delay_and_job_count_in_range_is_taken
}

@test "01: clients at once to a port nobody listens on: one-line reasons, no summary, exit 1" {
    clients_at_once_to_a_port_nobody_listens_on_print_no_summary
}

# ---------------------------------------------------------------------------------------------
# The build (common/stage.mk, the same for every stage)

# make in a copy of the stage, with none of the make variables this suite was run with: a plain
# make, unless the call gives some. Prints the programs it linked, one a line.
make_in_copy() {
    env -u CC -u CFLAGS -u LDFLAGS -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
        make --no-print-directory -C "$BATS_TEST_TMPDIR/tree/$STAGE" "$@" |
        sed -nE 's/.* -o (server|client) .*/\1/p'
}

@test "01: make given another CC or CFLAGS rebuilds server and client; a plain make keeps them" {
    local cc
    cc=$(servers_cc)
    mkdir -p "$BATS_TEST_TMPDIR/tree"
    cp -R "$ROOT/common" "$ROOT/$STAGE" "$BATS_TEST_TMPDIR/tree/"
    make_in_copy clean >/dev/null
    is $'server\nclient' "$(make_in_copy CC="$cc")" "linked by the first make"
    is "" "$(make_in_copy CC="$cc")" "linked by the same make again"
    # Another compiler (the same one, named another way), then other flags: all rebuilt.
    is $'server\nclient' "$(make_in_copy CC="env $cc")" "linked for another CC"
    is "env $cc" "$(head -n 1 "$BATS_TEST_TMPDIR/tree/$STAGE/.build-flags")" "the recorded compiler"
    is $'server\nclient' "$(make_in_copy CC="env $cc" CFLAGS='-O1 -g')" "linked for other CFLAGS"
    # A plain make, as the suites run one, keeps that build; a changed source rebuilds its program.
    is "" "$(make_in_copy)" "linked by a plain make"
    touch "$BATS_TEST_TMPDIR/tree/$STAGE/client.c"
    is "client" "$(make_in_copy CC="env $cc" CFLAGS='-O1 -g')" "linked after client.c changed"
}
