/* ref_common.c: what the benchmark's yardsticks share (see ref_common.h). */
#include "ref_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* The stages' backlog (common/net.c's LISTEN_BACKLOG), so that a yardstick and a stage meet a
   burst of clients alike: not SOMAXCONN, which differs between C libraries (128 in musl's). */
enum { REF_BACKLOG = 4096 };

const char too_long_reply[] = "error: line too long (limit 1024 bytes)\n";
const size_t too_long_length = sizeof too_long_reply - 1;

int listen_on_loopback(long port, unsigned short *bound_port)
{
    int listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (listen_fd < 0) {
        perror("ref: socket");
        return -1;
    }
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons((unsigned short)port);
    socklen_t length = sizeof address;
    if (bind(listen_fd, (struct sockaddr *)&address, sizeof address) < 0 ||
        listen(listen_fd, REF_BACKLOG) < 0 ||
        getsockname(listen_fd, (struct sockaddr *)&address, &length) < 0) {
        perror("ref: cannot listen");
        close(listen_fd);
        return -1;
    }
    *bound_port = ntohs(address.sin_port);
    return listen_fd;
}

void print_banner(unsigned short port)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("Server listening on 127.0.0.1:%d (PID %ld)\n", port, (long)getpid());
}

bool write_all(int fd, const char *buf, size_t length)
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

size_t format_reply(char *out, const char *tag, size_t tag_length, const char *line, size_t length)
{
    memcpy(out, tag, tag_length);
    memcpy(out + tag_length, ": ", 2);
    memcpy(out + tag_length + 2, line, length);
    out[tag_length + 2 + length] = '\n';
    return tag_length + 2 + length + 1;
}

char *decimal_tag(char buffer[TAG_SIZE], unsigned long number, size_t *length)
{
    char *start = buffer + TAG_SIZE - 1;
    *start = '\0';
    do
        *--start = (char)('0' + number % 10);
    while ((number /= 10) > 0);
    *length = (size_t)(buffer + TAG_SIZE - 1 - start);
    return start;
}

static pid_t server_pid;

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

int install_stop_signals(void)
{
    server_pid = getpid();
    struct sigaction action;
    memset(&action, 0, sizeof action);
    if (sigemptyset(&action.sa_mask) < 0)
        return -1;
    action.sa_handler = on_stop_signal;
    if (sigaction(SIGTERM, &action, NULL) < 0 || sigaction(SIGINT, &action, NULL) < 0)
        return -1;
    action.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &action, NULL);
}
