#!/usr/bin/env bats
# 02-forking: a child process per connection. Every connection is served, and its replies
# tagged, by a new child of the server; the server reaps its children and runs at most -m of
# them at once. The contract is docs/contract.md; helper.bash says what the helpers do,
# contract_cases.bash what the cases shared with the other stages check.

bats_require_minimum_version 1.5.0

load helper
load contract_cases

STAGE=02-forking # built before the first test by contract_cases.bash's setup_file

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

children_count() {
    server_children | wc -l | tr -d ' '
}

has_children() {
    [ "$(children_count)" -eq "$1" ]
}

# ---------------------------------------------------------------------------------------------
# The client's output and the echo

@test "02: one client prints its three lines for the default message, answered by a child's PID" {
    start_server "$STAGE"
    one_client_prints_its_three_lines -c 1
}

@test "02: the client runs 2 clients by default, answered by two different children" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 6 ]
    expect_blocks 2 'Hello echo server!'
    [ "${BLOCK_TAGS[0]}" != "${BLOCK_TAGS[1]}" ]
}

@test "02: a custom message is sent as its bytes plus the newline and echoed whole" {
    start_server "$STAGE"
    custom_message_is_sent_with_its_newline_and_echoed_whole
}

@test "02: -c 3 runs three clients, three lines each" {
    start_server "$STAGE"
    three_clients_print_three_lines_each
}

@test "02: a client message of exactly 1024 bytes is echoed" {
    start_server "$STAGE"
    client_message_of_1024_bytes_is_echoed -c 1
}

# ---------------------------------------------------------------------------------------------
# The client: clients at once (-j), slow clients (-d), the summary line

@test "02: -c 6 -j 3: six whole blocks, then 'Clients served: 6 in S.SS s (TAG: COUNT, ...)', tags as first seen: six children" {
    start_server "$STAGE"
    clients_at_once_print_whole_blocks_and_the_summary
    [ "$(printf '%s\n' "${BLOCK_TAGS[@]}" | sort -u | wc -l)" -eq 6 ] # a child each
}

@test "02: -c 2 -j 1 -d 0.3: the clients in turn, each 0.3 s slow to close; the summary counts at least 0.60 s" {
    start_server "$STAGE"
    slow_clients_in_turn_print_the_summary
}

@test "02: -c 3 -j 1 -d 0: the blog post's lines alone, no summary" {
    start_server "$STAGE"
    one_job_without_delay_prints_no_summary
}

# ---------------------------------------------------------------------------------------------
# The server's output

@test "02: the banner names 127.0.0.1, the kernel's port and the server's PID, before any client" {
    start_server "$STAGE"
    banner_names_address_port_and_pid
}

@test "02: -p PORT listens on that port and the banner says so" {
    p_port_is_listened_on_and_named_in_the_banner -c 1
}

@test "02: -a ::1 listens on the IPv6 loopback; the banner shows [::1]:PORT" {
    ipv6_loopback_is_listened_on_and_bracketed_in_the_banner -c 1
}

@test "02: -a 0.0.0.0 listens on every IPv4 interface, 127.0.0.1 included" {
    every_ipv4_interface_is_listened_on
}

@test "02: every line is logged as 'Server sending response [TAG: LINE]', in order, with the child's tag" {
    start_server "$STAGE"
    every_line_is_logged_in_order
}

@test "02: -q answers every line but logs none" {
    start_server "$STAGE" -q
    quiet_server_answers_but_logs_nothing -c 2
}

@test "02: stdout into a file is line-buffered: a log line is there while the server runs" {
    start_server "$STAGE"
    log_is_line_buffered -c 1
}

@test "02: the log lines of concurrent connections never mix within a line" {
    start_server "$STAGE"
    concurrent_log_lines_never_mix 6
}

# ---------------------------------------------------------------------------------------------
# The model: a child process per connection

@test "02: each connection is served by a new child PID, never the server's" {
    start_server "$STAGE"
    run_client "$STAGE" -p "$SERVER_PORT" -c 5
    [ "$status" -eq 0 ]
    expect_blocks 5 'Hello echo server!'
    [ "$(printf '%s\n' "${BLOCK_TAGS[@]}" | sort -u | wc -l)" -eq 5 ]
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
    second_client_is_served_while_the_first_holds_its_connection -c 1
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
    at_most_40_at_once_the_41st_waits has_children 40
}

# The number of memory mappings of a running process, from /proc (Linux).
mappings_of() {
    wc -l <"/proc/$1/maps" | tr -d ' '
}

