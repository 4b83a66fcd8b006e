#!/usr/bin/env bats
# Exercise 04-3 (docs/04-combined.md): a worker that dies within a second of its start is
# replaced only after a back-off, 100 ms, then twice as long each time, at most 5 s; before
# waiting, the supervisor prints "Server waiting N ms before starting a new worker". A stop is
# still obeyed at once during a wait.
load exercise_helper

# The PID of the newest "Server started worker" line, once there are at least $1 of them.
newest_worker() {
    wait_for_line '^Server started worker PID [0-9]+ ' 3 || return 1
    local tries=0
    while [ "$(grep -c '^Server started worker PID ' "$SERVER_OUT")" -lt "$1" ]; do
        tries=$((tries + 1))
        if [ $tries -gt 30 ]; then
            echo "no worker number $1 was started within 3 seconds:"
            cat "$SERVER_OUT"
            return 1
        fi
        sleep 0.1
    done
    grep '^Server started worker PID ' "$SERVER_OUT" | tail -n 1 | sed 's/^Server started worker PID \([0-9]*\) .*/\1/'
}

@test "04-3: a worker that keeps dying at once is restarted after 100, 200, then 400 ms" {
    start_server 04-combined -w 1 -t 1
    local n wait worker
    n=1
    for wait in 100 200 400; do
        worker=$(newest_worker $n)
        EXTRA_PIDS+=("$worker")
        kill -KILL "$worker"
        wait_for_line "^Server waiting $wait ms before starting a new worker\$" 1
        n=$((n + 1))
    done
    # Each wait comes before the start it delays.
    worker=$(newest_worker 4)
    EXTRA_PIDS+=("$worker")
    grep -E '^Server (waiting|started)' "$SERVER_OUT" | sed 's/ PID [0-9]*//' >"$BATS_TEST_TMPDIR/order"
    cat "$BATS_TEST_TMPDIR/order"
    diff - "$BATS_TEST_TMPDIR/order" <<'ORDER'
Server started worker with 1 threads
Server waiting 100 ms before starting a new worker
Server started worker with 1 threads
Server waiting 200 ms before starting a new worker
Server started worker with 1 threads
Server waiting 400 ms before starting a new worker
Server started worker with 1 threads
ORDER
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
}

@test "04-3: a stop during a back-off is obeyed at once" {
    start_server 04-combined -w 1 -t 1
    local n worker
    for n in 1 2 3 4 5; do
        worker=$(newest_worker $n)
        EXTRA_PIDS+=("$worker")
        kill -KILL "$worker"
        wait_for_line "^Server waiting [0-9]+ ms before starting a new worker\$" 1
    done
    # The back-off is now 1600 ms: stop in the middle of it.
    wait_for_line '^Server waiting 1600 ms before starting a new worker$' 2
    local before=$SECONDS
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    [ $((SECONDS - before)) -le 1 ]
    [ "$(tail -n 1 "$SERVER_OUT")" = "Server shutting down" ]
    [ "$(grep -c '^Server started worker PID ' "$SERVER_OUT")" -eq 5 ]
}
