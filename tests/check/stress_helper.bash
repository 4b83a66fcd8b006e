# stress_helper.bash: what tests/stress.bats adds to helper.bash and pool_helper.bash.
# Load it after them: `load helper`, `load pool_helper`, `load check/stress_helper`. The
# suite also loads result_line.bash, for `value NAME`, a field of loadgen's result line.
#
#   rude_client ARG...              tests/check/rude_client.c, compiled on first use (talk,
#                                   noread, burst: see its opening comment)
#   loadgen ARG...                  tests/bench/loadgen, the load generator (built by make test)
#   start_server_with_fd_limit N STAGE [OPTION...]
#                                   start_server, with the server's descriptors limited to N
#   cpu_ticks PID                   the CPU time PID has used, all its threads, in clock ticks
#   server_cpu_ticks                the same for the server and its children (04's workers)
#   clock_ticks                     clock ticks per second
#   count_in FILE REGEX             how many lines of FILE match the extended REGEX

# The compiled rude_client's path, building it if needed (once per bats run).
rude_client_path() {
    local dir=${BATS_RUN_TMPDIR:-${BATS_TMPDIR:-/tmp}}
    local bin="$dir/rude_client"
    if [ ! -x "$bin" ]; then
        "${CC:-cc}" -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -o "$bin.$$" \
            "$ROOT/tests/check/rude_client.c" >&2 || return 1
        mv -f "$bin.$$" "$bin" # atomic: suites run in parallel may build it at once
    fi
    echo "$bin"
}

rude_client() {
    local bin
    bin=$(rude_client_path) || return 1
    "$bin" "$@"
}

loadgen() {
    if [ ! -x "$ROOT/tests/bench/loadgen" ]; then
        echo "stress: tests/bench/loadgen is not built (make -C tests/bench)" >&2
        return 1
    fi
    "$ROOT/tests/bench/loadgen" "$@"
}

# start_server_with_fd_limit N STAGE [OPTION...]: start_server, the server limited to N open
# descriptors. The limit is lowered in this shell just long enough to start the server, which
# inherits it, then raised back: only the soft limit changes, which a process may raise again
# up to the hard limit.
start_server_with_fd_limit() {
    local limit=$1 saved status=0
    shift
    saved=$(ulimit -Sn)
    ulimit -Sn "$limit" || return 1
    start_server "$@" || status=$?
    ulimit -Sn "$saved"
    return "$status"
}

clock_ticks() {
    getconf CLK_TCK 2>/dev/null || echo 100
}

# cpu_ticks PID: user + system time of every thread of PID so far, in clock ticks (Linux /proc).
cpu_ticks() {
    local stat
    IFS= read -r stat <"/proc/$1/stat" || return 1
    stat=${stat##*) } # the fields after the command name, which may hold spaces
    local fields
    read -r -a fields <<<"$stat"
    # After "pid (comm) ", utime and stime are the 12th and 13th fields.
    echo $((fields[11] + fields[12]))
}

count_in() {
    local n
    n=$(grep -Ec -e "$2" "$1" 2>/dev/null) || true
    echo "${n:-0}"
}

# server_cpu_ticks: cpu_ticks of the server plus those of its living children: in 04 the
# workers accept, not the supervisor.
server_cpu_ticks() {
    local pid total
    total=$(cpu_ticks "$SERVER_PID") || return 1
    for pid in $(server_children); do
        total=$((total + $(cpu_ticks "$pid" 2>/dev/null || echo 0)))
    done
    echo "$total"
}
