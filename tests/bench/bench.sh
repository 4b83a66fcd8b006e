#!/usr/bin/env bash
# bench.sh: measure every server model side by side (`make bench`).
#
# For each server: start it quietly on a kernel-chosen port under rusage_run, drive it with
# loadgen, stop it, and collect one row: connections per second (one line per connection) at
# 1 and 8 clients with p50/p99 latency, lines per second on long connections, the server's CPU
# seconds per 10,000 connections (Stevens's measure, UNP ch. 30), and its memory with 200 idle
# connections open. Prints a Markdown table and writes it, a TSV and an SVG chart to results/.
#
# BENCH_SECONDS (default 1) is the length of each timed measurement, twice that for the one at
# 8 clients that the targets compare; BENCH_RESULTS is the results folder.
# Progress goes to stderr. Exit 0 when every server that exists was measured without error.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${BENCH_SECONDS:-1}
results=${BENCH_RESULTS:-$here/results}
idle_connections=200
reply_timeout=$(awk -v s="$seconds" 'BEGIN { print 2 * s + 5 }')
long_seconds=$(awk -v s="$seconds" 'BEGIN { print 2 * s }')
clients=8

if ! awk -v s="$seconds" 'BEGIN { exit !(s + 0 > 0 && s + 0 <= 600) }'; then
    echo "bench: BENCH_SECONDS must be a number of seconds, more than 0 and at most 600" >&2
    exit 2
fi
for program in loadgen rusage_run ref_server; do
    if [ ! -x "$here/$program" ]; then
        echo "bench: $here/$program is missing: run 'make -C tests/bench' first" >&2
        exit 2
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX") || exit 1
server_pid=
wrapper_pid=
holder_pid=
# Descriptors held by this script: 7 reads the server's stdout (kept open until it exits, so
# its last line never meets a closed pipe), 8 feeds the holding loadgen's stdin. Fixed numbers
# rather than {var} redirections, for the bash 3.2 of macOS.
server_out=
holder_in=

progress() { printf 'bench: %s\n' "$*" >&2; }

# The server PID and every descendant of it (02's children, 04's workers), one per line.
process_tree() {
    ps -A -o pid= -o ppid= | awk -v root="$1" '
        { parent[$1] = $2 }
        END {
            for (p in parent) {
                q = p
                for (depth = 0; depth < 64 && q != "" && q != 0; depth++) {
                    if (q == root) { print p; break }
                    q = parent[q]
                }
            }
        }'
}

