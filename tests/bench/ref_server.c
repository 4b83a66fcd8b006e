/* ref_server.c: the least a server can do for this protocol, as a yardstick for the benchmark.

   T threads, made once at the start, each blocking in accept(2) on the one listening socket
   (the kernel hands each new connection to one waiting thread), then reading lines and
   answering "Thread-N: LINE\n". No logging, no limits, no idle timeout, no per-connection
   allocation: what is left is the kernel's work for a TCP connection and the loop around it.
   The benchmark runs it with a few values of T and calls the best "the machine's best". */
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
#include <unistd.h>

enum { LINE_LIMIT = 1024, THREADS_MAX = 4096, TAG_SIZE = 32 };

static const char too_long_reply[] = "error: line too long (limit 1024 bytes)\n";

static const char usage_text[] = "usage: ref_server [-p PORT] [-t THREADS] [-q]\n"
                                 "  -p PORT     port on 127.0.0.1 (default 0: the kernel picks)\n"
                                 "  -t THREADS  threads, each accepting connections (default 2)\n"
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
static void serve(int fd, const char *tag)
{
    size_t tag_length = strlen(tag);
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

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (;;) {
        int fd = accept(w->listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno != EINTR && errno != ECONNABORTED) {
                perror("ref_server: accept");
                sleep(1); /* out of descriptors or memory: don't spin */
            }
            continue;
        }
        serve(fd, w->tag);
        if (close(fd) < 0)
            perror("ref_server: close");
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long port = 0, threads = 2;
    int option;
    while ((option = getopt(argc, argv, "p:t:qh")) != -1) {
        switch (option) {
        case 'p': port = strtol(optarg, NULL, 10); break;
        case 't': threads = strtol(optarg, NULL, 10); break;
        case 'q': break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: fputs(usage_text, stderr); return 2;
        }
    }
    if (optind != argc || port < 0 || port > 65535 || threads < 1 || threads > THREADS_MAX) {
        fputs(usage_text, stderr);
        return 2;
    }
    /* Every thread inherits this mask: SIGTERM and SIGINT wait for main's sigwait below, and
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
    int listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (listen_fd < 0) {
        perror("ref_server: socket");
        return 1;
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
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("Server listening on 127.0.0.1:%d (PID %ld)\n", ntohs(address.sin_port),
           (long)getpid());
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
