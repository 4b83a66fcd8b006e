#!/usr/bin/env bash
# run-demo.sh STAGE [SERVER OPTIONS]: make run for one stage, run from the stage's folder.
# Starts ./server on a port the kernel picks and reads the port from the server's first line.
# Then two runs of ./client: its defaults, the blog post's demonstration; and the lesson in
# numbers, two slow clients at once (-c 2 -j 2 -d 1: each keeps its connection a second after
# its reply), whose last line says how long they took and who served them: about 2 s where the
# second client waits for the first, about 1 s where they are served at once. Then SIGTERM
# stops the server. Everything both programs print is shown.
set -u
stage=${1:?usage: run-demo.sh STAGE [SERVER OPTIONS]}
shift

# The lesson's clients: two at once, each a second slow to leave.
lesson_options=(-c 2 -j 2 -d 1)

workdir=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null
    rm -rf "$workdir"
}
trap cleanup EXIT

echo "=== $stage: the blog post's clients, then two slow clients at once"
# The server writes into a FIFO so that we can read its first line for the port, then pass
# the rest of its output on to the terminal.
mkfifo "$workdir/server.out"
./server "$@" >"$workdir/server.out" &
server_pid=$!
exec 3<"$workdir/server.out"
if ! IFS= read -r banner <&3; then
    echo "run-demo: the server did not start" >&2
    exit 1
fi
echo "$banner"
port=${banner##*:}
port=${port%% *}
cat <&3 &
relay_pid=$!

echo "\$ ./client -p $port"
./client -p "$port"
client_status=$?

echo "=== two slow clients at once: each keeps its connection open 1 s after its reply"
echo "\$ ./client -p $port ${lesson_options[*]}"
./client -p "$port" "${lesson_options[@]}"
lesson_status=$?

kill -TERM "$server_pid"
wait "$server_pid"
server_status=$?
server_pid=
wait "$relay_pid"
exec 3<&-
echo "(client exit status $client_status and $lesson_status, server exit status $server_status)"
[ "$client_status" -eq 0 ] && [ "$lesson_status" -eq 0 ] && [ "$server_status" -eq 0 ]
