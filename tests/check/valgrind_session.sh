#!/usr/bin/env bash
# valgrind_session.sh STAGE LOG_DIR: one scripted session of STAGE's server and client, every
# process of it under valgrind, each writing its report to LOG_DIR/STAGE.PID.log.
#
# check.sh (step 3) runs it for each stage, then reads the reports: an error or a definite
# leak in any of them fails the step. The session goes through what a server meets in a day:
#   the stage's own client (its default clients), under valgrind too;
#   several lines in one connection, the last one without '\n' before EOF;
#   a line over the limit (the error reply and the close);
#   half a line, then the client vanishes; half a line, then a reset;
#   a connection that sends nothing until the idle timeout (-i 2) ends it;
#   SIGTERM, and the server's exit status, which must be 0.
# The binaries are the ones in STAGE/ (check.sh builds them with -O1 -g first). Exit 0 when the
# session went as the contract says; the reports are check.sh's to judge.
set -uo pipefail

stage=${1:?usage: valgrind_session.sh STAGE LOG_DIR}
logdir=${2:?usage: valgrind_session.sh STAGE LOG_DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
rude=$root/tests/check/build/rude_client
mkdir -p "$logdir"
work=$(mktemp -d)

# --trace-children: follow exec'd programs too (forked ones are always followed); one log per
# process (%p). --errors-for-leak-kinds=definite: a definite leak counts as an error, so it
# shows in the ERROR SUMMARY and in the exit status; memory still reachable at exit (the
# children table a forked child inherits, say) does not.
vg=(valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99
    --trace-children=yes --track-origins=yes --log-file="$logdir/$stage.%p.log")

server_pid=
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -KILL "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "valgrind_session: $stage: $*" >&2
    if [ -s "$work/server.err" ]; then
        echo "  the server's stderr:" >&2
        sed 's/^/    /' "$work/server.err" | tail -20 >&2
    fi
    exit 1
}

# Everything under valgrind is slow: wait generously, but never without a bound.
wait_for() { # SECONDS COMMAND...
    local tries=$(($1 * 20))
    shift
    while ! "$@"; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || return 1
        sleep 0.05
    done
}
has_banner() { [ "$(wc -l <"$work/server.out")" -ge 1 ] || ! kill -0 "$server_pid" 2>/dev/null; }
has_exited() { ! kill -0 "$server_pid" 2>/dev/null; }

case $stage in
02-forking | 03-threading) extra=(-m 4) ;;
04-combined) extra=(-w 2 -t 2) ;;
*) extra=() ;;
esac

(cd "$root/$stage" && exec "${vg[@]}" ./server -i 2 ${extra[@]+"${extra[@]}"}) \
    >"$work/server.out" 2>"$work/server.err" </dev/null &
server_pid=$!
wait_for 60 has_banner || fail "no banner within 60 s"
banner=$(head -1 "$work/server.out")
port=$(sed -n 's/^Server listening on .*:\([0-9]*\) (PID [0-9]*)$/\1/p' <<<"$banner")
[ -n "$port" ] || fail "no banner; the server printed: $banner"

echo "  $stage: the client's default run"
(cd "$root/$stage" && timeout 60 "${vg[@]}" ./client -p "$port") >"$work/client.out" 2>&1 ||
    fail "the client failed: $(tail -3 "$work/client.out")"

echo "  $stage: three lines in one connection, the last without '\\n'"
replies=$(printf 'one\ntwo\nthree' | "$rude" talk -p "$port" -T 30) || fail "no close after EOF"
[ "$(grep -c ': \(one\|two\|three\)$' <<<"$replies")" -eq 3 ] || fail "replies: $replies"

echo "  $stage: a line over the limit"
long=$(head -c 1500 /dev/zero | tr '\0' x)
replies=$(printf '%s\n' "$long" | "$rude" talk -p "$port" -T 30) || fail "no close after a long line"
[ "$replies" = "error: line too long (limit 1024 bytes)" ] || fail "reply to a long line: $replies"

echo "  $stage: half a line, then the client vanishes; half a line, then a reset"
exec {fd}<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect"
printf 'half a li' >&"$fd"
exec {fd}>&-
printf 'half a li' | "$rude" talk -R -p "$port" || fail "cannot reset"

echo "  $stage: a connection idle until the timeout (2 s)"
exec {fd}<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect"
status=0
IFS= read -r -t 30 -u "$fd" got || status=$?
exec {fd}>&-
if [ "$status" -ne 1 ] || [ -n "${got:-}" ]; then
    fail "the idle connection was not closed (read status $status)"
fi

echo "  $stage: SIGTERM"
kill -TERM "$server_pid"
wait_for 30 has_exited || fail "still running 30 s after SIGTERM"
status=0
wait "$server_pid" || status=$?
server_pid=
[ "$status" -eq 0 ] || fail "exit status $status after SIGTERM (99: valgrind found errors)"
grep -qx 'Server shutting down' "$work/server.out" || fail "no 'Server shutting down'"
exit 0
