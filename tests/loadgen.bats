#!/usr/bin/env bats
# loadgen.bats: the benchmark's load generator counts what it sends and refuses wrong replies.
#
# Its fake server (tests/bench/fake_server.c) answers correctly or misbehaves on demand; a
# real stage server, where one is built, checks the counts against the real thing.

bats_require_minimum_version 1.5.0

load result_line # value NAME: a field of loadgen's result line
load processes   # server_zombies: the server's children that have exited, not yet reaped

ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
BENCH="$ROOT/tests/bench"

setup_file() {
    make -s -C "$BENCH" all >&2
}

# Start a server (the command given) and set SERVER_PID and PORT from its banner.
start_server() {
    mkfifo "$BATS_TEST_TMPDIR/out"
    "$@" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/server.err" 3>&- &
    SERVER_PID=$!
    exec 4<"$BATS_TEST_TMPDIR/out"
    local banner=
    IFS= read -r -t 5 -u 4 banner || { echo "no banner from $1" >&2; return 1; }
    [[ $banner =~ :([0-9]+)\ \(PID\ ([0-9]+)\)$ ]] || { echo "bad banner: $banner" >&2; return 1; }
    PORT=${BASH_REMATCH[1]}
}

start_fake() {
    start_server "$BENCH/fake_server" "$@"
}

