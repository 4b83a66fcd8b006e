/* signals.h: turning signals into something a server can wait for (the self-pipe trick).

   A signal handler may only call async-signal-safe functions, so ours do one thing: write a
   byte to a pipe. The server waits for that pipe with poll(2) beside its sockets, so a signal
   can never slip in between "check a flag" and "go to sleep". */
#ifndef SIGNALS_H
#define SIGNALS_H

#include <stdbool.h>

/* SIGINT and SIGTERM request a stop: their handler writes a byte to the stop pipe, which nobody
   ever reads, so it stays readable and every process and thread that polls it sees the stop.
   SIGPIPE is ignored, so a client that vanishes gives EPIPE on write instead of killing us.
   Returns 0, or -1 with errno set. */
int stop_signals_install(void);

/* Ignore SIGPIPE: writing to a peer that is gone then fails with EPIPE instead of killing the
   whole process. Returns 0, or -1 with errno set. */
int ignore_sigpipe(void);

/* The read end of the stop pipe, to poll for POLLIN; -1 if stop_signals_install was not called. */
int stop_fd(void);

/* Has a stop been requested (or, in a child, has the parent that owns the pipe died)? */
bool stop_requested(void);

/* In a child right after fork(): leave stopping to the parent. SIGINT (which Ctrl-C sends to the
   whole process group) is ignored, SIGTERM and SIGCHLD get their default action, and the
   child closes its copies of the pipes' write ends (and of the child-exit pipe's read end),
   so the stop pipe reads as end-of-file as soon as the parent is gone, even if the parent was
   killed with SIGKILL. Call it once, in the child; after it, only stop_fd() and
   stop_requested() mean anything there. */
int stop_signals_leave_to_parent(void);

/* SIGCHLD writes a byte to the child-exit pipe. Returns 0, or -1 with errno set. */
int child_signal_install(void);

/* The read end of the child-exit pipe: readable after at least one child changed state. */
int child_exit_fd(void);

/* Empty the child-exit pipe; call it before reaping with waitpid(WNOHANG) in a loop. */
void child_exit_clear(void);

#endif
