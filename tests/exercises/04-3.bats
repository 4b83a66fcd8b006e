#!/usr/bin/env bats
# Exercise 04-3 (docs/04-combined.md): a worker that dies within a second of its start is
# replaced only after a back-off, 100 ms, then twice as long each time, at most 5 s; before
# waiting, the supervisor prints "Server waiting N ms before starting a new worker". A stop is
# still obeyed at once during a wait.
load exercise_helper

# newest_worker N: once the supervisor has announced N workers (at most 3 s), the newest one's PID.
newest_worker() {
    wait_for_workers "$1" 3 || {
        echo "no worker number $1 was started within 3 seconds" >&2
        return 1
    }
    announced_workers | tail -n 1
}

@test "04-3: a worker that keeps dying at once is restarted after 100, 200, then 400 ms" {
    start_server 04-combined -w 1 -t 1
    local n wait worker
    n=1
    for wait in 100 200 400; do
        worker=$(newest_worker $n)
        kill -KILL "$worker"
        wait_until 1 server_printed "Server waiting $wait ms before starting a new worker"
        n=$((n + 1))
    done
    # Each wait comes before the start it delays.
    newest_worker 4 >/dev/null
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
    stop_server TERM 6
}

@test "04-3: a stop during a back-off is obeyed at once" {
    start_server 04-combined -w 1 -t 1
    local n worker
    for n in 1 2 3 4 5; do
        worker=$(newest_worker $n)
        kill -KILL "$worker"
        wait_until 1 grep -Eq '^Server waiting [0-9]+ ms before starting a new worker$' "$SERVER_OUT"
    done
    # The back-off is now 1600 ms: stop in the middle of it.
    wait_until 2 server_printed 'Server waiting 1600 ms before starting a new worker'
    local before=$SECONDS
    stop_server TERM 6 # it exits, with status 0, within 6 s
    [ $((SECONDS - before)) -le 1 ]
    [ "$(tail -n 1 "$SERVER_OUT")" = "Server shutting down" ]
    [ "$(announced_workers | wc -l)" -eq 5 ]
}