teardown() {
    if [ -n "${SERVER_PID:-}" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        exec 4<&-
    fi
}

@test "loadgen counts every connection and every line: 4 clients x 25 connections x 10 lines" {
    start_fake
    run "$BENCH/loadgen" -p "$PORT" -c 4 -n 25 -l 10 -s 100
    [ "$status" -eq 0 ]
    [ "$(value connections)" -eq 100 ]
    [ "$(value lines)" -eq 1000 ]
    [ -n "$(value p99_us)" ]
}

@test "loadgen -S spreads its clients over loopback source addresses and still counts exactly" {
    start_fake
    run "$BENCH/loadgen" -p "$PORT" -c 4 -n 5 -l 2 -S 4
    [ "$status" -eq 0 ]
    [ "$(value connections)" -eq 20 ]
    [ "$(value lines)" -eq 40 ]
}

@test "loadgen with a duration reports lines = connections x lines per connection" {
    start_fake
    run "$BENCH/loadgen" -p "$PORT" -c 2 -d 0.3 -l 3
    [ "$status" -eq 0 ]
    [ "$(value connections)" -gt 0 ]
    [ "$(value lines)" -eq $(($(value connections) * 3)) ]
}

@test "loadgen sends lines of every size up to the protocol's 1024 bytes" {
    start_fake
    for size in 1 1023 1024; do
        run "$BENCH/loadgen" -p "$PORT" -n 3 -l 2 -s "$size"
        [ "$status" -eq 0 ]
        [ "$(value lines)" -eq 6 ]
    done
}

@test "a reply with a changed byte is an error, and no numbers are reported" {
    start_fake -b wrong
    run --separate-stderr "$BENCH/loadgen" -p "$PORT" -c 2 -n 5
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [[ $stderr == *"wrong reply: sent \"client "* ]]
    [[ $stderr == *"no results reported"* ]]
}

@test "a wrong reply after many good ones still fails the whole run" {
    start_fake -g 500 -b wrong
    run --separate-stderr "$BENCH/loadgen" -p "$PORT" -c 4 -n 100 -l 2
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [[ $stderr == *"wrong reply"* ]]
}

@test "a reply with an empty tag is an error" {
    start_fake -b notag
    run "$BENCH/loadgen" -p "$PORT"
    [ "$status" -eq 1 ]
    [[ $output == *"wrong reply"*'got ": client 1 connection 1 line 1'* ]]
}

@test "two replies to one line are an error" {
    start_fake -b twice
    run "$BENCH/loadgen" -p "$PORT" -n 3 -l 3
    [ "$status" -eq 1 ]
    [[ $output == *"more than one reply"* || $output == *"wrong reply"* || $output == *"bytes after the last reply"* ]]
}

@test "a connection closed without a reply is an error" {
    start_fake -b drop
    run "$BENCH/loadgen" -p "$PORT"
    [ "$status" -eq 1 ]
    [[ $output == *"closed the connection before replying"* ]]
}

@test "a missing reply is an error after the timeout" {
    start_fake -b silent
    run "$BENCH/loadgen" -p "$PORT" -T 0.3
    [ "$status" -eq 1 ]
    [[ $output == *"no reply within 0.3 s"* ]]
}

@test "nothing listening: a clear error" {
    start_fake
    kill -TERM "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    exec 4<&-
    run "$BENCH/loadgen" -p "$PORT"
    [ "$status" -eq 1 ]
    [[ $output == *"cannot connect to 127.0.0.1:$PORT"* ]]
}

@test "bad usage exits 2 with the usage" {
    run "$BENCH/loadgen" -c 2
    [ "$status" -eq 2 ]
    [[ $output == *"-p PORT is required"* ]]
    run "$BENCH/loadgen" -p 1 -s 1025
    [ "$status" -eq 2 ]
    run "$BENCH/loadgen" -p 1 -n 5 -d 1
    [ "$status" -eq 2 ]
}

@test "hold mode: an iterative server answers one of the held connections" {
    start_fake
    run "$BENCH/loadgen" -p "$PORT" -H 5 -T 0.3 </dev/null
    [ "$status" -eq 0 ]
    [ "$output" = "held=5 connected=5 served=1" ]
}

@test "the reference server answers every line, and an over-long one with the error line" {
    start_server "$BENCH/ref_server" -t 16
    run "$BENCH/loadgen" -p "$PORT" -c 4 -n 20 -l 5 -s 1024
    [ "$status" -eq 0 ]
    [ "$(value lines)" -eq 400 ]
    run "$BENCH/loadgen" -p "$PORT" -H 10 -T 2 </dev/null
    [ "$output" = "held=10 connected=10 served=10" ]
    exec 5<>"/dev/tcp/127.0.0.1/$PORT"
    printf '%01025d\n' 0 >&5
    IFS= read -r -t 5 reply <&5
    exec 5<&-
    [ "$reply" = "error: line too long (limit 1024 bytes)" ]
}

# One reply line over a connection of its own: reply_of LINE prints the reply.
reply_of() {
    exec 5<>"/dev/tcp/127.0.0.1/$PORT"
    printf '%s\n' "$1" >&5
    local reply=
    IFS= read -r -t 5 reply <&5
    exec 5<&-
    printf '%s\n' "$reply"
}

@test "the forking reference (-f) answers each connection from a child of its own, and reaps them" {
    start_server "$BENCH/ref_server" -f
    first=$(reply_of "hello")
    second=$(reply_of "hello")
    [[ $first =~ ^([0-9]+):\ hello$ ]]
    first_pid=${BASH_REMATCH[1]}
    [[ $second =~ ^([0-9]+):\ hello$ ]]
    [ "${BASH_REMATCH[1]}" != "$first_pid" ]
    [ "$first_pid" != "$SERVER_PID" ]
    run "$BENCH/loadgen" -p "$PORT" -c 1 -n 40 -l 3
    [ "$status" -eq 0 ]
    [ "$(value lines)" -eq 120 ]
    # Each accept reaps the children that have exited by then: not 40 zombies, one or two.
    [ "$(server_zombies | wc -l)" -le 3 ]
}

@test "the forking reference stops at SIGTERM: it says so and exits 0" {
    start_server "$BENCH/ref_server" -f
    run "$BENCH/loadgen" -p "$PORT" -c 4 -n 10
    [ "$status" -eq 0 ]
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID"
    status_at_stop=$?
    IFS= read -r -t 5 -u 4 last
    SERVER_PID=
    exec 4<&-
    [ "$status_at_stop" -eq 0 ]
    [ "$last" = "Server shutting down" ]
}

@test "the reference server takes threads or a fork per connection, not both" {
    run "$BENCH/ref_server" -f -t 4
    [ "$status" -eq 2 ]
    [[ $output == *"usage: ref_server [-p PORT] [-s | -f | -c | -t THREADS] [-q]"* ]]
}

@test "the reference and the fake server refuse a number with junk after it" {
    # Not the port 12, the 4 threads or the 0 good lines that strtol alone would make of them;
    # timeout: a server that took the number would start and never return.
    run timeout 5 "$BENCH/ref_server" -p 12x
    [ "$status" -eq 2 ]
    [[ $output == *"usage: ref_server"* ]]
    run timeout 5 "$BENCH/ref_server" -t 4threads
    [ "$status" -eq 2 ]
    [[ $output == *"usage: ref_server"* ]]
    run timeout 5 "$BENCH/fake_server" -g two
    [ "$status" -eq 2 ]
    [[ $output == *"usage: fake_server"* ]]
}

@test "long connections: -l 0 sends lines until the deadline, one connection per client" {
    start_server "$BENCH/ref_server" -t 4
    run "$BENCH/loadgen" -p "$PORT" -c 3 -d 0.3 -l 0
    [ "$status" -eq 0 ]
    [ "$(value connections)" -eq 3 ]
    [ "$(value lines)" -gt 3 ]
    run "$BENCH/loadgen" -p "$PORT" -l 0
    [ "$status" -eq 2 ]
}

# The counts against each real stage server that is built (the servers are built by `make`).
check_stage() {
    local stage=$1
    shift
    [ -x "$ROOT/$stage/server" ] || skip "$stage/server is not built"
    start_server "$ROOT/$stage/server" -q "$@"
    run "$BENCH/loadgen" -p "$PORT" -c 3 -n 7 -l 5 -s 200
    [ "$status" -eq 0 ]
    [ "$(value connections)" -eq 21 ]
    [ "$(value lines)" -eq 105 ]
}

@test "loadgen against 01-blocking: 3 clients x 7 connections x 5 lines = 105 replies" {
    check_stage 01-blocking
}

@test "loadgen against 02-forking: 3 clients x 7 connections x 5 lines = 105 replies" {
    check_stage 02-forking
}

@test "loadgen against 03-threading: 3 clients x 7 connections x 5 lines = 105 replies" {
    check_stage 03-threading
}

@test "loadgen against 04-combined: 3 clients x 7 connections x 5 lines = 105 replies" {
    check_stage 04-combined
}

@test "the Python servers speak the same protocol (skipped without python3)" {
    command -v python3 >/dev/null || skip "python3 not found"
    local model
    for model in iterative forking threading; do
        start_server python3 "$BENCH/python_servers.py" "$model" -q
        run "$BENCH/loadgen" -p "$PORT" -c 2 -n 3 -l 4 -s 1024
        [ "$status" -eq 0 ]
        [ "$(value lines)" -eq 24 ]
        teardown
        SERVER_PID=
        rm -f "$BATS_TEST_TMPDIR/out"
    done
}

@test "bench.sh refuses a BENCH_SECONDS that is not a positive number" {
    BENCH_SECONDS=abc run "$BENCH/bench.sh"
    [ "$status" -eq 2 ]
    [[ $output == *"BENCH_SECONDS must be"* ]]
}

@test "chart.sh draws an SVG from a results table, with a reason for a row not measured" {
    local tsv="$BATS_TEST_TMPDIR/bench.tsv"
    printf 'key\tserver\tstatus\tc1\tc1p50\tc1p99\tc8\tc8p50\tc8p99\tlines\tcpu\trss0\trss1\tserved\tkib\tnote\tpss\n' >"$tsv"
    printf 'reference\tref <&>\tok\t100\t1\t2\t200\t3\t4\t5000\t0.5\t10\t20\t200\t1\t\t1\n' >>"$tsv"
    printf '02-forking\t02-forking\tskipped\t\t\t\t\t\t\t\t\t\t\t\t\tnot built\t\n' >>"$tsv"
    run sh "$BENCH/chart.sh" "$tsv"
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "<svg "* ]]
    [ "${lines[${#lines[@]} - 1]}" = "</svg>" ]
    [[ $output == *"ref &lt;&amp;&gt;"* ]]
    [[ $output == *"not built"* ]]
}

