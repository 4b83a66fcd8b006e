/* loadgen.c: a closed-loop load generator for the echo servers.

   Each client thread connects, sends a line, waits for its reply, checks it is exactly
   "TAG: LINE\n", and records how long it took; then the next line, the next connection. A
   closed loop: a client never has more than one line in flight, so the load is "C clients as
   fast as the server answers them". A wrong, missing or late reply ends the run with an error
   and no numbers: a benchmark of a server that answers wrongly measures nothing.

   With -H N it holds N idle connections open instead (for measuring a server's memory).

   Why -S: the client closes first, so each connection leaves its port in TIME_WAIT on our
   side for 60 s, and Linux lets connect(2) reuse such a port only after 1 s. From one source
   address to one server port that caps a closed loop near 14,000 connections per second on
   the default port range, whatever the server. Spreading the clients over several loopback
   source addresses (127.0.0.1, 127.0.0.2, ...: all of 127/8 is loopback on Linux) gives each
   its own ports. It needs IP_BIND_ADDRESS_NO_PORT, so that bind(2) picks the address only
   and connect(2) still picks the port, with its TIME_WAIT reuse. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    LINE_LIMIT = 1024, /* the protocol's longest line, without its '\n' */
    TAG_MAX = 256,     /* longer than any stage's tag; a longer one is an error */
    REPLY_MAX = TAG_MAX + 2 + LINE_LIMIT + 1,
    CLIENTS_MAX = 1024,
    HOLD_MAX = 10000,
    HOLD_WAIT_MAX_S = 600,   /* bound on how long -H holds its connections */
    CONNECT_GRACE_MS = 1000, /* -e: how long connects may go on once the replies are in */
};

static const char usage_text[] =
    "usage: loadgen -p PORT [-a ADDRESS] [-c CLIENTS] [-n CONNECTIONS | -d SECONDS]\n"
    "               [-l LINES] [-s SIZE] [-T TIMEOUT] [-S SOURCES]\n"
    "       loadgen -p PORT [-a ADDRESS] -H CONNECTIONS [-e REPLIES] [-T TIMEOUT]\n"
    "  -a ADDRESS      server address (default 127.0.0.1)\n"
    "  -p PORT         server port\n"
    "  -c CLIENTS      concurrent clients, one thread each (default 1)\n"
    "  -n CONNECTIONS  connections per client (default 1), or\n"
    "  -d SECONDS      keep connecting for this long (decimals allowed)\n"
    "  -l LINES        lines per connection (default 1); 0: as many as fit before the end of\n"
    "                  -d, on one long connection per client (closed properly at the end)\n"
    "  -s SIZE         bytes per line, without the newline, 1..1024 (default 32)\n"
    "  -T TIMEOUT      seconds to wait for a connect or a reply (default 5)\n"
    "  -S SOURCES      spread the clients over source addresses 127.0.0.1..127.0.0.SOURCES\n"
    "                  (IPv4 on Linux; elsewhere a note on stderr, and 127.0.0.1 alone)\n"
    "  -H CONNECTIONS  hold this many connections open: send one line on each, print\n"
    "                  'held=N connected=C served=K' once every reply came or TIMEOUT\n"
    "                  passed, then keep them open until standard input ends\n"
    "  -e REPLIES      with -H: print that line as soon as REPLIES replies are in and every\n"
    "                  connect has finished, or 1 s later (default: every reply), for a\n"
    "                  server known to serve only so many at once (an iterative one, 1)\n"
    "Prints one line of results: connections= lines= seconds= conn_per_s= lines_per_s=\n"
    "p50_us= p99_us= max_us= (latency of a line: from its write, or for a connection's first\n"
    "line from the connect, to the end of its reply). Exit 1 on the first wrong reply.\n";

/* What the command line asked for. */
struct settings {
    struct sockaddr_storage address;
    socklen_t address_length;
    char address_text[128];
    long clients;
    long connections; /* per client; used when duration is 0 */
    double duration;  /* seconds; 0: count connections instead */
    long lines;
    long size;
    int timeout_ms;
    long hold;
    long hold_replies; /* -e: with -H, the replies to wait for; -1: all of them */
    long sources;      /* -S: how many source addresses to spread clients over */
};

