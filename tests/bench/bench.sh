#!/usr/bin/env bash
# bench.sh: measure every server model side by side (`make bench`), and how its cost grows.
#
# The servers: the four stages, the blog post's Python servers (python_servers.py, where python3
# exists) and the yardsticks, the least C server of each model (ref_server.c, ref_event.c).
# Two phases, never two measurements at once:
#
# 1. Connections per second (closed-loop clients, one line per connection): every server is
#    started at once (an idle server costs nothing) and the load goes to one at a time, at 1, 8,
#    64 and 256 concurrent clients, in rounds: every server once a round, the order turned
#    every round (as interleave.sh does for a pair), so that a busy moment of the machine falls
#    on both sides of a ratio. Two rounds at 1, 64 and 256 clients; at 8, the clients of the
#    targets, ROUNDS rounds, and each target's verdict is the median of its rounds' ratios
#    (verdicts.sh). A point of the curves is the median of its rounds. The servers run under
#    rusage_run: their CPU seconds per 10,000 connections, children and threads included
#    (Stevens's measure, UNP ch. 30).
# 2. One server at a time, started again with room for many connections (-m for 02 and 03, a
#    big pool for 04): lines per second on 8 long connections, then memory (RSS and PSS, its
#    processes together) and its processes and threads, idle and at 10, 100 and 1,000 idle
#    connections (4,000 and 10,000 more with BENCH_SCALE=big), each held open by loadgen -H
#    after one line answered.
#
# Prints the table, the verdicts and the curves as Markdown, and writes them to results/:
# bench.md, bench.tsv (one row a server), curves.tsv (one value a line), rounds.tsv, and the
# charts bench.svg (chart.sh: bars) and conn-curves.svg, memory-curves.svg, tasks-curves.svg
# (curves.sh: lines).
#
# Knobs (environment): BENCH_SECONDS, each measurement's length (default 0.3); BENCH_ROUNDS,
# the interleaved rounds at 8 clients (default 6, even: each side first equally often);
# BENCH_SCALE=big, the 4,000 and 10,000 idle connection points too; BENCH_ONLY, the keys of
# the servers to measure (default all; the keys are bench.tsv's first column);
# BENCH_RESULTS, the results folder. Progress goes to stderr. Exit 0 when every server that
# exists was measured without error, 1 otherwise, 2 for a bad knob.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${BENCH_SECONDS:-0.3}
rounds=${BENCH_ROUNDS:-6}
scale=${BENCH_SCALE:-}
only=${BENCH_ONLY:-}
results=${BENCH_RESULTS:-$here/results}

fail_usage() {
    echo "bench: $*" >&2
    exit 2
}
awk -v s="$seconds" 'BEGIN { exit !(s + 0 > 0 && s + 0 <= 60) }' ||
    fail_usage "BENCH_SECONDS must be a number of seconds, more than 0 and at most 60"
[[ $rounds =~ ^[1-9][0-9]?$ ]] || fail_usage "BENCH_ROUNDS must be a whole number from 1 to 99"
case $scale in
"") idle_points="10 100 1000" ;;
big) idle_points="10 100 1000 4000 10000" ;;
*) fail_usage "BENCH_SCALE is empty or 'big' (the 4,000 and 10,000 idle connection points)" ;;
esac
for program in loadgen rusage_run ref_server ref_event; do
    [ -x "$here/$program" ] || fail_usage "$here/$program is missing: run 'make -C tests/bench' first"
done

