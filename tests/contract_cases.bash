# contract_cases.bash: the cases of the contract that the four stage suites share, one function
# a case, and the helpers they need. Load it after helper (03 and 04: after pool_helper too, whose
# hold_answered and sigpipe_ignored their cases use): `load contract_cases`. bats makes tests
# only of a .bats file's own @test blocks, so each suite keeps a short @test per case, named for
# its stage, that calls the case and then checks what only its stage promises (01: the server's
# PID; 03: which Thread-N; 04: which worker).
#
# A suite sets STAGE and defines check_tag (helper.bash); the cases judge every tag with it, and
# leave TAG set to the last one judged. The cases about where the server listens (-p, -a) start
# it themselves, with start_stage; every other case expects the test to have started the server,
# with the options the case names. CLIENT_OPTION... go to each run of the client as they are
# (01-03: -c 1; 04: -c 1 -j 1 or -c 2 -j 2); a case that checks the clients' lines needs -c N.
#
#   setup_file                       build STAGE (make), once before the suite's first test
#   start_stage [OPTION...]          start this suite's server: start_server "$STAGE" OPTION...;
#                                    04 defines its own after loading this file (start_pool)
#   exchange FD LINE                 send LINE on a held connection; the reply is "TAG: LINE"
#   expect_reply_on FD TEXT [SECONDS]    the next line on a held connection is "TAG: TEXT"
#   expect_replies_on FD TAG TEXT...     the next lines on FD are "TAG: TEXT", one per TEXT
#   expect_blocks COUNT MESSAGE      lines starts with COUNT whole three-line blocks for MESSAGE;
#                                    their tags in BLOCK_TAGS
#   expect_clean_stop [SIGNAL]       SIGNAL (TERM) stops the server: exit 0 within 5 s, "Server
#                                    shutting down" last; its output left in server_lines
#   note_start_output                what the server printed at its start into START_LINES
#   expect_output_since_start LINE...   its output is START_LINES, then exactly LINE...
#   LONGEST, TOO_LONG, TOO_LONG_REPLY   a line of 1024 bytes, one of 1025, the error for it
#
# The client's output
#   one_client_prints_its_three_lines CLIENT_OPTION...          (-c 1) the default message
#   three_clients_print_three_lines_each                        -c 3 hi
#   custom_message_is_sent_with_its_newline_and_echoed_whole    -c 1, a message with %, %s and a backslash
#   sent_counts_bytes_not_characters CLIENT_OPTION...           (-c 1) 'héllo wörld': 14 bytes
#   client_message_of_1024_bytes_is_echoed CLIENT_OPTION...
# Clients at once (-j), slow clients (-d), and the summary line
#   expect_summary LINE              LINE is the summary for the blocks in BLOCK_TAGS; its
#                                    seconds, as hundredths, in SUMMARY_HUNDREDTHS
#   clients_at_once_print_whole_blocks_and_the_summary          -c 6 -j 3, 1000-byte messages
#   slow_clients_in_turn_print_the_summary                      -c 2 -j 1 -d 0.3: >= 0.60 s
#   one_job_without_delay_prints_no_summary                     -c 3 -j 1 -d 0
#   two_slow_clients_are_served_at_once                         (02-04) -c 2 -j 2 -d 10: both
#                                                               served, by two tags, before
#                                                               either closes; tags in LESSON_TAGS
#   clients_at_once_to_a_port_nobody_listens_on_print_no_summary
#   bad_jobs_and_delays_are_bad_usage
#   every_delay_and_job_count_in_range_is_taken
#   client_h_shows_every_option CLIENTS JOBS                    the stage's defaults of -c and -j
# The server's output
#   banner_names_address_port_and_pid                           a server started without options
#   p_port_is_listened_on_and_named_in_the_banner CLIENT_OPTION...   starts the server with -p
#   ipv6_loopback_is_listened_on_and_bracketed_in_the_banner CLIENT_OPTION...   -a ::1 (or skip)
#   every_ipv4_interface_is_listened_on                         starts the server with -a 0.0.0.0
#   every_line_is_logged_in_order
#   quiet_server_answers_but_logs_nothing CLIENT_OPTION...      a server started with -q
#   log_is_line_buffered CLIENT_OPTION...                       (-c 1)
#   concurrent_log_lines_never_mix COUNT                        COUNT connections at once; their
#                                                               tags in CONNECTION_TAGS
#   second_client_is_served_while_the_first_holds_its_connection CLIENT_OPTION...   (-c 1); the
#                                                               tags in FIRST_TAG, SECOND_TAG
#   at_most_40_at_once_the_41st_waits [AT_CAP...]               (02, 03: -m's default) the 40
#                                                               tags in HELD_TAGS, the 41st's in TAG
# The wire protocol
#   line_of_1024_bytes_is_echoed_whole
#   line_of_1025_bytes_gets_the_error_and_nothing_after
#   last_line_of_1025_bytes_gets_the_error_too
#   over_long_line_ends_its_connection_then_the_next_client_is_served CLIENT_OPTION...   (-c 1)
#   over_long_line_ends_only_its_own_connection                 the other's tag in KEEP_TAG
#   every_byte_but_the_newline_is_echoed_exactly
#   line_in_pieces_gets_one_reply_once_complete
#   many_lines_in_one_write_get_one_reply_each
#   last_line_without_a_newline_is_answered
#   empty_line_gets_the_reply_tag_colon_space
#   reset_in_the_middle_of_a_line_does_not_stop_the_server CLIENT_OPTION...   (-c 1)
#   reset_in_the_middle_of_a_line_leaves_the_others_served CLIENT_OPTION...   KEEP_TAG, BLOCK_TAGS
#   leaving_without_reading_the_replies_does_not_stop_the_server CLIENT_OPTION...   (-c 1)
#   resets_before_reading_the_replies_do_not_stop_the_server CLIENT_OPTION...       (-c 1)
#   closing_before_reading_the_replies_does_not_stop_the_server CLIENT_OPTION...    KEEP_TAG,
#                                                               BLOCK_TAGS; SIGPIPE is ignored
#   idle_connections_close_after_about_a_second                 a server started with -i 1
#   idle_connection_stays_open                                  a server started with -i 0
#   connection_that_keeps_sending_stays_open                    a server started with -i 2
# Signals
#   stops_though_clients_hold_connections SIGNAL [READY...]     the server's children at the
#                                                               stop in STOP_CHILDREN
#   sigterm_with_no_client_ends_the_output_with_the_goodbye
#   complete_lines_sent_just_before_sigterm_are_answered
#   complete_lines_sent_just_before_sigterm_are_answered_on_every_connection COUNT
#   lines_that_arrive_while_frozen_are_answered_though_the_stop_comes_too COUNT PID...
#   sigterm_with_a_client_in_the_backlog_stops_the_server HELD
# Bad usage and failures
#   h_prints_the_usage_on_stdout_and_exits_0                    lines and output left for more
#   unknown_options_are_bad_usage [OPTION...]                   OPTION...: other stages', with 2
#   options_without_their_value_are_bad_usage [OPTION...]       -p -a -i, and OPTION...
#   extra_arguments_are_bad_usage
#   ports_outside_0_to_65535_are_bad_usage
#   bad_idle_timeouts_are_bad_usage
#   counts_below_1_are_bad_usage OPTION                         -m (02, 03), -w and -t (04)
#   port_in_use_is_refused_with_exit_1 CLIENT_OPTION...
#   bad_address_is_refused_with_exit_1
#   client_without_p_prints_its_usage_and_exits_2               stderr left for more
#   client_to_a_port_nobody_listens_on_is_refused_with_exit_1 [CLIENT_OPTION...]
#   client_refuses_a_message_over_1024_bytes CLIENT_OPTION...

