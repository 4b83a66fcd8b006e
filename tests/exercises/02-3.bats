#!/usr/bin/env bats
# Exercise 02-3 (docs/02-forking.md): take out the parent's close of the client's socket in
# start_child, and watch what its copy does. The child closes the connection and exits, yet the
# client sees no end of file: the connection ends only when its last descriptor is closed, and
# the parent still holds one. And the parent holds one more descriptor for each client it served
# (counted in /proc/PID/fd on Linux, with lsof elsewhere).
load exercise_helper

# open_descriptors PID: how many descriptors PID has open.
open_descriptors() {
    if [ -d "/proc/$1/fd" ]; then
        local fds=("/proc/$1/fd"/*)
        echo "${#fds[@]}"
    else
        lsof -a -p "$1" -d 0-65535 -F f 2>/dev/null | grep -c '^f'
    fi
}

@test "02-3: the child closed the connection and exited, yet the client sees no end of file" {
    start_server 02-forking -q -i 1
    local conn reply
    open_connection conn
    send "$conn" 'hello\n'
    read_reply "$conn" reply 5
    local child=${reply%%:*} # the tag: the PID of the child that serves this connection
    [[ $child =~ ^[0-9]+$ ]]
    # Silent for 1 s (-i 1), the client is given up: the child closes its descriptor of the
    # connection and exits, and the parent reaps it.
    wait_until 10 is_gone "$child"
    grep -q "idle for 1 s; closing the connection" "$SERVER_ERR"
    # By now a close of the connection's last descriptor would have sent its end of file.
    expect_no_reply "$conn" 1 || {
        echo "the client saw the connection end when the child closed it: nobody else held it"
        return 1
    }
}

@test "02-3: the parent holds one more descriptor for each client it served" {
    [ -d "/proc/$$/fd" ] || command -v lsof >/dev/null ||
        skip "neither /proc nor lsof here to count a process's descriptors"
    start_server 02-forking -q
    local before after
    before=$(open_descriptors "$SERVER_PID")
    client_ok 02-forking -c 3 # three clients in turn: each sends a line, reads it back, closes
    wait_until 5 has_no_children
    after=$(open_descriptors "$SERVER_PID")
    is "$((before + 3))" "$after" "the parent's open descriptors after 3 clients (before: $before)"
}