client_points="1 8 64 256"
clients=8           # the targets' clients, measured in rounds
table_point=1000    # the idle connections of the table's memory columns
reply_timeout=10    # behind an iterative server, 256 clients wait their turn
hold_timeout=30     # the most we wait for held connections' replies
sources=8           # loadgen -S: each client from its own loopback address (see loadgen.c)
max_idle=${idle_points##* }

# ---------------------------------------------------------------------------------------------
# The servers, in the table's order: for each, its key (bench.tsv's first column), its label,
# its model, its kind (stage, python, yardstick), how many connections it serves at once in
# phase 2 (empty: all), the options of phase 1 and of phase 2, and how to run it.

keys=() labels=() models=() kinds=() caps=() conn_options=() memory_options=() runs=()
add_server() {
    keys+=("$1") labels+=("$2") models+=("$3") kinds+=("$4") caps+=("$5")
    conn_options+=("$6") memory_options+=("$7") runs+=("$8")
}
add_server 01-blocking "01-blocking" iterative stage 1 "" "" stage
add_server py-iterative "Python TCPServer" iterative python 1 "" "" "python iterative"
add_server reference-iterative "yardstick: iterative (ref_server -s)" iterative yardstick 1 "-s" "-s" ref_server
add_server 02-forking "02-forking" fork stage "" "" "-m $max_idle" stage
add_server py-forking "Python ForkingMixIn" fork python "" "" "-m $max_idle" "python forking"
add_server reference-fork "yardstick: fork per connection (ref_server -f)" fork yardstick "" "-f" "-f" ref_server
add_server 03-threading "03-threading" thread stage "" "" "-m $max_idle" stage
add_server py-threading "Python ThreadingMixIn" thread python "" "" "" "python threading"
add_server reference-thread "yardstick: thread per connection (ref_server -c)" thread yardstick "" "-c" "-c" ref_server
add_server 04-combined "04-combined" pool stage 256 "" "-w 2 -t 128" stage
add_server reference-pool "yardstick: thread pool (ref_server -t 8)" pool yardstick 256 "-t 8" "-t 256" ref_server
add_server reference-poll "yardstick: event loop, poll (ref_event)" event yardstick "" "" "" ref_event
add_server reference-epoll "yardstick: event loop, epoll (ref_event -e)" event yardstick "" "-e" "-e" ref_event
server_count=${#keys[@]}

# The order of a round at 8 clients: each stage between the two it is compared with, so that
# every pair of a target is measured back to back (index into the lists above).
round_order=(1 0 2 4 3 5 7 6 8 9 10 11 12)

index_of() {
    local i
    for ((i = 0; i < server_count; i++)); do
        [ "${keys[$i]}" = "$1" ] && { echo "$i"; return 0; }
    done
    return 1
}
if [ -n "$only" ]; then
    for key in $only; do
        index_of "$key" >/dev/null || fail_usage "BENCH_ONLY: no server '$key' (the keys: ${keys[*]})"
    done
fi

# ---------------------------------------------------------------------------------------------
# Helpers

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX") || exit 1
progress() { printf 'bench: %s\n' "$*" >&2; }
started=$(date +%s)
elapsed() { echo $(($(date +%s) - started)); }

# The value of NAME in a "name=value ..." line: field NAME FILE.
field() { awk -v name="$1" '{ for (i = 1; i <= NF; i++) if (index($i, name "=") == 1) print substr($i, length(name) + 2) }' "$2"; }

# Can ps count each process's threads (nlwp: Linux, the BSDs)? Elsewhere the column stays empty.
if ps -o nlwp= -p $$ >/dev/null 2>&1; then threads_column=nlwp; else threads_column=; fi

# tree_stats PID: the server PID and every process descended from it (02's children, 04's
# workers), from one ps snapshot: sets procs (live ones: a zombie has exited), threads, rss
# (KiB, summed: a page shared by N processes counts N times), pids_text, and pss (KiB: Linux's
# /proc/PID/smaps_rollup divides each shared page among the processes that map it; empty
# elsewhere).
tree_stats() {
    local line pid pids=()
    line=$(ps -A -o pid= -o ppid= -o rss= -o stat= ${threads_column:+-o $threads_column=} |
        awk -v root="$1" '
        { parent[$1] = $2; rss[$1] = $3; state[$1] = $4; nlwp[$1] = $5 }
        END {
            for (p in parent) {
                q = p
                for (depth = 0; depth < 64 && q != "" && q != 0; depth++) {
                    if (q == root) {
                        if (state[p] ~ /^Z/) break
                        procs++; sum += rss[p]; threads += nlwp[p]; list = list " " p
                        break
                    }
                    q = parent[q]
                }
            }
            printf "%d %d %d%s\n", procs, threads, sum, list
        }')
    read -r procs threads rss pids_text <<<"$line"
    [ -n "$threads_column" ] || threads=
    pss=
    # cat, not awk on the files: a process that has just exited has a file that cannot be
    # read, and cat goes on to the next one.
    for pid in $pids_text; do
        [ -r "/proc/$pid/smaps_rollup" ] && pids+=("/proc/$pid/smaps_rollup")
    done
    if [ ${#pids[@]} -gt 0 ]; then
        pss=$(cat "${pids[@]}" 2>/dev/null | awk '$1 == "Pss:" { sum += $2; found = 1 } END { if (found) print sum }')
    fi
}

# settle PID: wait (at most 2 s) until the server's live processes stop changing, the same
# count twice in a row: a child that served the warm-up may still be exiting. (Its zombie
# holds no memory, and may wait long: the fork yardstick and Python reap at the next accept.)
settle() {
    local tries=0 last=-1
    while [ $tries -lt 40 ]; do
        tree_stats "$1"
        [ "$procs" = "$last" ] && return 0
        last=$procs
        sleep 0.05
        tries=$((tries + 1))
    done
}

# server_command I: the command line of server I, without its options, into the array command.
server_command() {
    case ${runs[$1]} in
    stage) command=("$root/${keys[$1]}/server") ;;
    python*) command=("$python" "$here/python_servers.py" "${runs[$1]#python }") ;;
    *) command=("$here/${runs[$1]}") ;;
    esac
}

# Why a server is not measured, if it is not: not built, no python3, no epoll, not asked for.
absence() {
    local i=$1
    case ${runs[$i]} in
    stage) [ -x "$root/${keys[$i]}/server" ] || { echo "not built"; return; } ;;
    python*) [ -n "$python" ] || { echo "python3 not found"; return; } ;;
    esac
    if [ "${keys[$i]}" = reference-epoll ] && ! "$here/ref_event" -h | grep -q -- '^  -e '; then
        echo "no epoll on this system"
    fi
}

