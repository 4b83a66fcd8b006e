#!/usr/bin/env bash
# trace.sh STAGE [SERVER OPTIONS]: the system calls of one client's connection, run from the
# stage's folder (make trace). Starts ./server under `strace -f` on a port the kernel picks,
# reads the port from the server's first line, runs one client, stops the server with SIGTERM,
# then prints the calls that matter, from the banner on: accept, fork or clone, read, write,
# close, exit, wait, and the signals that arrive. strace exists on Linux only.
set -u
stage=${1:?usage: trace.sh STAGE [SERVER OPTIONS]}
shift

if ! command -v strace >/dev/null 2>&1; then
    echo "trace: strace is not installed. It runs on Linux only ('sudo apt-get install strace');"
    echo "trace: macOS has no strace (dtruss needs System Integrity Protection turned off)."
    echo "trace: docs/$stage.md shows the trace of a real run on Linux."
    exit 1
fi

# The calls shown. A '?' lets strace skip a name this architecture lacks (arm64 has no fork).
calls='?accept,accept4,clone,?clone3,?fork,?vfork,read,write,writev,close,shutdown,exit,exit_group,wait4'

workdir=$(mktemp -d)
server_pid=
strace_pid=
cleanup() {
    [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null
    [ -n "$strace_pid" ] && wait "$strace_pid" 2>/dev/null
    rm -rf "$workdir"
}
trap cleanup EXIT

mkfifo "$workdir/server.out"
# strace blocks SIGTERM for itself while it runs a program, so the stop goes to the server's
# PID (from its banner), and strace ends when the server does.
strace -f -o "$workdir/trace" -e trace="$calls" -e verbose=wait4,writev ./server "$@" >"$workdir/server.out" \
    2>"$workdir/strace.err" &
strace_pid=$!
exec 3<"$workdir/server.out"
if ! IFS= read -r banner <&3; then
    echo "trace: the server did not start under strace:" >&2
    cat "$workdir/strace.err" >&2
    echo "trace: (in a container, ptrace may be forbidden: docker run --cap-add=SYS_PTRACE)" >&2
    exit 1
fi
port=${banner##*:}
port=${port%% *}
server_pid=${banner##*PID }
server_pid=${server_pid%)}
traced_pid=$server_pid
cat <&3 >"$workdir/server.log" &
relay_pid=$!

echo "=== $stage: one client's connection, as strace -f sees the server"
echo "$banner"
sleep 0.3 # let every process and thread of the server get ready, so the trace reads in order
echo "\$ ./client -p $port -c 1"
./client -p "$port" -c 1
sleep 0.3 # let the server finish with the connection before the stop
kill -TERM "$server_pid"
server_pid=
wait "$strace_pid"
strace_pid=
wait "$relay_pid"
exec 3<&-
echo "--- the server printed:"
cat "$workdir/server.log"
echo
echo "=== the system calls, from the banner on ($traced_pid is the server; every other number is a process or thread it started)"
# Before the banner come the dynamic loader's reads of the C library: not ours. The banner is
# a write, or a writev (musl's stdio writes its buffer and the new bytes in one call).
awk '/ writev?\(1, .*"Server listening/ { shown = 1 } shown' "$workdir/trace"
