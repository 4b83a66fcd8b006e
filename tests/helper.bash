# helper.bash: what every stage's bats suite shares. Load it with `load helper`.
#
# Needs bash 4.1 or later ({fd} redirections), ps, od, cmp, and a C compiler (the one that built
# the servers, servers_cc below) for tcp_talk, a tiny client, and strerror_text, both compiled
# on first use. No python.
#
#   start_server STAGE [OPTION...]   start STAGE/server ($SERVER_BINARY instead, if set), wait for
#                                    its banner; sets SERVER_PID, SERVER_PORT, SERVER_ADDRESS,
#                                    SERVER_BANNER, SERVER_OUT, SERVER_ERR
#   stop_server [SIGNAL [SECONDS]]   signal it (TERM), wait at most SECONDS (10) for it to exit;
#                                    returns its exit status; sets SERVER_STATUS and STOP_MS
#   read_server_output               the server's stdout so far into server_lines (an array)
#   server_children                  the PIDs of the server's child processes, zombies included
#   is_child_of_server PID           PID's parent is the server (asked of ps)
#   run_client STAGE [ARG...]        run STAGE/client to its end (at most 15 s); sets status,
#                                    output, lines, stderr, stderr_lines and CLIENT_PID, as bats's run
#   start_client NAME STAGE [ARG...] the same in the background; finish_client NAME waits for it
#   expect_client_lines N MESSAGE    the Nth client's three lines are right; sets TAG
#   talk [-1] [-C|-R] [-t SECONDS]   one connection: stdin to the server, then EOF (-C: a close,
#                                    -R: a reset); all it answers, until it closes, to stdout
#   open_connection VAR              a connection held open in the test shell; its fd in VAR
#   send FD FORMAT [ARG...]          printf to a held connection
#   read_reply FD VAR [SECONDS]      one line from a held connection: 0, 1 at EOF, >128 on timeout
#   expect_no_reply FD SECONDS       nothing arrives for SECONDS (the only deliberate waits)
#   expect_eof FD SECONDS            the server closes the connection within SECONDS
#   close_connection FD
#   wait_until SECONDS COMMAND...    poll COMMAND until it succeeds; fail after SECONDS
#   bounded SECONDS COMMAND...       run COMMAND, kill it after SECONDS (status 124 then)
#   start_tracked COMMAND...         start COMMAND in the background, killed at teardown; PID in
#                                    TRACKED_PID (redirect the call to redirect COMMAND)
#   is_running PID / is_gone PID     alive and not a zombie / no such process at all
#   never_within SECONDS COMMAND...  COMMAND stays false for SECONDS
#   expect_replies FILE TEXT...      FILE is exactly "TAG: TEXT\n" per TEXT (check_tag judges TAG)
#   expect_reply_bytes FILE PAYLOAD  FILE is exactly "TAG: " PAYLOAD "\n", byte for byte
#   expect_usage_error STAGE ARG...  STAGE/server ARG... exits 2, the usage on stderr only
#   strerror_text NAME               the C library's text for errno NAME (EADDRINUSE...), as
#                                    the servers print it: glibc's and musl's wordings differ
#   now_ms, free_port STAGE, has_ipv6_loopback, is EXPECTED ACTUAL [WHAT]
#
# teardown() calls helper_teardown, which closes held connections, stops the server and kills
# (SIGKILL, by PID) whatever a test started and left behind. A suite that needs its own teardown
# calls helper_teardown from it.

# Many variables here are set for the tests that load this file to read.
# shellcheck disable=SC2034

ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"

# process_state, server_children and server_zombies live in processes.bash, which loadgen.bats
# loads too (it has no use for the rest of this file).
# shellcheck source=tests/processes.bash
source "${BASH_SOURCE[0]%/*}/processes.bash"

SERVER_PID=
SERVER_PORT=
HELD_FDS=()
TRACKED_PIDS=()

# How often wait_until looks again, in seconds.
POLL_INTERVAL=0.02

# ---------------------------------------------------------------------------------------------
# Small utilities

