#!/usr/bin/env bats
# Exercise 03-3 (docs/03-threading.md): hand each new thread the address of the accept loop's
# own client_fd, instead of a copy in memory of its own, and reproduce the race that UNP's
# section 26.4 describes: the next accept overwrites the variable before the thread reads it.
# Two clients connect back to back. With the window held open (the thread sleeps a second
# before it reads the descriptor), both threads serve the second client's socket, and the
# first client is never answered. Built with ThreadSanitizer, the server's stderr reports the
# race between the accept loop and a handler thread.
load exercise_helper

# Two connections, opened and sent a line each, back to back: their fds in FIRST and SECOND.
connect_back_to_back() {
    open_connection FIRST
    open_connection SECOND
    send "$FIRST" 'first\n'
    send "$SECOND" 'second\n'
}

@test "03-3: of two clients back to back, the second is answered and the first never is" {
    start_server 03-threading -q
    connect_back_to_back
    local reply
    read_reply "$SECOND" reply 5 || {
        echo "the second client got no reply within 5 s"
        return 1
    }
    tag_of "$reply" second >/dev/null
    # The second client's line is answered, so a thread has read the variable by now: the
    # first client's thread reads the same descriptor, and nobody serves the first socket.
    expect_no_reply "$FIRST" 2 || {
        echo "the first client was answered: each thread read its own client's descriptor"
        return 1
    }
}

@test "03-3: built with ThreadSanitizer, the server reports the race on the thread's argument" {
    build_with_tsan 03-threading
    start_server 03-threading -q
    connect_back_to_back
    local reply
    read_reply "$SECOND" reply 5
    stop_server TERM 6 || (($? != 124)) # it exits within 6 s; ThreadSanitizer sets the status
    grep -q "ThreadSanitizer: data race" "$SERVER_ERR" || {
        echo "ThreadSanitizer reported no data race"
        return 1
    }
    # Its two stacks: the accept loop that wrote the variable, the thread that read it.
    grep -qE "#[0-9]+ serve_clients " "$SERVER_ERR"
    grep -qE "#[0-9]+ serve_in_thread " "$SERVER_ERR"
}
