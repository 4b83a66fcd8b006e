/* ref_server.c: the least a server of each blocking model can do for this protocol, as the
   benchmark's yardsticks: what is left is the kernel's work for a TCP connection and the loop
   around it. No logging, no cap, no idle timeout, no stop for clients, no poll before a read:
   whatever a stage does beyond its yardstick is the stage's own cost. One mode per model:

   -s  serial (01-blocking's model): one process, one thread, one connection at a time, start
       to finish; the tag is the PID.
   -f  a fork per connection (02-forking's): the process accepts and forks, and the child
       serves the connection with its PID as the tag and _exits. No per-child signal setup;
       the parent reaps after each accept (as Python's ForkingMixIn does) rather than on
       SIGCHLD.
   -c  a thread per connection (03-threading's): the process accepts and starts a detached
       thread that serves the connection as "Thread-N", N counting the connections.
   -t  a pool (04-combined's threads; the default, -t 2): T threads made once at the start,
       each blocking in accept(2) on the one listening socket (the kernel hands each new
       connection to one waiting thread) and answering "Thread-N: LINE\n". make bench runs it
       with 8 threads, "the machine's best": from 4 threads on, more made no difference
       (docs/benchmarks.md, "The yardsticks").

   The event loop, the model after these, is ref_event.c. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "option_number.h"
#include "ref_common.h"

enum { THREADS_MAX = 4096 };

static const char usage_text[] =
    "usage: ref_server [-p PORT] [-s | -f | -c | -t THREADS] [-q]\n"
    "  -p PORT     port on 127.0.0.1 (default 0: the kernel picks)\n"
    "  -s          serial: one connection at a time, in one thread (01-blocking's model)\n"
    "  -f          a child process per connection (02-forking's model)\n"
    "  -c          a thread per connection, started when it is accepted (03-threading's)\n"
    "  -t THREADS  a pool of threads made at the start, each accepting (04-combined's;\n"
    "              the default, with 2)\n"
    "  -q          accepted for the benchmark; this server never logs\n";

/* Serve one connection to its end: lines in, replies out. */
static void serve(int fd, const char *tag, size_t tag_length)
{
    char buf[LINE_LIMIT + 1]; /* a full line and its '\n' */
    char out[REPLY_SIZE];
    size_t used = 0;
    for (;;) {
        ssize_t n = read(fd, buf + used, sizeof buf - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
        char *start = buf;
        char *newline;
        while ((newline = memchr(start, '\n', used - (size_t)(start - buf))) != NULL) {
            size_t length = format_reply(out, tag, tag_length, start, (size_t)(newline - start));
            if (!write_all(fd, out, length))
                return;
            start = newline + 1;
        }
        used -= (size_t)(start - buf);
        memmove(buf, start, used);
        if (used == sizeof buf) { /* 1025 bytes and no '\n' */
            write_all(fd, too_long_reply, too_long_length);
            return;
        }
    }
    if (used > 0) /* a last line without '\n' is a line too */
        write_all(fd, out, format_reply(out, tag, tag_length, buf, used));
}

/* "Thread-N" at the end of buffer, for -c and -t. */
static const char *thread_tag(char buffer[TAG_SIZE], unsigned long number, size_t *length)
{
    static const char prefix[] = "Thread-";
    char *start = decimal_tag(buffer, number, length) - (sizeof prefix - 1);
    memcpy(start, prefix, sizeof prefix - 1);
    *length += sizeof prefix - 1;
    return start;
}

/* Serve and close: the end of every connection, whoever serves it. */
static void serve_and_close(int fd, const char *tag, size_t tag_length)
{
    serve(fd, tag, tag_length);
    if (close(fd) < 0)
        perror("ref_server: close");
}

/* The next connection, or -1 after a failure that is not the client's doing. */
static int accept_connection(int listen_fd)
{
    int fd = accept(listen_fd, NULL, NULL);
    if (fd < 0 && errno != EINTR && errno != ECONNABORTED) {
        perror("ref_server: accept");
        sleep(1); /* out of descriptors or memory: don't spin */
    }
    return fd;
}

/* -s: accept, serve to the end, close; the next client waits in the backlog meanwhile. */
static void serve_serially(int listen_fd)
{
    char buffer[TAG_SIZE];
    size_t tag_length;
    const char *tag = decimal_tag(buffer, (unsigned long)getpid(), &tag_length);
    for (;;) {
        int fd = accept_connection(listen_fd);
        if (fd >= 0)
            serve_and_close(fd, tag, tag_length);
    }
}

/* -f: accept, fork, and let the child serve the connection and exit. */
static void accept_and_fork(int listen_fd)
{
    for (;;) {
        int fd = accept_connection(listen_fd);
        if (fd < 0)
            continue;
        pid_t pid = fork();
        if (pid == 0) {
            char buffer[TAG_SIZE];
            size_t tag_length;
            const char *tag = decimal_tag(buffer, (unsigned long)getpid(), &tag_length);
            serve(fd, tag, tag_length);
            _exit(0);
        }
        if (pid < 0)
            perror("ref_server: fork");
        if (close(fd) < 0)
            perror("ref_server: close");
        while (waitpid(-1, NULL, WNOHANG) > 0) /* the children that have exited */
            continue;
    }
}

/* -c: what a connection's thread needs, in memory of its own (never the accept loop's
   variables, which the next accept overwrites). */
struct connection {
    int fd;
    unsigned long number; /* the N of Thread-N */
};

static void *connection_main(void *arg)
{
    struct connection *c = arg;
    char buffer[TAG_SIZE];
    size_t tag_length;
    const char *tag = thread_tag(buffer, c->number, &tag_length);
    serve_and_close(c->fd, tag, tag_length);
    free(c);
    return NULL;
}

/* -c: accept, and start a thread for the connection, detached (made with the attribute
   `detached`): nobody joins it. */
static void accept_and_start_threads(int listen_fd, const pthread_attr_t *detached)
{
    for (unsigned long accepted = 0;;) {
        int fd = accept_connection(listen_fd);
        if (fd < 0)
            continue;
        struct connection *c = malloc(sizeof *c);
        if (c == NULL) {
            perror("ref_server: malloc");
            close(fd);
            continue;
        }
        *c = (struct connection){fd, ++accepted};
        pthread_t thread;
        int error = pthread_create(&thread, detached, connection_main, c);
        if (error != 0) { /* out of threads: this client is dropped, the server goes on */
            fprintf(stderr, "ref_server: pthread_create: %s\n", strerror(error));
            close(fd);
            free(c);
        }
    }
}

/* -t: one pool thread. */
struct worker {
    pthread_t thread;
    int listen_fd;
    char buffer[TAG_SIZE];
    const char *tag;
    size_t tag_length;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (;;) {
        int fd = accept_connection(w->listen_fd);
        if (fd >= 0)
            serve_and_close(fd, w->tag, w->tag_length);
    }
    return NULL;
}

/* -t: start the threads, each serving connections; the main thread goes on to wait for the
   stop. 0, or -1 with the reason on stderr. */
static int start_pool(int listen_fd, long threads)
{
    struct worker *workers = calloc((size_t)threads, sizeof *workers);
    if (workers == NULL) {
        perror("ref_server: calloc");
        return -1;
    }
    for (long i = 0; i < threads; i++) {
        struct worker *w = &workers[i];
        w->listen_fd = listen_fd;
        w->tag = thread_tag(w->buffer, (unsigned long)i + 1, &w->tag_length);
        int error = pthread_create(&w->thread, NULL, worker_main, w);
        if (error != 0) {
            fprintf(stderr, "ref_server: pthread_create: %s\n", strerror(error));
            return -1;
        }
    }
    return 0;
}

enum model { SERIAL, FORKING, THREAD_PER_CONNECTION, POOL };

int main(int argc, char **argv)
{
    long port = 0, threads = 2;
    enum model model = POOL;
    int models_given = 0;
    int option;
    while ((option = getopt(argc, argv, "p:sfct:qh")) != -1) {
        switch (option) {
        case 'p':
            port = option_number(optarg);
            break;
        case 's':
            model = SERIAL;
            models_given++;
            break;
        case 'f':
            model = FORKING;
            models_given++;
            break;
        case 'c':
            model = THREAD_PER_CONNECTION;
            models_given++;
            break;
        case 't':
            threads = option_number(optarg);
            model = POOL;
            models_given++;
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
    if (optind != argc || port < 0 || port > 65535 || threads < 1 || threads > THREADS_MAX ||
        models_given > 1) {
        fputs(usage_text, stderr);
        return 2;
    }
    unsigned short bound_port;
    int listen_fd = listen_on_loopback(port, &bound_port);
    if (listen_fd < 0)
        return 1;
    if (install_stop_signals() < 0) {
        perror("ref_server: sigaction");
        return 1;
    }
    /* What each model makes before its first client, so that the banner means "ready". */
    pthread_attr_t detached;
    if (model == THREAD_PER_CONNECTION) {
        int error = pthread_attr_init(&detached);
        if (error == 0)
            error = pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
        if (error != 0) {
            fprintf(stderr, "ref_server: pthread_attr: %s\n", strerror(error));
            return 1;
        }
    }
    if (model == POOL && start_pool(listen_fd, threads) < 0)
        return 1;
    print_banner(bound_port);
    switch (model) {
    case SERIAL:
        serve_serially(listen_fd);
        break;
    case FORKING:
        accept_and_fork(listen_fd);
        break;
    case THREAD_PER_CONNECTION:
        accept_and_start_threads(listen_fd, &detached);
        break;
    case POOL:
        for (;;)
            pause(); /* the stop signal's handler ends the process */
    }
    return 1; /* not reached: the stop signal's handler exits */
}
