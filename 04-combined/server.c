/* 04-combined: a supervised pool of pre-forked worker processes, each running a pool of
   threads that lock a mutex around accept, as UNP's prethreaded server does (3rd ed., section
   30.11). New here: the workers are forked once, up front, while the main process has no
   thread; each worker starts T threads that take turns accepting on the shared listening socket
   and serve one client at a time; the main process only supervises, starting a new worker when
   one dies. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "children.h"
#include "echo.h"
#include "io.h"
#include "locks.h"
#include "options.h"
#include "report.h"
#include "signals.h"

/* What a worker's threads share. The accept lock lets one thread of this worker at a time wait
   for a client, so a new connection wakes one thread per worker, not every thread. */
struct worker {
    int listen_fd;
    pthread_mutex_t accept_lock;
    const struct server_options *options;
};

/* What each pool thread needs, in memory of its own. */
struct pool_thread {
    pthread_t id;
    int index; /* the N of PID/Thread-N, 1 to T */
    struct worker *worker;
};

/* Wait for a client and accept it, holding this worker's accept lock. Returns its socket (its
   address in `peer`), or -1 if another worker took it first, accept failed, or a stop was
   requested. */
static int accept_next(struct worker *worker, char peer[ADDRESS_TEXT_MAX])
{
    int client_fd = -1;
    lock(&worker->accept_lock);
    enum wait_result waited = wait_for(worker->listen_fd, POLLIN, WAIT_FOREVER);
    if (waited == WAIT_FAILED)
        report_error(errno, "server: poll");
    if (waited == WAIT_READY)
        client_fd = accept_or_back_off(worker->listen_fd, peer);
    unlock(&worker->accept_lock);
    return client_fd;
}

/* A pool thread's life: accept a client, serve it, and again, until a stop. A thread busy
   serving does not accept, so a worker whose threads are all busy leaves new clients in the
   backlog for the other workers. */
static void *pool_thread_main(void *argument)
{
    struct pool_thread *self = argument;
    char tag[TAG_MAX];
    snprintf(tag, sizeof tag, "%ld/Thread-%d", (long)getpid(), self->index);
    while (!stop_requested()) {
        char peer[ADDRESS_TEXT_MAX];
        int client_fd = accept_next(self->worker, peer);
        if (client_fd < 0)
            continue;
        serve_connection(client_fd, peer, tag, self->worker->options);
        close_connection(client_fd);
    }
    return NULL;
}

/* A worker's whole life: start the pool, wait for the threads to end at a stop, exit. */
static void run_worker(int listen_fd, long thread_count, const struct server_options *options)
{
    /* The worker stops when the supervisor does (or dies), or when it is sent a stop signal of
       its own: then the supervisor replaces it. */
    if (stop_signals_in_child() < 0)
        report_error(errno, "server: worker %ld: setting up", (long)getpid());
    struct worker worker = {listen_fd, PTHREAD_MUTEX_INITIALIZER, options};
    struct pool_thread *pool = calloc((size_t)thread_count, sizeof *pool);
    if (pool == NULL) {
        report_error(errno, "server: worker %ld", (long)getpid());
        _exit(1);
    }
    int started = 0;
    for (int i = 0; i < thread_count; i++) {
        pool[started] = (struct pool_thread){.index = i + 1, .worker = &worker};
        int error = pthread_create(&pool[started].id, NULL, pool_thread_main, &pool[started]);
        if (error != 0)
            report_error(error, "server: worker %ld: pthread_create", (long)getpid());
        else
            started++;
    }
    for (int i = 0; i < started; i++) {
        int error = pthread_join(pool[i].id, NULL);
        if (error != 0)
            report_error(error, "server: worker %ld: pthread_join", (long)getpid());
    }
    free(pool);
    _exit(started > 0 ? 0 : 1); /* _exit: see 02-forking */
}

/* What the supervisor needs to start workers. */
struct supervisor {
    int listen_fd;
    long thread_count;
    const struct server_options *options;
    struct children workers;
};

static void start_worker(struct supervisor *supervisor)
{
    /* fork copies stdio's buffers: flush first, or a line waiting there is printed twice. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        report_error(errno, "server: fork"); /* the pool runs one worker short */
        return;
    }
    if (pid == 0)
        run_worker(supervisor->listen_fd, supervisor->thread_count, supervisor->options);
    add_child(&supervisor->workers, pid);
    printf("Server started worker PID %ld with %ld threads\n", (long)pid, supervisor->thread_count);
}

/* Called for each worker reaped while serving: say how it ended, and replace it. */
static void replace_worker(pid_t pid, int status, void *context)
{
    if (WIFSIGNALED(status))
        printf("Server worker PID %ld was killed by signal %d; starting a new one\n", (long)pid,
               WTERMSIG(status));
    else
        printf("Server worker PID %ld exited with status %d; starting a new one\n", (long)pid,
               WEXITSTATUS(status));
    start_worker(context);
}

/* The supervisor's loop: no clients, no threads; only workers that end, until a stop. */
static void supervise(struct supervisor *supervisor)
{
    for (;;) {
        enum wait_result waited = wait_for(child_exit_fd(), POLLIN, WAIT_FOREVER);
        if (waited == WAIT_FAILED)
            report_error(errno, "server: poll");
        if (waited != WAIT_READY)
            break; /* a stop was requested */
        reap_children(&supervisor->workers, replace_worker, supervisor);
    }
}

int main(int argc, char *argv[])
{
    long worker_count = 2;
    long thread_count = 4;
    const struct stage_option stage_options[] = {
        {'w', "N", "worker processes", 1, 64, &worker_count},
        {'t', "N", "threads per worker", 1, 1024, &thread_count},
    };
    struct server_options options;
    switch (parse_server_options(argc, argv, &options, stage_options, 2)) {
    case OPTIONS_OK:
        break;
    case OPTIONS_HELP:
        return 0;
    case OPTIONS_BAD:
        return EXIT_USAGE;
    }
    /* Line-buffered even into a pipe or file, so each log line leaves at once, whole. */
    setvbuf(stdout, NULL, _IOLBF, BUFSIZ);
    if (stop_signals_install() < 0 || child_signal_install() < 0) {
        report_error(errno, "server: cannot install signal handlers");
        return 1;
    }
    struct supervisor supervisor = {.thread_count = thread_count, .options = &options};
    supervisor.listen_fd = open_listener(&options);
    if (supervisor.listen_fd < 0)
        return 1;
    if (print_banner(supervisor.listen_fd) < 0) {
        report_error(errno, "server: cannot name the listening socket");
        return 1;
    }
    if (children_init(&supervisor.workers, worker_count) < 0) {
        report_error(errno, "server: cannot make room for %ld workers", worker_count);
        return 1;
    }
    /* Every fork happens here, in a process that has never started a thread. */
    for (long i = 0; i < worker_count; i++)
        start_worker(&supervisor);

    supervise(&supervisor);

    close_connection(supervisor.listen_fd);
    /* The workers saw the stop too, on the same pipe: their threads answer what they have. */
    stop_children(&supervisor.workers, SHUTDOWN_GRACE_MS);
    children_free(&supervisor.workers);
    printf("Server shutting down\n");
    return 0;
}
