#!/usr/bin/env bats
# Exercise 04-5 (docs/04-combined.md): a graceful reload on SIGHUP. New workers start; the old
# ones stop accepting, finish the connections they have, and exit, without being replaced; the
# supervisor goes on. A new worker that dies is still replaced, and a second reload works as the
# first. And, as before, the workers stop by themselves if the supervisor dies.
load exercise_helper

# more_workers_than N: the supervisor has announced more than N workers.
more_workers_than() {
    [ "$(announced_workers | wc -l)" -gt "$1" ]
}

# Send SIGHUP: the server must still run 0.2 s later.
reload() {
    kill -HUP "$SERVER_PID"
    never_within 0.2 has_exited "$SERVER_PID" || {
        echo "SIGHUP ended the server"
        return 1
    }
}

@test "04-5: SIGHUP replaces the workers and lets the old ones finish their clients" {
    start_server 04-combined -w 2 -t 2
    wait_for_workers 2 3
    local old new pid conn reply
    old=$(announced_workers)

    # A connection served by an old worker, open across the reload.
    open_connection conn
    send "$conn" 'before\n'
    read_reply "$conn" reply 2
    local serving=${reply%%/*}
    echo "held connection served by $serving: $reply"
    echo "$old" | grep -qx "$serving"

    reload
    wait_for_workers 4 3
    new=$(announced_workers | tail -n 2)
    for pid in $new; do
        if echo "$old" | grep -qx "$pid"; then
            echo "worker $pid is not new"
            return 1
        fi
    done
    # Time for the old workers to stop accepting, which shows nowhere.
    sleep 0.3

    # New clients go to the new workers only.
    client_ok 04-combined -c 8 -j 4
    for pid in $(reply_tags | sed 's,/.*,,' | sort -u); do
        if ! echo "$new" | grep -qx "$pid"; then
            echo "a client was served by $pid, which is not a new worker"
            echo "$output"
            return 1
        fi
    done

    # The held connection is still served, by its old worker.
    send "$conn" 'after\n'
    read_reply "$conn" reply 2
    echo "after the reload: $reply"
    case "$reply" in
    "$serving"/Thread-*": after") ;;
    *) return 1 ;;
    esac
    close_connection "$conn"

    # Then the old workers are gone, and were not replaced.
    # shellcheck disable=SC2086 # one PID a word
    wait_until 3 all_exited $old || {
        echo "an old worker is still running"
        return 1
    }
    never_within 0.3 more_workers_than 4
    stop_server TERM 6
}

@test "04-5: after a reload, the workers still stop when the supervisor is killed" {
    start_server 04-combined -w 2 -t 2
    wait_for_workers 2 3
    reload
    wait_for_workers 4 3
    local new
    new=$(announced_workers | tail -n 2)
    stop_server KILL || true # its status says SIGKILL
    # shellcheck disable=SC2086 # one PID a word
    wait_until 3 all_exited $new || {
        echo "a worker outlived its supervisor by 3 seconds"
        return 1
    }
}

@test "04-5: after a reload, a new worker that dies is replaced, and a second reload works too" {
    start_server 04-combined -w 2 -t 1
    wait_for_workers 2 3
    local first second victim pid
    first=$(announced_workers)
    reload
    wait_for_workers 4 3
    # shellcheck disable=SC2086 # one PID a word
    wait_until 3 all_exited $first
    # Only the retired workers go unreplaced.
    victim=$(announced_workers | tail -n 1)
    kill -KILL "$victim"
    wait_for_workers 5 3 || {
        echo "worker $victim, killed after the reload, was not replaced"
        return 1
    }
    second=$(announced_workers | sed -n '3p;5p') # the 4th was the victim
    reload
    wait_for_workers 7 3
    # shellcheck disable=SC2086 # one PID a word
    wait_until 3 all_exited $second || {
        echo "a worker of the first reload outlived the second"
        return 1
    }
    local newest
    newest=$(announced_workers | tail -n 2)
    client_ok 04-combined -c 4 -j 2
    for pid in $(reply_tags | sed 's,/.*,,' | sort -u); do
        if ! echo "$newest" | grep -qx "$pid"; then
            echo "a client was served by $pid, which is not of the second reload"
            return 1
        fi
    done
    never_within 0.3 more_workers_than 7
    stop_server TERM 6
}
