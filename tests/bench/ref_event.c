/* ref_event.c: the least an event-loop server can do for this protocol, the yardstick for the
   model that comes after the four stages: one process, one thread, and every connection a
   descriptor in one set that a single call waits on. A connection costs no thread and no
   process, only a slot of a few words here and the kernel's socket; an idle one that has been
   answered holds no buffer at all (a line not yet ended, or a reply the socket would not take
   whole, gets one until it is done). So memory per idle connection stays near zero, and
   nothing is made or torn down per connection but the socket itself.

   The set is poll(2)'s, which POSIX has. With -e it is epoll(7)'s instead, where the system
   has it (Linux only, so the code for it is inside #if HAVE_EPOLL): poll hands the kernel the
   whole list at every call and reads it all back, epoll keeps the list in the kernel and
   returns only the ready ones, which matters with many idle connections. Level-triggered both
   ways, so the one function that serves a ready connection is the same for the two.

   Every socket is non-blocking: a client that sends lines without reading their replies must
   stall only itself, never the loop. The tag is the PID. No logging, no cap, no idle
   timeout. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "option_number.h"
#include "ref_common.h"

#if defined(__linux__)
#include <sys/epoll.h>
#define HAVE_EPOLL 1
#else
#define HAVE_EPOLL 0
#endif

enum { SLOTS_MAX = 1 << 20, EVENTS_AT_ONCE = 64 };

static const char usage_text[] =
    "usage: ref_event [-p PORT] [-e] [-q]\n"
    "  -p PORT     port on 127.0.0.1 (default 0: the kernel picks)\n"
    "  -e          wait with epoll(7) instead of poll(2) (Linux only)\n"
    "  -q          accepted for the benchmark; this server never logs\n";

/* What the loop keeps for one connection, between its turns. */
struct connection {
    char *input; /* bytes read and not answered yet (a line not ended, or lines held back
                    while a reply waits), LINE_LIMIT + 1 of room; NULL when there are none */
    size_t input_used;
    char *output; /* the rest of a reply the socket would not take whole; NULL when none */
    size_t output_length, output_sent;
    bool closing;  /* the client has ended its side: close once the output is sent */
    bool watching; /* waiting for room to write (epoll: what the kernel's set says) */
};

/* One slot per possible descriptor, found by the descriptor itself. calloc'd: the pages of
   slots never used are never touched, so they cost no memory. */
static struct connection *connections;
static size_t slot_count;

static char tag_buffer[TAG_SIZE];
static const char *tag;
static size_t tag_length;

/* What a connection waits for next. */
enum interest { WANT_READ, WANT_WRITE, CLOSE };

/* One call, not a read of the flags first: a new socket has no other status flag to keep. */
static int set_nonblocking(int fd)
{
    return fcntl(fd, F_SETFL, O_NONBLOCK);
}

/* Send one reply; what the socket does not take waits in c->output. false if the client is
   gone, or there is no memory to keep the rest. */
static bool send_reply(int fd, struct connection *c, const char *reply, size_t length)
{
    ssize_t n = write(fd, reply, length);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return false;
    size_t sent = n < 0 ? 0 : (size_t)n;
    if (sent == length)
        return true;
    c->output = malloc(length - sent);
    if (c->output == NULL)
        return false;
    memcpy(c->output, reply + sent, length - sent);
    c->output_length = length - sent;
    c->output_sent = 0;
    return true;
}

/* Keep length bytes from rest (which may lie inside c->input) as the connection's input. */
static bool keep_input(struct connection *c, const char *rest, size_t length)
{
    if (length == 0) {
        free(c->input);
        c->input = NULL;
        c->input_used = 0;
        return true;
    }
    if (c->input == NULL && (c->input = malloc(LINE_LIMIT + 1)) == NULL)
        return false;
    memmove(c->input, rest, length);
    c->input_used = length;
    return true;
}

/* Answer the complete lines in buf[0..used), in order, until one reply cannot be sent whole;
   keep what is left (a line not ended, or the lines after that reply) for later. */
