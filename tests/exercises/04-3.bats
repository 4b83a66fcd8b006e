#!/usr/bin/env bats
# Exercise 04-3 (docs/04-combined.md): a worker that dies within a second of its start is
# replaced only after a back-off, 100 ms, then twice as long each time, at most 5 s; before
# waiting, the supervisor prints "Server waiting N ms before starting a new worker". A stop is
# still obeyed at once during a wait, and a worker that lived a second is replaced at once.
load exercise_helper

# newest_worker N: once the supervisor has announced N workers (at most 3 s), the newest one's PID.
newest_worker() {
    wait_for_workers "$1" 3 || {
        echo "no worker number $1 was started within 3 seconds" >&2
        return 1
    }
    announced_workers | tail -n 1
}

# waits_printed N: the supervisor has printed N "Server waiting" lines, or more.
waits_printed() {
    [ "$(grep -c '^Server waiting' "$SERVER_OUT")" -ge "$1" ]
}

@test "04-3: a worker that keeps dying at once is restarted after 100, 200, then 400 ms" {
    start_server 04-combined -w 1 -t 1
    local n wait worker killed took
    n=1
    for wait in 100 200 400; do
        worker=$(newest_worker $n)
        killed=$(now_ms)
        kill -KILL "$worker"
        wait_until 1 server_printed "Server waiting $wait ms before starting a new worker"
        # It waits as long as it says before the next start.
        newest_worker $((n + 1)) >/dev/null
        took=$(($(now_ms) - killed))
        echo "worker $n killed; the next one started $took ms later"
        [ "$took" -ge "$wait" ]
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

@test "04-3: a worker that lived a second is replaced at once, and the back-off starts again" {
    start_server 04-combined -w 1 -t 1
    kill -KILL "$(newest_worker 1)"
    wait_until 1 server_printed 'Server waiting 100 ms before starting a new worker'
    local worker
    worker=$(newest_worker 2)
    sleep 1.2 # the time a worker must live, which no line shows
    kill -KILL "$worker"
    newest_worker 3 >/dev/null
    if waits_printed 2; then
        echo "a worker that lived a second was replaced after a wait"
        return 1
    fi
    # The next quick death waits 100 ms again, not 200.
    kill -KILL "$(newest_worker 3)"
    wait_until 1 waits_printed 2
    [ "$(grep '^Server waiting' "$SERVER_OUT" | tail -n 1)" = \
        'Server waiting 100 ms before starting a new worker' ]
    stop_server TERM 6
}
