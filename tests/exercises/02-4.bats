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
    done
    stop_server TERM 6
}

@test "02-4: a child killed by a signal is reported as such" {
    start_server 02-forking
    local conn reply
    open_connection conn
    send "$conn" 'hi\n'
    read_reply "$conn" reply 2
    local child=${reply%%:*}
    kill -KILL "$child"
    wait_until 1 server_printed "Server child PID $child was killed by signal 9"
    close_connection "$conn"
    stop_server TERM 6
}