static enum interest answer_lines(int fd, struct connection *c, const char *buf, size_t used)
{
    const char *start = buf, *end = buf + used, *newline;
    char reply[REPLY_SIZE];
    while (c->output == NULL && (newline = memchr(start, '\n', (size_t)(end - start))) != NULL) {
        size_t length = format_reply(reply, tag, tag_length, start, (size_t)(newline - start));
        if (!send_reply(fd, c, reply, length))
            return CLOSE;
        start = newline + 1;
    }
    if (!keep_input(c, start, (size_t)(end - start)))
        return CLOSE;
    if (c->output != NULL)
        return WANT_WRITE;
    if (c->input_used == LINE_LIMIT + 1) { /* 1025 bytes and no '\n' */
        send_reply(fd, c, too_long_reply, too_long_length);
        return CLOSE; /* the error line is on its way or, if the socket was full, dropped */
    }
    return WANT_READ;
}

/* The socket has room again: send what waits, then answer the lines held back meanwhile. */
static enum interest write_pending(int fd, struct connection *c)
{
    ssize_t n = write(fd, c->output + c->output_sent, c->output_length - c->output_sent);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return WANT_WRITE;
    if (n < 0)
        return CLOSE;
    c->output_sent += (size_t)n;
    if (c->output_sent < c->output_length)
        return WANT_WRITE;
    free(c->output);
    c->output = NULL;
    if (c->closing)
        return CLOSE;
    return c->input == NULL ? WANT_READ : answer_lines(fd, c, c->input, c->input_used);
}

/* The socket has bytes, or the client's end of file: read them after what was kept, answer. */
static enum interest read_lines(int fd, struct connection *c)
{
    static char buf[LINE_LIMIT + 1]; /* one thread: one buffer for every connection */
    size_t used = c->input_used;
    if (used > 0)
        memcpy(buf, c->input, used);
    ssize_t n = read(fd, buf + used, sizeof buf - used);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return WANT_READ;
    if (n < 0)
        return CLOSE;
    if (n == 0) { /* the client is done: a last line without '\n' is a line too */
        char reply[REPLY_SIZE];
        bool sent =
            used == 0 || send_reply(fd, c, reply, format_reply(reply, tag, tag_length, buf, used));
        keep_input(c, NULL, 0);
        c->closing = true;
        return sent && c->output != NULL ? WANT_WRITE : CLOSE;
    }
    return answer_lines(fd, c, buf, used + (size_t)n);
}

/* One turn of a connection the kernel says is ready. */
static enum interest serve_ready(int fd)
{
    struct connection *c = &connections[fd];
    return c->output != NULL ? write_pending(fd, c) : read_lines(fd, c);
}

static void close_connection(int fd)
{
    struct connection *c = &connections[fd];
    free(c->input);
    free(c->output);
    *c = (struct connection){0};
    if (close(fd) < 0)
        perror("ref_event: close");
}

/* Accept every client waiting, and give each to `watch` (the set's own way to add it). */
static void accept_clients(int listen_fd, void (*watch)(int fd, void *set), void *set)
{
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                perror("ref_event: accept");
                sleep(1); /* out of descriptors or memory: don't spin */
            }
            return;
        }
        if ((size_t)fd >= slot_count || set_nonblocking(fd) < 0) {
            perror("ref_event: a new connection");
            close(fd);
            continue;
        }
        watch(fd, set);
    }
}

/* poll: the set is an array; the listening socket is entry 0. */
struct poll_set {
    struct pollfd *entries;
    nfds_t count;
};

static void poll_watch(int fd, void *set)
{
    struct poll_set *p = set;
    p->entries[p->count++] = (struct pollfd){.fd = fd, .events = POLLIN};
}