# Proportional memory of the server and its processes, in KiB, where Linux tells it
# (/proc/PID/smaps_rollup): a page shared by N processes counts 1/N in each. Empty elsewhere.
tree_pss() {
    local pid files=()
    for pid in $(process_tree "$1"); do
        [ -r "/proc/$pid/smaps_rollup" ] && files+=("/proc/$pid/smaps_rollup")
    done
    [ ${#files[@]} -gt 0 ] || return 0
    # cat, not awk on the files: a process that has just exited (a zombie waiting to be
    # reaped, such as the warm-up connection's child) has a file that cannot be read, and
    # cat goes on to the next one.
    cat "${files[@]}" 2>/dev/null |
        awk '$1 == "Pss:" { sum += $2; found = 1 } END { if (found) print sum }'
}

# Resident memory of the server and all its processes, in KiB, from `ps -o rss=`.
# Shared pages (the program, libc) count once per process, as top and ps show them.
tree_rss() {
    local pids
    pids=$(process_tree "$1" | paste -sd, -)
    [ -n "$pids" ] || { echo 0; return; }
    ps -o rss= -p "$pids" | awk '{ sum += $1 } END { print sum + 0 }'
}

# Start a server: start_server COMMAND... Sets server_pid and server_port, or returns 1 with
# the reason in $tmp/why. The port comes from the banner, the first line of its stdout.
start_server() {
    rm -f "$tmp/out" "$tmp/rusage" "$tmp/why"
    mkfifo "$tmp/out" || return 1
    "$here/rusage_run" "$tmp/rusage" "$@" >"$tmp/out" 2>"$tmp/err" &
    wrapper_pid=$!
    exec 7<"$tmp/out"
    server_out=7
    local banner=
    if ! IFS= read -r -t 10 -u 7 banner; then
        echo "no banner within 10 s: $(head -c 300 "$tmp/err" | tr '\n' ' ')" >"$tmp/why"
        stop_server
        return 1
    fi
    local pattern='^Server listening on 127\.0\.0\.1:([0-9]+) \(PID ([0-9]+)\)$'
    if [[ ! $banner =~ $pattern ]]; then
        echo "unexpected banner: $banner" >"$tmp/why"
        stop_server
        return 1
    fi
    server_port=${BASH_REMATCH[1]}
    server_pid=${BASH_REMATCH[2]}
}

# Stop the server with SIGTERM, give it 6 s, then SIGKILL its whole tree. Sets cpu_seconds
# from rusage_run's report (empty if there is none) and returns 1 if the exit was not clean.
stop_server() {
    local clean=0
    cpu_seconds=
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null
        local tries=0
        while kill -0 "$wrapper_pid" 2>/dev/null && [ $tries -lt 120 ]; do
            sleep 0.05
            tries=$((tries + 1))
        done
        if kill -0 "$wrapper_pid" 2>/dev/null; then
            echo "did not stop within 6 s of SIGTERM" >"$tmp/why"
            clean=1
            local pids
            pids=$(process_tree "$server_pid")
            # shellcheck disable=SC2086
            [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
        fi
    elif [ -n "$wrapper_pid" ]; then
        kill -TERM "$wrapper_pid" 2>/dev/null
    fi
    [ -n "$wrapper_pid" ] && wait "$wrapper_pid" 2>/dev/null
    if [ -n "$server_out" ]; then
        cat <&7 >/dev/null
        exec 7<&-
    fi
    server_pid='' wrapper_pid='' server_out=''
    if [ -f "$tmp/rusage" ]; then
        local status
        cpu_seconds=$(sed -n 's/.*cpu_s=\([0-9.]*\).*/\1/p' "$tmp/rusage")
        status=$(sed -n 's/.*status=\([0-9]*\).*/\1/p' "$tmp/rusage")
        if [ "$status" != 0 ] && [ $clean = 0 ]; then
            echo "exited with status $status after SIGTERM" >"$tmp/why"
            clean=1
        fi
    fi
    return $clean
}

stop_holder() {
    if [ -n "$holder_in" ]; then
        exec 8>&-
        holder_in=
    fi
    if [ -n "$holder_pid" ]; then
        wait "$holder_pid" 2>/dev/null
        holder_pid=
    fi
}

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    stop_holder
    stop_server >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT TERM

# Run loadgen against the current server; its result line goes to $tmp/run, an error to
# $tmp/why. Returns loadgen's status.
measure() {
    # The reply timeout outlasts the run: behind an iterative server, clients wait their turn.
    # -S: each client from its own loopback address, so that the TIME_WAIT ports of one
    # address do not cap the rate (see loadgen.c).
    if "$here/loadgen" -p "$server_port" -T "$reply_timeout" -S "$clients" "$@" \
        >"$tmp/run" 2>"$tmp/run.err"; then
        return 0
    fi
    grep -m1 -v 'no results reported' "$tmp/run.err" | sed 's/^loadgen: //' >"$tmp/why"
    return 1
}

# The value of NAME in loadgen's "name=value ..." result line: field NAME FILE.
field() { awk -v name="$1" '{ for (i = 1; i <= NF; i++) if (index($i, name "=") == 1) print substr($i, length(name) + 2) }' "$2"; }

# Hold idle connections open and measure the server's memory before and with them:
# measure_memory TIMEOUT, the seconds to wait for the replies (an iterative server answers one).
measure_memory() {
    rss_idle=$(tree_rss "$server_pid")
    pss_idle=$(tree_pss "$server_pid")
    rm -f "$tmp/hold.in" "$tmp/hold.out"
    mkfifo "$tmp/hold.in" "$tmp/hold.out" || return 1
    "$here/loadgen" -p "$server_port" -H "$idle_connections" -T "$1" \
        <"$tmp/hold.in" >"$tmp/hold.out" 2>"$tmp/run.err" &
    holder_pid=$!
    exec 8>"$tmp/hold.in"
    holder_in=8
    local held=
    IFS= read -r -t 30 held <"$tmp/hold.out"
    if [[ ! $held =~ served=([0-9]+) ]]; then
        sed 's/^loadgen: //' "$tmp/run.err" | head -1 >"$tmp/why"
        [ -s "$tmp/why" ] || echo "holding connections failed" >"$tmp/why"
        stop_holder
        return 1
    fi
    served=${BASH_REMATCH[1]}
    rss_held=$(tree_rss "$server_pid")
    pss_held=$(tree_pss "$server_pid")
    stop_holder
}

# One row of the table: bench_row KEY LABEL "CAPPED OPTIONS" HOLD_TIMEOUT COMMAND...
# Appends a TSV line to $tmp/rows: key label status c1 c1_p50 c1_p99 c8 c8_p50 c8_p99 lines
# cpu_per_10k rss_idle rss_held served kib_per_conn note pss_kib_per_conn
bench_row() {
    local key=$1 label=$2 capped=$3 hold_timeout=$4
    shift 4
    local c1='' c1_p50='' c1_p99='' c8='' c8_p50='' c8_p99='' lines='' cpu10k='' kib='' pss_kib=''
    rss_idle='' rss_held='' pss_idle='' pss_held='' served=''
    row_number=$((row_number + 1))
    local where="[$row_number/$row_count] $label"
    row_fail() {
        local why
        why=$(head -1 "$tmp/why" 2>/dev/null)
        progress "$where: error: $1: $why"
        printf '%s\t%s\terror\t\t\t\t\t\t\t\t\t\t\t\t\t%s: %s\n' "$key" "$label" "$1" "$why" >>"$tmp/rows"
        errors=$((errors + 1))
        stop_holder
        stop_server >/dev/null
    }

    progress "$where: connections, 1 client, 1 line each (${seconds} s)"
    start_server "$@" -q || { row_fail "start"; return; }
    measure -c 1 -d "$seconds" || { row_fail "1 client"; return; }
    local conns1
    conns1=$(field connections "$tmp/run")
    c1=$(field conn_per_s "$tmp/run") c1_p50=$(field p50_us "$tmp/run") c1_p99=$(field p99_us "$tmp/run")
    progress "$where: connections, $clients clients, 1 line each (${long_seconds} s)"
    measure -c "$clients" -d "$long_seconds" || { row_fail "$clients clients"; return; }
    local conns8
    conns8=$(field connections "$tmp/run")
    c8=$(field conn_per_s "$tmp/run") c8_p50=$(field p50_us "$tmp/run") c8_p99=$(field p99_us "$tmp/run")
    stop_server || { row_fail "stop"; return; }
    cpu10k=$(awk -v cpu="$cpu_seconds" -v n="$((conns1 + conns8))" \
        'BEGIN { if (n > 0 && cpu != "") printf "%.2f", cpu * 10000 / n }')

    progress "$where: lines, $clients clients on long connections (${seconds} s)"
    start_server "$@" -q || { row_fail "start"; return; }
    measure -c "$clients" -d "$seconds" -l 0 || { row_fail "lines"; return; }
    lines=$(field lines_per_s "$tmp/run")
    stop_server || { row_fail "stop"; return; }

    progress "$where: memory with $idle_connections idle connections"
    # shellcheck disable=SC2086
    start_server "$@" $capped -q || { row_fail "start"; return; }
    # One connection first, so that "idle" is a server that has served: code a first
    # connection runs, paged in once, is then not counted as memory per connection.
    measure -c 1 -n 1 || { row_fail "warm-up"; return; }
    measure_memory "$hold_timeout" || { row_fail "memory"; return; }
    stop_server || { row_fail "stop"; return; }
    # A difference below zero is noise (a page of the server's newly shared with loadgen
    # lowers its PSS): it shows as 0.
    kib=$(awk -v a="$rss_idle" -v b="$rss_held" -v n="$served" \
        'BEGIN { if (n > 0) printf "%.0f", (b > a ? (b - a) / n : 0) }')
    pss_kib=$(awk -v a="$pss_idle" -v b="$pss_held" -v n="$served" \
        'BEGIN { if (n > 0 && a != "" && b != "") printf "%.0f", (b > a ? (b - a) / n : 0) }')

    printf '%s\t%s\tok\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\t%s\n' "$key" "$label" \
        "$c1" "$c1_p50" "$c1_p99" "$c8" "$c8_p50" "$c8_p99" "$lines" "$cpu10k" \
        "$rss_idle" "$rss_held" "$served" "$kib" "$pss_kib" >>"$tmp/rows"
}

# A row that could not be measured, with the reason in place of the numbers.
skip_row() {
    row_number=$((row_number + 1))
    progress "[$row_number/$row_count] $2: skipped: $3"
    printf '%s\t%s\tskipped\t\t\t\t\t\t\t\t\t\t\t\t\t%s\n' "$1" "$2" "$3" >>"$tmp/rows"
}

# The hold timeout: an iterative server answers one of the idle connections and never more,
# so waiting long for the rest only wastes time; the others answer all 200, and return early.
stage_row() {
    local key=$1 label=$2 capped=$3 hold_timeout=$4
    if [ -x "$root/$key/server" ]; then
        bench_row "$key" "$label" "$capped" "$hold_timeout" "$root/$key/server"
    else
        skip_row "$key" "$label" "not built"
    fi
}

python_row() {
    local key=$1 label=$2 capped=$3 hold_timeout=$4 model=$5
    if [ -n "$python" ]; then
        bench_row "$key" "$label" "$capped" "$hold_timeout" "$python" "$here/python_servers.py" "$model"
    else
        skip_row "$key" "$label" "python3 not found"
    fi
}

# A busy machine gives low and noisy numbers: say so at the start, and in the results.
load_average() { uptime | sed 's/.*load average[s]*: *//' | awk -F'[, ]+' '{ print $1 }'; }
load_at_start=$(load_average)
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
if awk -v l="$load_at_start" -v c="$cores" 'BEGIN { exit !(c + 0 > 0 && l + 0 > c) }'; then
    progress "note: load average $load_at_start on $cores cores before we start:" \
        "other work will lower and scatter the numbers"
fi

python=$(command -v python3 || true)
errors=0
row_number=0
row_count=9
: >"$tmp/rows"
started=$(date +%s)

stage_row 01-blocking "01-blocking (iterative)" "" 0.5
python_row py-iterative "Python TCPServer (iterative)" "" 0.5 iterative
stage_row 02-forking "02-forking" "-m 250" 5
python_row py-forking "Python ForkingMixIn" "-m 250" 5 forking
# 02's yardstick: the least a fork-per-connection server can do (see ref_server.c).
bench_row reference-fork "reference, forking (ref_server -f)" "" 5 "$here/ref_server" -f
stage_row 03-threading "03-threading" "-m 250" 5
python_row py-threading "Python ThreadingMixIn" "" 5 threading
stage_row 04-combined "04-combined" "-w 2 -t 128" 5
bench_row reference "reference (ref_server, 8 threads)" "-t 256" 5 "$here/ref_server" -t 8

# The machine it ran on, for the header.
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
[ -n "$cpu" ] || cpu=$(sysctl -n machdep.cpu.brand_string 2>/dev/null || echo unknown)
kernel=$(uname -sr)
python_version=$([ -n "$python" ] && "$python" -V 2>&1 || echo "none")
elapsed=$(($(date +%s) - started))

mkdir -p "$results" || exit 1
{
    printf 'key\tserver\tstatus\tc1_conn_per_s\tc1_p50_us\tc1_p99_us\tc8_conn_per_s\tc8_p50_us\tc8_p99_us'
    printf '\tlines_per_s\tcpu_s_per_10k_conn\trss_idle_kib\trss_held_kib\tserved\tkib_per_conn\tnote'
    printf '\tpss_kib_per_conn\n'
    cat "$tmp/rows"
} >"$results/bench.tsv"

# The Markdown table, from the TSV: numbers with thousands separators, notes in place of rows.
awk -F'\t' -v idle="$idle_connections" -v clients="$clients" '
    function n(x) {   # 12345 -> 12,345
        if (x == "") return "–"
        s = sprintf("%.0f", x); out = ""
        while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
        return s out
    }
    function lat(a, b) { return (a == "" ? "–" : n(a) " / " n(b)) }
    NR == 1 { next }
    NR == 2 {
        print "| server | conn/s, 1 client | p50 / p99 µs | conn/s, " clients " clients | p50 / p99 µs | lines/s, " clients " clients | CPU s per 10k conn | RSS idle KiB | RSS with " idle " conns KiB (served) | RSS KiB per conn | PSS KiB per conn |"
        print "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    }
    $3 != "ok" { printf "| %s | %s ||||||||||\n", $2, $16; next }
    {
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s (%s) | %s | %s |\n", $2, n($4), lat($5, $6),
            n($7), lat($8, $9), n($10), $11, n($12), n($13), $14, n($15), n($17)
    }' "$results/bench.tsv" >"$tmp/table.md"

# The targets of the issue, as ratios of connections per second at 8 clients.
awk -F'\t' '
    NR > 1 && $3 == "ok" { c8[$1] = $7 }
    function ratio(name, ours, theirs, goal, kind) {
        if (!(ours in c8) || !(theirs in c8) || c8[theirs] == 0) {
            printf "- %s: not measured (%s or %s missing)\n", name, ours, theirs
            return
        }
        r = c8[ours] / c8[theirs]
        if (kind == "times")
            printf "- %s: %.2fx (target >= %sx): %s\n", name, r, goal, (r >= goal ? "met" : "NOT met")
        else
            printf "- %s: %.0f%% of the reference (target >= 90%%): %s\n", name, 100 * r, (r >= 0.9 ? "met" : "NOT met")
    }
    # No target, but the measure of the one above: how far any fork per connection gets here.
    function fork_yardstick() {
        if (!("reference-fork" in c8) || !("py-forking" in c8) || !("02-forking" in c8) ||
            c8["reference-fork"] == 0 || c8["py-forking"] == 0)
            return
        printf "  The forking reference (ref_server -f) made %.2fx Python ForkingMixIn, and 02-forking %.0f%% of its rate.\n",
            c8["reference-fork"] / c8["py-forking"], 100 * c8["02-forking"] / c8["reference-fork"]
    }
    END {
        ratio("01-blocking vs Python TCPServer", "01-blocking", "py-iterative", 1.2, "times")
        ratio("02-forking vs Python ForkingMixIn", "02-forking", "py-forking", 7, "times")
        fork_yardstick()
        ratio("03-threading vs Python ThreadingMixIn", "03-threading", "py-threading", 3, "times")
        ratio("04-combined vs the reference", "04-combined", "reference", 0.9, "best")
    }' "$results/bench.tsv" >"$tmp/targets.md"

{
    echo "# Benchmark run of $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: $cores cores, $cpu, $kernel; $python_version. BENCH_SECONDS=$seconds; took ${elapsed} s;"
    echo "load average before the run: $load_at_start (the run itself adds about $clients)."
    echo
    cat "$tmp/table.md"
    echo
    echo "Targets (connections per second, 1 line per connection, $clients clients):"
    echo
    cat "$tmp/targets.md"
    echo
    echo "The rows were measured one after another, so a busy moment of the machine can favour"
    echo "one side of a ratio. To check one, run the pair at once with the load alternating, e.g."
    echo "\`tests/bench/interleave.sh -- 02-forking/server -- python3 tests/bench/python_servers.py forking\`."
    echo
    echo "Latency: from the connect (or the write of a later line) to the end of its reply."
    echo "CPU: the server's user + system seconds, children and threads included (getrusage"
    echo "RUSAGE_CHILDREN after it exits), over the connections of both conn/s runs."
    echo "Memory: RSS from \`ps -o rss=\`, summed over the server and its descendant processes;"
    echo "PSS (Linux: /proc/PID/smaps_rollup) shares each page among the processes that map it."
    echo "Per conn: (with - idle) / served, where served is how many of the $idle_connections got a reply."
} >"$results/bench.md"

sh "$here/chart.sh" "$results/bench.tsv" >"$results/bench.svg" ||
    progress "could not draw the chart"

cat "$results/bench.md"
progress "done in ${elapsed} s; results in $results/ (bench.md, bench.tsv, bench.svg)"
if [ "$errors" -gt 0 ]; then
    progress "$errors server(s) failed; their rows say why"
    exit 1
fi
exit 0