/* One client thread's own counters and latencies: no locks needed while it runs. */
struct client {
    pthread_t thread;
    long id;
    const struct settings *settings;
    long connections;
    long lines;
    uint32_t *latencies_us;
    size_t latency_count;
    size_t latency_capacity;
};

/* Shared by every thread: the start gate, the deadline and the first error. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_open = PTHREAD_COND_INITIALIZER;
static bool gate_is_open = false;
static struct timespec deadline;
static atomic_bool failed = false;
static pthread_mutex_t error_lock = PTHREAD_MUTEX_INITIALIZER;

static double seconds_between(struct timespec from, struct timespec to)
{
    return (double)(to.tv_sec - from.tv_sec) + (double)(to.tv_nsec - from.tv_nsec) / 1e9;
}

static struct timespec now(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_MONOTONIC, &t) < 0) {
        perror("loadgen: clock_gettime");
        exit(1);
    }
    return t;
}

static bool past_deadline(const struct settings *s)
{
    if (s->duration <= 0)
        return false;
    struct timespec t = now();
    return t.tv_sec > deadline.tv_sec ||
           (t.tv_sec == deadline.tv_sec && t.tv_nsec >= deadline.tv_nsec);
}

/* Report the run's first error; later ones (other clients seeing the stop) stay quiet. */
static void fail(const struct client *c, long connection, long line, const char *format, ...)
{
    pthread_mutex_lock(&error_lock);
    if (!atomic_exchange(&failed, true)) {
        char text[2 * REPLY_MAX];
        va_list args;
        va_start(args, format);
        vsnprintf(text, sizeof text, format, args);
        va_end(args);
        if (c != NULL)
            fprintf(stderr, "loadgen: client %ld, connection %ld, line %ld: %s\n", c->id,
                    connection, line, text);
        else
            fprintf(stderr, "loadgen: %s\n", text);
    }
    pthread_mutex_unlock(&error_lock);
}

/* Show up to 80 bytes of a line with unprintable bytes as \xNN, for an error message. */
static const char *visible(const char *bytes, size_t length, char *out, size_t out_size)
{
    size_t used = 0;
    size_t shown = length < 80 ? length : 80;
    for (size_t i = 0; i < shown && used + 5 < out_size; i++) {
        unsigned char b = (unsigned char)bytes[i];
        if (b >= 0x20 && b < 0x7f && b != '\\')
            out[used++] = (char)b;
        else
            used += (size_t)snprintf(out + used, out_size - used, "\\x%02x", b);
    }
    if (shown < length && used + 4 < out_size) {
        memcpy(out + used, "...", 3);
        used += 3;
    }
    out[used] = '\0';
    return out;
}

static bool record_latency(struct client *c, struct timespec from, struct timespec to)
{
    if (c->latency_count == c->latency_capacity) {
        size_t capacity = c->latency_capacity == 0 ? 4096 : 2 * c->latency_capacity;
        uint32_t *bigger = realloc(c->latencies_us, capacity * sizeof *bigger);
        if (bigger == NULL)
            return false;
        c->latencies_us = bigger;
        c->latency_capacity = capacity;
    }
    double us = seconds_between(from, to) * 1e6;
    c->latencies_us[c->latency_count++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    return true;
}

/* Wait until fd is ready for `events`; 1 when ready, 0 on timeout, -1 on error. */
static int wait_ready(int fd, short events, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int n;
    do
        n = poll(&p, 1, timeout_ms);
    while (n < 0 && errno == EINTR);
    return n;
}

static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* For -S: connect from 127.0.0.(1 + client % sources) instead of the kernel's choice. */
static int bind_source(int fd, const struct settings *s, long client)
{
    if (s->sources <= 1)
        return 0;
#ifdef IP_BIND_ADDRESS_NO_PORT
    int on = 1;
    if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on) < 0)
        return -1;
    struct sockaddr_in source;
    memset(&source, 0, sizeof source);
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(INADDR_LOOPBACK + (uint32_t)(client % s->sources));
    source.sin_port = 0; /* connect(2) picks it */
    return bind(fd, (const struct sockaddr *)&source, sizeof source);
#else
    (void)fd;
    (void)client;
    return 0;
#endif
}

