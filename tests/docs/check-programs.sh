#!/usr/bin/env bash
# check-programs.sh [--run] [-v] PAGE.md...: the whole programs a page shows must build, and serve.
#
# A ```c block whose first line is
#     /* NAME.c: the whole program, compiled and run by tests/docs.bats */
# is not a quote of a file but a complete echo server of its own (01-blocking.md opens with one).
# Each is written to NAME.c in a scratch folder and compiled with gcc and clang, those of them
# that are here (cc if neither is), at `-std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra
# -Wpedantic -Werror -O2`. With --run, each build is also started as `./NAME 0` (port 0: the
# kernel picks one); its first line must be the banner "Server listening on 127.0.0.1:PORT (PID N)"
# with N its PID, and 01-blocking's client, run against it with its defaults, must print its three
# lines for each of its two clients, both replies tagged N. Then the program is stopped with
# SIGTERM.
#
# Prints one line per problem, "PAGE:LINE: what" (a compiler's or the client's words indented
# below it), and exits 1 if there is any; with -v, also a line for each build that passed. Its
# last line is always the number of programs found.
set -u
run=0 verbose=0
while [ $# -gt 0 ]; do
    case $1 in
    --run) run=1 ;;
    -v) verbose=1 ;;
    *) break ;;
    esac
    shift
done
root=$(cd "$(dirname "$0")/../.." && pwd)
marker='^/\* ([A-Za-z0-9_]+)\.c: the whole program, compiled and run by tests/docs\.bats \*/$'
flags=(-std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wpedantic -Werror -O2)
compilers=()
for cc in gcc clang; do
    command -v "$cc" >/dev/null 2>&1 && compilers+=("$cc")
done
[ ${#compilers[@]} -gt 0 ] || compilers=(cc)

scratch=$(mktemp -d)
server_pid=
stop_program() {
    [ -n "$server_pid" ] || return 0
    kill -TERM "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=
}
trap 'stop_program; rm -rf "$scratch"' EXIT

status=0
found=0
problem() {
    echo "$page:$1: $2"
    status=1
}
# What a tool said, indented under the problem, at most 20 lines of it.
show() {
    head -n 20 "$1" | sed 's/^/    /'
}

# wait_exit PID SECONDS: wait for PID to exit, at most SECONDS; 1 if it is still running.
wait_exit() {
    local pid=$1 ticks=$(($2 * 20))
    while kill -0 "$pid" 2>/dev/null; do
        ((ticks-- > 0)) || return 1
        sleep 0.05
    done
}

# serve PAGE_LINE NAME BINARY: start the program, read its banner, run the client against it.
serve() {
    local line=$1 name=$2 bin=$3 fd banner port pid client out=$scratch/client.out
    rm -f "$scratch/banner"
    mkfifo "$scratch/banner"
    "$bin" 0 >"$scratch/banner" 2>"$scratch/server.err" </dev/null &
    server_pid=$!
    # The banner is the readiness signal: read it from a pipe, waiting at most 10 s.
    exec {fd}<"$scratch/banner"
    banner=
    IFS= read -r -t 10 -u "$fd" banner
    if ! [[ $banner =~ ^Server\ listening\ on\ 127\.0\.0\.1:([0-9]+)\ \(PID\ ([0-9]+)\)$ ]]; then
        problem "$line" "$name.c, run as \`./$name 0\`, printed no banner \`Server listening on 127.0.0.1:PORT (PID N)\` within 10 s, but \`$banner\`; its stderr:"
        show "$scratch/server.err"
        stop_program
        exec {fd}<&-
        return
    fi
    port=${BASH_REMATCH[1]}
    pid=${BASH_REMATCH[2]}
    [ "$pid" = "$server_pid" ] || problem "$line" "$name.c's banner names PID $pid; its PID is $server_pid"
    "$root/01-blocking/client" -p "$port" >"$out" 2>&1 </dev/null &
    client=$!
    if ! wait_exit "$client" 10; then
        kill -KILL "$client" 2>/dev/null
        echo "(killed after 10 s)" >>"$out"
    fi
    wait "$client"
    local client_status=$? expected
    expected=$(
        for _ in 1 2; do
            echo "PID $client sending message to server: 'Hello echo server!'"
            echo "Sent: 19 bytes"
            echo "PID $client received: $server_pid: Hello echo server!"
        done
    )
    if [ "$client_status" -ne 0 ] || [ "$(cat "$out")" != "$expected" ]; then
        problem "$line" "$name.c does not serve 01-blocking's client (exit status $client_status), which printed:"
        show "$out"
    elif [ "$verbose" -eq 1 ]; then
        echo "$page:$line: $name.c, built with $cc, served 01-blocking's client: both replies tagged $server_pid"
    fi
    stop_program
    exec {fd}<&-
}

for page in "$@"; do
    # Each whole program: its first line's number on the page, then its name, then its lines.
    rm -rf "$scratch/programs"
    mkdir "$scratch/programs"
    awk -v dir="$scratch/programs" -v marker="$marker" '
        inside && /^```[ \t]*$/ { inside = 0; close(file); next }
        inside { print > file; next }
        /^```c[ \t]*$/ {
            if ((getline first) > 0 && first ~ marker) {
                name = first
                sub(/^\/\* /, "", name)
                sub(/\.c:.*/, "", name)
                file = dir "/" (++n) "-" (NR) "-" name ".c"
                print first > file
                inside = 1
            }
        }
    ' "$page"
    for source in "$scratch"/programs/*.c; do
        [ -e "$source" ] || continue
        found=$((found + 1))
        base=${source##*/}
        base=${base#*-}
        line=${base%%-*}
        name=${base#*-}
        name=${name%.c}
        dir=$scratch/build
        rm -rf "$dir"
        mkdir "$dir"
        cp "$source" "$dir/$name.c"
        for cc in "${compilers[@]}"; do
            if ! (cd "$dir" && "$cc" "${flags[@]}" -o "$name-$cc" "$name.c") >"$scratch/cc.out" 2>&1; then
                problem "$line" "$name.c does not compile with $cc ${flags[*]}:"
                show "$scratch/cc.out"
                continue
            fi
            [ "$verbose" -eq 1 ] && [ "$run" -eq 0 ] && echo "$page:$line: $name.c built with $cc"
            if [ "$run" -eq 1 ]; then
                if [ ! -x "$root/01-blocking/client" ]; then
                    (unset MAKELEVEL MAKEFLAGS MFLAGS; make -s -C "$root/01-blocking" all) >/dev/null 2>&1
                fi
                serve "$line" "$name" "$dir/$name-$cc"
            fi
        done
    done
done
echo "$found"
exit $status