# start_server I OPTION...: start server I under rusage_run, quiet, with OPTIONs; sets
# server_pid[I], wrapper_pid[I], port[I], or returns 1 with the reason in failed[I]. The port
# comes from the banner, the first line of its stdout, read from a FIFO; then a background cat
# drains the rest until the server exits, so its last line never meets a closed pipe.
server_pid=() wrapper_pid=() port=() failed=() cpu=()
start_server() {
    local i=$1 banner=
    shift
    server_command "$i"
    rm -f "$tmp/out.$i" "$tmp/rusage.$i"
    mkfifo "$tmp/out.$i" || exit 1
    # shellcheck disable=SC2068 # the options are words
    "$here/rusage_run" "$tmp/rusage.$i" "${command[@]}" $@ -q >"$tmp/out.$i" 2>"$tmp/err.$i" &
    wrapper_pid[i]=$!
    server_pid[i]=
    exec 7<"$tmp/out.$i"
    if ! IFS= read -r -t 10 -u 7 banner; then
        failed[i]="no banner within 10 s: $(head -c 300 "$tmp/err.$i" | tr '\n' ' ')"
    elif [[ ! $banner =~ ^Server\ listening\ on\ 127\.0\.0\.1:([0-9]+)\ \(PID\ ([0-9]+)\)$ ]]; then
        failed[i]="unexpected banner: $banner"
    else
        port[i]=${BASH_REMATCH[1]}
        server_pid[i]=${BASH_REMATCH[2]}
    fi
    cat <&7 >"$tmp/rest.$i" &
    exec 7<&-
    [ -n "${server_pid[$i]}" ] || { stop_server "$i"; return 1; }
}

# stop_server I: SIGTERM, and 6 s to exit (then SIGKILL, the whole tree). Sets cpu[I] from
# rusage_run's report; returns 1, with the reason in failed[I], if the exit was not clean.
# One SIGTERM only (termed[I] says it was sent): a second one may land while the server is
# already on its way out, where it has put the default action back (Python does, as it
# shuts its interpreter down), and kill it as an error.
termed=()
stop_server() {
    local i=$1 tries=0
    [ -n "${wrapper_pid[$i]:-}" ] || return 0
    if [ -n "${server_pid[$i]}" ]; then
        [ -n "${termed[$i]:-}" ] || kill -TERM "${server_pid[$i]}" 2>/dev/null
    else
        kill -TERM "${wrapper_pid[$i]}" 2>/dev/null
    fi
    while kill -0 "${wrapper_pid[$i]}" 2>/dev/null && [ $tries -lt 120 ]; do
        sleep 0.05
        tries=$((tries + 1))
    done
    local clean=0
    if kill -0 "${wrapper_pid[$i]}" 2>/dev/null; then
        failed[i]=${failed[$i]:-"did not stop within 6 s of SIGTERM"}
        clean=1
        tree_stats "${server_pid[$i]}"
        # shellcheck disable=SC2086
        [ -n "$pids_text" ] && kill -KILL $pids_text 2>/dev/null
    fi
    wait "${wrapper_pid[$i]}" 2>/dev/null
    wrapper_pid[i]=''
    termed[i]=''
    cpu[i]=
    if [ -f "$tmp/rusage.$i" ]; then
        cpu[i]=$(field cpu_s "$tmp/rusage.$i")
        local status
        status=$(field status "$tmp/rusage.$i")
        if [ "$status" != 0 ] && [ $clean = 0 ]; then
            failed[i]=${failed[$i]:-"exited with status $status after SIGTERM"}
            clean=1
        fi
    fi
    return $clean
}