/* Start a connect without waiting for it: the descriptor, or -1 with errno set. */
static int start_connect(const struct settings *s, long client)
{
    int fd = socket(s->address.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (set_nonblocking(fd) < 0 || bind_source(fd, s, client) < 0 ||
        (connect(fd, (const struct sockaddr *)&s->address, s->address_length) < 0 &&
         errno != EINPROGRESS)) {
        int saved_errno = errno;
        close(fd);
        errno = saved_errno;
        return -1;
    }
    return fd;
}

/* The result of a connect started by start_connect: 0, or an errno value. */
static int connect_result(int fd)
{
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0)
        return errno;
    return error;
}

/* Connect within the timeout. The socket stays non-blocking: every wait below goes through
   poll, so no call can block past the timeout. */
static int connect_within(const struct settings *s, long client, char *why, size_t why_size)
{
    int fd = start_connect(s, client);
    if (fd < 0) {
        snprintf(why, why_size, "cannot connect to %s: %s", s->address_text, strerror(errno));
        return -1;
    }
    int ready = wait_ready(fd, POLLOUT, s->timeout_ms);
    int error = ready < 0 ? errno : ready == 0 ? ETIMEDOUT : connect_result(fd);
    if (error != 0) {
        snprintf(why, why_size, "cannot connect to %s: %s", s->address_text, strerror(error));
        close(fd);
        return -1;
    }
    return fd;
}

/* Write all of buf; false (with why filled) on error or timeout. */
static bool write_all(int fd, const char *buf, size_t length, int timeout_ms, char *why,
                      size_t why_size)
{
    while (length > 0) {
        ssize_t n = write(fd, buf, length);
        if (n > 0) {
            buf += n;
            length -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int ready = wait_ready(fd, POLLOUT, timeout_ms);
            if (ready <= 0) {
                snprintf(why, why_size, "cannot write: %s",
                         ready == 0 ? "timed out" : strerror(errno));
                return false;
            }
        } else {
            snprintf(why, why_size, "cannot write: %s", strerror(errno));
            return false;
        }
    }
    return true;
}

/* Read one reply line into reply (up to and including its '\n'). Returns its length, or -1
   with why filled: EOF, timeout, error, or a reply longer than REPLY_MAX. Since a client has
   one line in flight, anything past the '\n' would be a second reply to one line. */
static ssize_t read_reply(int fd, char *reply, int timeout_ms, char *why, size_t why_size)
{
    size_t used = 0;
    for (;;) {
        ssize_t n = read(fd, reply + used, REPLY_MAX - used);
        if (n > 0) {
            used += (size_t)n;
            char *newline = memchr(reply, '\n', used);
            if (newline != NULL) {
                size_t length = (size_t)(newline - reply) + 1;
                if (length != used) {
                    snprintf(why, why_size, "more than one reply line to one line");
                    return -1;
                }
                return (ssize_t)length;
            }
            if (used == REPLY_MAX) {
                snprintf(why, why_size, "reply longer than %d bytes without a newline", REPLY_MAX);
                return -1;
            }
        } else if (n == 0) {
            snprintf(why, why_size, "server closed the connection before replying%s",
                     used > 0 ? " in full" : "");
            return -1;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int ready = wait_ready(fd, POLLIN, timeout_ms);
            if (ready == 0) {
                snprintf(why, why_size, "no reply within %.1f s", timeout_ms / 1000.0);
                return -1;
            }
            if (ready < 0) {
                snprintf(why, why_size, "poll: %s", strerror(errno));
                return -1;
            }
        } else {
            snprintf(why, why_size, "cannot read the reply: %s", strerror(errno));
            return -1;
        }
    }
}

/* Is reply exactly "TAG: LINE\n", with a non-empty TAG and the exact bytes of line? */
static bool reply_matches(const char *reply, size_t reply_length, const char *line,
                          size_t line_length)
{
    if (reply_length < line_length + 4) /* at least one tag byte, ": ", '\n' */
        return false;
    size_t tag_length = reply_length - line_length - 3;
    if (tag_length > TAG_MAX)
        return false;
    return memchr(reply, '\n', tag_length) == NULL && memcmp(reply + tag_length, ": ", 2) == 0 &&
           memcmp(reply + tag_length + 2, line, line_length) == 0 &&
           reply[reply_length - 1] == '\n';
}

