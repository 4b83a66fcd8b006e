/* children.h: keeping track of child processes: who is alive, reaping those that exited, and
   ending those that outstay a shutdown. Used by 02-forking (a child per connection) and by
   04-combined's supervisor (a child per worker). */
#ifndef CHILDREN_H
#define CHILDREN_H

#include <sys/types.h>

struct children {
    pid_t *pids; /* the children alive now, in no particular order */
    long count;
    long max;
};

/* What to do when a child has been reaped: `status` is waitpid's, for WIFEXITED and friends. */
typedef void on_child_exit(pid_t pid, int status, void *context);

/* Room for `max` children. Returns 0, or -1 with errno set. */
int children_init(struct children *children, long max);
void children_free(struct children *children);

/* Remember a child that fork() just started; there must be room for it. */
void add_child(struct children *children, pid_t pid);

/* Reap every child that has exited, without waiting, and forget it; call it when the
   child-exit pipe (signals.h) is readable. A single SIGCHLD can stand for several exits, so
   waitpid is called until it has nothing more to report. Calls `on_exit` (unless NULL) for
   each reaped child. */
void reap_children(struct children *children, on_child_exit *on_exit, void *context);

/* For a stopping server: wait up to `grace_ms` for every child to exit, then end the rest with
   SIGKILL, and reap them all, so that no child and no zombie outlives us. */
void stop_children(struct children *children, int grace_ms);

#endif
