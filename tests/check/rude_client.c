/* rude_client.c: the clients a polite echo client never is, for tests/stress.bats and the
   valgrind sessions of `make check`.

   rude_client talk -p PORT [-a ADDRESS] [-R] [-T SECONDS]
       Send all of stdin, then end the sending side (or, with -R, reset the connection and exit
       at once), and copy what the server answers to stdout until it closes. Exit 0 when it
       closed within SECONDS (default 10), 1 otherwise.

   rude_client noread -p PORT [-a ADDRESS] [-T SECONDS]
       Send lines as fast as the server takes them and never read a reply, until the server's
       replies have filled every buffer between us and the server's writes block: that is,
       until our own writes have made no progress for half a second. Then print
       "blocked after N bytes" (the readiness signal a test waits for), and wait for the server
       to end the connection. Prints "closed after S.S s" and exits 0 when it does; exits 1 if
       the connection is still open after SECONDS (default 20).

   rude_client burst -p PORT [-a ADDRESS] [-c CLIENTS] [-l LINES] [-T SECONDS]
       Open CLIENTS connections at once (default 100); on each, send LINES lines (default 20)
       in a single write, without waiting for any reply, then end the sending side. Then check
       that each connection got exactly LINES replies "TAG: LINE", in the order of the lines,
       all with the same TAG, then the server's close. Prints "connections=C lines=L" and exits
       0, or one line on stderr saying what was wrong and exits 1. SECONDS (default 60) bounds
       the whole run.

   rude_client trickle -p PORT [-a ADDRESS] [-b BYTES] [-T SECONDS]
       Slowloris: send BYTES bytes of 'x' at once (default 1), never a newline, then one more
       'x' every 250 ms, reading and throwing away whatever the server answers, until the server
       has closed its socket (a write fails or a reset comes; a FIN alone only ends its sending
       side). Prints "closed after S.S s", counted from the first byte, and
       exits 0; exits 1 if the connection is still open after SECONDS (default 10). With
       -b 1100 the first bytes are already an over-long line: what follows is its rest.

   No python in the tests: this is the one C helper the stress suite compiles itself. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { LINE_MAX_BYTES = 1100, TAG_MAX = 256 };

static long long now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

_Noreturn static void usage(void)
{
    fprintf(stderr, "usage: rude_client talk -p PORT [-a ADDRESS] [-R] [-T SECONDS]\n"
                    "       rude_client noread -p PORT [-a ADDRESS] [-T SECONDS]\n"
                    "       rude_client burst -p PORT [-a ADDRESS] [-c CLIENTS] [-l LINES] "
                    "[-T SECONDS]\n"
                    "       rude_client trickle -p PORT [-a ADDRESS] [-b BYTES] [-T SECONDS]\n");
    exit(2);
}

static long number(const char *text, long min, long max)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > max)
        usage();
    return value;
}

static struct addrinfo *resolve(const char *address, const char *port)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    struct addrinfo *list;
    int status = getaddrinfo(address, port, &hints, &list);
    if (status != 0) {
        fprintf(stderr, "rude_client: %s:%s: %s\n", address, port, gai_strerror(status));
        exit(1);
    }
    return list;
}

/* A non-blocking socket whose connect(2) has started (or finished). */
static int start_connect(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) {
        perror("rude_client: socket");
        exit(1);
    }
    if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
        perror("rude_client: fcntl");
        exit(1);
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
        perror("rude_client: connect");
        exit(1);
    }
    return fd;
}

/* Wait for one descriptor; returns poll's revents, 0 on timeout. */
static short wait_one(int fd, short events, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    int ready;
    do
        ready = poll(&pfd, 1, timeout_ms);
    while (ready < 0 && errno == EINTR);
    if (ready < 0) {
        perror("rude_client: poll");
        exit(1);
    }
    if (ready == 0)
        return 0;
    return pfd.revents;
}

