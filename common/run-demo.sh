#!/usr/bin/env bash
# run-demo.sh STAGE: the blog post's demonstration for one stage, run from the stage's folder.
# Starts ./server on a port the kernel picks, reads the port from the server's first line, runs
# ./client with its default clients, then stops the server with SIGTERM, showing everything
# both programs print.
set -u
stage=${1:?usage: run-demo.sh STAGE}
shift

workdir=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null
    rm -rf "$workdir"
}
trap cleanup EXIT

echo "=== $stage: one server, the default clients, then a stop"
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

kill -TERM "$server_pid"
wait "$server_pid"
server_status=$?
server_pid=
wait "$relay_pid"
exec 3<&-
echo "(client exit status $client_status, server exit status $server_status)"
[ "$client_status" -eq 0 ] && [ "$server_status" -eq 0 ]
