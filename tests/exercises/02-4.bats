#!/usr/bin/env bats
# Exercise 02-4 (docs/02-forking.md): the parent says how each child it reaped ended:
# "Server child PID N exited with status S" or "Server child PID N was killed by signal S".
load exercise_helper

@test "02-4: the parent reports each child's exit status" {
    start_server 02-forking
    client_ok 02-forking -c 2
    local tag
    for tag in $(reply_tags); do
        wait_until 1 server_printed "Server child PID $tag exited with status 0"
        if grep -q "^Server child PID $tag was killed" "$SERVER_OUT"; then
            echo "child $tag was said to be killed, though it exited"
            return 1
        fi
    done
    stop_server TERM 6
}

@test "02-4: a child killed by a signal is reported as such, with that signal's number" {
    start_server 02-forking
    # Two children, ended by two different signals: the number printed must be the one that
    # killed each (SIGUSR1's number differs between systems: kill -l says which it is here).
    local _ children=() conn reply
    for _ in 1 2; do
        open_connection conn
        send "$conn" 'hi\n'
        read_reply "$conn" reply 2
        children+=("${reply%%:*}")
    done
    kill -KILL "${children[0]}"
    kill -USR1 "${children[1]}"
    wait_until 1 server_printed "Server child PID ${children[0]} was killed by signal 9"
    wait_until 1 server_printed "Server child PID ${children[1]} was killed by signal $(kill -l USR1)"
    local child
    for child in "${children[@]}"; do
        if grep -q "^Server child PID $child exited" "$SERVER_OUT"; then
            echo "child $child was said to have exited, though a signal killed it"
            return 1
        fi
    done
    stop_server TERM 6
}