static int noread(const struct addrinfo *ai, int timeout_ms)
{
    int fd = start_connect(ai);
    if (!(wait_one(fd, POLLOUT, timeout_ms) & POLLOUT)) {
        fprintf(stderr, "rude_client: cannot connect\n");
        return 1;
    }
    char line[1001];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\n';
    long long sent = 0;
    size_t offset = 0;
    long long last_progress = now_ms();
    while (now_ms() - last_progress < 500) {
        ssize_t n = write(fd, line + offset, sizeof line - offset);
        if (n > 0) {
            sent += n;
            offset = (offset + (size_t)n) % sizeof line;
            last_progress = now_ms();
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            wait_one(fd, POLLOUT, 100);
        } else if (n < 0 && errno != EINTR) {
            fprintf(stderr, "rude_client: the server ended the connection before it blocked: %s\n",
                    strerror(errno));
            return 1;
        }
    }
    printf("blocked after %lld bytes\n", sent);
    fflush(stdout);
    long long blocked_at = now_ms();
    /* Events 0: poll reports only POLLHUP and POLLERR, which the server's close (a reset, since
       it leaves our bytes unread) brings. We read nothing, so POLLIN would always be set. */
    if (wait_one(fd, 0, timeout_ms) == 0) {
        fprintf(stderr, "rude_client: the connection is still open after %d ms\n", timeout_ms);
        return 1;
    }
    printf("closed after %.1f s\n", (double)(now_ms() - blocked_at) / 1000.0);
    close(fd);
    return 0;
}

/* Write all of `data`, however long the server takes; false if the connection is gone. */
static bool write_fully(int fd, const char *data, size_t length)
{
    while (length > 0) {
        ssize_t n = write(fd, data, length);
        if (n > 0) {
            data += n;
            length -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            wait_one(fd, POLLOUT, 100);
        } else if (n < 0 && errno != EINTR) {
            return false;
        }
    }
    return true;
}

/* Read and throw away what has arrived. Returns 1 while the connection is open, 0 at the
   server's FIN (it may still be reading what we send), -1 once it is gone (a reset). */
static int drain(int fd)
{
    char sink[4096];
    for (;;) {
        ssize_t n = read(fd, sink, sizeof sink);
        if (n > 0 || (n < 0 && errno == EINTR))
            continue;
        if (n == 0)
            return 0;
        return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
    }
}

/* The connection is gone for good when the server has closed its socket: a FIN alone only says
   it sends no more, so after one we keep trickling until a write or the kernel says reset. */
static int trickle(const struct addrinfo *ai, long bytes, int timeout_ms)
{
    signal(SIGPIPE, SIG_IGN); /* a write after the server's close must fail, not kill us */
    int fd = start_connect(ai);
    if (!(wait_one(fd, POLLOUT, timeout_ms) & POLLOUT)) {
        fprintf(stderr, "rude_client: cannot connect\n");
        return 1;
    }
    static char lead[1 << 16];
    memset(lead, 'x', sizeof lead);
    long long started = now_ms();
    bool gone = !write_fully(fd, lead, (size_t)bytes);
    bool fin = false;
    while (!gone && now_ms() - started < timeout_ms) {
        /* After the FIN, POLLIN would be set for ever: wait for POLLERR or POLLHUP alone. */
        short events = wait_one(fd, fin ? 0 : POLLIN, 250);
        if (fin && events != 0)
            gone = true;
        else if (events != 0) {
            int state = drain(fd);
            fin = state == 0;
            gone = state < 0;
        } else
            gone = !write_fully(fd, "x", 1);
    }
    if (!gone) {
        fprintf(stderr, "rude_client: the connection is still open after %d ms\n", timeout_ms);
        return 1;
    }
    printf("closed after %.1f s\n", (double)(now_ms() - started) / 1000.0);
    close(fd);
    return 0;
}