# measure I CLIENTS [LOADGEN OPTION...]: one run of loadgen against server I; its result line
# in $tmp/run. On an error the server is stopped, failed[I] says why, and it returns 1.
measure() {
    local i=$1 c=$2
    shift 2
    if "$here/loadgen" -p "${port[$i]}" -c "$c" -T "$reply_timeout" -S "$sources" "$@" \
        >"$tmp/run" 2>"$tmp/run.err"; then
        return 0
    fi
    failed[i]="$c clients: $(grep -m1 -v 'no results reported' "$tmp/run.err" | sed 's/^loadgen: //')"
    progress "${labels[$i]}: error: ${failed[$i]}"
    stop_server "$i"
    return 1
}

# Held connections: hold K N REPLIES starts the K-th holder, loadgen -H N, that waits for
# REPLIES replies (-e); its stdin is a FIFO that a `sleep` keeps open, so that killing the
# sleep (release_holders) ends the holding. Sets held_served, or returns 1 with why in $tmp/why.
holder_pids=() keeper_pids=()
hold() {
    local k=$1 n=$2 replies=$3 report=
    rm -f "$tmp/hold.$k.in" "$tmp/hold.$k.out"
    mkfifo "$tmp/hold.$k.in" "$tmp/hold.$k.out" || exit 1
    sleep 900 >"$tmp/hold.$k.in" &
    keeper_pids+=($!)
    "$here/loadgen" -p "$memory_port" -H "$n" -e "$replies" -T "$hold_timeout" \
        <"$tmp/hold.$k.in" >"$tmp/hold.$k.out" 2>"$tmp/hold.$k.err" &
    holder_pids+=($!)
    IFS= read -r -t $((hold_timeout + 10)) report <"$tmp/hold.$k.out"
    if [[ ! $report =~ served=([0-9]+) ]]; then
        sed 's/^loadgen: //' "$tmp/hold.$k.err" | head -1 >"$tmp/why"
        [ -s "$tmp/why" ] || echo "holding $n connections failed" >"$tmp/why"
        return 1
    fi
    held_served=${BASH_REMATCH[1]}
}