/* Fill line with its own identity (so a reply to another line cannot pass for this one),
   padded with letters to the requested size; it ends with the '\n' to send. */
static size_t make_line(char *line, long size, long client, long connection, long number)
{
    char id[96];
    int n =
        snprintf(id, sizeof id, "client %ld connection %ld line %ld ", client, connection, number);
    size_t id_length = n < 0 ? 0 : (size_t)n;
    for (long i = 0; i < size; i++)
        line[i] = (size_t)i < id_length ? id[i] : (char)('a' + i % 26);
    line[size] = '\n';
    return (size_t)size + 1;
}

/* After the last line: half-close and wait for the server to close too, so that a counted
   connection is one the server has finished with. */
static bool finish_connection(int fd, int timeout_ms, char *why, size_t why_size)
{
    if (shutdown(fd, SHUT_WR) < 0) {
        snprintf(why, why_size, "shutdown: %s", strerror(errno));
        return false;
    }
    char extra[64];
    for (;;) {
        ssize_t n = read(fd, extra, sizeof extra);
        if (n == 0)
            return true;
        if (n > 0) {
            char shown[300];
            snprintf(why, why_size, "bytes after the last reply: \"%s\"",
                     visible(extra, (size_t)n, shown, sizeof shown));
            return false;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            snprintf(why, why_size, "after the last reply: %s", strerror(errno));
            return false;
        }
        int ready = wait_ready(fd, POLLIN, timeout_ms);
        if (ready <= 0) {
            snprintf(why, why_size, "server did not close the connection within %.1f s of EOF",
                     timeout_ms / 1000.0);
            return false;
        }
    }
}

/* One connection: connect, the lines, the close. False after reporting an error. */
static bool run_connection(struct client *c, long connection)
{
    const struct settings *s = c->settings;
    char why[2 * REPLY_MAX];
    char line[LINE_LIMIT + 1];
    char reply[REPLY_MAX];
    struct timespec start = now();
    int fd = connect_within(s, c->id - 1, why, sizeof why);
    if (fd < 0) {
        fail(c, connection, 0, "%s", why);
        return false;
    }
    bool ok = true;
    for (long number = 1; (s->lines == 0 || number <= s->lines) && ok; number++) {
        if (number > 1) {
            if (atomic_load(&failed) || (s->lines == 0 && past_deadline(s)))
                break; /* a long connection ends at the deadline, properly closed */
            start = now();
        }
        size_t line_length = make_line(line, s->size, c->id, connection, number);
        ssize_t reply_length = -1;
        if (write_all(fd, line, line_length, s->timeout_ms, why, sizeof why))
            reply_length = read_reply(fd, reply, s->timeout_ms, why, sizeof why);
        if (reply_length < 0) {
            fail(c, connection, number, "%s", why);
            ok = false;
        } else if (!reply_matches(reply, (size_t)reply_length, line, line_length - 1)) {
            char want[400], got[400];
            fail(c, connection, number, "wrong reply: sent \"%s\", got \"%s\"",
                 visible(line, line_length, want, sizeof want),
                 visible(reply, (size_t)reply_length, got, sizeof got));
            ok = false;
        } else if (!record_latency(c, start, now())) {
            fail(c, connection, number, "out of memory for latencies");
            ok = false;
        } else {
            c->lines++;
        }
    }
    if (ok && !finish_connection(fd, s->timeout_ms, why, sizeof why)) {
        fail(c, connection, c->lines, "%s", why);
        ok = false;
    }
    if (close(fd) < 0 && ok) {
        fail(c, connection, 0, "close: %s", strerror(errno));
        ok = false;
    }
    if (ok)
        c->connections++;
    return ok;
}