# Milliseconds on the wall clock, for measuring how long something took.
now_ms() {
    if [ -n "${EPOCHREALTIME:-}" ]; then
        local t=${EPOCHREALTIME/[.,]/}
        echo $((10#$t / 1000))
    else
        echo $((SECONDS * 1000))
    fi
}

# is EXPECTED ACTUAL [WHAT]: compare two strings, and show both when they differ.
is() {
    [ "$1" = "$2" ] && return 0
    {
        echo "${3:-value} differs"
        echo "  expected: $(printf '%q' "$1")"
        echo "  actual:   $(printf '%q' "$2")"
    } >&2
    return 1
}

# Alive: it exists and is not a zombie. (kill -0 succeeds on a zombie, so it cannot tell.)
is_running() {
    local state
    state=$(process_state "$1")
    [ -n "$state" ] && [[ $state != Z* ]]
}

# Not alive: gone, or a zombie waiting to be reaped.
has_exited() {
    ! is_running "$1"
}

# No such process at all, not even a zombie.
is_gone() {
    ! kill -0 "$1" 2>/dev/null
}

# Seconds, whole or with a fraction ("1.5"), as milliseconds.
seconds_to_ms() {
    local whole=${1%%.*} fraction=
    [[ $1 == *.* ]] && fraction=${1#*.}
    fraction=${fraction}000
    echo $((10#${whole:-0} * 1000 + 10#${fraction:0:3}))
}

# wait_until SECONDS COMMAND...: run COMMAND every POLL_INTERVAL until it succeeds. Fails, naming
# the command, if it has not succeeded after SECONDS (whole or with a fraction).
wait_until() {
    local limit=$1 limit_ms start
    limit_ms=$(seconds_to_ms "$1")
    shift
    start=$(now_ms)
    until "$@"; do
        if (($(now_ms) - start >= limit_ms)); then
            echo "wait_until: still false after $limit s: $*" >&2
            return 1
        fi
        sleep "$POLL_INTERVAL"
    done
}

# never_within SECONDS COMMAND...: COMMAND stays false for SECONDS (polled). For the few checks
# that something does NOT happen, where only waiting a while can tell.
never_within() {
    if wait_until "$@" 2>/dev/null; then
        shift
        echo "never_within: became true: $*" >&2
        return 1
    fi
}

# Close, in a process about to run something else, the connections the test shell holds:
# otherwise that process would keep them open after the test closes its copy.
close_held_fds() {
    local fd
    for fd in "${HELD_FDS[@]}"; do
        eval "exec $fd>&-" 2>/dev/null || true
    done
}

# start_tracked COMMAND [ARG...]: start COMMAND in the background, without the connections the
# test holds (nor bats's descriptor 3), to be killed at teardown if it still runs. Its PID in
# TRACKED_PID. Redirect the call to redirect the command: start_tracked CMD >OUT 2>ERR.
start_tracked() {
    ( close_held_fds; exec "$@" ) 3>&- &
    TRACKED_PID=$!
    TRACKED_PIDS+=("$TRACKED_PID")
}

# bounded SECONDS COMMAND...: run COMMAND (its stdin, stdout and stderr are ours) and return its
# status; if it is still running after SECONDS, kill it and return 124.
bounded() {
    local limit=$1
    shift
    start_tracked "$@"
    local pid=$TRACKED_PID
    if ! wait_until "$limit" has_exited "$pid" 2>/dev/null; then
        echo "bounded: $1 still running after $limit s; killed" >&2
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        return 124
    fi
    local status=0
    wait "$pid" || status=$?
    return "$status"
}

# ---------------------------------------------------------------------------------------------
# The server

# start_server STAGE [OPTION...]: start STAGE/server in the background, its stdout and stderr
# into files, and wait (at most 10 s) for the first line of its stdout, the banner
# "Server listening on ADDRESS:PORT (PID N)", which says it is ready. Checks the banner's form and
# that N is the PID we started. SERVER_BINARY, if set, is run instead of STAGE/server (another
# build of it, say with a sanitizer).
start_server() {
    local stage=$1
    shift
    SERVER_OUT="$BATS_TEST_TMPDIR/${SERVER_NAME:-server}.out"
    SERVER_ERR="$BATS_TEST_TMPDIR/${SERVER_NAME:-server}.err"
    start_tracked "${SERVER_BINARY:-$ROOT/$stage/server}" "$@" >"$SERVER_OUT" 2>"$SERVER_ERR" </dev/null
    SERVER_PID=$TRACKED_PID
    SERVER_PORT=
    SERVER_STATUS=
    # Readiness: the banner is a whole first line (the file holds a '\n'), or the server died.
    if ! wait_until 10 _banner_or_exit; then
        echo "start_server: no banner from $stage/server $* within 10 s" >&2
        return 1
    fi
    IFS= read -r SERVER_BANNER <"$SERVER_OUT" || true
    if [[ -z $SERVER_BANNER ]]; then
        echo "start_server: $stage/server $* exited without a banner; stderr:" >&2
        cat "$SERVER_ERR" >&2
        return 1
    fi
    local re='^Server listening on (.+):([0-9]+) \(PID ([0-9]+)\)$'
    if ! [[ $SERVER_BANNER =~ $re ]]; then
        echo "start_server: bad banner: $(printf '%q' "$SERVER_BANNER")" >&2
        return 1
    fi
    SERVER_ADDRESS=${BASH_REMATCH[1]}
    SERVER_PORT=${BASH_REMATCH[2]}
    is "$SERVER_PID" "${BASH_REMATCH[3]}" "the PID in the banner" || return 1
    ((SERVER_PORT >= 1 && SERVER_PORT <= 65535)) || { echo "start_server: port $SERVER_PORT" >&2; return 1; }
}

_banner_or_exit() {
    [ "$(wc -l <"$SERVER_OUT")" -ge 1 ] || ! is_running "$SERVER_PID"
}

# stop_server [SIGNAL [SECONDS]]: send SIGNAL (default TERM) and wait at most SECONDS (default 10)
# for the server to exit. Returns its exit status, also in SERVER_STATUS; STOP_MS says how long
# the exit took. If it does not exit in time it is killed with SIGKILL and 124 is returned.
# Safe to call when the server has already exited, or was never started.
stop_server() {
    local signal=${1:-TERM} limit=${2:-10}
    [ -n "$SERVER_PID" ] || return 0
    local pid=$SERVER_PID start
    start=$(now_ms)
    kill -s "$signal" "$pid" 2>/dev/null || true
    if ! wait_until "$limit" has_exited "$pid" 2>/dev/null; then
        STOP_MS=$(($(now_ms) - start))
        echo "stop_server: the server (PID $pid) did not exit within $limit s of SIG$signal; killed" >&2
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        SERVER_PID=
        SERVER_STATUS=124
        return 124
    fi
    STOP_MS=$(($(now_ms) - start))
    SERVER_STATUS=0
    wait "$pid" 2>/dev/null || SERVER_STATUS=$?
    SERVER_PID=
    return "$SERVER_STATUS"
}

# The server's stdout so far, one array element per line, in server_lines.
read_server_output() {
    mapfile -t server_lines <"$SERVER_OUT"
}

# Does the server's stdout hold LINE (a whole line)?
server_printed() {
    grep -qxF -e "$1" "$SERVER_OUT"
}

# How many lines the server's stdout holds.
server_line_count() {
    wc -l <"$SERVER_OUT" | tr -d ' '
}

# Has the server's stdout at least N lines?
server_has_lines() {
    [ "$(server_line_count)" -ge "$1" ]
}

# is_child_of_server PID: PID's parent is the server, as ps says.
is_child_of_server() {
    is "$SERVER_PID" "$(ps -o ppid= -p "$1" | tr -d ' ')" "the parent of $1"
}

has_no_children() {
    [ -z "$(server_children)" ]
}

# free_port STAGE: a port nobody listens on now (the kernel picks it for a server we then stop;
# that server writes into free-port.out and free-port.err).
free_port() {
    local SERVER_NAME=free-port SERVER_PID SERVER_PORT SERVER_OUT SERVER_ERR
    start_server "$1" >&2 || return 1
    local port=$SERVER_PORT
    stop_server >/dev/null 2>&1 || true
    echo "$port"
}

# Is there an IPv6 loopback address to listen on? Looked up, not assumed.
has_ipv6_loopback() {
    if [ -r /proc/net/if_inet6 ]; then
        grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6
    elif command -v ifconfig >/dev/null 2>&1; then
        ifconfig -a 2>/dev/null | grep -Eq 'inet6 ::1([^0-9a-f:]|$)'
    else
        return 1
    fi
}

# ---------------------------------------------------------------------------------------------
# Clients

# run_client STAGE [ARG...]: run STAGE/client to its end, at most 15 s. Like bats's run, sets
# status, output and lines (stdout), stderr and stderr_lines, and never fails by itself; also
# CLIENT_PID, the client's PID, which its output lines name.
run_client() {
    start_client last "$@"
    finish_client last
}

# start_client NAME STAGE [ARG...]: start STAGE/client in the background; its stdout goes to the
# file client_out NAME names, its stderr to client_err NAME. Sets CLIENT_PID.
start_client() {
    local name=$1 stage=$2
    shift 2
    start_tracked "$ROOT/$stage/client" "$@" >"$(client_out "$name")" 2>"$(client_err "$name")" </dev/null
    CLIENT_PID=$TRACKED_PID
    printf -v "CLIENT_PID_$name" '%s' "$CLIENT_PID"
}

client_out() { echo "$BATS_TEST_TMPDIR/client-$1.out"; }
client_err() { echo "$BATS_TEST_TMPDIR/client-$1.err"; }

# finish_client NAME [SECONDS]: wait (at most SECONDS, default 15) for the client NAME to exit,
# then set status, output, lines, stderr, stderr_lines and CLIENT_PID as run_client does.
finish_client() {
    local name=$1 limit=${2:-15} var="CLIENT_PID_$1"
    CLIENT_PID=${!var}
    status=0
    if ! wait_until "$limit" has_exited "$CLIENT_PID" 2>/dev/null; then
        echo "finish_client: client $name still running after $limit s; killed" >&2
        kill -KILL "$CLIENT_PID" 2>/dev/null || true
        status=124
    fi
    local exit_status=0
    wait "$CLIENT_PID" 2>/dev/null || exit_status=$?
    [ "$status" -eq 124 ] || status=$exit_status
    output=$(cat "$(client_out "$name")")
    mapfile -t lines <"$(client_out "$name")"
    stderr=$(cat "$(client_err "$name")")
    mapfile -t stderr_lines <"$(client_err "$name")"
    return 0
}

# expect_client_lines N MESSAGE: lines holds, for the Nth client (from 0) of the client process
# CLIENT_PID, its three lines for MESSAGE (ASCII): "PID P sending message to server: 'MESSAGE'",
# "Sent: BYTES bytes" and "PID P received: TAG: MESSAGE", with a TAG that check_tag accepts.
# Sets TAG.
expect_client_lines() {
    local i=$(($1 * 3)) message=$2
    is "PID $CLIENT_PID sending message to server: '$message'" "${lines[i]}" "client $1's first line" &&
        is "Sent: $((${#message} + 1)) bytes" "${lines[i + 1]}" "client $1's second line" || return 1
    local prefix="PID $CLIENT_PID received: "
    if [[ ${lines[i + 2]} != "$prefix"* ]]; then
        is "$prefix""TAG: $message" "${lines[i + 2]}" "client $1's third line"
        return 1
    fi
    local reply=${lines[i + 2]#"$prefix"}
    TAG=${reply%%: *}
    check_tag "$TAG" && is "$TAG: $message" "$reply" "client $1's reply"
}

# Has the background client NAME printed a line matching the extended regex RE?
client_printed() {
    grep -Eq -e "$2" "$(client_out "$1")"
}

# ---------------------------------------------------------------------------------------------
# Raw connections

# tcp_talk, compiled on first use: bash's /dev/tcp can neither half-close a connection
# (shutdown), which is how a client says "end of input" while still reading the answers, nor
# reset one. The source, printed:
tcp_talk_source() {
    cat <<'EOF_C'
/* tcp_talk [-a ADDRESS] -p PORT [-t SECONDS] [-1] [-C | -R]: copy stdin to a TCP connection as
   it arrives (one write per read), shut down the sending side at stdin's EOF, and copy everything
   the server sends to stdout until it closes.
   -1  send stdin's first line alone and wait for one reply line before sending the rest: the
       server is then surely serving this connection.
   -C  at stdin's EOF close the connection (a FIN: nothing more is read) and exit 0 at once.
   -R  at stdin's EOF reset the connection (SO_LINGER 0) and exit 0 at once.
   Exit 0 when the server closed; 1 cannot connect; 2 usage; 3 the server did not close (or,
   with -1, reply) within SECONDS (default 10); 4 an error on the connection. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 16];
static long long deadline;
static double seconds = 10;
static int fd, mode; /* mode: 0 shut down, 'C' close, 'R' reset */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(int out, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(out, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int send_all(const char *p, size_t n)
{
    if (write_all(fd, p, n) == 0)
        return 0;
    perror("tcp_talk: write");
    exit(4);
}

/* Wait until fds[0..count) has something or the deadline passes (then exit 3). */
static void wait_ready(struct pollfd *fds, int count)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            fprintf(stderr, "tcp_talk: no end from the server within %g s\n", seconds);
            exit(3);
        }
        if (poll(fds, (nfds_t)count, (int)left) >= 0)
            return;
        if (errno != EINTR)
            exit(4);
    }
}

/* Stdin is over: end our side the way the options say. Returns only for a shutdown. */
static void end_input(void)
{
    if (mode == 'R') {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    if (mode != 0) {
        close(fd);
        exit(0);
    }
    shutdown(fd, SHUT_WR);
}

/* -1: send the first line of stdin, copy one reply line to stdout. Returns how many bytes of
   stdin are left in buf, and sets *input_over if stdin ended meanwhile. */
static size_t first_line_first(int *input_over)
{
    size_t have = 0;
    char *newline;
    while ((newline = memchr(buf, '\n', have)) == NULL && have < sizeof buf) {
        ssize_t n = read(0, buf + have, sizeof buf - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *input_over = 1;
            break;
        }
        have += (size_t)n;
    }
    size_t length = newline != NULL ? (size_t)(newline - buf) + 1 : have;
    send_all(buf, length);
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        wait_ready(&pfd, 1);
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "tcp_talk: no reply to the first line\n");
            exit(4);
        }
        write_all(1, &c, 1);
        if (c == '\n')
            break;
    }
    memmove(buf, buf + length, have - length);
    return have - length;
}

int main(int argc, char *argv[])
{
    const char *address = "127.0.0.1", *port = NULL;
    int first = 0, opt;
    while ((opt = getopt(argc, argv, "a:p:t:1CR")) != -1) {
        switch (opt) {
        case 'a': address = optarg; break;
        case 'p': port = optarg; break;
        case 't': seconds = atof(optarg); break;
        case '1': first = 1; break;
        case 'C': case 'R': mode = opt; break;
        default: return 2;
        }
    }
    if (port == NULL)
        return 2;
    struct addrinfo hints, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(address, port, &hints, &ai) != 0)
        return 1;
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        perror("tcp_talk: connect");
        return 1;
    }
    freeaddrinfo(ai);
    deadline = now_ms() + (long long)(seconds * 1000);
    int input_open = 1;
    if (first) {
        int input_over = 0;
        size_t left = first_line_first(&input_over);
        if (left > 0)
            send_all(buf, left);
        if (input_over) {
            end_input();
            input_open = 0;
        }
    }
    for (;;) {
        struct pollfd fds[2] = {{.fd = fd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
        wait_ready(fds, input_open ? 2 : 1);
        if (input_open && fds[1].revents) {
            ssize_t n = read(0, buf, sizeof buf);
            if (n > 0) {
                send_all(buf, (size_t)n);
            } else if (n == 0 || errno != EINTR) {
                end_input();
                input_open = 0;
            }
        }
        if (fds[0].revents) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                perror("tcp_talk: read");
                return 4;
            }
            if (n == 0)
                return 0;
            if (write_all(1, buf, (size_t)n) < 0)
                return 4;
        }
    }
}
EOF_C
}

# The compiled tcp_talk's path, building it if needed (once per bats run).
tcp_talk_path() {
    compiled_once tcp_talk
}

# The compiler that built the servers: the first line of a stage's .build-flags, which
# common/stage.mk writes at each build; $CC, else cc, before any build by make. The test's own
# C programs are built with it, so they link the servers' C library: strerror_text must print
# the servers' wording.
servers_cc() {
    local stamp
    for stamp in "$ROOT"/0*/.build-flags; do
        if [ -r "$stamp" ]; then
            head -n 1 "$stamp"
            return
        fi
    done
    echo "${CC:-cc}"
}

# compiled_once NAME: the path of the program whose C source NAME_source prints, compiled by
# servers_cc on first use (once per bats run).
compiled_once() {
    local dir=${BATS_RUN_TMPDIR:-${BATS_TMPDIR:-/tmp}}
    local bin="$dir/$1" cc
    if [ ! -x "$bin" ]; then
        cc=$(servers_cc)
        "$1_source" >"$dir/$1.$BASHPID.c"
        # $cc unquoted: a compiler may be a command and its arguments ("ccache gcc").
        $cc -std=c11 -D_POSIX_C_SOURCE=200809L -O -o "$bin.$BASHPID" "$dir/$1.$BASHPID.c" >&2 ||
            return 1
        mv -f "$bin.$BASHPID" "$bin" # atomic: tests run in parallel may build it at once
    fi
    echo "$bin"
}

# strerror_text NAME: the C library's text for the errno value NAME (EADDRINUSE, EMFILE...),
# the REASON the servers print after a failed call. The wording is each C library's own: for
# EADDRINUSE glibc says "Address already in use", musl "Address in use". So a test asks, never
# assumes.
strerror_text() {
    local bin
    bin=$(compiled_once strerror_text) || return 1
    "$bin" "$1"
}

strerror_text_source() {
    cat <<'EOF_C'
/* strerror_text NAME: print strerror() of the errno value NAME, for the names in the table. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int value;
} names[] = {
    {"EADDRINUSE", EADDRINUSE}, {"EAGAIN", EAGAIN}, {"ECONNREFUSED", ECONNREFUSED},
    {"EMFILE", EMFILE}, {"ETIMEDOUT", ETIMEDOUT},
};

int main(int argc, char *argv[])
{
    for (size_t i = 0; argc == 2 && i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(argv[1], names[i].name) == 0) {
            puts(strerror(names[i].value));
            return 0;
        }
    }
    fprintf(stderr, "strerror_text: not a name in its table: %s\n", argc == 2 ? argv[1] : "");
    return 2;
}
EOF_C
}

# talk [-t SECONDS] [-a ADDRESS] [-1] [-C | -R]: one connection to the server: stdin goes to it,
# then EOF; what it answers, until it closes, comes out on stdout. -1: the first line alone, and
# its reply awaited, before the rest. -C: at the end close (FIN) without reading any more; -R:
# reset instead. (tcp_talk_source says more.)
talk() {
    local bin
    bin=$(tcp_talk_path) || return 1
    "$bin" -p "$SERVER_PORT" "$@"
}

# open_connection VAR: connect to the server and keep the connection open in the test shell,
# its fd in VAR. Closed by close_connection or by teardown.
open_connection() {
    local fd
    exec {fd}<>"/dev/tcp/127.0.0.1/$SERVER_PORT" || return 1
    HELD_FDS+=("$fd")
    printf -v "$1" '%s' "$fd"
}

# send FD FORMAT [ARG...]: printf to a held connection (one write for a short text).
send() {
    local fd=$1
    shift
    # shellcheck disable=SC2059
    printf "$@" >&"$fd"
}

# read_reply FD VAR [SECONDS]: read one line (without its '\n') from a held connection into VAR,
# waiting at most SECONDS (default 5). Returns 0, 1 at end of file, more than 128 on timeout.
read_reply() {
    local fd=$1 var=$2 limit=${3:-5}
    # shellcheck disable=SC2229 # reads into the variable VAR names
    IFS= read -r -t "$limit" -u "$fd" "$var"
}

# expect_no_reply FD SECONDS: nothing at all arrives on FD (not even an EOF) for SECONDS.
expect_no_reply() {
    local got status=0
    IFS= read -r -t "$2" -u "$1" got || status=$?
    if [ "$status" -le 128 ]; then
        echo "expect_no_reply: got $(printf '%q' "$got") (read status $status) within $2 s" >&2
        return 1
    fi
    if [ -n "$got" ]; then
        echo "expect_no_reply: got part of a line: $(printf '%q' "$got")" >&2
        return 1
    fi
}

# expect_eof FD SECONDS: the server closes the connection (no further byte) within SECONDS.
expect_eof() {
    local got status=0
    IFS= read -r -t "$2" -u "$1" got || status=$?
    if [ "$status" -ne 1 ] || [ -n "$got" ]; then
        echo "expect_eof: read status $status, got $(printf '%q' "$got") instead of EOF within $2 s" >&2
        return 1
    fi
}

close_connection() {
    local fd=$1 i
    # In braces: a bare `exec {fd}>&- 2>/dev/null` would send the test's stderr to /dev/null too.
    { exec {fd}>&-; } 2>/dev/null || true
    for i in "${!HELD_FDS[@]}"; do
        [ "${HELD_FDS[$i]}" = "$1" ] && unset 'HELD_FDS[i]'
    done
    HELD_FDS=("${HELD_FDS[@]}")
    return 0
}

# ---------------------------------------------------------------------------------------------
# Checking replies and usage errors. A suite defines check_tag TAG: does TAG name who may serve
# a connection in this stage (01: the server's PID; 02: a child's PID; ...)?

# expect_replies FILE TEXT...: FILE holds exactly "TAG: TEXT\n" for each TEXT, in order, with
# one TAG for all of them that check_tag accepts. Sets TAG.
expect_replies() {
    local file=$1 first='' text
    shift
    IFS= read -r first <"$file" || true
    TAG=${first%%: *}
    check_tag "$TAG" || return 1
    local expected="$BATS_TEST_TMPDIR/expected-replies"
    : >"$expected"
    for text in "$@"; do
        printf '%s: %s\n' "$TAG" "$text" >>"$expected"
    done
    _same_bytes "$expected" "$file"
}

# expect_reply_bytes FILE PAYLOAD_FILE: FILE holds exactly "TAG: ", the bytes of PAYLOAD_FILE
# and "\n", with a TAG that check_tag accepts. Sets TAG.
expect_reply_bytes() {
    local file=$1 payload=$2
    IFS= read -r -d ':' TAG <"$file" || true
    check_tag "$TAG" || return 1
    local expected="$BATS_TEST_TMPDIR/expected-bytes"
    { printf '%s: ' "$TAG"; cat "$payload"; printf '\n'; } >"$expected"
    _same_bytes "$expected" "$file"
}

_same_bytes() {
    cmp -s "$1" "$2" && return 0
    echo "the bytes differ (expected, then actual, as od -c):" >&2
    od -c "$1" | head -n 20 >&2
    echo "---" >&2
    od -c "$2" | head -n 20 >&2
    return 1
}

# expect_usage_error STAGE ARG...: STAGE/server ARG... exits 2 at once, with nothing on stdout
# and, on stderr, the usage (the same text -h prints, from its line "usage: server ...").
expect_usage_error() {
    local stage=$1
    shift
    local help case="server $*:"
    help=$(bounded 5 "$ROOT/$stage/server" -h) || true # its status is -h's own test's business
    [[ $help == "usage: server "* ]] || { echo "-h does not print the usage: $help" >&2; return 1; }
    run --separate-stderr bounded 5 "$ROOT/$stage/server" "$@"
    [ "$status" -eq 2 ] || { echo "$case exit status $status, not 2" >&2; return 1; }
    [ -z "$output" ] || { echo "$case printed on stdout: $output" >&2; return 1; }
    # The usage, maybe after a line that says what was wrong.
    if [[ $stderr != "$help" && $stderr != *$'\n'"$help" ]]; then
        echo "$case stderr does not end with the usage; stderr:" >&2
        echo "$stderr" >&2
        return 1
    fi
}

# ---------------------------------------------------------------------------------------------
# Cleaning up after every test, passed or failed

helper_teardown() {
    local fd pid
    for fd in "${HELD_FDS[@]}"; do
        eval "exec $fd>&-" 2>/dev/null || true
    done
    HELD_FDS=()
    # The server's children are noted before it stops: once it is gone they have a new parent.
    local children=()
    if [ -n "$SERVER_PID" ]; then
        mapfile -t children < <(server_children)
        stop_server TERM 6 >/dev/null 2>&1 || true
    fi
    # What we started ourselves is ours until we reap it, so its PID cannot have been reused.
    for pid in "${TRACKED_PIDS[@]}"; do
        if ! is_gone "$pid"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    TRACKED_PIDS=()
    # A child of the server that outlived it: killed only if that PID still runs a server.
    for pid in "${children[@]}"; do
        if is_running "$pid" && [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = server ]; then
            echo "teardown: server child $pid outlived the server; killed" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
}

teardown() {
    helper_teardown
}
