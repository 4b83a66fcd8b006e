#!/usr/bin/env bats
# Exercise 02-5 (docs/02-forking.md): a pre-forked server: -m MAX children forked once, at the
# start, each accepting and serving clients until the stop.
load exercise_helper

# has_children_count N: the server has N children, no more, no fewer.
has_children_count() {
    [ "$(server_children | wc -l)" -eq "$1" ]
}

# The children, once there are N of them (within 2 s of the banner), into CHILDREN.
expect_children_forked_at_start() {
    if ! wait_until 2 has_children_count "$1"; then
        echo "children before any client: $(server_children | paste -sd' ' -) (expected $1)"
        return 1
    fi
    mapfile -t CHILDREN < <(server_children | sort)
}

@test "02-5: six clients in turn are served by at most two children with -m 2" {
    start_server 02-forking -m 2
    expect_children_forked_at_start 2
    client_ok 02-forking -c 6
    local tags
    tags=$(reply_tags | sort -u)
    echo "reply tags: $tags"
    [ "$(echo "$tags" | wc -l)" -le 2 ]
    if echo "$tags" | grep -qx "$SERVER_PID"; then
        echo "the parent served a client itself"
        return 1
    fi
    local tag
    for tag in $tags; do
        if ! printf '%s\n' "${CHILDREN[@]}" | grep -qx "$tag"; then
            echo "$tag served a client, but is none of the children forked at the start"
            return 1
        fi
    done
    # No child was forked for the clients, or to replace one that served.
    is "${CHILDREN[*]}" "$(server_children | sort | paste -sd' ' -)" "the server's children"
    stop_server TERM 6
    local pid
    for pid in "${CHILDREN[@]}"; do
        if is_running "$pid"; then
            echo "child $pid outlived the server"
            return 1
        fi
    done
    # Each child saw the stop and exited by itself: none had to be killed.
    if grep -q "still busy" "$SERVER_ERR"; then
        echo "children were killed at the stop instead of exiting by themselves"
        return 1
    fi
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

@test "02-5: -m 3 forks three children before any client, processes of one thread each (Linux)" {
    [ -d /proc/self/task ] || skip "no /proc here"
    start_server 02-forking -m 3
    expect_children_forked_at_start 3
    local child
    for child in "${CHILDREN[@]}"; do
        is 1 "$(thread_count "$child")" "the threads of child $child"
    done
    is 1 "$(thread_count "$SERVER_PID")" "the threads of the parent"
    stop_server TERM 6
}
