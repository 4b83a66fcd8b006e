/* echo.c: serving one connection, line by line, the same way in every stage. */
#include "echo.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"
#include "line_reader.h"
#include "locks.h"
#include "report.h"

static const char too_long_reply[] = "error: line too long (limit 1024 bytes)\n";

/* After an over-long line: how long, in all, and how much to swallow of what the client still
   sends before closing. */
enum { LINGER_MS = 1000, LINGER_BYTES_MAX = 1 << 20 };

/* At a stop, how long a connection has to answer the lines that have arrived and to see its
   client close, before it is closed anyway: well inside SHUTDOWN_GRACE_MS. */
enum { STOP_FINISH_MS = 2000 };

/* How long to back off when accept(2) fails for want of a resource, and how often at most to
   say so while it lasts. */
enum { ACCEPT_BACKOFF_MS = 100, ACCEPT_REPORT_INTERVAL_MS = 1000 };

void tag_with_pid(char tag[TAG_MAX])
{
    snprintf(tag, TAG_MAX, "%ld", (long)getpid());
}

int open_listener(const struct server_options *options)
{
    char why[REASON_TEXT_MAX];
    int fd = tcp_listen(options->address, options->port, why, sizeof why);
    if (fd < 0) {
        const char *format = strchr(options->address, ':') != NULL ? "[%s]:%s" : "%s:%s";
        char where[ADDRESS_TEXT_MAX + 8];
        snprintf(where, sizeof where, format, options->address, options->port);
        report("server: cannot listen on %s: %s", where, why);
    }
    return fd;
}

int print_banner(int listen_fd)
{
    char address[ADDRESS_TEXT_MAX];
    if (local_address(listen_fd, address, sizeof address) < 0)
        return -1;
    printf("Server listening on %s (PID %ld)\n", address, (long)getpid());
    return 0;
}

/* Out of descriptors, accept fails again at every retry, ten times a second: say so once, then
   at most once a second, with how many failures the line stands for. One thread at a time
   accepts in every stage, but the lock makes that no business of this function's. */
static void report_accept_shortage(int errnum)
{
    static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    static long long last_report_ms = 0; /* 0: not reported yet */
    static long unreported = 0;
    lock(&mutex);
    long long now = monotonic_ms();
    if (last_report_ms != 0 && now - last_report_ms < ACCEPT_REPORT_INTERVAL_MS) {
        unreported++;
    } else {
        char reason[REASON_TEXT_MAX];
        error_text(errnum, reason, sizeof reason);
        if (unreported == 0)
            report("server: accept: %s", reason);
        else
            report("server: accept: %s (%ld more times since the last report)", reason, unreported);
        last_report_ms = now;
        unreported = 0;
    }
    unlock(&mutex);
}

int accept_or_back_off(int listen_fd, char peer[ADDRESS_TEXT_MAX])
{
    int client_fd = accept_client(listen_fd, peer, ADDRESS_TEXT_MAX);
    if (client_fd >= 0)
        return client_fd;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return -1; /* someone else accepted it first */
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        report_accept_shortage(errno);
        wait_for(-1, 0, ACCEPT_BACKOFF_MS); /* the listening socket stays readable: don't spin */
        return -1;
    }
    report_error(errno, "server: accept");
    return -1;
}

void close_connection(int client_fd)
{
    if (close(client_fd) < 0)
        report_error(errno, "server: close");
}

/* One line "Server sending response [TAG: LINE]" on stdout. The stream's lock keeps the pieces
   together when threads log at once; line buffering sends the whole line in one write(2), so
   processes sharing the terminal or pipe do not tear each other's lines either. */
static void log_response(const char *tag, const char *line, size_t length)
{
    flockfile(stdout);
    fputs("Server sending response [", stdout);
    fputs(tag, stdout);
    fputs(": ", stdout);
    fwrite(line, 1, length, stdout);
    fputs("]\n", stdout);
    funlockfile(stdout);
}

static bool stopping(const struct connection *conn)
{
    return conn->stop_deadline != 0;
}

