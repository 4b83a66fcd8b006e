/* echo.c: serving one connection, line by line, the same way in every stage. */
#include "echo.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"
#include "line_reader.h"
#include "net.h"
#include "report.h"

static const char too_long_reply[] = "error: line too long (limit 1024 bytes)\n";

/* After an over-long line: how long to keep swallowing what the client still sends. */
enum { LINGER_MS = 1000, LINGER_BYTES_MAX = 1 << 20 };

/* How long to back off when accept(2) fails for want of a resource. */
enum { ACCEPT_BACKOFF_MS = 100 };

/* At a stop, how many reads to make of what has already arrived before closing. */
enum { STOP_DRAIN_READS = 64 };

/* What one connection needs on its way through the functions below. */
struct connection {
    int fd;
    const char *tag;
    const struct server_options *options;
    struct line_reader reader;
    char peer[ADDRESS_TEXT_MAX]; /* for messages on stderr; filled in by peer_name() */
};

/* The client's address, looked up the first time a message needs it. It leaves errno as it
   found it: a caller may pass errno to report_error in the same call, and C does not say
   whether that argument is read before or after peer_name's own system calls run. */
static const char *peer_name(struct connection *conn)
{
    int saved_errno = errno;
    if (conn->peer[0] == '\0' && peer_address(conn->fd, conn->peer, sizeof conn->peer) < 0)
        snprintf(conn->peer, sizeof conn->peer, "(unknown)");
    errno = saved_errno;
    return conn->peer;
}

void tag_with_pid(char tag[TAG_MAX])
{
    /* The digits by hand, not with snprintf: 02-forking runs this in every child it forks, and
       a new child has none of the C library's code mapped; it takes a page fault for each
       stretch it runs. printf's machinery spans several: it cost every child 8 of its 23
       faults, and 02 5 to 8 % of its connection rate (docs/02-forking.md, "What a fork
       copies: the mappings"). */
    char reversed[TAG_MAX];
    size_t count = 0;
    long pid = (long)getpid();
    do {
        reversed[count++] = (char)('0' + pid % 10);
        pid /= 10;
    } while (pid > 0);
    for (size_t i = 0; i < count; i++)
        tag[i] = reversed[count - 1 - i];
    tag[count] = '\0';
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

int accept_or_back_off(int listen_fd)
{
    int client_fd = accept_client(listen_fd);
    if (client_fd >= 0)
        return client_fd;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return -1; /* someone else accepted it first */
    report_error(errno, "server: accept");
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        wait_for(-1, 0, ACCEPT_BACKOFF_MS); /* the listening socket stays readable: don't spin */
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
    if (write_all(conn->fd, reply, tag_length + 2 + length + 1, conn->options->idle_ms) < 0) {
        report_error(errno, "server: client %s: cannot send reply", peer_name(conn));
        return false;
    }
    return true;
}

/* Close gently after an error reply: if we closed with unread bytes from the client, the
   kernel would answer with a reset, which can destroy our reply before the client reads it.
   So we stop sending (FIN), then swallow the client's bytes for a moment first. */
static void linger_before_close(int fd)
{
    if (shutdown(fd, SHUT_WR) < 0)
        return;
    char sink[LINE_READER_CAPACITY];
    size_t swallowed = 0;
    while (swallowed < LINGER_BYTES_MAX && wait_for(fd, POLLIN, LINGER_MS) == WAIT_READY) {
        ssize_t n = read(fd, sink, sizeof sink);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n <= 0)
            return;
        swallowed += (size_t)n;
    }
}

static void reject_long_line(struct connection *conn)
{
    report("server: client %s: line longer than %d bytes; closing the connection", peer_name(conn),
           LINE_LIMIT);
    if (write_all(conn->fd, too_long_reply, sizeof too_long_reply - 1, conn->options->idle_ms) == 0)
        linger_before_close(conn->fd);
}

/* Answer every complete line waiting in the reader. Returns false when the connection must
   end: a line was too long, or the client cannot be written to. */
static bool answer_complete_lines(struct connection *conn)
{
    const char *line;
    size_t length;
    enum line_status status;
    while ((status = line_reader_next(&conn->reader, &line, &length)) == LINE_READY)
        if (!send_reply(conn, line, length))
            return false;
    if (status == LINE_TOO_LONG) {
        reject_long_line(conn);
        return false;
    }
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

/* A stop was requested: answer the complete lines that have already arrived, then end. */
static void answer_what_arrived(struct connection *conn)
{
    for (int i = 0; i < STOP_DRAIN_READS; i++) {
        ssize_t n = read_some(conn);
        if (n == 0) {
            answer_last_line(conn);
            return;
        }
        if (n < 0 || !answer_complete_lines(conn))
            return; /* EAGAIN: nothing more has arrived */
    }
}

void serve_connection(int client_fd, const char *tag, const struct server_options *options)
{
    struct connection conn = {.fd = client_fd, .tag = tag, .options = options, .peer = ""};
    line_reader_init(&conn.reader, LINE_LIMIT);
    /* Non-blocking, so that no read or write can hang past the idle timeout or a stop. */
    if (set_nonblocking(client_fd) < 0) {
        report_error(errno, "server: client %s", peer_name(&conn));
        return;
    }
    for (;;) {
        switch (wait_for(client_fd, POLLIN, options->idle_ms)) {
        case WAIT_READY:
            break;
        case WAIT_STOP:
            answer_what_arrived(&conn);
            return;
        case WAIT_TIMEOUT:
            report("server: client %s: idle for %d s; closing the connection", peer_name(&conn),
                   options->idle_ms / 1000);
            return;
        case WAIT_FAILED:
            report_error(errno, "server: poll");
            return;
        }
        ssize_t n = read_some(&conn);
        if (n == 0) {
            answer_last_line(&conn);
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                continue; /* woken for nothing; wait again */
            report_error(errno, "server: client %s: read", peer_name(&conn));
            return; /* ECONNRESET: the client vanished; its half line goes with it */
        }
        if (!answer_complete_lines(&conn))
            return;
    }
}
