/* 03-threading: a thread per connection, as Python's ThreadingMixIn does. New here: a detached
   thread serves each client inside the one server process; the count of live threads, which
   they all share, is guarded by a mutex, and a condition variable makes the accept loop wait
   at the cap. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "echo.h"
#include "io.h"
#include "locks.h"
#include "options.h"
#include "report.h"
#include "signals.h"

/* The handler threads alive now. Every thread changes `live`, so every access holds `mutex`. */
struct handlers {
    pthread_mutex_t mutex;
    pthread_cond_t one_ended; /* signalled each time a handler thread ends */
    long live;
    long max;
};

/* What a new thread needs, in memory of its own: never the address of the accept loop's
   variables, which the next accept overwrites while the thread may not have read them yet. */
struct handler_start {
    int client_fd;
    char peer[ADDRESS_TEXT_MAX];
    unsigned long number; /* the N of Thread-N */
    struct handlers *handlers;
    const struct server_options *options;
};

static void handler_ended(struct handlers *handlers)
{
    lock(&handlers->mutex);
    handlers->live--;
    wake_one(&handlers->one_ended);
    unlock(&handlers->mutex);
}

/* The thread's whole life: serve this one client, then end. */
static void *serve_in_thread(void *argument)
{
    struct handler_start *start = argument;
    char tag[TAG_MAX];
    snprintf(tag, sizeof tag, "Thread-%lu", start->number);
    serve_connection(start->client_fd, start->peer, tag, start->options);
    close_connection(start->client_fd);
    handler_ended(start->handlers);
    free(start);
    return NULL;
}

static void start_thread(int client_fd, const char *peer, unsigned long number,
                         struct handlers *handlers, const struct server_options *options)
{
    struct handler_start *start = malloc(sizeof *start);
    if (start == NULL) {
        report_error(errno, "server: cannot start a thread");
        close_connection(client_fd);
        return;
    }
    *start = (struct handler_start){.client_fd = client_fd, .number = number,
                                    .handlers = handlers, .options = options};
    snprintf(start->peer, sizeof start->peer, "%s", peer);
    lock(&handlers->mutex);
    handlers->live++;
    unlock(&handlers->mutex);
    pthread_t thread;
    int error = pthread_create(&thread, NULL, serve_in_thread, start);
    if (error != 0) {
        report_error(error, "server: pthread_create"); /* this client is dropped; we go on */
        close_connection(client_fd);
        free(start);
        handler_ended(handlers);
        return;
    }
    /* Detached: nobody joins it; its resources go back to the system when it ends. */
    error = pthread_detach(thread);
    if (error != 0)
        report_error(error, "server: pthread_detach");
}

/* At the cap, wait for a handler to end: new clients queue in the backlog meanwhile. On a stop
   every handler ends soon (they watch the stop pipe), so this wait ends too. */
static void wait_for_free_slot(struct handlers *handlers)
{
    lock(&handlers->mutex);
    while (handlers->live >= handlers->max)
        wait_on(&handlers->one_ended, &handlers->mutex);
    unlock(&handlers->mutex);
}

/* Serve clients, each in a thread, until a stop is requested. */
static void serve_clients(int listen_fd, struct handlers *handlers,
                          const struct server_options *options)
{
    unsigned long accepted = 0; /* only this thread touches it, so it needs no lock */
    for (;;) {
        wait_for_free_slot(handlers);
        enum wait_result waited = wait_for(listen_fd, POLLIN, WAIT_FOREVER);
        if (waited == WAIT_FAILED)
            report_error(errno, "server: poll");
        if (waited != WAIT_READY)
            break; /* a stop was requested */
        char peer[ADDRESS_TEXT_MAX];
        int client_fd = accept_or_back_off(listen_fd, peer);
        if (client_fd < 0)
            continue;
        start_thread(client_fd, peer, ++accepted, handlers, options);
    }
}

/* The handlers saw the stop too, on the same pipe: give them the grace period to answer what
   they have. Those still busy after it end with the process. */
static void wait_for_handlers(struct handlers *handlers, int grace_ms)
{
    struct timespec deadline = deadline_after(grace_ms);
    lock(&handlers->mutex);
    while (handlers->live > 0)
        if (!wait_on_until(&handlers->one_ended, &handlers->mutex, &deadline))
            break;
    long still_busy = handlers->live;
    unlock(&handlers->mutex);
    if (still_busy > 0)
        report("server: %ld thread(s) still busy after %d ms; ending them", still_busy, grace_ms);
}

int main(int argc, char *argv[])
{
    long max_threads = 40; /* the same cap as 02, so the two compare like for like */
    const struct stage_option stage_options[] = {
        {'m', "MAX", "at most MAX handler threads at once", 1, 10000, &max_threads},
    };
    struct server_options options;
    switch (parse_server_options(argc, argv, &options, stage_options, 1)) {
    case OPTIONS_OK:
        break;
    case OPTIONS_HELP:
        return 0;
    case OPTIONS_BAD:
        return EXIT_USAGE;
    }
    /* Line-buffered even into a pipe or file, so each log line leaves at once, whole. */
    setvbuf(stdout, NULL, _IOLBF, BUFSIZ);
    if (stop_signals_install() < 0) {
        report_error(errno, "server: cannot install signal handlers");
        return 1;
    }
    struct handlers handlers = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, .live = 0,
                                .max = max_threads};
    int listen_fd = open_listener(&options);
    if (listen_fd < 0)
        return 1;
    if (print_banner(listen_fd) < 0) {
        report_error(errno, "server: cannot name the listening socket");
        return 1;
    }

    serve_clients(listen_fd, &handlers, &options);

    close_connection(listen_fd);
    wait_for_handlers(&handlers, SHUTDOWN_GRACE_MS);
    printf("Server shutting down\n");
    return 0;
}
