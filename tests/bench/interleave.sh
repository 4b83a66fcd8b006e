#!/usr/bin/env bash
# interleave.sh [-r ROUNDS] [-d SECONDS] [-c CLIENTS] -- SERVER_A [ARG...] -- SERVER_B [ARG...]
#
# Compare two servers' connections per second fairly on a noisy machine. make bench measures
# the servers one after another, so a busy moment of the machine can land on one and not the
# other. Here both servers run at once (an idle server costs nothing) and the load alternates:
# SECONDS on each, ROUNDS times. The order turns each round (A then B, then B then A: column
# "first"), so that a machine slowly getting busier or quieter does not push every round's
# ratio the same way, as it would if B always came second. Each round prints both rates and
# their ratio; the last line is the median of the rounds' ratios, the number to compare with a
# target. An even ROUNDS gives each side the first slice equally often.
#
#   tests/bench/interleave.sh -- 02-forking/server -- python3 tests/bench/python_servers.py forking
#
# Each server is started with -q and must print the contract's banner first. The load is
# loadgen's, as in make bench: CLIENTS closed-loop clients (default 8), one line per connection.
set -u

here=$(cd "$(dirname "$0")" && pwd)
rounds=6 # even: each side goes first in half of the rounds
seconds=0.5
clients=8

usage() {
    sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

while getopts r:d:c:h letter; do
    case $letter in
    r) rounds=$OPTARG ;;
    d) seconds=$OPTARG ;;
    c) clients=$OPTARG ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "interleave: -r takes a whole number from 1" >&2; exit 2; }
[[ $clients =~ ^[1-9][0-9]*$ ]] || { echo "interleave: -c takes a whole number from 1" >&2; exit 2; }
awk -v s="$seconds" 'BEGIN { exit !(s + 0 > 0) }' || { echo "interleave: -d takes seconds, more than 0" >&2; exit 2; }

# The two command lines, separated by "--" (getopts has taken the "--" before the first).
server_a=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    server_a+=("$1")
    shift
done
[ "${1:-}" = "--" ] && [ ${#server_a[@]} -gt 0 ] || usage
shift
server_b=("$@")
[ ${#server_b[@]} -gt 0 ] || usage
[ -x "$here/loadgen" ] || { echo "interleave: $here/loadgen is missing: run 'make -C tests/bench' first" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/interleave.XXXXXX") || exit 1
pids=()
cleanup() {
    [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# start NAME FD COMMAND...: start a server with -q; its port into $tmp/NAME.port. Its banner
# is read from a FIFO, so we know it listens before any load starts; descriptor FD keeps the
# FIFO open until we exit, so the server's last line never meets a closed pipe. (Fixed
# descriptor numbers rather than {var} redirections, for the bash 3.2 of macOS.)
start() {
    local name=$1 fd=$2
    shift 2
    mkfifo "$tmp/$name.out" || return 1
    "$@" -q >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pids+=($!)
    case $fd in
    5) exec 5<"$tmp/$name.out" ;;
    6) exec 6<"$tmp/$name.out" ;;
    esac
    local banner=
    if ! IFS= read -r -t 10 -u "$fd" banner; then
        echo "interleave: $* printed no banner within 10 s: $(head -c 300 "$tmp/$name.err")" >&2
        return 1
    fi
    local pattern='^Server listening on [^ ]*:([0-9]+) \(PID [0-9]+\)$'
    [[ $banner =~ $pattern ]] || { echo "interleave: unexpected banner from $*: $banner" >&2; return 1; }
    echo "${BASH_REMATCH[1]}" >"$tmp/$name.port"
}

# rate PORT: one slice of load; prints its connections per second, or fails with loadgen's error.
rate() {
    local result
    result=$("$here/loadgen" -p "$1" -c "$clients" -d "$seconds" -S "$clients" 2>"$tmp/loadgen.err") || {
        echo "interleave: loadgen against port $1: $(head -1 "$tmp/loadgen.err")" >&2
        return 1
    }
    [[ $result =~ conn_per_s=([0-9]+) ]] || { echo "interleave: no rate in: $result" >&2; return 1; }
    echo "${BASH_REMATCH[1]}"
}

start a 5 "${server_a[@]}" || exit 1
start b 6 "${server_b[@]}" || exit 1
port_a=$(cat "$tmp/a.port") port_b=$(cat "$tmp/b.port")

echo "round  first  A conn/s  B conn/s  A/B"
for ((round = 1; round <= rounds; round++)); do
    if ((round % 2 == 1)); then
        first=A
        a=$(rate "$port_a") || exit 1
        b=$(rate "$port_b") || exit 1
    else
        first=B
        b=$(rate "$port_b") || exit 1
        a=$(rate "$port_a") || exit 1
    fi
    [ "$b" -gt 0 ] || { echo "interleave: B served no connection in round $round" >&2; exit 1; }
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')
    printf '%5d  %5s  %8d  %8d  %s\n' "$round" "$first" "$a" "$b" "$ratio"
    echo "$ratio" >>"$tmp/ratios"
done
sort -n "$tmp/ratios" | awk '{ r[NR] = $1 }
    END {
        median = NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
        printf "median A/B over %d rounds: %.2f (lowest %.2f, highest %.2f)\n", NR, median, r[1], r[NR]
    }'
