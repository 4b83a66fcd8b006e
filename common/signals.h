/* signals.h: turning signals into something a server can wait for (the self-pipe trick).

   A signal handler may only call async-signal-safe functions, so ours do one thing: write a
   byte to a pipe. The server waits for that pipe with poll(2) beside its sockets, so a signal
   can never slip in between "check a flag" and "go to sleep". */
#ifndef SIGNALS_H
#define SIGNALS_H

#include <stdbool.h>

/* Once a stop is requested, the process ends within this many seconds whatever it is doing,
   even blocked writing to a standard output that nobody reads: the contract's 5 seconds, less
   a margin. Everything a stop does (answering, closing gently, waiting for children) is timed
   to finish well before. */
enum { STOP_DEADLINE_SECONDS = 4 };

/* Arm the deadline above, once: the stop handler does it, and so does every wait that sees a
   stop (a child told to stop by its parent's pipe has had no signal of its own). */
void stop_deadline_arm(void);

/* SIGINT and SIGTERM request a stop: their handler writes a byte to the stop pipe, which nobody
   ever reads, so it stays readable and every thread (and child) that polls it sees the stop.
   The handler also arms the deadline above (alarm(2); SIGALRM then ends the process with
   _exit(0)). SIGPIPE is ignored, so a client that vanishes gives EPIPE on write instead of
   killing us. Returns 0, or -1 with errno set. */
int stop_signals_install(void);

/* Ignore SIGPIPE: writing to a peer that is gone then fails with EPIPE instead of killing the
   whole process. Returns 0, or -1 with errno set. */
int ignore_sigpipe(void);

/* The read end of this process's stop pipe, to poll for POLLIN; -1 before stop_signals_install. */
int stop_fd(void);

/* In a child: the read end of its parent's stop pipe, to poll for POLLIN. It turns readable when
   the parent is asked to stop, and reads as end-of-file (POLLHUP) when the parent is gone, even
   killed with SIGKILL. -1 in a process that is not a child of ours. */
int parent_stop_fd(void);

/* Has a stop been requested, of this process or of its parent (or is the parent gone)? */
bool stop_requested(void);

/* In a child right after fork(). The child keeps its parent's stop pipe to watch (closing its
   copy of the write end, so that the pipe reads as end-of-file once the parent is gone) and gets
   a stop pipe of its own: a SIGTERM or SIGINT sent to the child itself (`kill PID`) or to the
   whole process group (`kill -TERM -PGID`, Ctrl-C, timeout(1)) stops this child as gracefully
   as its parent's stop does, and no other process. SIGCHLD gets its default action back and the
   child-exit pipe is closed. On Linux the kernel also kills the child when its parent dies
   (even a child stopped by SIGSTOP, which never reads the pipe). Call it once, in the child.
   Returns 0, or -1 with errno set. */
int stop_signals_in_child(void);

/* SIGCHLD writes a byte to the child-exit pipe. Returns 0, or -1 with errno set. */
int child_signal_install(void);

/* The read end of the child-exit pipe: readable after at least one child changed state. */
int child_exit_fd(void);

/* Empty the child-exit pipe; call it before reaping with waitpid(WNOHANG) in a loop. */
void child_exit_clear(void);

#endif