# Can this machine link a C program statically? (Fedora needs glibc-static; macOS cannot.)
static_linking_works() {
    printf 'int main(void) { return 0; }\n' >"$BATS_TEST_TMPDIR/empty.c"
    "${CC:-cc}" -static -o "$BATS_TEST_TMPDIR/empty" "$BATS_TEST_TMPDIR/empty.c" 2>/dev/null
}

@test "02: make server-static links the same server statically: fewer mappings, no shared library, same replies" {
    [ "$(uname -s)" = Linux ] || skip "the mappings are read from /proc (Linux only)"
    [ -z "${CHECK_SANITIZER:-}" ] || skip "a $CHECK_SANITIZER-sanitized build cannot be linked statically"
    static_linking_works || skip "no static C library here (Debian: libc6-dev; Fedora: glibc-static)"
    run make -s -C "$ROOT/$STAGE" server-static
    is 0 "$status" "make server-static's exit status; its output: $output"

    start_server "$STAGE"
    local dynamic_mappings
    dynamic_mappings=$(mappings_of "$SERVER_PID")
    expect_clean_stop

    SERVER_BINARY="$ROOT/$STAGE/server-static" start_server "$STAGE"
    # The lesson of docs/02-forking.md's "What a fork copies": what each fork copies, and each
    # exit tears down, is the parent's mappings; a static program has no loader and no libc.so.
    run grep -E 'ld-linux|ld-musl|libc\.so' "/proc/$SERVER_PID/maps"
    is 1 "$status" "grep's exit status over the static server's mappings (1: no shared library); found: $output"
    local static_mappings
    static_mappings=$(mappings_of "$SERVER_PID")
    ((static_mappings < dynamic_mappings)) ||
        { echo "static: $static_mappings mappings, dynamic: $dynamic_mappings" >&2; return 1; }
    one_client_prints_its_three_lines -c 1 # answered by a child's PID, as ever
    expect_clean_stop
}

@test "02: -c 2 -j 2 -d 10: two slow clients are served at once, by two children of the server, before either closes" {
    start_server "$STAGE"
    two_slow_clients_are_served_at_once
    local tag
    for tag in "${LESSON_TAGS[@]}"; do
        [ "$tag" != "$SERVER_PID" ] # check_tag: a child's PID, never the server's
    done
}

# ---------------------------------------------------------------------------------------------
# The wire protocol

@test "02: a line of exactly 1024 bytes is echoed whole" {
    start_server "$STAGE"
    line_of_1024_bytes_is_echoed_whole
}

@test "02: a line of 1025 bytes gets exactly the error line, and nothing for the lines after it" {
    start_server "$STAGE"
    line_of_1025_bytes_gets_the_error_and_nothing_after
}

@test "02: a last line of 1025 bytes without a newline gets the error line too" {
    start_server "$STAGE"
    last_line_of_1025_bytes_gets_the_error_too
}

@test "02: after an over-long line the server closes that connection itself, then serves the next client" {
    start_server "$STAGE"
    over_long_line_ends_its_connection_then_the_next_client_is_served -c 1
}

@test "02: an over-long line closes only its own connection: a concurrent one goes on untouched" {
    start_server "$STAGE"
    over_long_line_ends_only_its_own_connection
}

@test "02: NUL and every other byte but the newline are echoed exactly" {
    start_server "$STAGE"
    every_byte_but_the_newline_is_echoed_exactly
}

@test "02: a line sent in pieces gets one reply, once it is complete" {
    start_server "$STAGE"
    line_in_pieces_gets_one_reply_once_complete
}

@test "02: many lines in one write get one reply each, in order" {
    start_server "$STAGE"
    many_lines_in_one_write_get_one_reply_each
}

@test "02: a last line without a newline before EOF is answered" {
    start_server "$STAGE"
    last_line_without_a_newline_is_answered
}

@test "02: an empty line gets the reply 'TAG: '" {
    start_server "$STAGE"
    empty_line_gets_the_reply_tag_colon_space
}

@test "02: a client that resets its connection in the middle of a line does not stop the server" {
    start_server "$STAGE"
    reset_in_the_middle_of_a_line_does_not_stop_the_server -c 1
}

@test "02: a client that leaves without reading its replies does not stop the server (SIGPIPE)" {
    start_server "$STAGE"
    leaving_without_reading_the_replies_does_not_stop_the_server -c 1
}

@test "02: -i 1 closes idle connections after about a second, silent or not" {
    start_server "$STAGE" -i 1
    idle_connections_close_after_about_a_second
}