static int run_poll(int listen_fd)
{
    struct poll_set set = {calloc(slot_count, sizeof *set.entries), 1};
    if (set.entries == NULL) {
        perror("ref_event: calloc");
        return 1;
    }
    set.entries[0] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
    for (;;) {
        if (poll(set.entries, set.count, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("ref_event: poll");
            return 1;
        }
        /* From the last entry down: a closed connection's entry gets the last one, which this
           turn has seen already. New connections go at the end, after this turn. */
        for (nfds_t i = set.count - 1; i > 0; i--) {
            struct pollfd *entry = &set.entries[i];
            if (entry->revents == 0)
                continue;
            enum interest next = serve_ready(entry->fd);
            if (next == CLOSE) {
                close_connection(entry->fd);
                *entry = set.entries[--set.count];
            } else {
                entry->events = next == WANT_WRITE ? POLLOUT : POLLIN;
            }
        }
        if (set.entries[0].revents != 0)
            accept_clients(listen_fd, poll_watch, &set);
    }
}

#if HAVE_EPOLL
/* epoll: the set is the kernel's; a closed descriptor leaves it by itself. */
static void epoll_watch(int fd, void *set)
{
    struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
    if (epoll_ctl(*(int *)set, EPOLL_CTL_ADD, fd, &event) < 0) {
        perror("ref_event: epoll_ctl");
        close(fd);
    }
}

static int run_epoll(int listen_fd)
{
    int set = epoll_create(1); /* the size is ignored, and must be above 0 */
    struct epoll_event listener = {.events = EPOLLIN, .data.fd = listen_fd};
    if (set < 0 || epoll_ctl(set, EPOLL_CTL_ADD, listen_fd, &listener) < 0) {
        perror("ref_event: epoll");
        return 1;
    }
    struct epoll_event ready[EVENTS_AT_ONCE];
    for (;;) {
        int n = epoll_wait(set, ready, EVENTS_AT_ONCE, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("ref_event: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            int fd = ready[i].data.fd;
            if (fd == listen_fd) {
                accept_clients(listen_fd, epoll_watch, &set);
                continue;
            }
            enum interest next = serve_ready(fd);
            struct connection *c = &connections[fd];
            if (next == CLOSE) {
                close_connection(fd);
            } else if ((next == WANT_WRITE) != c->watching) {
                c->watching = next == WANT_WRITE;
                struct epoll_event event = {.events = c->watching ? EPOLLOUT : EPOLLIN,
                                            .data.fd = fd};
                if (epoll_ctl(set, EPOLL_CTL_MOD, fd, &event) < 0) {
                    perror("ref_event: epoll_ctl");
                    close_connection(fd);
                }
            }
        }
    }
}
#endif

int main(int argc, char **argv)
{
    long port = 0;
    bool use_epoll = false;
    int option;
    while ((option = getopt(argc, argv, "p:eqh")) != -1) {
        switch (option) {
        case 'p':
            port = option_number(optarg);
            break;
        case 'e':
            use_epoll = true;
            break;
        case 'q':
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            fputs(usage_text, stderr);
            return 2;
        }
    }
    if (optind != argc || port < 0 || port > 65535) {
        fputs(usage_text, stderr);
        return 2;
    }
    if (use_epoll && !HAVE_EPOLL) {
        fprintf(stderr, "ref_event: -e: this system has no epoll (Linux has); poll only\n");
        return 2;
    }
    /* A slot for every descriptor this process may open. */
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) < 0) {
        perror("ref_event: getrlimit");
        return 1;
    }
    slot_count = limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > SLOTS_MAX
                     ? SLOTS_MAX
                     : (size_t)limit.rlim_cur;
    connections = calloc(slot_count, sizeof *connections);
    if (connections == NULL) {
        perror("ref_event: calloc");
        return 1;
    }
    tag = decimal_tag(tag_buffer, (unsigned long)getpid(), &tag_length);
    unsigned short bound_port;
    int listen_fd = listen_on_loopback(port, &bound_port);
    if (listen_fd < 0)
        return 1;
    if (set_nonblocking(listen_fd) < 0 || install_stop_signals() < 0) {
        perror("ref_event: setting up");
        return 1;
    }
    print_banner(bound_port);
#if HAVE_EPOLL
    if (use_epoll)
        return run_epoll(listen_fd);
#endif
    return run_poll(listen_fd);
}
