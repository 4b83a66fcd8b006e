/* io.c: waits that watch the stop pipe, and whole writes over short ones. */
#include "io.h"

#include <errno.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "signals.h"

long long monotonic_ms(void)
{
    struct timespec now;
    /* Cannot fail with these arguments on the systems we support, which all have the clock. */
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static int time_left(long long deadline, int timeout_ms)
{
    if (timeout_ms == WAIT_FOREVER)
        return WAIT_FOREVER;
    long long left = deadline - monotonic_ms();
    return left > 0 ? (int)left : 0;
}

static int poll_retrying(struct pollfd *fds, nfds_t count, int timeout_ms)
{
    long long deadline = monotonic_ms() + timeout_ms;
    for (;;) {
        int ready = poll(fds, count, time_left(deadline, timeout_ms));
        if (ready >= 0 || errno != EINTR)
            return ready;
    }
}

enum wait_result wait_for(int fd, short events, int timeout_ms)
{
    struct pollfd fds[2] = {
        {.fd = stop_fd(), .events = POLLIN},
        {.fd = fd, .events = events},
    };
    int ready = poll_retrying(fds, 2, timeout_ms);
    if (ready < 0)
        return WAIT_FAILED;
    if (fds[0].revents != 0) /* POLLIN: a stop was asked; POLLHUP: the parent is gone */
        return WAIT_STOP;
    if (ready == 0)
        return WAIT_TIMEOUT;
    return WAIT_READY;
}

enum wait_result wait_for_either(int fd, int other_fd, bool *fd_ready, bool *other_ready)
{
    struct pollfd fds[3] = {
        {.fd = stop_fd(), .events = POLLIN},
        {.fd = other_fd, .events = POLLIN},
        {.fd = fd, .events = POLLIN},
    };
    if (poll_retrying(fds, 3, WAIT_FOREVER) < 0)
        return WAIT_FAILED;
    if (fds[0].revents != 0)
        return WAIT_STOP;
    *other_ready = fds[1].revents != 0;
    *fd_ready = fds[2].revents != 0;
    return WAIT_READY;
}

enum wait_result wait_readable(int fd, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int ready = poll_retrying(&pfd, 1, timeout_ms);
    if (ready < 0)
        return WAIT_FAILED;
    return ready == 0 ? WAIT_TIMEOUT : WAIT_READY;
}

int write_all(int fd, const void *data, size_t length, int timeout_ms)
{
    const char *next = data;
    while (length > 0) {
        ssize_t written = write(fd, next, length);
        if (written >= 0) {
            next += written; /* a short write: the rest goes in the next round */
            length -= (size_t)written;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        /* The peer's receive buffer and our send buffer are full: wait until it reads. */
        switch (wait_for(fd, POLLOUT, timeout_ms)) {
        case WAIT_READY:
            break;
        case WAIT_TIMEOUT:
            errno = ETIMEDOUT;
            return -1;
        case WAIT_STOP:
            errno = ECANCELED;
            return -1;
        case WAIT_FAILED:
            return -1;
        }
    }
    return 0;
}
