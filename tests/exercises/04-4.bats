#!/usr/bin/env bats
# Exercise 04-4 (docs/04-combined.md): a graceful reload on SIGHUP. New workers start; the old
# ones stop accepting, finish the connections they have, and exit, without being replaced; the
# supervisor goes on. And, as before, the workers stop by themselves if the supervisor dies.
load exercise_helper

# The PIDs of the "Server started worker" lines, in order.
worker_pids() {
    sed -n 's/^Server started worker PID \([0-9]*\) .*/\1/p' "$SERVER_OUT"
}

# Wait until there are $1 "Server started worker" lines.
wait_for_workers() {
    local tries=0
    while [ "$(worker_pids | wc -l)" -lt "$1" ]; do
        tries=$((tries + 1))
        if [ $tries -gt 30 ]; then
            echo "expected $1 workers started within 3 seconds; the server printed:"
            cat "$SERVER_OUT" "$SERVER_ERR"
            return 1
        fi
        sleep 0.1
    done
}

@test "04-4: SIGHUP replaces the workers and lets the old ones finish their clients" {
    start_server 04-combined -w 2 -t 2
    wait_for_workers 2
    local old new pid reply
    old=$(worker_pids)
    EXTRA_PIDS+=($old)

    # A connection served by an old worker, open across the reload.
    exec 5<>"/dev/tcp/127.0.0.1/$PORT"
    printf 'before\n' >&5
    read -r -t 2 reply <&5
    local serving=${reply%%/*}
    echo "held connection served by $serving: $reply"
    echo "$old" | grep -qx "$serving"

    kill -HUP "$SERVER_PID"
    sleep 0.2
    alive "$SERVER_PID" || {
        echo "SIGHUP ended the server"
        return 1
    }
    wait_for_workers 4
    new=$(worker_pids | tail -n 2)
    EXTRA_PIDS+=($new)
    for pid in $new; do
        if echo "$old" | grep -qx "$pid"; then
            echo "worker $pid is not new"
            return 1
        fi
    done
    sleep 0.3

    # New clients go to the new workers only.
    client 04-combined -c 8 -j 4
    for pid in $(reply_tags | sed 's,/.*,,' | sort -u); do
        if ! echo "$new" | grep -qx "$pid"; then
            echo "a client was served by $pid, which is not a new worker"
            cat "$CLIENT_OUT"
            return 1
        fi
    done

    # The held connection is still served, by its old worker.
    printf 'after\n' >&5
    read -r -t 2 reply <&5
    echo "after the reload: $reply"
    case "$reply" in
    "$serving"/Thread-*": after") ;;
    *) return 1 ;;
    esac
    exec 5>&-

    # Then the old workers are gone, and were not replaced.
    local tries=0
    for pid in $old; do
        while alive "$pid"; do
            tries=$((tries + 1))
            if [ $tries -gt 30 ]; then
                echo "old worker $pid is still running"
                return 1
            fi
            sleep 0.1
        done
    done
    sleep 0.3
    [ "$(worker_pids | wc -l)" -eq 4 ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
}

@test "04-4: after a reload, the workers still stop when the supervisor is killed" {
    start_server 04-combined -w 2 -t 2
    wait_for_workers 2
    EXTRA_PIDS+=($(worker_pids))
    kill -HUP "$SERVER_PID"
    sleep 0.2
    alive "$SERVER_PID" || {
        echo "SIGHUP ended the server"
        return 1
    }
    wait_for_workers 4
    local new pid tries=0
    new=$(worker_pids | tail -n 2)
    EXTRA_PIDS+=($new)
    kill -KILL "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    for pid in $new; do
        while alive "$pid"; do
            tries=$((tries + 1))
            if [ $tries -gt 30 ]; then
                echo "worker $pid outlived its supervisor by 3 seconds"
                return 1
            fi
            sleep 0.1
        done
    done
}
