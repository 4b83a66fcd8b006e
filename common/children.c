/* children.c: a table of child PIDs, reaping with waitpid, ending stragglers. */
#include "children.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "io.h"
#include "report.h"
#include "signals.h"

int children_init(struct children *children, long max)
{
    children->pids = calloc((size_t)max, sizeof *children->pids);
    children->count = 0;
    children->max = max;
    return children->pids == NULL ? -1 : 0;
}

void children_free(struct children *children)
{
    free(children->pids);
    children->pids = NULL;
}

void add_child(struct children *children, pid_t pid)
{
    assert(children->count < children->max);
    children->pids[children->count++] = pid;
}

static void forget_child(struct children *children, pid_t pid)
{
    for (long i = 0; i < children->count; i++) {
        if (children->pids[i] == pid) {
            children->pids[i] = children->pids[--children->count];
            return;
        }
    }
}

/* Reap with waitpid(options): 0 to wait, WNOHANG not to. Returns how many were reaped. */
static long reap(struct children *children, int options, on_child_exit *on_exit, void *context)
{
    long reaped = 0;
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, options);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid < 0 && errno != ECHILD)
            report_error(errno, "server: waitpid");
        if (pid <= 0)
            return reaped; /* 0: children remain, none has exited; ECHILD: none remain */
        forget_child(children, pid);
        reaped++;
        if (on_exit != NULL)
            on_exit(pid, status, context);
    }
}

void reap_children(struct children *children, on_child_exit *on_exit, void *context)
{
    child_exit_clear(); /* before waitpid, so an exit that comes meanwhile is not missed */
    reap(children, WNOHANG, on_exit, context);
}

void stop_children(struct children *children, int grace_ms)
{
    long long deadline = monotonic_ms() + grace_ms;
    while (children->count > 0) {
        long long left = deadline - monotonic_ms();
        if (left <= 0 || wait_ignoring_stop(child_exit_fd(), POLLIN, (int)left) != WAIT_READY)
            break;
        reap_children(children, NULL, NULL);
    }
    if (children->count == 0)
        return;
    report("server: %ld child(ren) still busy after %d ms; ending them", children->count, grace_ms);
    for (long i = 0; i < children->count; i++)
        if (kill(children->pids[i], SIGKILL) < 0 && errno != ESRCH)
            report_error(errno, "server: kill %ld", (long)children->pids[i]);
    reap(children, 0, NULL, NULL); /* waits until ECHILD: every child is gone */
}
