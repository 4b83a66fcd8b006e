# processes.bash: a process's state and the server's children, from /proc or ps. Loaded by
# helper.bash (so by every stage's suite) and by loadgen.bats; both set SERVER_PID.

# The state letter of a process (R, S, Z, ...), or nothing if there is no such process.
process_state() {
    local stat
    if [ -r "/proc/$1/stat" ] && IFS= read -r stat <"/proc/$1/stat" 2>/dev/null; then
        stat=${stat##*) }
        echo "${stat%% *}"
    else
        ps -o stat= -p "$1" 2>/dev/null | tr -d ' '
    fi
}

# The PIDs of the server's children (zombies too), one a line.
server_children() {
    [ -n "$SERVER_PID" ] || return 0
    ps -A -o pid= -o ppid= | awk -v parent="$SERVER_PID" '$2 == parent { print $1 }'
}

# The server's children that are zombies, one a line.
server_zombies() {
    local pid
    for pid in $(server_children); do
        [[ $(process_state "$pid") == Z* ]] && echo "$pid"
    done
    return 0
}