release_holders() {
    [ ${#keeper_pids[@]} -gt 0 ] && kill "${keeper_pids[@]}" 2>/dev/null
    local pid
    # (The ${a[@]+...} form: an empty array is an unbound variable to set -u in bash 3.2.)
    for pid in ${keeper_pids[@]+"${keeper_pids[@]}"} ${holder_pids[@]+"${holder_pids[@]}"}; do
        wait "$pid" 2>/dev/null
    done
    keeper_pids=() holder_pids=()
}

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    release_holders
    local i
    for ((i = 0; i < server_count; i++)); do
        stop_server "$i" >/dev/null 2>&1
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Limits: a server holding 1,000 connections needs 1,000 descriptors (03's one process, the
# event loop's), and so does the loadgen that holds them; 02 and Python's ForkingMixIn need as
# many processes. Raise the soft limits as far as the hard ones let us, and say where that is
# not enough.

notes=()
needed_fds=$((max_idle + 64))
fd_limit=$(ulimit -n)
if [ "$fd_limit" != unlimited ] && [ "$fd_limit" -lt "$needed_fds" ]; then
    hard=$(ulimit -Hn)
    if [ "$hard" = unlimited ] || [ "$hard" -ge "$needed_fds" ]; then
        ulimit -n "$needed_fds" && fd_limit=$needed_fds
    else
        ulimit -n "$hard" && fd_limit=$hard
    fi
fi
usable_points=
for point in $idle_points; do
    if [ "$fd_limit" = unlimited ] || [ $((point + 64)) -le "$fd_limit" ]; then
        usable_points="$usable_points $point"
    else
        notes+=("The $point idle connection point is skipped: the descriptor limit is $fd_limit (ulimit -Hn), and it needs about $((point + 64)).")
    fi
done
process_limit=$(ulimit -u 2>/dev/null || echo unlimited)
if [ "$process_limit" != unlimited ] && [ "$process_limit" -lt $((max_idle + 1000)) ]; then
    hard=$(ulimit -Hu)
    if [ "$hard" = unlimited ] || [ "$hard" -gt "$process_limit" ]; then
        ulimit -u "$hard" 2>/dev/null && process_limit=$hard
    fi
    if [ "$process_limit" != unlimited ] && [ "$process_limit" -lt $((max_idle + 1000)) ]; then
        notes+=("The process limit is $process_limit (ulimit -Hu), counting every process and thread of this user: the fork and thread servers may fail to serve all $max_idle idle connections.")
    fi
fi
idle_note="idle connections: descriptor limit $fd_limit, process limit $process_limit"

# A busy machine gives low and noisy numbers: say so at the start, and in the results.
load_average() { uptime | sed 's/.*load average[s]*: *//' | awk -F'[, ]+' '{ print $1 }'; }
load_at_start=$(load_average)
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
if awk -v l="$load_at_start" -v c="$cores" 'BEGIN { exit !(c + 0 > 0 && l + 0 > c) }'; then
    progress "note: load average $load_at_start on $cores cores before we start:" \
        "other work will lower and scatter the numbers"
fi

python=$(command -v python3 || true)
measured=()
for ((i = 0; i < server_count; i++)); do
    why=$(absence "$i")
    if [ -n "$only" ] && [[ " $only " != *" ${keys[$i]} "* ]]; then
        skipped[i]="not asked for (BENCH_ONLY)"
    elif [ -n "$why" ]; then
        skipped[i]=$why
        progress "${labels[$i]}: skipped: $why"
    else
        skipped[i]=
        measured+=("$i")
    fi
    failed[i]=
done
alive() { [ -z "${failed[$1]}" ]; }
if [ ${#measured[@]} -eq 0 ]; then
    progress "nothing to measure: no server asked for is there"
    exit 1
fi

# ---------------------------------------------------------------------------------------------
# Phase 1: connections per second, every server up at once, the load on one at a time.

: >"$tmp/conn" # key clients conn_per_s p50 p99 connections round
progress "connections per second: starting ${#measured[@]} servers (1 line per connection, ${seconds} s each run)"
for i in "${measured[@]}"; do
    # shellcheck disable=SC2086
    start_server "$i" ${conn_options[$i]} || progress "${labels[$i]}: error: ${failed[$i]}"
done

# run_point I CLIENTS ROUND: one run of load on server I, its numbers into $tmp/conn.
run_point() {
    alive "$1" || return 0
    measure "$1" "$2" -d "$seconds" || return 0
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${keys[$1]}" "$2" "$(field conn_per_s "$tmp/run")" \
        "$(field p50_us "$tmp/run")" "$(field p99_us "$tmp/run")" "$(field connections "$tmp/run")" \
        "$3" >>"$tmp/conn"
}

ordered=()
for i in "${round_order[@]}"; do
    for j in "${measured[@]}"; do
        [ "$i" = "$j" ] && ordered+=("$i")
    done
done
reversed=()
for ((k = ${#ordered[@]} - 1; k >= 0; k--)); do
    reversed+=("${ordered[$k]}")
done

# At the targets' clients, ROUNDS rounds; at the other points two, one in each order: their
# value on the curves is the median of the rounds (of two, the mean).
point_number=0
for c in $client_points; do
    point_number=$((point_number + 1))
    point_rounds=2
    [ "$c" = "$clients" ] && point_rounds=$rounds
    for ((round = 1; round <= point_rounds; round++)); do
        progress "[conn/s $point_number/4] $c client(s), round $round of $point_rounds ($(elapsed) s)"
        if ((round % 2 == 1)); then order=("${ordered[@]}"); else order=("${reversed[@]}"); fi
        for i in "${order[@]}"; do
            run_point "$i" "$c" "$round"
        done
    done
done

# Stop them all at once, then collect each one's CPU time.
for i in "${measured[@]}"; do
    if [ -n "${wrapper_pid[$i]:-}" ] && [ -n "${server_pid[$i]}" ]; then
        kill -TERM "${server_pid[$i]}" 2>/dev/null && termed[i]=1
    fi
done
conn_cpu=()
for i in "${measured[@]}"; do
    stop_server "$i" || progress "${labels[$i]}: error: ${failed[$i]}"
    conn_cpu[i]=${cpu[$i]}
done

# ---------------------------------------------------------------------------------------------
# Phase 2: one server at a time, lines per second, then memory and tasks by idle connections.

: >"$tmp/idle" # key connections rss pss procs threads served
: >"$tmp/lines" # key lines_per_s
count=0
for i in "${measured[@]}"; do
    count=$((count + 1))
    alive "$i" || continue
    where="[idle $count/${#measured[@]}] ${labels[$i]}"
    progress "$where: lines on $clients long connections, then${usable_points} idle connections ($(elapsed) s)"
    # shellcheck disable=SC2086
    start_server "$i" ${memory_options[$i]} || { progress "$where: error: ${failed[$i]}"; continue; }
    memory_port=${port[$i]}
    measure "$i" "$clients" -d "$seconds" -l 0 || continue
    printf '%s\t%s\n' "${keys[$i]}" "$(field lines_per_s "$tmp/run")" >>"$tmp/lines"
    # One connection first, so that "idle" is a server that has served: code a first
    # connection runs, paged in once, is then not counted as memory per connection.
    measure "$i" 1 -n 1 || continue
    settle "${server_pid[$i]}"
    printf '%s\t0\t%s\t%s\t%s\t%s\t0\n' "${keys[$i]}" "$rss" "$pss" "$procs" "$threads" >>"$tmp/idle"
    # The points, each holder adding its connections to those already held.
    holding=0 served_total=0 k=0
    for point in $usable_points; do
        k=$((k + 1))
        new=$((point - holding))
        replies=$new
        if [ -n "${caps[$i]}" ]; then
            room=$((caps[i] - served_total))
            [ $room -lt 0 ] && room=0
            [ $room -lt $replies ] && replies=$room
        fi
        if ! hold "$k" "$new" "$replies"; then
            failed[i]="holding $point connections: $(head -1 "$tmp/why")"
            progress "$where: error: ${failed[$i]}"
            break
        fi
        holding=$point
        served_total=$((served_total + held_served))
        tree_stats "${server_pid[$i]}"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${keys[$i]}" "$point" "$rss" "$pss" "$procs" \
            "$threads" "$served_total" >>"$tmp/idle"
    done
    release_holders
    stop_server "$i" || progress "$where: error: ${failed[$i]}"
done

# ---------------------------------------------------------------------------------------------
# The results: curves.tsv, rounds.tsv, bench.tsv; then the Markdown and the charts.

mkdir -p "$results" || exit 1
{
    printf 'key\tserver\tkind\tmodel\tmeasure\tx\tvalue\n'
    for ((i = 0; i < server_count; i++)); do
        awk -F'\t' -v key="${keys[$i]}" -v label="${labels[$i]}" -v kind="${kinds[$i]}" \
            -v model="${models[$i]}" -v OFS='\t' '
            FILENAME ~ /conn$/ && $1 == key { n[$2]++; round[$2, n[$2]] = $3 }
            FILENAME ~ /idle$/ && $1 == key && $2 > 0 {
                print key, label, kind, model, "rss_kib", $2, $3
                if ($4 != "") print key, label, kind, model, "pss_kib", $2, $4
                print key, label, kind, model, "processes", $2, $5
                if ($6 != "") print key, label, kind, model, "threads", $2, $6
                print key, label, kind, model, "served", $2, $7
            }
            END {
                # The median of the rounds at each point.
                for (c in n) {
                    m = n[c]
                    for (a = 1; a <= m; a++) v[a] = round[c, a]
                    for (a = 2; a <= m; a++) for (b = a; b > 1 && v[b - 1] > v[b]; b--) { t = v[b]; v[b] = v[b - 1]; v[b - 1] = t }
                    print key, label, kind, model, "conn_per_s", c, (m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2)
                }
            }' "$tmp/conn" "$tmp/idle" | sort -t"$(printf '\t')" -k5,5 -k6,6n
    done
} >"$results/curves.tsv"

{
    printf 'round\tkey\tconn_per_s\n'
    awk -F'\t' -v OFS='\t' -v clients="$clients" '$2 == clients { print $7, $1, $3 }' "$tmp/conn"
} >"$results/rounds.tsv"

# bench.tsv: one row a server, the columns of the table (and chart.sh's).
{
    printf 'key\tserver\tstatus\tc1_conn_per_s\tc1_p50_us\tc1_p99_us\tc8_conn_per_s\tc8_p50_us\tc8_p99_us'
    printf '\tlines_per_s\tcpu_s_per_10k_conn\trss_idle_kib\trss_held_kib\tserved\tkib_per_conn\tnote'
    printf '\tpss_kib_per_conn\n'
    for ((i = 0; i < server_count; i++)); do
        if [ -n "${skipped[$i]}" ]; then
            [ -n "$only" ] && [[ " $only " != *" ${keys[$i]} "* ]] && continue
            printf '%s\t%s\tskipped\t\t\t\t\t\t\t\t\t\t\t\t\t%s\t\n' "${keys[$i]}" "${labels[$i]}" "${skipped[$i]}"
            continue
        fi
        if [ -n "${failed[$i]}" ]; then
            printf '%s\t%s\terror\t\t\t\t\t\t\t\t\t\t\t\t\t%s\t\n' "${keys[$i]}" "${labels[$i]}" "${failed[$i]}"
            continue
        fi
        awk -F'\t' -v key="${keys[$i]}" -v label="${labels[$i]}" -v cpu="${conn_cpu[$i]:-}" \
            -v clients="$clients" -v point="$table_point" -v OFS='\t' '
            function median(list, m,    a, b, t) {
                for (a = 2; a <= m; a++) for (b = a; b > 1 && list[b - 1] > list[b]; b--) { t = list[b]; list[b] = list[b - 1]; list[b - 1] = t }
                return m % 2 ? list[(m + 1) / 2] : (list[m / 2] + list[m / 2 + 1]) / 2
            }
            FILENAME ~ /conn$/ && $1 == key {
                connections += $6
                if ($2 == 1) { m1++; rate1[m1] = $3; p50_1[m1] = $4; p99_1[m1] = $5 }
                if ($2 == clients) { m++; rate[m] = $3; p50[m] = $4; p99[m] = $5 }
            }
            FILENAME ~ /lines$/ && $1 == key { lines = $2 }
            FILENAME ~ /idle$/ && $1 == key {
                if ($2 == 0) { rss0 = $3; pss0 = $4 }
                else if ($2 <= point) { rss1 = $3; pss1 = $4; served = $7 }
            }
            END {
                c1 = m1 ? median(rate1, m1) : ""; c1_50 = m1 ? median(p50_1, m1) : ""; c1_99 = m1 ? median(p99_1, m1) : ""
                c8 = m ? median(rate, m) : ""; c8_50 = m ? median(p50, m) : ""; c8_99 = m ? median(p99, m) : ""
                cpu10k = (connections > 0 && cpu != "") ? sprintf("%.2f", cpu * 10000 / connections) : ""
                # A difference below zero is noise (a page newly shared with loadgen lowers
                # the PSS): it shows as 0.
                kib = served > 0 ? sprintf("%.0f", rss1 > rss0 ? (rss1 - rss0) / served : 0) : ""
                pss = (served > 0 && pss0 != "" && pss1 != "") ? sprintf("%.0f", pss1 > pss0 ? (pss1 - pss0) / served : 0) : ""
                print key, label, "ok", c1, c1_50, c1_99, c8, c8_50, c8_99, lines, cpu10k, rss0, rss1, served, kib, "", pss
            }' "$tmp/conn" "$tmp/lines" "$tmp/idle"
    done
} >"$results/bench.tsv"

# The Markdown: the table of one point, the verdicts, the curves.
held_point=$table_point
for point in $usable_points; do [ "$point" -le "$table_point" ] && held_point=$point; done
awk -F'\t' -v idle="$held_point" -v clients="$clients" '
    function n(x) {   # 12345 -> 12,345
        if (x == "") return "–"
        s = sprintf("%.0f", x); out = ""
        while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
        return s out
    }
    function lat(a, b) { return (a == "" ? "–" : n(a) " / " n(b)) }
    NR == 1 {
        print "| server | conn/s, 1 client | p50 / p99 µs | conn/s, " clients " clients | p50 / p99 µs | lines/s, " clients " clients | CPU s per 10k conn | RSS idle KiB | RSS with " n(idle) " conns KiB (served) | RSS KiB per conn | PSS KiB per conn |"
        print "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
        next
    }
    $3 != "ok" { printf "| %s | %s ||||||||||\n", $2, $16; next }
    {
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s (%s) | %s | %s |\n", $2, n($4), lat($5, $6),
            n($7), lat($8, $9), n($10), $11, n($12), n($13), $14, n($15), n($17)
    }' "$results/bench.tsv" >"$tmp/table.md"

sh "$here/verdicts.sh" "$results/rounds.tsv" >"$tmp/verdicts.md" ||
    echo "(the verdicts could not be computed)" >"$tmp/verdicts.md"

# The curves as two tables: connections per second by clients, and by idle connections the
# memory and tasks (PSS / RSS in MiB, processes / threads, served).
awk -F'\t' -v points="$client_points" -v idle_points="$usable_points" '
    function n(x) {
        if (x == "") return "–"
        s = sprintf("%.0f", x); out = ""
        while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
        return s out
    }
    function mib(x) { return x == "" ? "–" : x < 10240 ? sprintf("%.1f", x / 1024) : n(x / 1024) }
    FILENAME ~ /bench.tsv$/ { if (FNR > 1) { order[++rows] = $1; label[$1] = $2; status[$1] = $3; note[$1] = $16 } next }
    FNR > 1 { value[$1, $5, $6] = $7 }
    END {
        np = split(points, p, " "); ni = split(idle_points, q, " ")
        printf "Connections per second, 1 line each, by concurrent clients:\n\n| server |"
        for (a = 1; a <= np; a++) printf " %s |", n(p[a])
        printf "\n|---|"
        for (a = 1; a <= np; a++) printf "--:|"
        print ""
        for (r = 1; r <= rows; r++) {
            k = order[r]
            if (status[k] != "ok") { printf "| %s | %s |\n", label[k], note[k]; continue }
            printf "| %s |", label[k]
            for (a = 1; a <= np; a++) printf " %s |", n(value[k, "conn_per_s", p[a]])
            print ""
        }
        printf "\nIdle connections held open: the server'"'"'s processes together, PSS / RSS in MiB,\nprocesses / threads, and how many of the connections it has answered:\n\n| server |"
        for (a = 1; a <= ni; a++) printf " %s: PSS / RSS | procs / threads | served |", n(q[a])
        printf "\n|---|"
        for (a = 1; a <= ni; a++) printf "--:|--:|--:|"
        print ""
        for (r = 1; r <= rows; r++) {
            k = order[r]
            if (status[k] != "ok") { printf "| %s | %s |\n", label[k], note[k]; continue }
            printf "| %s |", label[k]
            for (a = 1; a <= ni; a++) {
                x = q[a]
                t = value[k, "threads", x]
                printf " %s / %s | %s / %s | %s |", mib(value[k, "pss_kib", x]), mib(value[k, "rss_kib", x]),
                    n(value[k, "processes", x]), (t == "" ? "–" : n(t)), n(value[k, "served", x])
            }
            print ""
        }
    }' "$results/bench.tsv" "$results/curves.tsv" >"$tmp/curves.md"

cpu_name=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
[ -n "$cpu_name" ] || cpu_name=$(sysctl -n machdep.cpu.brand_string 2>/dev/null || echo unknown)
python_version=$([ -n "$python" ] && "$python" -V 2>&1 || echo "no python3")
# The compiler that built the stages, if it is the one make uses by default (or $CC).
compiler=$("${CC:-cc}" --version 2>/dev/null | head -1)
took=$(elapsed)
{
    echo "# Benchmark run of $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: $cores cores, $cpu_name, $(uname -sr); ${compiler:-compiler unknown}; $python_version."
    echo "BENCH_SECONDS=$seconds, BENCH_ROUNDS=$rounds${scale:+, BENCH_SCALE=$scale}; took ${took} s;"
    echo "load average before the run: $load_at_start (the run itself adds about 2); $idle_note."
    echo
    cat "$tmp/table.md"
    echo
    echo "Targets: connections per second, 1 line per connection, $clients clients, each stage against"
    echo "the least C server of its model and the blog post's Python; the median of the ratios of"
    echo "$rounds interleaved rounds (both servers up, the load on one then the other, the order"
    echo "turned every round):"
    echo
    cat "$tmp/verdicts.md"
    echo
    cat "$tmp/curves.md"
    echo
    echo "Latency: from the connect to the end of the reply. CPU: the server's user + system seconds,"
    echo "children and threads included (getrusage RUSAGE_CHILDREN after it exits), over every"
    echo "connection of the conn/s runs. Conn/s: the median of each point's rounds (2; $rounds at"
    echo "$clients clients); the stages run with their defaults there (02 and 03 at most 40 at once,"
    echo "04 2 workers x 4 threads)."
    echo "Memory: RSS from \`ps -o rss=\`, summed over the server and its descendant processes; PSS"
    echo "(Linux: /proc/PID/smaps_rollup) shares each page among the processes that map it. For lines/s"
    echo "and the idle connections 02 and 03 run with -m $max_idle, Python's ForkingMixIn with max_children"
    echo "$max_idle, 04 with -w 2 -t 128, the pool yardstick with 256 threads: an iterative server"
    echo "answers one and a pool as many as it has threads; the others wait in the backlog."
    echo "Per conn: (with - idle) / served, at $(printf '%s' "$held_point") connections. Neither memory counts the kernel's"
    echo "side: socket buffers, a kernel stack and task structure per thread or process."
    for note in ${notes[@]+"${notes[@]}"}; do
        echo
        echo "Note: $note"
    done
} >"$results/bench.md"

sh "$here/chart.sh" "$results/bench.tsv" >"$results/bench.svg" || progress "could not draw bench.svg"
sh "$here/curves.sh" "$results/curves.tsv" "Connections per second, 1 line each, by concurrent clients" \
    conn_per_s >"$results/conn-curves.svg" || progress "could not draw conn-curves.svg"
sh "$here/curves.sh" "$results/curves.tsv" "Memory by idle connections held open" \
    pss_kib rss_kib >"$results/memory-curves.svg" || progress "could not draw memory-curves.svg"
sh "$here/curves.sh" "$results/curves.tsv" "Processes and threads by idle connections held open" \
    processes threads >"$results/tasks-curves.svg" || progress "could not draw tasks-curves.svg"

cat "$results/bench.md"
progress "done in ${took} s; results in $results/ (bench.md, bench.tsv, curves.tsv, rounds.tsv," \
    "bench.svg, conn-curves.svg, memory-curves.svg, tasks-curves.svg)"
errors=0
for i in "${measured[@]}"; do
    [ -n "${failed[$i]}" ] && errors=$((errors + 1))
done
if [ "$errors" -gt 0 ]; then
    progress "$errors server(s) failed; their rows say why"
    exit 1
fi
exit 0