# Many variables here are set for the tests that load this file to read.
# shellcheck disable=SC2034

LONGEST=$(printf '%1024s' '' | tr ' ' x)  # a line at the limit: 1024 bytes
TOO_LONG=$(printf '%1025s' '' | tr ' ' x) # one byte over
TOO_LONG_REPLY='error: line too long (limit 1024 bytes)'

# ---------------------------------------------------------------------------------------------
# Helpers

setup_file() {
    make -s -C "$ROOT/$STAGE" all >&2
}

start_stage() {
    start_server "$STAGE" "$@"
}

# expect_reply_on FD TEXT [SECONDS]: the next line from the held connection FD (within SECONDS,
# default 5) is "TAG: TEXT", with a TAG that check_tag accepts. Sets TAG.
expect_reply_on() {
    local reply
    read_reply "$1" reply "${3:-5}" || { echo "no reply for '$2'" >&2; return 1; }
    TAG=${reply%%: *}
    check_tag "$TAG" && is "$TAG: $2" "$reply"
}

# exchange FD LINE: send LINE on the held connection FD; its reply must be "TAG: LINE", with a
# TAG that check_tag accepts. Sets TAG.
exchange() {
    send "$1" '%s\n' "$2"
    expect_reply_on "$1" "$2"
}

# expect_replies_on FD TAG TEXT...: the next lines from the held connection FD are "TAG: TEXT",
# one for each TEXT, in order.
expect_replies_on() {
    local fd=$1 tag=$2 text
    shift 2
    for text in "$@"; do
        expect_reply_on "$fd" "$text" || return 1
        is "$tag" "$TAG" "the tag of the reply to '$text'" || return 1
    done
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

# The N of the last "-c N" among the client options given.
_client_count() {
    local count='' previous='' arg
    for arg in "$@"; do
        [ "$previous" = -c ] && count=$arg
        previous=$arg
    done
    [ -n "$count" ] || { echo "no -c N among the client options: $*" >&2; return 1; }
    echo "$count"
}

# expect_clean_stop [SIGNAL]: stop the server with SIGNAL (default TERM); it must exit 0 within
# 5 s, "Server shutting down" the last line it printed. Its output is left in server_lines.
expect_clean_stop() {
    local status=0
    stop_server "${1:-TERM}" 10 || status=$?
    is 0 "$status" "the server's exit status" || return 1
    ((STOP_MS <= 5000)) || { echo "the server took $STOP_MS ms to stop" >&2; return 1; }
    read_server_output
    is "Server shutting down" "${server_lines[${#server_lines[@]} - 1]}" "the server's last line"
}

# note_start_output: what the server has printed since its start (its banner; 04: and the
# workers it started), into START_LINES.
note_start_output() {
    read_server_output
    START_LINES=("${server_lines[@]}")
    is "$SERVER_BANNER" "${START_LINES[0]}" "the server's first line"
}

# expect_output_since_start LINE...: the server's output is START_LINES, then exactly LINE....
expect_output_since_start() {
    read_server_output
    is "$(printf '%s\n' "${START_LINES[@]}" "$@")" "$(printf '%s\n' "${server_lines[@]}")" \
        "the server's output"
}

# ---------------------------------------------------------------------------------------------
# The client's output

one_client_prints_its_three_lines() {
    run_client "$STAGE" -p "$SERVER_PORT" "$@"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${#lines[@]}" -eq 3 ]
    expect_client_lines 0 'Hello echo server!'
}

three_clients_print_three_lines_each() {
    run_client "$STAGE" -p "$SERVER_PORT" -c 3 hi
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 9 ]
    expect_blocks 3 hi
}

custom_message_is_sent_with_its_newline_and_echoed_whole() {
    local message="it's 100% %s a \\ custom message"
    run_client "$STAGE" -p "$SERVER_PORT" -c 1 "$message"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 3 ]
    is "Sent: $((${#message} + 1)) bytes" "${lines[1]}"
    expect_client_lines 0 "$message"
}