@test "02: -i 0 is accepted and leaves an idle connection open" {
    start_server "$STAGE" -i 0
    idle_connection_stays_open
}

@test "02: a connection that keeps sending within the idle timeout stays open" {
    start_server "$STAGE" -i 2
    connection_that_keeps_sending_stays_open
}

# ---------------------------------------------------------------------------------------------
# Signals

@test "02: SIGTERM: exit 0 within 5 s though clients hold connections; 'Server shutting down' last; no child left" {
    start_server "$STAGE"
    stops_though_clients_hold_connections TERM has_children 3 # one child a connection
}

@test "02: SIGINT: exit 0 within 5 s though clients hold connections; 'Server shutting down' last; no child left" {
    start_server "$STAGE"
    stops_though_clients_hold_connections INT has_children 3 # one child a connection
}

@test "02: SIGTERM with no client: exit 0, banner then 'Server shutting down'" {
    start_server "$STAGE"
    sigterm_with_no_client_ends_the_output_with_the_goodbye
}

@test "02: complete lines sent just before SIGTERM are answered" {
    start_server "$STAGE"
    complete_lines_sent_just_before_sigterm_are_answered
}

# Is PID sleeping (S), rather than stopped (T) or running (R)?
is_sleeping() {
    [[ $(process_state "$1") == S* ]]
}

@test "02: lines that arrived before SIGTERM are answered even when the child sees the stop first" {
    start_server "$STAGE"
    local conn
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
    expect_replies_on "$conn" "$child" arrived 'before the stop'
    expect_clean_stop TERM
}

# ---------------------------------------------------------------------------------------------
# Bad usage and failures

@test "02: -h prints the usage, -m MAX included, on stdout and exits 0" {
    h_prints_the_usage_on_stdout_and_exits_0
    [[ ${lines[0]} == *"[-m MAX]"* ]]
    [[ $output == *"-m MAX"* ]]
}

@test "02: an unknown option is bad usage (exit 2)" {
    unknown_options_are_bad_usage -w
}

@test "02: an option without its value is bad usage (exit 2)" {
    options_without_their_value_are_bad_usage -m
}

@test "02: an extra argument is bad usage (exit 2)" {
    extra_arguments_are_bad_usage
}

@test "02: after bad usage, the usage still gives -m's default (40), whatever -m came before" {
    expect_usage_error "$STAGE" -m 5 -x
    [[ $stderr == *"-m MAX       at most MAX children at once (default 40;"* ]]
}

@test "02: a port outside 0-65535 or not a whole number is bad usage (exit 2)" {
    ports_outside_0_to_65535_are_bad_usage
}

@test "02: a negative or non-numeric idle timeout is bad usage (exit 2)" {
    bad_idle_timeouts_are_bad_usage
}

@test "02: -m below 1 or not a whole number is bad usage (exit 2)" {
    counts_below_1_are_bad_usage -m
}

@test "02: a port in use: 'server: cannot listen on 127.0.0.1:PORT: REASON' (the C library's text for EADDRINUSE), exit 1" {
    start_server "$STAGE"
    port_in_use_is_refused_with_exit_1 -c 1
}

@test "02: a bad address: 'server: cannot listen on 999.1.1.1:...', exit 1" {
    bad_address_is_refused_with_exit_1
}

@test "02: client without -p: the usage on stderr, exit 2" {
    client_without_p_prints_its_usage_and_exits_2
}

@test "02: client to a port nobody listens on: 'client: cannot connect to 127.0.0.1:PORT: REASON' (the C library's text for ECONNREFUSED), exit 1" {
    client_to_a_port_nobody_listens_on_is_refused_with_exit_1
}

@test "02: client with a message longer than 1024 bytes: exit 1 with a one-line reason" {
    start_server "$STAGE"
    client_refuses_a_message_over_1024_bytes -c 1
}

@test "02: client -h: the usage on stdout, -j and -d included, with this stage's defaults -c 2 -j 1" {
    client_h_shows_every_option 2 1
}

@test "02: client -j or -d with a bad value, or none: the reason then the usage on stderr, exit 2" {
    bad_jobs_and_delays_are_bad_usage
}

@test "02: client -d takes 0 to 3600 s with up to 3 decimals, -j 1 to 1000" {
    every_delay_and_job_count_in_range_is_taken
}

@test "02: clients at once to a port nobody listens on: one-line reasons, no summary, exit 1" {
    clients_at_once_to_a_port_nobody_listens_on_print_no_summary
}
