/* signals.c: the self-pipe trick for stop requests (SIGINT, SIGTERM) and child exits (SIGCHLD).

   The write ends live in this file's static variables because a signal handler cannot be
   given arguments; nothing outside this file can see or change them. */
#include "signals.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int stop_pipe[2] = {-1, -1};
static int child_pipe[2] = {-1, -1};

/* Close-on-exec, so a program we might exec does not inherit the pipes; the write end is also
   non-blocking, so a handler never blocks on a full pipe (a full pipe is already readable). */
static int open_signal_pipe(int fds[2])
{
    if (pipe(fds) < 0)
        return -1;
    if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) < 0 || fcntl(fds[1], F_SETFD, FD_CLOEXEC) < 0 ||
        fcntl(fds[1], F_SETFL, O_NONBLOCK) < 0) {
        int saved_errno = errno;
        close(fds[0]);
        close(fds[1]);
        fds[0] = fds[1] = -1;
        errno = saved_errno;
        return -1;
    }
    return 0;
}

static void write_wakeup_byte(int fd)
{
    int saved_errno = errno; /* the code we interrupted may be about to read errno */
    ssize_t ignored = write(fd, "x", 1);
    (void)ignored; /* EAGAIN means the pipe is full, hence readable already */
    errno = saved_errno;
}

static void on_stop_signal(int signo)
{
    (void)signo;
    write_wakeup_byte(stop_pipe[1]);
}

static void on_child_signal(int signo)
{
    (void)signo;
    write_wakeup_byte(child_pipe[1]);
}

static int set_handler(int signo, void (*handler)(int))
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    /* SA_RESTART: slow calls such as read() resume after the handler instead of failing with
       EINTR. poll() is never restarted; the code that calls it handles EINTR. */
    action.sa_flags = SA_RESTART;
    return sigaction(signo, &action, NULL);
}

int ignore_sigpipe(void)
{
    return set_handler(SIGPIPE, SIG_IGN);
}

int stop_signals_install(void)
{
    if (open_signal_pipe(stop_pipe) < 0)
        return -1;
    if (set_handler(SIGINT, on_stop_signal) < 0 || set_handler(SIGTERM, on_stop_signal) < 0)
        return -1;
    return ignore_sigpipe();
}

int stop_fd(void)
{
    return stop_pipe[0];
}

bool stop_requested(void)
{
    if (stop_pipe[0] < 0)
        return false;
    struct pollfd pfd = {.fd = stop_pipe[0], .events = POLLIN};
    int ready;
    do
        ready = poll(&pfd, 1, 0);
    while (ready < 0 && errno == EINTR);
    /* POLLHUP: the last write end is closed, i.e. the parent is gone. */
    return ready > 0 && (pfd.revents & (POLLIN | POLLHUP)) != 0;
}

static int close_if_open(int fd)
{
    return fd < 0 ? 0 : close(fd);
}

int stop_signals_leave_to_parent(void)
{
    if (set_handler(SIGINT, SIG_IGN) < 0 || set_handler(SIGTERM, SIG_DFL) < 0 ||
        set_handler(SIGCHLD, SIG_DFL) < 0)
        return -1;
    /* The variables keep the old numbers: with the handlers gone, nothing in the child reads
       them again, and writing -1 into them would cost every child a page fault and a private
       copy of the page they live on (docs/02-forking.md, "What a fork copies"). */
    if (close_if_open(stop_pipe[1]) < 0 || close_if_open(child_pipe[1]) < 0 ||
        close_if_open(child_pipe[0]) < 0)
        return -1;
    return 0;
}

int child_signal_install(void)
{
    if (open_signal_pipe(child_pipe) < 0)
        return -1;
    /* The read end is non-blocking too, so child_exit_clear() can empty it without waiting. */
    if (fcntl(child_pipe[0], F_SETFL, O_NONBLOCK) < 0)
        return -1;
    return set_handler(SIGCHLD, on_child_signal);
}

int child_exit_fd(void)
{
    return child_pipe[0];
}

void child_exit_clear(void)
{
    char sink[64];
    ssize_t n;
    /* A read that returns less than it asked for has emptied the pipe: no second read just
       to be told EAGAIN. */
    do
        n = read(child_pipe[0], sink, sizeof sink);
    while (n == (ssize_t)sizeof sink || (n < 0 && errno == EINTR));
}
