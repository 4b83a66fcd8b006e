/* ref_server.c: the least a server can do for this protocol, as a yardstick for the benchmark.

   T threads, made once at the start, each blocking in accept(2) on the one listening socket
   (the kernel hands each new connection to one waiting thread), then reading lines and
   answering "Thread-N: LINE\n". No logging, no limits, no idle timeout, no per-connection
   allocation: what is left is the kernel's work for a TCP connection and the loop around it.
   make bench runs it with 8 threads, "the machine's best": from 4 threads on, more made no
   difference (docs/benchmarks.md, "The machine's best for this load").

   With -f it is instead the least a fork-per-connection server can do, the yardstick for
   02-forking: the process accepts, forks, and the child serves the connection with its PID as
   the tag and _exits. No cap, no idle timeout, no stop for children, no per-child signal setup;
   the parent reaps after each accept (as Python's ForkingMixIn does) rather than on SIGCHLD. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "option_number.h"

enum { LINE_LIMIT = 1024, THREADS_MAX = 4096, TAG_SIZE = 32 };

static const char too_long_reply[] = "error: line too long (limit 1024 bytes)\n";

static const char usage_text[] =
    "usage: ref_server [-p PORT] [-t THREADS | -f] [-q]\n"
    "  -p PORT     port on 127.0.0.1 (default 0: the kernel picks)\n"
    "  -t THREADS  threads, each accepting connections (default 2)\n"
    "  -f          fork a child per connection instead of threads\n"
    "  -q          accepted for the benchmark; this server never logs\n";

struct worker {
    pthread_t thread;
    int listen_fd;
    char tag[TAG_SIZE];
};

static bool write_all(int fd, const char *buf, size_t length)
{
    while (length > 0) {
        ssize_t n = write(fd, buf, length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return false;
        buf += n;
        length -= (size_t)n;
    }
    return true;
}

static bool reply(int fd, const char *tag, size_t tag_length, const char *line, size_t length)
{
    char out[TAG_SIZE + 2 + LINE_LIMIT + 1];
    memcpy(out, tag, tag_length);
    memcpy(out + tag_length, ": ", 2);
    memcpy(out + tag_length + 2, line, length);
    out[tag_length + 2 + length] = '\n';
    return write_all(fd, out, tag_length + 2 + length + 1);
}

/* Serve one connection to its end: lines in, replies out. */
static void serve(int fd, const char *tag, size_t tag_length)
{
    char buf[LINE_LIMIT + 1]; /* a full line and its '\n' */
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
            if (!reply(fd, tag, tag_length, start, (size_t)(newline - start)))
                return;
            start = newline + 1;
        }
        used -= (size_t)(start - buf);
        memmove(buf, start, used);
        if (used == sizeof buf) { /* 1025 bytes and no '\n' */
            write_all(fd, too_long_reply, sizeof too_long_reply - 1);
            return;
        }
    }
    if (used > 0) /* a last line without '\n' is a line too */
        reply(fd, tag, tag_length, buf, used);
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

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    size_t tag_length = strlen(w->tag);
    for (;;) {
        int fd = accept_connection(w->listen_fd);
        if (fd < 0)
            continue;
        serve(fd, w->tag, tag_length);
        if (close(fd) < 0)
            perror("ref_server: close");
    }
    return NULL;
}

/* -f: the PID, in decimal, at the end of buffer. Not snprintf: printf's machinery costs each
   child a handful of page faults (docs/02-forking.md, "What a fork copies"). The stages'
   tag_with_pid (common/echo.c) does the same; the yardstick links none of the stages' code. */
static const char *pid_tag(char buffer[TAG_SIZE])
{
    char *start = buffer + TAG_SIZE - 1;
    *start = '\0';
    for (long pid = (long)getpid(); pid > 0; pid /= 10)
        *--start = (char)('0' + pid % 10);
    return start;
}

static pid_t server_pid;

/* -f's SIGTERM and SIGINT: wait for every child, so that all their CPU time is in the
   server's getrusage(RUSAGE_CHILDREN), then exit. Async-signal-safe calls only. A child that
   gets the signal (Ctrl-C reaches the whole process group) just exits. */
