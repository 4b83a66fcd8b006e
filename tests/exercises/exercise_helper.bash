# exercise_helper.bash: what the exercise checks share (loaded by tests/exercises/NN-K.bats).
# Each check starts a stage's server on a port the kernel picks, drives it, and looks at what it
# printed. The checks fail on the code as shipped and pass once the exercise is done; run one
# with `make exercise STAGE=NN EX=K` from the repository's root.

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
SERVER_PID=
EXTRA_PIDS=()

# start_server STAGE [OPTIONS...]: start STAGE's server (or $SERVER_BINARY if set); set
# SERVER_PID, PORT, SERVER_OUT (its stdout) and SERVER_ERR (its stderr).
start_server() {
    local stage=$1
    shift
    local binary=${SERVER_BINARY:-$ROOT/$stage/server}
    SERVER_OUT="$BATS_TEST_TMPDIR/server.out"
    SERVER_ERR="$BATS_TEST_TMPDIR/server.err"
    : >"$SERVER_OUT"
    # 3>&-: bats waits for every process that holds its descriptor 3.
    "$binary" "$@" >"$SERVER_OUT" 2>"$SERVER_ERR" 3>&- &
    SERVER_PID=$!
    local tries=0
    until [ -s "$SERVER_OUT" ]; do
        tries=$((tries + 1))
        if [ $tries -gt 100 ] || ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "the server did not start:"
            cat "$SERVER_ERR"
            return 1
        fi
        sleep 0.05
    done
    PORT=$(sed -n '1s/^Server listening on .*:\([0-9]*\) (PID [0-9]*)$/\1/p' "$SERVER_OUT")
    [ -n "$PORT" ] || {
        echo "no port in the banner: $(head -1 "$SERVER_OUT")"
        return 1
    }
}

# stop_server: SIGTERM, then wait up to 6 seconds; SERVER_STATUS is its exit status.
stop_server() {
    kill -TERM "$SERVER_PID" 2>/dev/null
    local tries=0
    while kill -0 "$SERVER_PID" 2>/dev/null && [ "$(process_state "$SERVER_PID")" != Z ]; do
        tries=$((tries + 1))
        if [ $tries -gt 60 ]; then
            echo "the server did not stop within 6 seconds of SIGTERM"
            kill -KILL "$SERVER_PID" 2>/dev/null
            return 1
        fi
        sleep 0.1
    done
    SERVER_STATUS=0
    wait "$SERVER_PID" || SERVER_STATUS=$?
    SERVER_PID=
}

# process_state PID: the first letter of ps's state (Z for a zombie), or nothing if it is gone.
process_state() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
    state=${state# }
    printf '%s' "${state:0:1}"
}

# alive PID: true while the process exists and is not a zombie.
alive() {
    local state
    state=$(process_state "$1")
    [ -n "$state" ] && [ "$state" != Z ]
}

# with_timeout SECONDS COMMAND...: run COMMAND, killing it after SECONDS; status 124 then.
with_timeout() {
    local limit=$(($1 * 10))
    shift
    "$@" 3>&- &
    local pid=$! tries=0
    while kill -0 "$pid" 2>/dev/null; do
        tries=$((tries + 1))
        if [ $tries -gt $limit ]; then
            kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            return 124
        fi
        sleep 0.1
    done
    wait "$pid"
}

# client STAGE [OPTIONS...]: run STAGE's client against the server, at most 10 seconds, with
# its output in CLIENT_OUT; fails if the client does.
client() {
    local stage=$1
    shift
    CLIENT_OUT="$BATS_TEST_TMPDIR/client.out"
    if ! with_timeout 10 "$ROOT/$stage/client" -p "$PORT" "$@" >"$CLIENT_OUT" 2>&1 5>&- 6>&-; then
        echo "the client failed:"
        cat "$CLIENT_OUT"
        return 1
    fi
}

# reply_tags: the tags of the replies in CLIENT_OUT, one per line.
reply_tags() {
    sed -n 's/^PID [0-9]* received: \(.*\): .*$/\1/p' "$CLIENT_OUT"
}

# wait_for_line REGEX [SECONDS]: wait (default 3 s) until a line of SERVER_OUT matches.
wait_for_line() {
    local regex=$1 limit=$((${2:-3} * 10)) tries=0
    until grep -Eq "$regex" "$SERVER_OUT"; do
        tries=$((tries + 1))
        if [ $tries -gt $limit ]; then
            echo "the server never printed a line like /$regex/; it printed:"
            cat "$SERVER_OUT" "$SERVER_ERR"
            return 1
        fi
        sleep 0.1
    done
}

# expect_before_shutdown LINE: LINE is the server's last line but one, before "Server shutting down".
expect_before_shutdown() {
    local last before
    last=$(tail -n 1 "$SERVER_OUT")
    before=$(tail -n 2 "$SERVER_OUT" | head -n 1)
    if [ "$last" != "Server shutting down" ] || [ "$before" != "$1" ]; then
        echo "expected '$1', then 'Server shutting down', at the end of the server's output:"
        cat "$SERVER_OUT"
        return 1
    fi
}

teardown() {
    if [ -n "$SERVER_PID" ]; then
        kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    local pid
    for pid in "${EXTRA_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null
    done
    return 0
}
