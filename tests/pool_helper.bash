# pool_helper.bash: what the suites of the pooled stages (03-threading, 04-combined) add to
# helper.bash. Load it after helper: `load helper` then `load pool_helper`.
#
#   thread_count PID              how many threads PID runs now (/proc/PID/task, else ps)
#   has_threads PID N             PID runs exactly N threads (for wait_until)
#   thread_waits_in PID TID       where thread TID of PID sleeps: "poll" (poll, ppoll, select),
#                                 "futex" (a mutex, a condition variable, a join), else the
#                                 kernel's own name (Linux: /proc/PID/task/TID/wchan)
#   hold_answered COUNT [WORD]    open COUNT connections, send "WORD I" on the I-th and read its
#                                 reply; their fds in HELD, the replies' tags in HELD_TAGS
#   tag_of REPLY MESSAGE          print TAG if REPLY is exactly "TAG: MESSAGE", else fail
#   announced_workers             the worker PIDs of 04's "Server started worker PID N ..." lines
#   wait_for_workers COUNT [SECONDS]  wait (at most SECONDS, default 5) until COUNT such lines
#                                 are printed
#   all_exited PID...             every PID has exited (or is a zombie)
#   all_gone PID...               no such process left for any PID, not even a zombie
#   sigpipe_ignored PID           PID ignores or catches SIGPIPE (Linux: /proc/PID/status)

# thread_count PID: the number of threads of process PID; nothing if there is no such process.
thread_count() {
    if [ -d "/proc/$1/task" ]; then
        local tasks=("/proc/$1/task"/*)
        [ -e "${tasks[0]}" ] || return 0
        if [ "${CHECK_SANITIZER:-}" = thread ]; then
            # ThreadSanitizer runs a background thread of its own, which blocks every signal:
            # count only the server's threads.
            local task count=0
            for task in "${tasks[@]}"; do
                grep -q '^SigBlk:[[:space:]]*ffff' "$task/status" 2>/dev/null || count=$((count + 1))
            done
            echo "$count"
        else
            echo "${#tasks[@]}"
        fi
    elif ps -M -p "$1" >/dev/null 2>&1; then
        # macOS: ps -M prints a header line, then one line per thread.
        echo $(($(ps -M -p "$1" | wc -l) - 1))
    else
        ps -L -o lwp= -p "$1" 2>/dev/null | wc -l | tr -d ' '
    fi
}

# thread_waits_in PID TID: where thread TID of PID sleeps, in words a test can compare; fails
# where the kernel does not say (no /proc/PID/task/TID/wchan).
thread_waits_in() {
    local wchan
    wchan=$(cat "/proc/$1/task/$2/wchan" 2>/dev/null) || return 1
    case $wchan in
    *poll* | *select*) echo poll ;;
    *futex*) echo futex ;;
    *) echo "$wchan" ;;
    esac
}

# has_threads PID N: PID runs exactly N threads now.
has_threads() {
    [ "$(thread_count "$1")" = "$2" ]
}

# hold_answered COUNT [WORD]: open COUNT connections to the server, one after another; on the
# I-th send "WORD I\n" and read its reply (at most 5 s), which must be "TAG: WORD I" with a TAG
# that the suite's check_tag accepts. Leaves the connections open: their fds in the array HELD,
# the tags that answered in HELD_TAGS.
hold_answered() {
    local count=$1 word=${2:-held} i conn reply tag
    HELD=()
    HELD_TAGS=()
    for ((i = 1; i <= count; i++)); do
        open_connection conn || { echo "hold_answered: cannot open connection $i" >&2; return 1; }
        send "$conn" '%s %d\n' "$word" "$i"
        if ! read_reply "$conn" reply 5; then
            echo "hold_answered: no reply on connection $i of $count within 5 s" >&2
            return 1
        fi
        tag=$(tag_of "$reply" "$word $i") || return 1
        check_tag "$tag" || return 1
        HELD+=("$conn")
        HELD_TAGS+=("$tag")
    done
}

# tag_of REPLY MESSAGE: print TAG when REPLY is "TAG: MESSAGE" with a non-empty TAG without
# ": " in it; otherwise say why on stderr and fail.
tag_of() {
    local reply=$1 message=$2
    local tag=${reply%": $message"}
    if [ "$tag" = "$reply" ] || [ -z "$tag" ] || [[ $tag == *": "* ]]; then
        echo "tag_of: $(printf '%q' "$reply") is not TAG: $(printf '%q' "$message")" >&2
        return 1
    fi
    echo "$tag"
}

# announced_workers: the PIDs that 04's supervisor said it started, in the order it said so.
announced_workers() {
    sed -n 's/^Server started worker PID \([0-9][0-9]*\) with [0-9][0-9]* threads$/\1/p' "$SERVER_OUT"
}

_workers_announced_at_least() {
    [ "$(announced_workers | wc -l)" -ge "$1" ]
}

# wait_for_workers COUNT [SECONDS]: wait until the supervisor has announced COUNT workers (at
# most SECONDS, default 5). Each worker is announced right after its fork, so its PID is then a
# child of the server.
wait_for_workers() {
    wait_until "${2:-5}" _workers_announced_at_least "$1"
}

all_exited() {
    local pid
    for pid in "$@"; do
        has_exited "$pid" || return 1
    done
}

all_gone() {
    local pid
    for pid in "$@"; do
        is_gone "$pid" || return 1
    done
}

# sigpipe_ignored PID: PID ignores (or catches) SIGPIPE, as /proc/PID/status says (Linux only:
# check for /proc/PID/status first). A black-box test cannot always provoke SIGPIPE: on Linux
# a write to a connection the client reset usually fails with ECONNRESET or ENOTCONN, which
# raise no signal, and the servers stop writing to a connection after its first failed write.
sigpipe_ignored() {
    local key value mask=0
    while read -r key value; do
        case $key in
        SigIgn: | SigCgt:) mask=$((mask | 16#$value)) ;;
        esac
    done <"/proc/$1/status"
    (((mask >> 12) & 1)) || { echo "PID $1 neither ignores nor catches SIGPIPE" >&2; return 1; }
}
