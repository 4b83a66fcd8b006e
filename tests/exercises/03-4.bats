#!/usr/bin/env bats
# Exercise 03-4 (docs/03-threading.md): a fixed pool of -m threads, started once, taking the
# accepted sockets from a queue; a reply is tagged with the pool thread's number, Thread-1 to
# Thread-M.
load exercise_helper

# has_threads_at_least PID N: PID runs N threads or more.
has_threads_at_least() {
    [ "$(thread_count "$1")" -ge "$2" ]
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
    stop_server TERM 6
}

@test "03-4: the pool's threads exist before the first client (Linux)" {
    [ -d /proc/self/task ] || skip "no /proc here"
    start_server 03-threading -m 3
    # The main thread and the pool's three, within 0.3 s of the start.
    if ! wait_until 0.3 has_threads_at_least "$SERVER_PID" 4; then
        echo "threads before any client: $(thread_count "$SERVER_PID")"
        return 1
    fi
    stop_server TERM 6
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
    stop_server TERM 6
}