@test "interleave.sh alternates the load between two servers, turning the order, and prints the median ratio" {
    run "$BENCH/interleave.sh" -r 3 -d 0.2 -c 2 -- "$BENCH/ref_server" -t 2 -- "$BENCH/fake_server"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 5 ]
    [ "${lines[0]}" = "round  first  A conn/s  B conn/s  A/B" ]
    local i ratios=() first=(- A B A)
    for i in 1 2 3; do
        # The order turns every round: A first, then B, then A again.
        [[ ${lines[$i]} =~ ^\ +$i\ +${first[$i]}\ +([1-9][0-9]*)\ +([1-9][0-9]*)\ +([0-9]+\.[0-9][0-9])$ ]]
        # The ratio printed is the ratio of the two rates printed.
        [ "$(awk -v a="${BASH_REMATCH[1]}" -v b="${BASH_REMATCH[2]}" 'BEGIN { printf "%.2f", a / b }')" = "${BASH_REMATCH[3]}" ]
        ratios+=("${BASH_REMATCH[3]}")
    done
    local sorted
    mapfile -t sorted < <(printf '%s\n' "${ratios[@]}" | sort -n)
    [ "${lines[4]}" = "median A/B over 3 rounds: ${sorted[1]} (lowest ${sorted[0]}, highest ${sorted[2]})" ]
}

