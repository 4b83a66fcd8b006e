#!/usr/bin/env bats
# Exercise 02-3 (docs/02-forking.md): the parent says how each child it reaped ended:
# "Server child PID N exited with status S" or "Server child PID N was killed by signal S".
load exercise_helper

@test "02-3: the parent reports each child's exit status" {
    start_server 02-forking
    client 02-forking -c 2
    local tag
    for tag in $(reply_tags); do
        wait_for_line "^Server child PID $tag exited with status 0\$" 1
    done
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
}

@test "02-3: a child killed by a signal is reported as such" {
    start_server 02-forking
    exec 5<>"/dev/tcp/127.0.0.1/$PORT"
    printf 'hi\n' >&5
    local reply
    read -r -t 2 reply <&5
    local child=${reply%%:*}
    kill -KILL "$child"
    wait_for_line "^Server child PID $child was killed by signal 9\$" 1
    exec 5>&-
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
}