/* Milliseconds until `deadline` (never negative). */
static int ms_until(long long deadline)
{
    long long left = deadline - monotonic_ms();
    return left > 0 ? (int)left : 0;
}

/* Send `length` bytes to the client. Serving, a client that takes nothing for the idle timeout
   is given up (ETIMEDOUT), and so is one whose buffers are full when a stop comes (ECANCELED);
   once stopping, the client has until the stop deadline to take what it is owed. */
static int send_to_client(struct connection *conn, const char *data, size_t length)
{
    if (stopping(conn))
        return write_all_while_stopping(conn->fd, data, length, ms_until(conn->stop_deadline));
    return write_all(conn->fd, data, length, conn->options->idle_ms);
}

/* Answer one line with "TAG: LINE\n". Returns false if the client can no longer be written to. */
static bool send_reply(struct connection *conn, const char *line, size_t length)
{
    char reply[TAG_MAX + 2 + LINE_LIMIT + 1];
    size_t tag_length = strlen(conn->tag);
    memcpy(reply, conn->tag, tag_length);
    memcpy(reply + tag_length, ": ", 2);
    memcpy(reply + tag_length + 2, line, length); /* memcpy, not strcpy: NUL is a valid byte */
    reply[tag_length + 2 + length] = '\n';
    if (!conn->options->quiet)
        log_response(conn->tag, line, length);
    if (send_to_client(conn, reply, tag_length + 2 + length + 1) < 0) {
        report_error(errno, "server: client %s: cannot send reply", conn->peer);
        return false;
    }
    return true;
}

/* Close gently: stop sending (a FIN after our last reply), then read and throw away what the
   client still sends, until it closes, `deadline` passes or LINGER_BYTES_MAX bytes have come.
   Closing with unread bytes would make the kernel answer with a reset, which destroys the
   replies still on their way, before the client reads them. The deadline is fixed in advance,
   so a client that trickles bytes cannot stretch it. */
static void discard_until_close(struct connection *conn, long long deadline)
{
    if (shutdown(conn->fd, SHUT_WR) < 0)
        return;
    char sink[LINE_READER_CAPACITY];
    size_t swallowed = 0;
    while (swallowed < LINGER_BYTES_MAX &&
           wait_ignoring_stop(conn->fd, POLLIN, ms_until(deadline)) == WAIT_READY) {
        ssize_t n = read(conn->fd, sink, sizeof sink);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n <= 0)
            return;
        swallowed += (size_t)n;
    }
}

static void reject_long_line(struct connection *conn)
{
    report("server: client %s: line longer than %d bytes; closing the connection", conn->peer,
           LINE_LIMIT);
    if (send_to_client(conn, too_long_reply, sizeof too_long_reply - 1) == 0)
        discard_until_close(conn, stopping(conn) ? conn->stop_deadline
                                                 : monotonic_ms() + LINGER_MS);
}

/* The unfinished line's deadline: set when its first byte comes, kept while more of it trickles
   in, cleared once no line is pending. `new_line` says whether the pending bytes began after a
   line that was just completed. */
static void update_line_deadline(struct connection *conn, bool new_line)
{
    if (conn->options->idle_ms == WAIT_FOREVER || line_reader_pending(&conn->reader) == 0)
        conn->line_deadline = 0;
    else if (new_line || conn->line_deadline == 0)
        conn->line_deadline = monotonic_ms() + conn->options->idle_ms;
}

/* Answer every complete line waiting in the reader. Returns false when the connection must
   end: a line was too long, or the client cannot be written to. */
static bool answer_complete_lines(struct connection *conn)
{
    const char *line;
    size_t length;
    enum line_status status;
    bool answered = false;
    while ((status = line_reader_next(&conn->reader, &line, &length)) == LINE_READY) {
        if (!send_reply(conn, line, length))
            return false;
        answered = true;
    }
    if (status == LINE_TOO_LONG) {
        reject_long_line(conn);
        return false;
    }
    update_line_deadline(conn, answered);
    return true;
}

