#!/usr/bin/env bats
# Exercise 03-4 (docs/03-threading.md): a fixed pool of -m threads, started once, taking the
# accepted sockets from a queue; a reply is tagged with the pool thread's number, Thread-1 to
# Thread-M.
load exercise_helper

# has_threads_at_least PID N: PID runs N threads or more.
has_threads_at_least() {
    [ "$(thread_count "$1")" -ge "$2" ]
}

# The IDs of PID's threads, sorted, on one line (Linux).
thread_ids() {
    ls "/proc/$1/task" | sort -n | paste -sd' ' -
}

# idle_as_a_queue PID: the main thread waits for a descriptor (the listening socket, the stop
# pipe) and every other thread on a condition variable: the main thread accepts and the pool
# threads wait on the queue. In 04's design, pool threads that accept for themselves, one of
# them would wait in poll.
idle_as_a_queue() {
    local tid where
    for tid in $(thread_ids "$1"); do
        where=$(thread_waits_in "$1" "$tid") || return 1
        if [ "$tid" = "$1" ]; then
            [ "$where" = poll ] || return 1
        else
            [ "$where" = futex ] || return 1
        fi
    done
}

# The server, idle, stops at once: every pool thread waiting for a client is woken and ends,
# and main prints its goodbye. A pool thread left asleep would hold the server until the stop's
# deadline ends it (in 4 s, without the goodbye).
expect_prompt_clean_stop() {
    stop_server TERM 6
    ((STOP_MS < 2000)) || {
        echo "the idle server took $STOP_MS ms to stop: were its sleeping threads woken?"
        return 1
    }
    is "Server shutting down" "$(tail -n 1 "$SERVER_OUT")" "the server's last line"
}

@test "03-4: five clients in turn are served by Thread-1 and Thread-2 only, with -m 2" {
    start_server 03-threading -m 2
    client_ok 03-threading -c 5
    local tags
    tags=$(reply_tags | sort -u)
    echo "reply tags: $tags"
    if echo "$tags" | grep -vqx 'Thread-[12]'; then
        echo "a reply came from another thread than Thread-1 or Thread-2"
        return 1
    fi
    expect_prompt_clean_stop
}

@test "03-4: the pool's threads exist before the first client, and are the only ones (Linux)" {
    [ -d /proc/self/task ] || skip "no /proc here"
    start_server 03-threading -m 3
    # The main thread and the pool's three, within 0.3 s of the start.
    if ! wait_until 0.3 has_threads_at_least "$SERVER_PID" 4; then
        echo "threads before any client: $(thread_count "$SERVER_PID")"
        return 1
    fi
    local before
    before=$(thread_ids "$SERVER_PID")
    client_ok 03-threading -c 4
    local conn reply
    open_connection conn
    send "$conn" 'held\n'
    read_reply "$conn" reply 2
    client_ok 03-threading -c 2
    # Started once: the same threads served every client; none was started for one.
    is "$before" "$(thread_ids "$SERVER_PID")" "the server's thread IDs after six clients"
    close_connection "$conn"
    expect_prompt_clean_stop
}

@test "03-4: idle, the main thread waits to accept and the pool threads wait on the queue (Linux)" {
    [ -r "/proc/self/wchan" ] || skip "no /proc/PID/wchan here"
    start_server 03-threading -m 3
    wait_until 0.3 has_threads_at_least "$SERVER_PID" 4 || {
        echo "threads before any client: $(thread_count "$SERVER_PID")"
        return 1
    }
    client_ok 03-threading -c 2
    # Within a second of the last client, every thread is back where an idle pool waits.
    wait_until 1 idle_as_a_queue "$SERVER_PID" || {
        local tid
        echo "where each thread waits (the main thread is $SERVER_PID):"
        for tid in $(thread_ids "$SERVER_PID"); do
            echo "  $tid: $(thread_waits_in "$SERVER_PID" "$tid")"
        done
        return 1
    }
    expect_prompt_clean_stop
}

@test "03-4: with a connection held open, another client is still served" {
    start_server 03-threading -m 2
    local conn reply
    open_connection conn
    send "$conn" 'held\n'
    read_reply "$conn" reply 2
    client_ok 03-threading -c 3
    close_connection "$conn"
    case "$reply" in
    Thread-[12]": held") ;;
    *)
        echo "the held connection's reply: '$reply'"
        return 1
        ;;
    esac
    if reply_tags | grep -qx "${reply%%:*}"; then
        echo "the thread busy with the held connection served another client"
        return 1
    fi
    expect_prompt_clean_stop
}