static void *client_main(void *arg)
{
    struct client *c = arg;
    const struct settings *s = c->settings;
    pthread_mutex_lock(&gate_lock);
    while (!gate_is_open)
        pthread_cond_wait(&gate_open, &gate_lock);
    pthread_mutex_unlock(&gate_lock);

    for (long connection = 1; !atomic_load(&failed); connection++) {
        if (s->duration > 0 ? past_deadline(s) : connection > s->connections)
            break;
        if (!run_connection(c, connection))
            break;
    }
    return NULL;
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The p-th percentile (0..100) of sorted values, nearest-rank. */
static uint32_t percentile(const uint32_t *sorted, size_t count, double p)
{
    if (count == 0)
        return 0;
    size_t rank = (size_t)(p / 100.0 * (double)count + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > count)
        rank = count;
    return sorted[rank - 1];
}

static int run_clients(const struct settings *s)
{
    struct client *clients = calloc((size_t)s->clients, sizeof *clients);
    if (clients == NULL) {
        fprintf(stderr, "loadgen: out of memory\n");
        return 1;
    }
    long started = 0;
    for (; started < s->clients; started++) {
        clients[started].id = started + 1;
        clients[started].settings = s;
        int error = pthread_create(&clients[started].thread, NULL, client_main, &clients[started]);
        if (error != 0) {
            fail(NULL, 0, 0, "pthread_create: %s", strerror(error));
            break;
        }
    }
    /* Open the gate for all at once, and start the clock. */
    pthread_mutex_lock(&gate_lock);
    struct timespec start = now();
    deadline = start;
    deadline.tv_sec += (time_t)s->duration;
    deadline.tv_nsec += (long)((s->duration - (double)(time_t)s->duration) * 1e9);
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    gate_is_open = true;
    pthread_cond_broadcast(&gate_open);
    pthread_mutex_unlock(&gate_lock);

    for (long i = 0; i < started; i++) {
        int error = pthread_join(clients[i].thread, NULL);
        if (error != 0)
            fail(NULL, 0, 0, "pthread_join: %s", strerror(error));
    }
    double elapsed = seconds_between(start, now());

    long connections = 0, lines = 0;
    size_t count = 0;
    for (long i = 0; i < started; i++) {
        connections += clients[i].connections;
        lines += clients[i].lines;
        count += clients[i].latency_count;
    }
    uint32_t *all = count > 0 ? malloc(count * sizeof *all) : NULL;
    if (count > 0 && all == NULL)
        fail(NULL, 0, 0, "out of memory for latencies");
    if (atomic_load(&failed)) {
        /* The error is already on stderr; the numbers of a failed run are not reported. */
        fprintf(stderr, "loadgen: run failed after %ld good replies; no results reported\n", lines);
        for (long i = 0; i < started; i++)
            free(clients[i].latencies_us);
        free(clients);
        free(all);
        return 1;
    }
    size_t used = 0;
    for (long i = 0; i < started; i++) {
        memcpy(all + used, clients[i].latencies_us, clients[i].latency_count * sizeof *all);
        used += clients[i].latency_count;
        free(clients[i].latencies_us);
    }
    free(clients);
    if (count > 0)
        qsort(all, count, sizeof *all, compare_u32);
    printf("connections=%ld lines=%ld seconds=%.3f conn_per_s=%.0f lines_per_s=%.0f "
           "p50_us=%u p99_us=%u max_us=%u\n",
           connections, lines, elapsed, connections / elapsed, lines / elapsed,
           percentile(all, count, 50), percentile(all, count, 99), count > 0 ? all[count - 1] : 0);
    free(all);
    return 0;
}

/* -H: one slot per held connection. */
struct held {
    int fd;
    bool connected;
    bool served;
    size_t used;
    char line[64];
    size_t line_length;
    char reply[REPLY_MAX];
};

static int timeout_left(struct timespec until)
{
    double left = seconds_between(now(), until) * 1000.0;
    return left <= 0 ? 0 : (int)left + 1;
}

/* Hold s->hold connections open, each having sent one line, until stdin ends. */
static int hold_connections(const struct settings *s)
{
    long n = s->hold;
    long wanted = s->hold_replies < 0 ? n : s->hold_replies;
    struct held *h = calloc((size_t)n, sizeof *h);
    struct pollfd *p = calloc((size_t)n, sizeof *p);
    if (h == NULL || p == NULL) {
        fprintf(stderr, "loadgen: out of memory\n");
        return 1;
    }
    struct timespec until = now();
    until.tv_sec += s->timeout_ms / 1000;
    until.tv_nsec += (long)(s->timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    for (long i = 0; i < n; i++) {
        h[i].fd = start_connect(s, 0);
        if (h[i].fd < 0) {
            fprintf(stderr, "loadgen: connection %ld: cannot connect to %s: %s\n", i + 1,
                    s->address_text, strerror(errno));
            return 1;
        }
        h[i].line_length = make_line(h[i].line, 24, 0, i + 1, 1);
    }
    /* Connect, send, and collect replies, all at once, until every reply is in or time is up.
       An iterative server serves one connection at a time: the others wait in its backlog,
       which is what it does and not an error; -e says how many replies to wait for. Once
       they are in, connects still going on get a second more: past a full backlog the
       kernel drops a SYN and the client tries again, for as long as nobody accepts. */
    long served = 0, connected = 0;
    bool graced = false;
    while (served < wanted || connected < n) {
        if (served >= wanted && !graced) {
            struct timespec grace = now();
            grace.tv_nsec += CONNECT_GRACE_MS * 1000000L;
            grace.tv_sec += grace.tv_nsec / 1000000000L;
            grace.tv_nsec %= 1000000000L;
            if (seconds_between(grace, until) > 0)
                until = grace;
            graced = true;
        }
        long watched = 0;
        for (long i = 0; i < n; i++) {
            p[i].fd = h[i].served ? -1 : h[i].fd; /* poll ignores a negative fd */
            p[i].events = h[i].connected ? POLLIN : POLLOUT;
            p[i].revents = 0;
            watched += !h[i].served;
        }
        int left = timeout_left(until);
        if (left == 0 || watched == 0)
            break;
        int ready = poll(p, (nfds_t)n, left);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0) {
            perror("loadgen: poll");
            return 1;
        }
        for (long i = 0; i < n && ready > 0; i++) {
            if (p[i].revents == 0)
                continue;
            char why[2 * REPLY_MAX];
            if (!h[i].connected) {
                int error = connect_result(h[i].fd);
                if (error != 0) {
                    fprintf(stderr, "loadgen: connection %ld: cannot connect to %s: %s\n", i + 1,
                            s->address_text, strerror(error));
                    return 1;
                }
                h[i].connected = true;
                connected++;
                if (!write_all(h[i].fd, h[i].line, h[i].line_length, s->timeout_ms, why,
                               sizeof why)) {
                    fprintf(stderr, "loadgen: connection %ld: %s\n", i + 1, why);
                    return 1;
                }
                continue;
            }
            ssize_t got = read(h[i].fd, h[i].reply + h[i].used, REPLY_MAX - h[i].used);
            if (got < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
                continue;
            if (got <= 0) {
                fprintf(stderr, "loadgen: connection %ld: %s\n", i + 1,
                        got == 0 ? "server closed the connection before replying"
                                 : strerror(errno));
                return 1;
            }
            h[i].used += (size_t)got;
            if (memchr(h[i].reply, '\n', h[i].used) == NULL && h[i].used < REPLY_MAX)
                continue;
            if (!reply_matches(h[i].reply, h[i].used, h[i].line, h[i].line_length - 1)) {
                char want[400], shown[400];
                fprintf(stderr, "loadgen: connection %ld: wrong reply: sent \"%s\", got \"%s\"\n",
                        i + 1, visible(h[i].line, h[i].line_length, want, sizeof want),
                        visible(h[i].reply, h[i].used, shown, sizeof shown));
                return 1;
            }
            h[i].served = true;
            served++;
        }
    }
    printf("held=%ld connected=%ld served=%ld\n", n, connected, served);
    if (fflush(stdout) == EOF) {
        perror("loadgen: stdout");
        return 1;
    }
    /* Hold until whoever started us closes our standard input (bounded all the same). */
    char byte;
    struct timespec give_up = now();
    give_up.tv_sec += HOLD_WAIT_MAX_S;
    while (timeout_left(give_up) > 0) {
        int ready = wait_ready(STDIN_FILENO, POLLIN, timeout_left(give_up));
        if (ready < 0 && errno != EINTR) {
            perror("loadgen: poll");
            break;
        }
        if (ready > 0) {
            ssize_t got = read(STDIN_FILENO, &byte, 1);
            if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN))
                break;
        }
    }
    for (long i = 0; i < n; i++)
        if (close(h[i].fd) < 0)
            perror("loadgen: close");
    free(h);
    free(p);
    return 0;
}