@test "interleave.sh reports no ratio when a server answers wrongly" {
    run "$BENCH/interleave.sh" -r 2 -d 0.2 -c 2 -- "$BENCH/ref_server" -- "$BENCH/fake_server" -b wrong
    [ "$status" -eq 1 ]
    [[ $output == *"interleave: loadgen against port "* ]]
    [[ $output != *"median"* ]]
}

@test "interleave.sh needs two servers, and says how it is used" {
    run "$BENCH/interleave.sh" -- "$BENCH/ref_server"
    [ "$status" -eq 2 ]
    [[ $output == *"interleave.sh [-r ROUNDS]"* ]]
    run "$BENCH/interleave.sh" -r 0 -- "$BENCH/ref_server" -- "$BENCH/ref_server"
    [ "$status" -eq 2 ]
    [[ $output == *"-r takes a whole number"* ]]
}

@test "hold mode with -e: it reports once that many replies are in, not after the timeout" {
    start_fake
    # An iterative server answers 1 of 5: with -e 1 the report comes at once, long before -T.
    SECONDS=0
    run "$BENCH/loadgen" -p "$PORT" -H 5 -e 1 -T 20 </dev/null
    [ "$status" -eq 0 ]
    [ "$output" = "held=5 connected=5 served=1" ]
    [ "$SECONDS" -lt 15 ]
    run "$BENCH/loadgen" -p "$PORT" -H 5 -e 6
    [ "$status" -eq 2 ]
    [[ $output == *"-e REPLIES goes with -H CONNECTIONS, and at most CONNECTIONS"* ]]
    run "$BENCH/loadgen" -p "$PORT" -e 1
    [ "$status" -eq 2 ]
}

# A rounds table for verdicts.sh: rounds_tsv KEY RATE KEY RATE ... per round, rounds apart by "--".
rounds_tsv() {
    local round=1
    printf 'round\tkey\tconn_per_s\n'
    while [ $# -gt 0 ]; do
        if [ "$1" = -- ]; then
            round=$((round + 1))
            shift
            continue
        fi
        printf '%s\t%s\t%s\n' "$round" "$1" "$2"
        shift 2
    done
}

@test "verdicts.sh judges each target on the median of its rounds' ratios, not on a ratio of medians" {
    local tsv="$BATS_TEST_TMPDIR/rounds.tsv"
    # 02 against the fork yardstick: ratios 0.90, 0.90 and 0.73, median 0.90: met. The medians
    # of the rates, 900 / 1,100 = 0.82, would not be. 04 against the pool: 0.8995 would round
    # onto 0.90 and is not met, so it is shown with three decimals.
    rounds_tsv 02-forking 900 reference-fork 1000 04-combined 8995 reference-pool 10000 py-forking 100 -- \
        02-forking 1800 reference-fork 2000 04-combined 8995 reference-pool 10000 py-forking 200 -- \
        02-forking 800 reference-fork 1100 04-combined 8995 reference-pool 10000 >"$tsv"
    run sh "$BENCH/verdicts.sh" "$tsv"
    [ "$status" -eq 0 ]
    [[ $output == *"- 02-forking against the least fork-per-connection server (ref_server -f): 0.90 (target >= 0.85): met; 3 rounds, 0.73 to 0.90"* ]]
    [[ $output == *"- 02-forking against Python ForkingMixIn: 9.00x (target >= 5x): met; 2 rounds, 9.00x to 9.00x"* ]]
    [[ $output == *"- 04-combined against the least thread-pool server (ref_server -t 8): 0.899 (target >= 0.90): NOT met; 3 rounds, 0.899 to 0.899"* ]]
    [[ $output == *"- 01-blocking against Python TCPServer: not measured"* ]]
    [ "${#lines[@]}" -eq 7 ]
}

@test "curves.sh draws a line per server on log scales, escapes labels, and lists one not measured" {
    local tsv="$BATS_TEST_TMPDIR/curves.tsv"
    printf 'key\tserver\tkind\tmodel\tmeasure\tx\tvalue\n' >"$tsv"
    printf '02-forking\t02 <&>\tstage\tfork\tpss_kib\t%s\t%s\n' 10 1000 100 10000 1000 100000 >>"$tsv"
    printf 'reference-poll\tpoll\tyardstick\tevent\tpss_kib\t%s\t%s\n' 10 200 100 200 1000 210 >>"$tsv"
    printf 'reference-poll\tpoll\tyardstick\tevent\tconn_per_s\t%s\t%s\n' 1 900 8 1800 >>"$tsv"
    run sh "$BENCH/curves.sh" "$tsv" "Memory" pss_kib conn_per_s
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "<svg "* ]]
    [ "${lines[${#lines[@]} - 1]}" = "</svg>" ]
    [[ $output == *"02 &lt;&amp;&gt;"* ]]
    [[ $output == *"PSS, MiB: shared pages divided among the processes (less is better), log scale"* ]]
    [[ $output == *"idle connections held open (log scale)"* ]]
    # Two lines in the memory panel, one in the other; 02 has no conn/s but is in the legend.
    [ "$(grep -c '<path ' <<<"$output")" -eq 3 ]
    [[ $output == *">1,000<"* ]] # a tick on the x axis, with its thousands separator
    run sh "$BENCH/curves.sh" "$tsv" "Tasks" threads
    [ "$status" -eq 0 ]
    [[ $output == *"02 &lt;&amp;&gt;: not measured"* ]]
}