static int talk(const struct addrinfo *ai, bool reset, int timeout_ms)
{
    static char input[1 << 20];
    size_t length = 0;
    while (length < sizeof input) {
        ssize_t n = read(STDIN_FILENO, input + length, sizeof input - length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        length += (size_t)n;
    }
    int fd = start_connect(ai);
    long long deadline = now_ms() + timeout_ms;
    size_t sent = 0;
    bool shut = false;
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            fprintf(stderr, "rude_client: the server did not close within %d ms\n", timeout_ms);
            return 1;
        }
        short events = wait_one(fd, (short)(shut ? POLLIN : POLLIN | POLLOUT), (int)left);
        if (!shut && (events & POLLOUT)) {
            ssize_t n = write(fd, input + sent, length - sent);
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                perror("rude_client: write");
                return 1;
            }
            if (n > 0)
                sent += (size_t)n;
            if (sent == length) {
                if (reset) {
                    struct linger linger = {.l_onoff = 1, .l_linger = 0};
                    setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
                    close(fd);
                    return 0;
                }
                shutdown(fd, SHUT_WR);
                shut = true;
            }
        }
        if (events & (POLLIN | POLLHUP | POLLERR)) {
            char buffer[4096];
            ssize_t n = read(fd, buffer, sizeof buffer);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                continue;
            if (n < 0) {
                perror("rude_client: read");
                return 1;
            }
            if (n == 0)
                break;
            fwrite(buffer, 1, (size_t)n, stdout);
        }
    }
    close(fd);
    return 0;
}

/* One connection of the burst. On any failure the burst exits at once: what it allocated goes
   with the process. */
struct burst_conn {
    int fd;
    char *out; /* the lines to send */
    size_t out_length, out_done;
    bool connected, shut;
    char in[LINE_MAX_BYTES + TAG_MAX + 8]; /* the reply line being read */
    size_t in_length;
    long replies;
    char tag[TAG_MAX];
    bool done;
};

static void fail_burst(long index, const char *format, const char *detail)
{
    fprintf(stderr, "rude_client: connection %ld: ", index + 1);
    fprintf(stderr, format, detail);
    fputc('\n', stderr);
    exit(1);
}

/* Check one complete reply line (without its '\n') against the line it answers. */
static void check_reply(struct burst_conn *c, long index, const char *reply, size_t length)
{
    char want[64];
    snprintf(want, sizeof want, "burst %ld line %ld", index + 1, c->replies + 1);
    size_t want_length = strlen(want);
    if (length < want_length + 3 || memcmp(reply + length - want_length, want, want_length) != 0 ||
        memcmp(reply + length - want_length - 2, ": ", 2) != 0) {
        char got[LINE_MAX_BYTES + TAG_MAX + 8];
        snprintf(got, sizeof got, "%.*s", (int)length, reply);
        fprintf(stderr, "rude_client: connection %ld: reply %ld is \"%s\", not \"TAG: %s\"\n",
                index + 1, c->replies + 1, got, want);
        exit(1);
    }
    size_t tag_length = length - want_length - 2;
    if (tag_length >= TAG_MAX)
        fail_burst(index, "a tag too long%s", "");
    if (c->replies == 0) {
        memcpy(c->tag, reply, tag_length);
        c->tag[tag_length] = '\0';
    } else if (strlen(c->tag) != tag_length || memcmp(c->tag, reply, tag_length) != 0) {
        fail_burst(index, "the tag changed within one connection (first %s)", c->tag);
    }
    c->replies++;
}