static void on_stop_signal(int signo)
{
    (void)signo;
    if (getpid() != server_pid)
        _exit(0);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
        continue;
    static const char farewell[] = "Server shutting down\n";
    ssize_t written = write(STDOUT_FILENO, farewell, sizeof farewell - 1);
    _exit(written < 0);
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
            const char *tag = pid_tag(buffer);
            serve(fd, tag, (size_t)(buffer + TAG_SIZE - 1 - tag));
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

static int install_fork_signals(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    sigemptyset(&action.sa_mask);
    action.sa_handler = on_stop_signal;
    if (sigaction(SIGTERM, &action, NULL) < 0 || sigaction(SIGINT, &action, NULL) < 0)
        return -1;
    action.sa_handler = SIG_IGN; /* a client that goes away is the child's EPIPE, not a kill */
    return sigaction(SIGPIPE, &action, NULL);
}

/* The listening socket on 127.0.0.1:port; *bound_port is the port it got. */
static int listen_on_loopback(long port, unsigned short *bound_port)
{
    int listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (listen_fd < 0) {
        perror("ref_server: socket");
        return -1;
    }
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons((unsigned short)port);
    socklen_t length = sizeof address;
    if (bind(listen_fd, (struct sockaddr *)&address, sizeof address) < 0 ||
        listen(listen_fd, SOMAXCONN) < 0 ||
        getsockname(listen_fd, (struct sockaddr *)&address, &length) < 0) {
        perror("ref_server: cannot listen");
        close(listen_fd);
        return -1;
    }
    *bound_port = ntohs(address.sin_port);
    return listen_fd;
}

static void print_banner(unsigned short port)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("Server listening on 127.0.0.1:%d (PID %ld)\n", port, (long)getpid());
}

/* -t: the threads, each serving connections, while main waits for SIGTERM or SIGINT. */
static int run_threads(int listen_fd, unsigned short port, long threads)
{
    /* Every thread inherits this mask: SIGTERM and SIGINT wait for the sigwait below, and
       SIGPIPE stays pending instead of killing us when a client goes away. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGPIPE);
    int error = pthread_sigmask(SIG_BLOCK, &signals, NULL);
    if (error != 0) {
        fprintf(stderr, "ref_server: pthread_sigmask: %s\n", strerror(error));
        return 1;
    }
    struct worker *workers = calloc((size_t)threads, sizeof *workers);
    if (workers == NULL) {
        perror("ref_server: calloc");
        return 1;
    }
    for (long i = 0; i < threads; i++) {
        workers[i].listen_fd = listen_fd;
        snprintf(workers[i].tag, sizeof workers[i].tag, "Thread-%ld", i + 1);
        error = pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
        if (error != 0) {
            fprintf(stderr, "ref_server: pthread_create: %s\n", strerror(error));
            return 1;
        }
    }
    print_banner(port);
    sigdelset(&signals, SIGPIPE);
    int signal_number;
    error = sigwait(&signals, &signal_number);
    if (error != 0) {
        fprintf(stderr, "ref_server: sigwait: %s\n", strerror(error));
        return 1;
    }
    /* A yardstick has no clients to finish: exit ends every thread at once. */
    printf("Server shutting down\n");
    return 0;
}

/* -f: one process, a child per connection, until SIGTERM or SIGINT (see on_stop_signal). */
static int run_forking(int listen_fd, unsigned short port)
{
    server_pid = getpid();
    if (install_fork_signals() < 0) {
        perror("ref_server: sigaction");
        return 1;
    }
    print_banner(port);
    accept_and_fork(listen_fd);
    return 1; /* not reached: the signal handler exits */
}

int main(int argc, char **argv)
{
    long port = 0, threads = 2;
    bool forking = false, threads_given = false;
    int option;
    while ((option = getopt(argc, argv, "p:t:fqh")) != -1) {
        switch (option) {
        case 'p':
            port = option_number(optarg);
            break;
        case 't':
            threads = option_number(optarg);
            threads_given = true;
            break;
        case 'f':
            forking = true;
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
        (forking && threads_given)) {
        fputs(usage_text, stderr);
        return 2;
    }
    unsigned short bound_port;
    int listen_fd = listen_on_loopback(port, &bound_port);
    if (listen_fd < 0)
        return 1;
    if (forking)
        return run_forking(listen_fd, bound_port);
    return run_threads(listen_fd, bound_port, threads);
}