static void usage_error(const char *message)
{
    fprintf(stderr, "loadgen: %s\n%s", message, usage_text);
    exit(2);
}

static long number_option(char option, const char *text, long low, long high)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < low || value > high) {
        char message[128];
        snprintf(message, sizeof message, "-%c wants a whole number in %ld..%ld", option, low,
                 high);
        usage_error(message);
    }
    return value;
}

static double seconds_option(char option, const char *text)
{
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(value > 0) || value > 3600) {
        char message[128];
        snprintf(message, sizeof message, "-%c wants seconds, more than 0 and at most 3600",
                 option);
        usage_error(message);
    }
    return value;
}

static void resolve(struct settings *s, const char *address, const char *port)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV; /* no name service: loopback addresses */
    struct addrinfo *list;
    int status = getaddrinfo(address, port, &hints, &list);
    if (status != 0) {
        fprintf(stderr, "loadgen: %s port %s: %s\n", address, port, gai_strerror(status));
        exit(2);
    }
    memcpy(&s->address, list->ai_addr, list->ai_addrlen);
    s->address_length = list->ai_addrlen;
    snprintf(s->address_text, sizeof s->address_text,
             list->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", address, port);
    freeaddrinfo(list);
}

int main(int argc, char **argv)
{
    struct settings s = {.clients = 1,
                         .connections = 1,
                         .lines = 1,
                         .size = 32,
                         .timeout_ms = 5000,
                         .hold_replies = -1};
    const char *address = "127.0.0.1";
    const char *port = NULL;
    bool counted = false;
    int option;
    while ((option = getopt(argc, argv, "a:p:c:n:d:l:s:T:H:e:S:h")) != -1) {
        switch (option) {
        case 'a':
            address = optarg;
            break;
        case 'p':
            number_option('p', optarg, 1, 65535);
            port = optarg;
            break;
        case 'c':
            s.clients = number_option('c', optarg, 1, CLIENTS_MAX);
            break;
        case 'n':
            s.connections = number_option('n', optarg, 1, LONG_MAX / 2);
            counted = true;
            break;
        case 'd':
            s.duration = seconds_option('d', optarg);
            break;
        case 'l':
            s.lines = number_option('l', optarg, 0, LONG_MAX / 2);
            break;
        case 's':
            s.size = number_option('s', optarg, 1, LINE_LIMIT);
            break;
        case 'T':
            s.timeout_ms = (int)(seconds_option('T', optarg) * 1000);
            break;
        case 'H':
            s.hold = number_option('H', optarg, 1, HOLD_MAX);
            break;
        case 'e':
            s.hold_replies = number_option('e', optarg, 0, HOLD_MAX);
            break;
        case 'S':
            s.sources = number_option('S', optarg, 1, 254);
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            usage_error("unknown option");
        }
    }
    if (optind != argc)
        usage_error("no arguments besides the options");
    if (port == NULL)
        usage_error("-p PORT is required");
    if (counted && s.duration > 0)
        usage_error("-n and -d do not go together");
    if (s.hold_replies >= 0 && (s.hold == 0 || s.hold_replies > s.hold))
        usage_error("-e REPLIES goes with -H CONNECTIONS, and at most CONNECTIONS");
    if (s.lines == 0 && s.duration <= 0)
        usage_error("-l 0 needs -d: the long connections end at the deadline");
    resolve(&s, address, port);
    if (s.sources > 1 && s.address.ss_family != AF_INET)
        usage_error("-S spreads over IPv4 loopback addresses: the server's must be IPv4");
#ifndef IP_BIND_ADDRESS_NO_PORT
    if (s.sources > 1) {
        fprintf(stderr, "loadgen: -S needs IP_BIND_ADDRESS_NO_PORT (Linux); "
                        "connecting from one address\n");
        s.sources = 1;
    }
#endif
    /* A server that resets a connection must give an error here, not kill us. */
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    if (sigemptyset(&ignore.sa_mask) < 0 || sigaction(SIGPIPE, &ignore, NULL) < 0) {
        perror("loadgen: sigaction");
        return 1;
    }
    return s.hold > 0 ? hold_connections(&s) : run_clients(&s);
}
