#!/usr/bin/env bats
# Exercise 01-3 (docs/01-blocking.md): one process, no fork, no thread, serves a client while
# another one is connected and silent.
load exercise_helper

# While connections are open, the server is one process with one thread: no child serves them
# (02's way), and no thread does (03's), even one that tags its replies with the server's PID.
expect_one_process_one_thread() {
    has_no_children || {
        echo "the server has child processes: no fork in this exercise"
        return 1
    }
    local threads
    threads=$(thread_count "$SERVER_PID")
    [ "$threads" = 1 ] || {
        echo "the server runs $threads threads while connections are open: no threads in this exercise"
        return 1
    }
}

@test "01-3: a client is answered while another connection sits idle" {
    start_server 01-blocking -i 30
    # A silent connection. Connected before the client, it is ahead of it in the listen queue:
    # 01 as shipped takes it first and sits in serve_connection, waiting for its first line.
    local held reply
    open_connection held
    start_client lone 01-blocking -p "$SERVER_PORT" -c 1
    finish_client lone 2
    if [ "$status" -ne 0 ]; then
        echo "the client got no answer within 2 seconds while another connection was open:"
        # shellcheck disable=SC2154 # finish_client's
        printf '%s\n' "$output" "$stderr"
        return 1
    fi
    grep -q "received: $SERVER_PID: Hello echo server!" "$(client_out lone)"
    # The first connection is still served, by the same process.
    send "$held" 'late\n'
    read_reply "$held" reply 3
    is "$SERVER_PID: late" "$reply" "the held connection's reply"
    expect_one_process_one_thread
    close_connection "$held"
    stop_server TERM 6
}

@test "01-3: three connections at once, lines interleaved, each answered in order" {
    start_server 01-blocking -i 30
    local conn_a conn_b conn_c a='' b='' c='' b2=''
    open_connection conn_a
    open_connection conn_b
    open_connection conn_c
    send "$conn_c" 'c1\n'
    send "$conn_b" 'b1\n'
    send "$conn_a" 'a1\n'
    # The last connection first: a server busy with the first one never answers it.
    if read_reply "$conn_c" c 1 && read_reply "$conn_b" b 1 && read_reply "$conn_a" a 1; then
        send "$conn_b" 'b2\n'
        read_reply "$conn_b" b2 1 || true
    fi
    # Three connections open, all answered: still one process, one thread.
    [ -z "$b2" ] || expect_one_process_one_thread
    close_connection "$conn_a"
    close_connection "$conn_b"
    close_connection "$conn_c"
    [ "$a" = "$SERVER_PID: a1" ] && [ "$b" = "$SERVER_PID: b1" ] && [ "$c" = "$SERVER_PID: c1" ] &&
        [ "$b2" = "$SERVER_PID: b2" ] || {
        echo "replies: '$a' '$b' '$c' '$b2'"
        return 1
    }
    stop_server TERM 6
}
