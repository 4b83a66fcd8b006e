#!/usr/bin/env bats
# Exercise 01-3 (docs/01-blocking.md): one process, no fork, no thread, serves a client while
# another one is connected and silent.
load exercise_helper

@test "01-3: a client is answered while another connection sits idle" {
    start_server 01-blocking -i 30
    exec 5<>"/dev/tcp/127.0.0.1/$PORT"
    sleep 0.2
    # The held connection is silent: 01 as shipped is inside serve_connection for it.
    if ! with_timeout 2 "$ROOT/01-blocking/client" -p "$PORT" -c 1 >"$BATS_TEST_TMPDIR/client.out" 2>&1 5>&-; then
        exec 5>&-
        echo "the client got no answer within 2 seconds while another connection was open:"
        cat "$BATS_TEST_TMPDIR/client.out"
        return 1
    fi
    grep -q "received: $SERVER_PID: Hello echo server!" "$BATS_TEST_TMPDIR/client.out"
    # The first connection is still served, by the same process.
    printf 'late\n' >&5
    local reply
    read -r -t 3 reply <&5
    exec 5>&-
    [ "$reply" = "$SERVER_PID: late" ]
    [ -z "$(ps -o pid= --ppid "$SERVER_PID" 2>/dev/null)" ] || {
        echo "the server has child processes: no fork in this exercise"
        return 1
    }
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
}

@test "01-3: three connections at once, lines interleaved, each answered in order" {
    start_server 01-blocking -i 30
    exec 5<>"/dev/tcp/127.0.0.1/$PORT" 6<>"/dev/tcp/127.0.0.1/$PORT" 7<>"/dev/tcp/127.0.0.1/$PORT"
    local a= b= c= b2=
    printf 'c1\n' >&7
    printf 'b1\n' >&6
    printf 'a1\n' >&5
    # The last connection first: a server busy with the first one never answers it.
    if read -r -t 1 c <&7 && read -r -t 1 b <&6 && read -r -t 1 a <&5; then
        printf 'b2\n' >&6
        read -r -t 1 b2 <&6 || true
    fi
    exec 5>&- 6>&- 7>&-
    [ "$a" = "$SERVER_PID: a1" ] && [ "$b" = "$SERVER_PID: b1" ] && [ "$c" = "$SERVER_PID: c1" ] &&
        [ "$b2" = "$SERVER_PID: b2" ] || {
        echo "replies: '$a' '$b' '$c' '$b2'"
        return 1
    }
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
}