sent_counts_bytes_not_characters() {
    local message=$'h\xc3\xa9llo w\xc3\xb6rld'
    run_client "$STAGE" -p "$SERVER_PORT" "$@" "$message"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 3 ]
    is "PID $CLIENT_PID sending message to server: '$message'" "${lines[0]}"
    is "Sent: 14 bytes" "${lines[1]}"
    # Not expect_client_lines: ${#message} counts characters in a UTF-8 locale.
    local prefix="PID $CLIENT_PID received: "
    [[ ${lines[2]} == "$prefix"* ]]
    TAG=${lines[2]#"$prefix"}
    TAG=${TAG%%: *}
    check_tag "$TAG"
    is "$prefix$TAG: $message" "${lines[2]}"
}

client_message_of_1024_bytes_is_echoed() {
    local count
    count=$(_client_count "$@")
    run_client "$STAGE" -p "$SERVER_PORT" "$@" "$LONGEST"
    [ "$status" -eq 0 ]
    is "Sent: 1025 bytes" "${lines[1]}"
    expect_blocks "$count" "$LONGEST"
}

# ---------------------------------------------------------------------------------------------
# Clients at once (-j), slow clients (-d), and the summary line

# expect_summary LINE: LINE is the client's last line, "Clients served: N in S.SS s (TAG: COUNT,
# ...)", for the blocks expect_blocks left in BLOCK_TAGS: N is their number, and each tag of
# theirs is listed once, in the order the blocks first show it, with the number of blocks it
# answered. Read back from the line itself too: every TAG one that check_tag accepts, the
# COUNTs adding up to N. The seconds, as hundredths, in SUMMARY_HUNDREDTHS.
expect_summary() {
    local line=$1 re='^Clients served: ([0-9]+) in ([0-9]+)\.([0-9][0-9]) s \((.+)\)$'
    [[ $line =~ $re ]] || { echo "not a summary line: $(printf '%q' "$line")" >&2; return 1; }
    local served=${BASH_REMATCH[1]} entries=${BASH_REMATCH[4]}
    SUMMARY_HUNDREDTHS=$((10#${BASH_REMATCH[2]} * 100 + 10#${BASH_REMATCH[3]}))
    is "${#BLOCK_TAGS[@]}" "$served" "the number of clients served" || return 1
    # What the line must say, worked out from the blocks.
    local -A count_of=()
    local first_seen=() tag expected=''
    for tag in "${BLOCK_TAGS[@]}"; do
        [ -n "${count_of[$tag]:-}" ] || first_seen+=("$tag")
        count_of[$tag]=$((${count_of[$tag]:-0} + 1))
    done
    for tag in "${first_seen[@]}"; do
        expected+="${expected:+, }$tag: ${count_of[$tag]}"
    done
    is "$expected" "$entries" "the summary's tags and counts" || return 1
    # What the line says, read entry by entry.
    local rest=$entries entry total=0 entry_re='^(.+): ([1-9][0-9]*)$'
    while [ -n "$rest" ]; do
        entry=${rest%%, *}
        if [ "$entry" = "$rest" ]; then
            rest=''
        else
            rest=${rest#*, }
        fi
        [[ $entry =~ $entry_re ]] || { echo "bad summary entry '$entry'" >&2; return 1; }
        total=$((total + BASH_REMATCH[2])) # before check_tag, which may match a regex too
        check_tag "${BASH_REMATCH[1]}" || return 1
    done
    is "$served" "$total" "the sum of the summary's counts"
}

# clients_at_once_print_whole_blocks_and_the_summary: -c 6 -j 3 with a message of 1000 bytes:
# six whole blocks (no line of a client among another's lines), then the summary.
clients_at_once_print_whole_blocks_and_the_summary() {
    local message
    message=$(printf '%1000s' '' | tr ' ' j)
    run_client "$STAGE" -p "$SERVER_PORT" -c 6 -j 3 "$message"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${#lines[@]}" -eq 19 ]
    expect_blocks 6 "$message"
    expect_summary "${lines[18]}"
}

# slow_clients_in_turn_print_the_summary: -c 2 -j 1 -d 0.3: the two clients one after another,
# each keeping its connection 0.3 s after its reply, so the summary counts at least 0.60 s and
# so does the wall clock. -j 1 with -d prints the summary too.
slow_clients_in_turn_print_the_summary() {
    local start elapsed
    start=$(now_ms)
    run_client "$STAGE" -p "$SERVER_PORT" -c 2 -j 1 -d 0.3 slow
    elapsed=$(($(now_ms) - start))
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${#lines[@]}" -eq 7 ]
    expect_blocks 2 slow
    expect_summary "${lines[6]}"
    ((SUMMARY_HUNDREDTHS >= 60)) || { echo "the summary counts $SUMMARY_HUNDREDTHS hundredths" >&2; return 1; }
    ((elapsed >= 600)) || { echo "the client took $elapsed ms" >&2; return 1; }
}

# one_job_without_delay_prints_no_summary: -c 3 -j 1 -d 0 prints the blog post's lines alone.
one_job_without_delay_prints_no_summary() {
    run_client "$STAGE" -p "$SERVER_PORT" -c 3 -j 1 -d 0 'one at a time'
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${#lines[@]}" -eq 9 ]
    expect_blocks 3 'one at a time'
    [[ $output != *"Clients served"* ]]
}

# The distinct tags the server has logged a response with for the line TEXT, one a line.
_tags_logged_for() {
    sed -n "s/^Server sending response \[\(.*\): $1\]\$/\1/p" "$SERVER_OUT" | sort -u
}

_tags_logged_at_least() {
    [ "$(_tags_logged_for "$1" | wc -l)" -ge "$2" ]
}

# two_slow_clients_are_served_at_once: the lesson of 02, 03 and 04, as an order of events. The
# client runs -c 2 -j 2 -d 10: two clients at once, each keeping its connection 10 s after its
# reply. Within 8 s the server has logged both replies, with two different tags, while the
# client still runs and has printed nothing: a client's block is printed once it has closed, so
# neither has. The client then ends with both blocks, answered by those two tags, and a summary
# of at least 10 s. The two tags in LESSON_TAGS.
two_slow_clients_are_served_at_once() {
    start_client lesson "$STAGE" -p "$SERVER_PORT" -c 2 -j 2 -d 10 lesson
    wait_until 8 _tags_logged_at_least lesson 2
    is_running "$CLIENT_PID" || { echo "the client ended before both were served" >&2; return 1; }
    [ ! -s "$(client_out lesson)" ] || { echo "a client closed before both were served" >&2; return 1; }
    mapfile -t LESSON_TAGS < <(_tags_logged_for lesson)
    [ "${#LESSON_TAGS[@]}" -eq 2 ]
    check_tag "${LESSON_TAGS[0]}"
    check_tag "${LESSON_TAGS[1]}"
    finish_client lesson 30
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ "${#lines[@]}" -eq 7 ]
    expect_blocks 2 lesson
    expect_summary "${lines[6]}"
    ((SUMMARY_HUNDREDTHS >= 1000)) || { echo "the summary counts $SUMMARY_HUNDREDTHS hundredths" >&2; return 1; }
    is "$(printf '%s\n' "${LESSON_TAGS[@]}")" "$(printf '%s\n' "${BLOCK_TAGS[@]}" | sort -u)" \
        "the tags of the blocks"
}

# clients_at_once_to_a_port_nobody_listens_on_print_no_summary: -c 4 -j 2 -d 0.5, refused:
# exit 1, a one-line reason for each client that tried, nothing on stdout, no summary.
clients_at_once_to_a_port_nobody_listens_on_print_no_summary() {
    local port line reason
    port=$(free_port "$STAGE")
    reason=$(strerror_text ECONNREFUSED)
    run_client "$STAGE" -p "$port" -c 4 -j 2 -d 0.5
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [ "${#stderr_lines[@]}" -ge 1 ]
    for line in "${stderr_lines[@]}"; do
        is "client: cannot connect to 127.0.0.1:$port: $reason" "$line"
    done
}

# expect_client_usage_error REASON ARG...: the client run with -p 1 and ARG... exits 2 before it
# connects, with nothing on stdout and, on stderr, a first line that starts with REASON, then the
# usage.
expect_client_usage_error() {
    local reason=$1
    shift
    run --separate-stderr bounded 5 "$ROOT/$STAGE/client" -p 1 "$@"
    is 2 "$status" "the exit status of client $*" || return 1
    [ -z "$output" ] || { echo "client $* printed on stdout: $output" >&2; return 1; }
    [[ ${stderr_lines[0]} == "$reason"* ]] || { is "$reason..." "${stderr_lines[0]}" "the reason"; return 1; }
    is "$CLIENT_USAGE" "${stderr_lines[1]}" "the usage's first line"
}

CLIENT_USAGE='usage: client [-a ADDRESS] -p PORT [-c CLIENTS] [-j JOBS] [-d SECONDS] [-h] [MESSAGE]'

# bad_jobs_and_delays_are_bad_usage: -j below 1, above 1000 or not a whole number, and -d that is
# not seconds from 0 to 3600 written as digits with at most one point (a digit on each side of
# it) and 3 decimals, or either without a value: exit 2, the usage on stderr.
bad_jobs_and_delays_are_bad_usage() {
    local value
    for value in 0 -1 1001 x 2x 1.5 ' 2' ''; do
        expect_client_usage_error "client: -j takes a whole number from 1 to 1000" -j "$value"
    done
    for value in -1 x 1e3 0x1 1. .5 0.0001 3601 3600.5 ' 1' +1 1,5 0.5s ''; do
        expect_client_usage_error "client: -d takes seconds from 0 to 3600" -d "$value"
    done
    expect_client_usage_error "client: option -j needs a value" -j
    expect_client_usage_error "client: option -d needs a value" -d
}

# every_delay_and_job_count_in_range_is_taken: such values pass the parser: the client tries to
# connect (to a port nobody listens on, so it exits 1 at once), where bad usage would exit 2.
every_delay_and_job_count_in_range_is_taken() {
    local port value refused
    port=$(free_port "$STAGE")
    refused="client: cannot connect to 127.0.0.1:$port: $(strerror_text ECONNREFUSED)"
    for value in 0 2 0.5 1.25 0.001 00.5 3600 3600.000; do
        run_client "$STAGE" -p "$port" -c 1 -d "$value"
        is 1 "$status" "the exit status with -d $value" || return 1
        is "$refused" "$stderr"
    done
    for value in 1 2 1000; do
        run_client "$STAGE" -p "$port" -c 1 -j "$value"
        is 1 "$status" "the exit status with -j $value" || return 1
        is "$refused" "$stderr"
    done
}

# client_h_shows_every_option CLIENTS JOBS: -h prints the usage on stdout, exit 0: every option,
# -j and -d included, with this stage's defaults of -c and -j.
client_h_shows_every_option() {
    run --separate-stderr bounded 5 "$ROOT/$STAGE/client" -h
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    is "$CLIENT_USAGE" "${lines[0]}" "the usage's first line"
    [[ $output == *"  -c CLIENTS   how many clients to run (default $1;"* ]]
    [[ $output == *"  -j JOBS      how many of them run at once, each in a thread"*"(default $2;"* ]]
    [[ $output == *"  -d SECONDS   a slow client"*"(default 0;"* ]]
    [[ $output == *"a last line counts the clients served"* ]]
}

# ---------------------------------------------------------------------------------------------
# The server's output

banner_names_address_port_and_pid() {
    [[ $SERVER_BANNER =~ ^Server\ listening\ on\ 127\.0\.0\.1:[1-9][0-9]*\ \(PID\ $SERVER_PID\)$ ]]
    read_server_output
    [ "${#server_lines[@]}" -eq 1 ]
    run_client "$STAGE" -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
}

p_port_is_listened_on_and_named_in_the_banner() {
    local port
    port=$(free_port "$STAGE")
    start_stage -p "$port"
    is "Server listening on 127.0.0.1:$port (PID $SERVER_PID)" "$SERVER_BANNER"
    run_client "$STAGE" -p "$port" "$@"
    [ "$status" -eq 0 ]
}

ipv6_loopback_is_listened_on_and_bracketed_in_the_banner() {
    has_ipv6_loopback || skip "this machine has no IPv6 loopback address"
    local count
    count=$(_client_count "$@")
    start_stage -a ::1
    is "Server listening on [::1]:$SERVER_PORT (PID $SERVER_PID)" "$SERVER_BANNER"
    run_client "$STAGE" -a ::1 -p "$SERVER_PORT" "$@"
    [ "$status" -eq 0 ]
    expect_blocks "$count" 'Hello echo server!'
}

every_ipv4_interface_is_listened_on() {
    start_stage -a 0.0.0.0
    is "Server listening on 0.0.0.0:$SERVER_PORT (PID $SERVER_PID)" "$SERVER_BANNER"
    run_client "$STAGE" -a 127.0.0.1 -p "$SERVER_PORT" -c 1
    [ "$status" -eq 0 ]
}

# Four lines on one connection: each is logged as "Server sending response [TAG: LINE]", in
# order, right after what the server printed at its start.
every_line_is_logged_in_order() {
    note_start_output
    printf 'alpha\nbeta\n\ngamma delta\n' | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" alpha beta '' 'gamma delta'
    wait_until 5 server_has_lines $((${#START_LINES[@]} + 4))
    expect_output_since_start "Server sending response [$TAG: alpha]" \
        "Server sending response [$TAG: beta]" \
        "Server sending response [$TAG: ]" \
        "Server sending response [$TAG: gamma delta]"
}

quiet_server_answers_but_logs_nothing() {
    note_start_output
    printf 'one\ntwo\n' | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" one two
    run_client "$STAGE" -p "$SERVER_PORT" "$@"
    [ "$status" -eq 0 ]
    stop_server
    expect_output_since_start "Server shutting down"
}

log_is_line_buffered() {
    run_client "$STAGE" -p "$SERVER_PORT" "$@"
    [ "$status" -eq 0 ]
    expect_client_lines 0 'Hello echo server!'
    wait_until 5 server_printed "Server sending response [$TAG: Hello echo server!]"
    is_running "$SERVER_PID"
}

# COUNT connections at once (at most 8), each sending 20 lines of 1000 times one letter (A for
# the first, B for the second, ...). Each gets its replies, and the server logs every line whole,
# with the tag that answered its connection. The connections' tags in CONNECTION_TAGS.
concurrent_log_lines_never_mix() {
    local count=$1 all=(A B C D E F G H) letter line i pids=()
    local letters=("${all[@]:0:count}")
    local -A text_of tag_of_letter
    note_start_output
    for letter in "${letters[@]}"; do
        line=$(printf '%1000s' '' | tr ' ' "$letter")
        text_of[$letter]=$line
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
    CONNECTION_TAGS=()
    for letter in "${letters[@]}"; do
        mapfile -t lines <"$BATS_TEST_TMPDIR/request-$letter"
        expect_replies "$BATS_TEST_TMPDIR/replies-$letter" "${lines[@]}"
        tag_of_letter[$letter]=$TAG
        CONNECTION_TAGS+=("$TAG")
    done
    local start=${#START_LINES[@]} total=$((${#START_LINES[@]} + count * 20))
    wait_until 5 server_has_lines "$total"
    read_server_output
    [ "${#server_lines[@]}" -eq "$total" ]
    local whole='^Server sending response \[([^]]+): ([A-Z]+)\]$' text
    for ((i = start; i < total; i++)); do
        [[ ${server_lines[i]} =~ $whole ]] || { echo "mixed log line $i" >&2; return 1; }
        text=${BASH_REMATCH[2]}
        letter=${text:0:1}
        [ "$text" = "${text_of[$letter]}" ] || { echo "mixed log line $i" >&2; return 1; }
        is "${tag_of_letter[$letter]}" "${BASH_REMATCH[1]}" "the tag of log line $i"
    done
}

second_client_is_served_while_the_first_holds_its_connection() {
    local first
    open_connection first
    exchange "$first" 'first'
    FIRST_TAG=$TAG
    start_client second "$STAGE" -p "$SERVER_PORT" "$@" second
    finish_client second 5
    [ "$status" -eq 0 ]
    expect_client_lines 0 second
    SECOND_TAG=$TAG
    [ "$SECOND_TAG" != "$FIRST_TAG" ]
    exchange "$first" 'first again' # the first connection is still served, by the same tag
    is "$FIRST_TAG" "$TAG"
}

# 40 connections at once, a line sent on each, are all answered (their tags in HELD_TAGS, in
# order); AT_CAP... must then succeed. A 41st connection's line gets no reply until one of the
# 40 closes, then it does (its tag in TAG).
at_most_40_at_once_the_41st_waits() {
    local conns=() conn last i
    for ((i = 1; i <= 40; i++)); do
        open_connection conn
        conns+=("$conn")
        send "$conn" 'client %d\n' "$i"
    done
    HELD_TAGS=()
    for ((i = 1; i <= 40; i++)); do
        expect_reply_on "${conns[i - 1]}" "client $i"
        HELD_TAGS+=("$TAG")
    done
    [ $# -eq 0 ] || "$@"

    open_connection last
    send "$last" 'number 41\n'
    expect_no_reply "$last" 1
    close_connection "${conns[0]}"
    expect_reply_on "$last" 'number 41' 5
}

# ---------------------------------------------------------------------------------------------
# The wire protocol

line_of_1024_bytes_is_echoed_whole() {
    printf '%s\n' "$LONGEST" | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" "$LONGEST"
}

line_of_1025_bytes_gets_the_error_and_nothing_after() {
    printf 'before\n%s\nafter\n' "$TOO_LONG" | talk >"$BATS_TEST_TMPDIR/replies"
    local first=''
    IFS= read -r first <"$BATS_TEST_TMPDIR/replies" || true
    TAG=${first%%: *}
    check_tag "$TAG"
    printf '%s: before\n%s\n' "$TAG" "$TOO_LONG_REPLY" >"$BATS_TEST_TMPDIR/expected"
    cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/replies"
}

last_line_of_1025_bytes_gets_the_error_too() {
    printf '%s' "$TOO_LONG" | talk >"$BATS_TEST_TMPDIR/replies"
    printf '%s\n' "$TOO_LONG_REPLY" >"$BATS_TEST_TMPDIR/expected"
    cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/replies"
}

over_long_line_ends_its_connection_then_the_next_client_is_served() {
    local conn reply
    open_connection conn
    send "$conn" '%s\n' "$TOO_LONG"
    read_reply "$conn" reply
    is "$TOO_LONG_REPLY" "$reply"
    expect_eof "$conn" 5 # we have not closed our side: the server did
    close_connection "$conn"
    run_client "$STAGE" -p "$SERVER_PORT" "$@"
    [ "$status" -eq 0 ]
    expect_client_lines 0 'Hello echo server!'
}

# A connection answered before an over-long line on another one is answered after it too, by
# the same tag (KEEP_TAG).
over_long_line_ends_only_its_own_connection() {
    local keep
    open_connection keep
    exchange "$keep" before
    KEEP_TAG=$TAG
    printf '%s\n' "$TOO_LONG" | talk >"$BATS_TEST_TMPDIR/replies"
    printf '%s\n' "$TOO_LONG_REPLY" >"$BATS_TEST_TMPDIR/expected"
    cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/replies"
    exchange "$keep" after
    is "$KEEP_TAG" "$TAG"
}

every_byte_but_the_newline_is_echoed_exactly() {
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

line_in_pieces_gets_one_reply_once_complete() {
    local conn tag
    open_connection conn
    send "$conn" 'hel'
    expect_no_reply "$conn" 0.3
    send "$conn" 'lo wo'
    expect_no_reply "$conn" 0.3
    send "$conn" 'rld\n'
    expect_reply_on "$conn" 'hello world'
    tag=$TAG
    exchange "$conn" next
    is "$tag" "$TAG"
}

many_lines_in_one_write_get_one_reply_each() {
    local texts=() i
    for ((i = 1; i <= 300; i++)); do
        texts+=("line $i of many, padded to make the whole write longer than 4096 bytes")
    done
    printf '%s\n' "${texts[@]}" >"$BATS_TEST_TMPDIR/request"
    [ "$(wc -c <"$BATS_TEST_TMPDIR/request")" -gt 8192 ]
    talk <"$BATS_TEST_TMPDIR/request" >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" "${texts[@]}"
}

last_line_without_a_newline_is_answered() {
    printf 'first\nlast words' | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" first 'last words'
}

empty_line_gets_the_reply_tag_colon_space() {
    printf '\n' | talk >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" ''
    [ "$(wc -c <"$BATS_TEST_TMPDIR/replies")" -eq $((${#TAG} + 3)) ] # "TAG: \n"
}

reset_in_the_middle_of_a_line_does_not_stop_the_server() {
    # -1: the server answers the first line, so it is surely serving the connection.
    printf 'hello\nhalf a li' | talk -1 -R >"$BATS_TEST_TMPDIR/replies"
    expect_replies "$BATS_TEST_TMPDIR/replies" hello
    run_client "$STAGE" -p "$SERVER_PORT" "$@"
    [ "$status" -eq 0 ]
    expect_client_lines 0 'Hello echo server!'
}

# Another connection, answered before the reset, is answered after it too, by the same tag
# (KEEP_TAG); the clients run after the reset are served (their tags in BLOCK_TAGS).
reset_in_the_middle_of_a_line_leaves_the_others_served() {
    local keep count
    count=$(_client_count "$@")
    open_connection keep
    exchange "$keep" before
    KEEP_TAG=$TAG
    printf 'half a li' | talk -R
    run_client "$STAGE" -p "$SERVER_PORT" "$@"
    [ "$status" -eq 0 ]
    expect_blocks "$count" 'Hello echo server!'
    exchange "$keep" after
    is "$KEEP_TAG" "$TAG"
}

leaving_without_reading_the_replies_does_not_stop_the_server() {
    local i round
    {
        echo hello
        for ((i = 1; i <= 200; i++)); do
            printf 'line %d, whose reply is written to a connection that is gone\n' "$i"
        done
    } >"$BATS_TEST_TMPDIR/request"
    # Once the server has the lines and our FIN (-C), its first reply draws a reset, and the
    # next write fails with EPIPE: a SIGPIPE unless it is ignored. -R resets at once instead.
    for round in 1 2 3; do
        talk -1 -C <"$BATS_TEST_TMPDIR/request" >/dev/null
        talk -1 -R <"$BATS_TEST_TMPDIR/request" >/dev/null
    done
    is_running "$SERVER_PID"
    run_client "$STAGE" -p "$SERVER_PORT" "$@"
    [ "$status" -eq 0 ]
    expect_client_lines 0 'Hello echo server!'
}

resets_before_reading_the_replies_do_not_stop_the_server() {
    local i round
    for ((i = 1; i <= 200; i++)); do
        printf 'line %d, whose reply is written to a connection that is gone\n' "$i"
    done >"$BATS_TEST_TMPDIR/request"
    for round in 1 2 3; do
        talk -R <"$BATS_TEST_TMPDIR/request"
    done
    run_client "$STAGE" -p "$SERVER_PORT" "$@"
    [ "$status" -eq 0 ]
    expect_client_lines 0 'Hello echo server!'
}

# A connection answered before (KEEP_TAG) stays served while three others send many lines and
# close before reading a reply: their replies draw resets, and later ones go to connections
# that are gone. The server ignores SIGPIPE (where /proc says so), and serves the clients after.
closing_before_reading_the_replies_does_not_stop_the_server() {
    local keep conn count round i
    local line_2=': line 2, whose reply is written to a connection that is closed]'
    count=$(_client_count "$@")
    if [ -r "/proc/$SERVER_PID/status" ]; then
        sigpipe_ignored "$SERVER_PID"
    fi
    open_connection keep
    exchange "$keep" before
    KEEP_TAG=$TAG
    for ((i = 1; i <= 200; i++)); do
        printf 'line %d, whose reply is written to a connection that is closed\n' "$i"
    done >"$BATS_TEST_TMPDIR/request"
    for round in 1 2 3; do
        open_connection conn
        cat "$BATS_TEST_TMPDIR/request" >&"$conn"
        close_connection "$conn"
        wait_until 5 _logged_at_least "$round" "$line_2"
        exchange "$keep" "after round $round"
        is "$KEEP_TAG" "$TAG"
    done
    run_client "$STAGE" -p "$SERVER_PORT" "$@"
    [ "$status" -eq 0 ]
    expect_blocks "$count" 'Hello echo server!'
}

# Has the server logged at least N lines that hold TEXT?
_logged_at_least() {
    [ "$(grep -cF -e "$2" "$SERVER_OUT")" -ge "$1" ]
}

idle_connections_close_after_about_a_second() {
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

idle_connection_stays_open() {
    local conn
    open_connection conn
    exchange "$conn" hi
    expect_no_reply "$conn" 1.5
    exchange "$conn" 'still here'
}

connection_that_keeps_sending_stays_open() {
    local conn i
    open_connection conn
    for i in 1 2 3 4 5 6; do
        exchange "$conn" "line $i"
        expect_no_reply "$conn" 0.5
    done # 3 s in all, longer than the timeout
}

# ---------------------------------------------------------------------------------------------
# Signals

# stops_though_clients_hold_connections SIGNAL [READY...]: hold three connections (two idle after
# a reply, one with half a line), wait (5 s at most) until READY... succeeds (the server serves
# all three), then SIGNAL stops the server cleanly (expect_clean_stop); the children it had just
# before (their PIDs in STOP_CHILDREN) are gone, and the two idle connections are closed.
stops_though_clients_hold_connections() {
    local signal=$1 a b c pid
    shift
    open_connection a
    exchange "$a" a
    open_connection b
    exchange "$b" b
    open_connection c
    send "$c" 'half a line' # and never the rest
    [ $# -eq 0 ] || wait_until 5 "$@"
    mapfile -t STOP_CHILDREN < <(server_children)
    expect_clean_stop "$signal"
    for pid in "${STOP_CHILDREN[@]}"; do
        is_gone "$pid" || { echo "child $pid outlived the server" >&2; return 1; }
    done
    expect_eof "$a" 1
    expect_eof "$b" 1
}

sigterm_with_no_client_ends_the_output_with_the_goodbye() {
    note_start_output
    expect_clean_stop TERM
    expect_output_since_start "Server shutting down"
}

complete_lines_sent_just_before_sigterm_are_answered() {
    local conn
    open_connection conn
    exchange "$conn" first
    send "$conn" 'last one\nand another\n'
    kill -TERM "$SERVER_PID"
    expect_replies_on "$conn" "$TAG" 'last one' 'and another'
    expect_clean_stop TERM
}

# COUNT connections held (hold_answered), each sent a last line just before SIGTERM: each line
# is answered, by its connection's tag, before the server exits.
complete_lines_sent_just_before_sigterm_are_answered_on_every_connection() {
    local count=$1 i
    hold_answered "$count" held
    for ((i = 0; i < count; i++)); do
        send "${HELD[i]}" 'goodbye %d\n' "$i"
    done
    kill -TERM "$SERVER_PID"
    for ((i = 0; i < count; i++)); do
        expect_replies_on "${HELD[i]}" "${HELD_TAGS[i]}" "goodbye $i"
    done
    expect_clean_stop TERM
}

# COUNT connections held (hold_answered); the processes PID... that serve them are frozen while a
# line arrives on each and the server is told to stop (SIGTERM). Thawed, they find the line and
# the stop together: the stop wins, and still every complete line received must be answered.
lines_that_arrive_while_frozen_are_answered_though_the_stop_comes_too() {
    local count=$1 i
    shift
    hold_answered "$count" held
    kill -STOP "$@"
    for ((i = 0; i < count; i++)); do
        send "${HELD[i]}" 'goodbye %d\n' "$i"
    done
    kill -TERM "$SERVER_PID"
    kill -CONT "$@"
    for ((i = 0; i < count; i++)); do
        expect_replies_on "${HELD[i]}" "${HELD_TAGS[i]}" "goodbye $i"
    done
    expect_clean_stop TERM
}

# HELD connections (hold_answered) fill a server started at its cap, and one more waits in the
# backlog: SIGTERM stops the server cleanly all the same.
sigterm_with_a_client_in_the_backlog_stops_the_server() {
    hold_answered "$1" held
    local waiting
    open_connection waiting
    send "$waiting" 'in the backlog\n'
    expect_no_reply "$waiting" 0.3
    expect_clean_stop TERM
}

# ---------------------------------------------------------------------------------------------
# Bad usage and failures

h_prints_the_usage_on_stdout_and_exits_0() {
    run --separate-stderr bounded 5 "$ROOT/$STAGE/server" -h
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "usage: server [-a ADDRESS] [-p PORT] [-i SECONDS] [-q] [-h]"* ]]
    [ -z "$stderr" ]
}

unknown_options_are_bad_usage() {
    local option
    expect_usage_error "$STAGE" -x
    for option in "$@"; do
        expect_usage_error "$STAGE" "$option" 2
    done
    expect_usage_error "$STAGE" --port=5000
}

options_without_their_value_are_bad_usage() {
    local option
    for option in -p -a -i "$@"; do
        expect_usage_error "$STAGE" "$option"
    done
}

extra_arguments_are_bad_usage() {
    expect_usage_error "$STAGE" extra
    expect_usage_error "$STAGE" -q extra
    expect_usage_error "$STAGE" -i 5 extra
}

ports_outside_0_to_65535_are_bad_usage() {
    local port
    for port in 65536 -1 x 80x ''; do
        expect_usage_error "$STAGE" -p "$port"
    done
}

bad_idle_timeouts_are_bad_usage() {
    local seconds
    for seconds in -1 x 1.5; do
        expect_usage_error "$STAGE" -i "$seconds"
    done
}

counts_below_1_are_bad_usage() {
    local value
    for value in 0 -1 x 2x 4x ''; do
        expect_usage_error "$STAGE" "$1" "$value"
    done
}

port_in_use_is_refused_with_exit_1() {
    local reason
    reason=$(strerror_text EADDRINUSE)
    run --separate-stderr bounded 5 "$ROOT/$STAGE/server" -p "$SERVER_PORT"
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    is "server: cannot listen on 127.0.0.1:$SERVER_PORT: $reason" "$stderr"
    run_client "$STAGE" -p "$SERVER_PORT" "$@" # the first server is untouched
    [ "$status" -eq 0 ]
}

bad_address_is_refused_with_exit_1() {
    run --separate-stderr bounded 30 "$ROOT/$STAGE/server" -a 999.1.1.1
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ $stderr == "server: cannot listen on 999.1.1.1:"?* ]]
}

client_without_p_prints_its_usage_and_exits_2() {
    run --separate-stderr bounded 5 "$ROOT/$STAGE/client"
    [ "$status" -eq 2 ]
    [ -z "$output" ]
    [[ $stderr == *"usage: client "* ]]
}

client_to_a_port_nobody_listens_on_is_refused_with_exit_1() {
    local port reason
    port=$(free_port "$STAGE")
    reason=$(strerror_text ECONNREFUSED)
    run_client "$STAGE" -p "$port" "$@"
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    is "client: cannot connect to 127.0.0.1:$port: $reason" "$stderr"
}

client_refuses_a_message_over_1024_bytes() {
    run_client "$STAGE" -p "$SERVER_PORT" "$@" "$TOO_LONG"
    [ "$status" -eq 1 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ $stderr == "client: "?* ]]
    run_client "$STAGE" -p "$SERVER_PORT" "$@" # and the server goes on
    [ "$status" -eq 0 ]
}
