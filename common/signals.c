/* signals.c: the self-pipe trick for stop requests (SIGINT, SIGTERM) and child exits (SIGCHLD),
   and the deadline that ends a stop whatever happens.

   The pipes live in this file's static variables because a signal handler cannot be given
   arguments; nothing outside this file can see or change them. */
#include "signals.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

static int stop_pipe[2] = {-1, -1}; /* this process's own; its stop handler writes here */
static int parent_stop = -1;        /* in a child: the read end of the parent's stop pipe */
static int child_pipe[2] = {-1, -1};
/* Set once, by the first stop signal (in whichever thread it lands) or the first stopping
   connection. A handler may touch only lock-free atomics (C11 7.14.1.1), hence the check. */
static atomic_int deadline_armed = 0;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the stop deadline needs a lock-free atomic int");

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

void stop_deadline_arm(void)
{
    /* alarm() is async-signal-safe; the exchange makes sure only the first caller sets it. */
    if (atomic_exchange(&deadline_armed, 1) == 0)
        alarm(STOP_DEADLINE_SECONDS);
}

static void on_stop_signal(int signo)
{
    (void)signo;
    write_wakeup_byte(stop_pipe[1]);
    /* The stop may never finish by itself: a thread blocked writing its log to a pipe that
       nobody reads never comes back to look at the stop pipe. */
    stop_deadline_arm();
}

/* The stop's deadline has passed: end now, with the status a stop promises. _exit, not exit:
   exit would flush stdio's buffers, and a write to that unread pipe is what may be stuck. A
   SIGALRM that comes before any stop is nobody's deadline, and is ignored. */
static void on_stop_deadline(int signo)
{
    (void)signo;
    if (atomic_load(&deadline_armed) != 0)
        _exit(0);
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
    if (set_handler(SIGINT, on_stop_signal) < 0 || set_handler(SIGTERM, on_stop_signal) < 0 ||
        set_handler(SIGALRM, on_stop_deadline) < 0)
        return -1;
    return ignore_sigpipe();
}

int stop_fd(void)
{
    return stop_pipe[0];
}

int parent_stop_fd(void)
{
    return parent_stop;
}

bool stop_requested(void)
{
    /* poll(2) skips a descriptor of -1, so this works before any pipe exists too. */
    struct pollfd fds[2] = {
        {.fd = stop_pipe[0], .events = POLLIN},
        {.fd = parent_stop, .events = POLLIN},
    };
    int ready;
    do
        ready = poll(fds, 2, 0);
    while (ready < 0 && errno == EINTR);
    /* POLLIN: a stop was asked; POLLHUP: the last write end is closed, the parent is gone. */
    if (ready <= 0 || (fds[0].revents == 0 && fds[1].revents == 0))
        return false;
    stop_deadline_arm();
    return true;
}

static int close_if_open(int fd)
{
    return fd < 0 ? 0 : close(fd);
}

/* Linux only: the kernel sends SIGKILL to this process when its parent dies. The stop pipe's
   end-of-file tells a running child as much on every system, but a child stopped by SIGSTOP
   reads nothing and would live on, keeping its sockets (in 04, the listening one: no new server
   could take the port). SIGKILL is the one signal a stopped process cannot leave pending.
   Elsewhere such a child lives until it is continued (SIGCONT), then sees the end-of-file;
   FreeBSD's procctl(PROC_PDEATHSIG_CTL) could do what prctl does here. */
static int die_with_parent(void)
{
#ifdef __linux__
    return prctl(PR_SET_PDEATHSIG, SIGKILL);
#else
    return 0;
#endif
}

int stop_signals_in_child(void)
{
    if (set_handler(SIGCHLD, SIG_DFL) < 0 || close_if_open(child_pipe[0]) < 0 ||
        close_if_open(child_pipe[1]) < 0)
        return -1;
    child_pipe[0] = child_pipe[1] = -1;
    /* A pipe of our own for the stop handler, which this process inherited. Until the swap
       below, a SIGTERM to this child would still write into the parent's pipe and stop the whole
       server; only a signal sent to the whole process group can come that early, and it stops
       the parent anyway. */
    int own[2];
    if (open_signal_pipe(own) < 0)
        return -1;
    int parent_write_end = stop_pipe[1];
    parent_stop = stop_pipe[0];
    stop_pipe[0] = own[0];
    stop_pipe[1] = own[1];
    atomic_store(&deadline_armed, 0); /* alarms do not survive fork(2); the flag must not either */
    /* Only the parent's copy of the write end may remain, so that its death closes the pipe. */
    if (close_if_open(parent_write_end) < 0)
        return -1;
    return die_with_parent();
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