@test "bench.sh refuses a bad BENCH_ROUNDS, BENCH_SCALE or BENCH_ONLY" {
    BENCH_ROUNDS=0 run "$BENCH/bench.sh"
    [ "$status" -eq 2 ]
    [[ $output == *"BENCH_ROUNDS must be"* ]]
    BENCH_SCALE=huge run "$BENCH/bench.sh"
    [ "$status" -eq 2 ]
    [[ $output == *"BENCH_SCALE is empty or 'big'"* ]]
    BENCH_ONLY="02-forking nosuch" run "$BENCH/bench.sh"
    [ "$status" -eq 2 ]
    [[ $output == *"BENCH_ONLY: no server 'nosuch'"* ]]
}

@test "bench.sh, on two yardsticks in short runs: the table, the verdicts, the curves and every chart" {
    local results="$BATS_TEST_TMPDIR/results"
    BENCH_ONLY="reference-iterative reference-poll" BENCH_SECONDS=0.05 BENCH_ROUNDS=2 \
        BENCH_RESULTS="$results" run --separate-stderr "$BENCH/bench.sh"
    echo "$output"
    echo "$stderr"
    [ "$status" -eq 0 ]
    # Progress on stderr, through both phases.
    [[ $stderr == *"bench: [conn/s 2/4] 8 client(s), round 2 of 2"* ]]
    [[ $stderr == *"bench: [idle 2/2] yardstick: event loop, poll (ref_event)"* ]]
    # One row each, measured; the verdicts need stages, so none is measured.
    [[ $output == *"| yardstick: iterative (ref_server -s) | "[1-9]* ]]
    [[ $output == *"- 01-blocking against the least iterative server (ref_server -s): not measured"* ]]
    # The curves: conn/s at every client count, and by idle connections what each model says:
    # the iterative server answers 1 of 1,000 held, the event loop all 1,000, in one thread.
    local tsv="$results/curves.tsv"
    [ "$(awk -F'\t' '$1 == "reference-poll" && $5 == "conn_per_s" && $7 > 0' "$tsv" | wc -l)" -eq 4 ]
    [ "$(awk -F'\t' '$1 == "reference-iterative" && $5 == "served" && $6 == 1000 { print $7 }' "$tsv")" = 1 ]
    [ "$(awk -F'\t' '$1 == "reference-poll" && $5 == "served" && $6 == 1000 { print $7 }' "$tsv")" = 1000 ]
    [ "$(awk -F'\t' '$1 == "reference-poll" && $5 == "processes" && $6 == 1000 { print $7 }' "$tsv")" = 1 ]
    [[ $output == *"| yardstick: event loop, poll (ref_event) | "* ]]
    local chart
    for chart in bench conn-curves memory-curves tasks-curves; do
        [ "$(tail -n 1 "$results/$chart.svg")" = "</svg>" ]
    done
    [ "$(tail -n +2 "$results/rounds.tsv" | wc -l)" -eq 4 ]
}