/* The client sent EOF: the bytes after its last '\n' are a final line. */
static void answer_last_line(struct connection *conn)
{
    if (!answer_complete_lines(conn))
        return;
    const char *line;
    size_t length;
    enum line_status status = line_reader_last(&conn->reader, &line, &length);
    if (status == LINE_READY)
        send_reply(conn, line, length);
    else if (status == LINE_TOO_LONG)
        reject_long_line(conn);
}

/* One read(2) into the reader. Returns what read returned. */
static ssize_t read_some(struct connection *conn)
{
    size_t room;
    char *space = line_reader_space(&conn->reader, &room);
    ssize_t n;
    do
        n = read(conn->fd, space, room);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        line_reader_added(&conn->reader, (size_t)n);
    return n;
}

/* A stop was requested: answer every complete line that has arrived, until nothing more is
   waiting to be read, then close gently so that the answers reach the client. All of it within
   STOP_FINISH_MS. */
static void finish_at_stop(struct connection *conn)
{
    if (!stopping(conn))
        conn->stop_deadline = monotonic_ms() + STOP_FINISH_MS;
    while (monotonic_ms() < conn->stop_deadline) {
        ssize_t n = read_some(conn);
        if (n == 0) {
            answer_last_line(conn);
            return; /* the client closed: nothing is left to throw away */
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return; /* ECONNRESET: the client is gone */
        if (!answer_complete_lines(conn))
            return;
        if (n < 0)
            break; /* EAGAIN: all that has arrived is answered */
    }
    discard_until_close(conn, conn->stop_deadline);
}

/* How long to wait for the client's next bytes: the idle timeout, or what is left of the time
   its unfinished line has. */
static int time_to_wait(const struct connection *conn)
{
    if (conn->line_deadline == 0)
        return conn->options->idle_ms;
    return ms_until(conn->line_deadline);
}

static void report_timeout(const struct connection *conn)
{
    if (conn->line_deadline != 0)
        report("server: client %s: line not ended within %d s; closing the connection",
               conn->peer, conn->options->idle_ms / 1000);
    else
        report("server: client %s: idle for %d s; closing the connection", conn->peer,
               conn->options->idle_ms / 1000);
}

int start_connection(struct connection *conn, int client_fd, const char *peer, const char *tag,
                     const struct server_options *options)
{
    *conn = (struct connection){.fd = client_fd, .peer = peer, .tag = tag, .options = options};
    line_reader_init(&conn->reader, LINE_LIMIT);
    /* Non-blocking, so that no read or write can hang past the idle timeout or a stop. */
    return set_nonblocking(client_fd);
}

bool serve_readable(struct connection *conn)
{
    ssize_t n = read_some(conn);
    if (n == 0) {
        answer_last_line(conn);
        return false;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return true; /* woken for nothing; wait again */
        report_error(errno, "server: client %s: read", conn->peer);
        return false; /* ECONNRESET: the client vanished; its half line goes with it */
    }
    if (!answer_complete_lines(conn)) {
        /* ECANCELED: the stop came while this client was not taking its replies. It gets no
           more, but what was written still reaches it. */
        if (errno == ECANCELED)
            discard_until_close(conn, monotonic_ms() + STOP_FINISH_MS);
        return false;
    }
    return true;
}

void serve_connection(int client_fd, const char *peer, const char *tag,
                      const struct server_options *options)
{
    struct connection conn;
    if (start_connection(&conn, client_fd, peer, tag, options) < 0) {
        report_error(errno, "server: client %s", peer);
        return;
    }
    for (;;) {
        switch (wait_for(client_fd, POLLIN, time_to_wait(&conn))) {
        case WAIT_READY:
            break;
        case WAIT_STOP:
            finish_at_stop(&conn);
            return;
        case WAIT_TIMEOUT:
            report_timeout(&conn);
            return;
        case WAIT_FAILED:
            report_error(errno, "server: poll");
            return;
        }
        if (!serve_readable(&conn))
            return;
    }
}
