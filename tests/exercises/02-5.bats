#!/usr/bin/env bats
# Exercise 02-5 (docs/02-forking.md): a pre-forked server: -m MAX children forked once, at the
# start, each accepting and serving clients until the stop.
load exercise_helper

@test "02-5: six clients in turn are served by at most two children with -m 2" {
    start_server 02-forking -m 2
    client_ok 02-forking -c 6
    local tags
    tags=$(reply_tags | sort -u)
    echo "reply tags: $tags"
    [ "$(echo "$tags" | wc -l)" -le 2 ]
    if echo "$tags" | grep -qx "$SERVER_PID"; then
        echo "the parent served a client itself"
        return 1
    fi
    stop_server TERM 6
    local pid
    for pid in $tags; do
        if is_running "$pid"; then
            echo "child $pid outlived the server"
            return 1
        fi
    done
}

@test "02-5: with a connection held open, another client is still served" {
    start_server 02-forking -m 2
    local conn reply
    open_connection conn
    send "$conn" 'held\n'
    read_reply "$conn" reply 2
    client_ok 02-forking -c 3
    local held=${reply%%:*}
    if reply_tags | grep -qx "$held"; then
        echo "the child busy with the held connection ($held) served another client"
        return 1
    fi
    close_connection "$conn"
    stop_server TERM 6
}