static int burst(const struct addrinfo *ai, long clients, long lines, int timeout_ms)
{
    struct burst_conn *conns = calloc((size_t)clients, sizeof *conns);
    struct pollfd *fds = calloc((size_t)clients, sizeof *fds);
    if (conns == NULL || fds == NULL) {
        perror("rude_client");
        exit(1);
    }
    for (long i = 0; i < clients; i++) {
        struct burst_conn *c = &conns[i];
        c->out = malloc((size_t)lines * 64);
        if (c->out == NULL) {
            perror("rude_client");
            exit(1);
        }
        for (long j = 0; j < lines; j++)
            c->out_length +=
                (size_t)sprintf(c->out + c->out_length, "burst %ld line %ld\n", i + 1, j + 1);
        c->fd = start_connect(ai);
    }
    long long deadline = now_ms() + timeout_ms;
    long finished = 0;
    while (finished < clients) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            fprintf(stderr, "rude_client: %ld of %ld connections unfinished after %d ms\n",
                    clients - finished, clients, timeout_ms);
            exit(1);
        }
        for (long i = 0; i < clients; i++) {
            struct burst_conn *c = &conns[i];
            fds[i].fd = c->done ? -1 : c->fd;
            fds[i].events = (short)(c->shut ? POLLIN : POLLIN | POLLOUT);
            fds[i].revents = 0;
        }
        if (poll(fds, (nfds_t)clients, (int)left) < 0) {
            if (errno == EINTR)
                continue;
            perror("rude_client: poll");
            exit(1);
        }
        for (long i = 0; i < clients; i++) {
            struct burst_conn *c = &conns[i];
            if (c->done || fds[i].revents == 0)
                continue;
            if (!c->connected && (fds[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
                int error = 0;
                socklen_t size = sizeof error;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &size);
                if (error != 0)
                    fail_burst(i, "cannot connect: %s", strerror(error));
                c->connected = true;
            }
            if (c->connected && !c->shut && (fds[i].revents & POLLOUT)) {
                ssize_t n = write(c->fd, c->out + c->out_done, c->out_length - c->out_done);
                if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                    fail_burst(i, "write: %s", strerror(errno));
                if (n > 0)
                    c->out_done += (size_t)n;
                if (c->out_done == c->out_length) {
                    shutdown(c->fd, SHUT_WR);
                    c->shut = true;
                }
            }
            if (c->connected && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                char buffer[4096];
                ssize_t n = read(c->fd, buffer, sizeof buffer);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                    continue;
                if (n < 0)
                    fail_burst(i, "read: %s", strerror(errno));
                if (n == 0) {
                    if (c->in_length > 0)
                        fail_burst(i, "a reply without its newline before the close%s", "");
                    if (c->replies != lines) {
                        char got[32];
                        snprintf(got, sizeof got, "%ld", c->replies);
                        fail_burst(i, "the server closed after %s replies", got);
                    }
                    close(c->fd);
                    c->done = true;
                    finished++;
                    continue;
                }
                for (ssize_t k = 0; k < n; k++) {
                    if (buffer[k] == '\n') {
                        if (c->replies == lines)
                            fail_burst(i, "more replies than lines%s", "");
                        check_reply(c, i, c->in, c->in_length);
                        c->in_length = 0;
                    } else if (c->in_length + 1 >= sizeof c->in) {
                        fail_burst(i, "a reply longer than any line%s", "");
                    } else {
                        c->in[c->in_length++] = buffer[k];
                    }
                }
            }
        }
    }
    printf("connections=%ld lines=%ld\n", clients, clients * lines);
    for (long i = 0; i < clients; i++)
        free(conns[i].out);
    free(conns);
    free(fds);
    return 0;
}

int main(int argc, char *argv[])
{
    if (argc < 2)
        usage();
    const char *mode = argv[1];
    const char *address = "127.0.0.1";
    const char *port = NULL;
    long clients = 100;
    long lines = 20;
    long bytes = 1;
    long seconds = -1;
    bool reset = false;
    int option;
    optind = 2;
    while ((option = getopt(argc, argv, "a:p:b:c:l:RT:")) != -1) {
        switch (option) {
        case 'R':
            reset = true;
            break;
        case 'a':
            address = optarg;
            break;
        case 'p':
            port = optarg;
            break;
        case 'b':
            bytes = number(optarg, 1, 1 << 16);
            break;
        case 'c':
            clients = number(optarg, 1, 100000);
            break;
        case 'l':
            lines = number(optarg, 1, 100000);
            break;
        case 'T':
            seconds = number(optarg, 1, 3600);
            break;
        default:
            usage();
        }
    }
    if (port == NULL || optind != argc)
        usage();
    struct addrinfo *ai = resolve(address, port);
    int status;
    if (strcmp(mode, "talk") == 0)
        status = talk(ai, reset, (int)(seconds > 0 ? seconds : 10) * 1000);
    else if (strcmp(mode, "noread") == 0)
        status = noread(ai, (int)(seconds > 0 ? seconds : 20) * 1000);
    else if (strcmp(mode, "trickle") == 0)
        status = trickle(ai, bytes, (int)(seconds > 0 ? seconds : 10) * 1000);
    else if (strcmp(mode, "burst") == 0)
        status = burst(ai, clients, lines, (int)(seconds > 0 ? seconds : 60) * 1000);
    else
        usage();
    freeaddrinfo(ai);
    return status;
}
