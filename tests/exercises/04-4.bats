#!/usr/bin/env bats
# Exercise 04-4 (docs/04-combined.md): a fork-after-threads deadlock. Once its first workers
# run, the supervisor starts a thread that holds, almost all the time, a lock the workers take
# too. A worker forked after that (the replacement of a killed one) has a copy of the lock,
# held by a thread it does not have: it hangs on it for ever, alive but never answering.
load exercise_helper

# more_than_one_thread PID
more_than_one_thread() {
    [ "$(thread_count "$1")" -gt 1 ]
}

# every_thread_waits_on_a_futex PID: each thread of PID sleeps in the kernel's futex wait, as a
# thread blocked on a mutex (or in pthread_join) does, and none in poll or accept.
every_thread_waits_on_a_futex() {
    local task waits=0
    for task in /proc/"$1"/task/*; do
        [ "$(thread_waits_in "$1" "${task##*/}")" = futex ] || return 1
        waits=$((waits + 1))
    done
    [ "$waits" -gt 0 ]
}

@test "04-4: a worker forked after the supervisor started a thread hangs for ever on a lock" {
    start_server 04-combined -w 1 -t 1
    wait_for_workers 1 3
    local first second conn
    first=$(announced_workers)
    # The first worker was forked before any thread existed: it serves.
    client_ok 04-combined -c 1 -j 1
    is "$first/Thread-1" "$(reply_tags)" "the first worker's reply tag"
    # Then the supervisor runs a thread beside its main one.
    wait_until 3 more_than_one_thread "$SERVER_PID" || {
        echo "the supervisor (PID $SERVER_PID) never ran a second thread"
        return 1
    }
    kill -KILL "$first"
    wait_for_workers 2 3
    second=$(announced_workers | tail -n 1)
    # Its replacement is alive, takes the client, and never answers.
    open_connection conn
    send "$conn" 'are you there?\n'
    expect_no_reply "$conn" 2
    is_running "$second"
    is_child_of_server "$second"
    if [ -r "/proc/$second/wchan" ]; then
        wait_until 2 every_thread_waits_on_a_futex "$second" || {
            echo "not every thread of worker $second waits on a lock:"
            ps -L -o pid,lwp,stat,wchan:24 -p "$second"
            return 1
        }
    fi
    # A stop still ends the server: the hung worker sees none, so after the grace the supervisor
    # kills it, and says so.
    stop_server TERM 6
    grep -q 'still busy after [0-9]* ms; ending them$' "$SERVER_ERR"
}
