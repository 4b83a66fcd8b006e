/* io.c: waits that watch the stop pipes, and whole writes over short ones. */
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

/* The first two entries of every serving wait: this process's stop pipe and, in a child, the
   parent's (-1 elsewhere: poll(2) skips it). */
enum { STOP_ENTRIES = 2 };

static void watch_stop(struct pollfd fds[STOP_ENTRIES])
{
    fds[0] = (struct pollfd){.fd = stop_fd(), .events = POLLIN};
    fds[1] = (struct pollfd){.fd = parent_stop_fd(), .events = POLLIN};
}

/* POLLIN: a stop was asked; POLLHUP on the parent's pipe: the parent is gone. Whoever sees a
   stop first starts the clock of its deadline (a child told by its parent's pipe has had no
   signal of its own to start it). */
static bool stop_seen(const struct pollfd fds[STOP_ENTRIES])
{
    if (fds[0].revents == 0 && fds[1].revents == 0)
        return false;
    stop_deadline_arm();
    return true;
}

enum wait_result wait_for(int fd, short events, int timeout_ms)
{
    struct pollfd fds[STOP_ENTRIES + 1];
    watch_stop(fds);
    fds[STOP_ENTRIES] = (struct pollfd){.fd = fd, .events = events};
    int ready = poll_retrying(fds, STOP_ENTRIES + 1, timeout_ms);
    if (ready < 0)
        return WAIT_FAILED;
    if (stop_seen(fds))
        return WAIT_STOP;
    if (ready == 0)
        return WAIT_TIMEOUT;
    return WAIT_READY;
}

enum wait_result wait_for_either(int fd, int other_fd, bool *fd_ready, bool *other_ready)
{
    struct pollfd fds[STOP_ENTRIES + 2];
    watch_stop(fds);
    fds[STOP_ENTRIES] = (struct pollfd){.fd = other_fd, .events = POLLIN};
    fds[STOP_ENTRIES + 1] = (struct pollfd){.fd = fd, .events = POLLIN};
    if (poll_retrying(fds, STOP_ENTRIES + 2, WAIT_FOREVER) < 0)
        return WAIT_FAILED;
    if (stop_seen(fds))
        return WAIT_STOP;
    *other_ready = fds[STOP_ENTRIES].revents != 0;
    *fd_ready = fds[STOP_ENTRIES + 1].revents != 0;
    return WAIT_READY;
}

enum wait_result wait_ignoring_stop(int fd, short events, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    int ready = poll_retrying(&pfd, 1, timeout_ms);
    if (ready < 0)
        return WAIT_FAILED;
    return ready == 0 ? WAIT_TIMEOUT : WAIT_READY;
}

/* Wait for the peer to make room for more; `while_stopping` says whether a stop ends the wait. */
static int wait_for_room(int fd, int timeout_ms, bool while_stopping)
{
    enum wait_result waited = while_stopping ? wait_ignoring_stop(fd, POLLOUT, timeout_ms)
                                             : wait_for(fd, POLLOUT, timeout_ms);
    switch (waited) {
    case WAIT_READY:
        return 0;
    case WAIT_TIMEOUT:
        errno = ETIMEDOUT;
        return -1;
    case WAIT_STOP:
        errno = ECANCELED;
        return -1;
    case WAIT_FAILED:
        return -1;
    }
    return -1;
}

static int write_pieces(int fd, const char *next, size_t length, int timeout_ms,
                        bool while_stopping)
{
    long long give_up = monotonic_ms() + timeout_ms; /* while stopping: the time in all */
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
        int wait_ms = while_stopping ? time_left(give_up, timeout_ms) : timeout_ms;
        if (wait_for_room(fd, wait_ms, while_stopping) < 0)
            return -1;
    }
    return 0;
}

int write_all(int fd, const void *data, size_t length, int timeout_ms)
{
    return write_pieces(fd, data, length, timeout_ms, false);
}

int write_all_while_stopping(int fd, const void *data, size_t length, int timeout_ms)
{
    return write_pieces(fd, data, length, timeout_ms, true);
}
