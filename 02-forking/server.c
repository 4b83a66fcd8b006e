/* 02-forking: a child process per connection, as Python's ForkingMixIn does. New here: fork(),
   a child that serves one client and exits, the parent reaping its children (SIGCHLD and
   waitpid), and a cap on how many children run at once. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "children.h"
#include "echo.h"
#include "io.h"
#include "options.h"
#include "report.h"
#include "signals.h"

/* The child's whole life: serve this one client, then exit. */
static void serve_in_child(int listen_fd, int client_fd, const char *peer,
                           const struct server_options *options)
{
    /* Only the parent accepts. The child stops when the parent does, or when it is sent a
       stop signal of its own. */
    if (close(listen_fd) < 0 || stop_signals_in_child() < 0)
        report_error(errno, "server: child %ld: setting up", (long)getpid());
    char tag[TAG_MAX];
    tag_with_pid(tag);
    serve_connection(client_fd, peer, tag, options);
    close_connection(client_fd);
    /* _exit, not exit: exit would run the parent's atexit handlers and flush stdio buffers
       that the child inherited, a second time. */
    _exit(0);
}

static void start_child(int listen_fd, int client_fd, const char *peer, struct children *children,
                        const struct server_options *options)
{
    /* fork copies stdio's buffers: flush first, or a line waiting there is printed twice. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        report_error(errno, "server: fork"); /* this client is dropped; the server goes on */
    else if (pid == 0)
        serve_in_child(listen_fd, client_fd, peer, options);
    else
        add_child(children, pid);
    close_connection(client_fd); /* the parent's copy; the child serves with its own */
}

/* Serve clients, each in a child, until a stop is requested. */
static void serve_clients(int listen_fd, struct children *children,
                          const struct server_options *options)
{
    for (;;) {
        /* At the cap, leave the listening socket out of the wait: new clients queue in the
           backlog until a child exits. */
        int watched_fd = children->count < children->max ? listen_fd : -1;
        bool client_waiting, child_exited;
        enum wait_result waited =
            wait_for_either(watched_fd, child_exit_fd(), &client_waiting, &child_exited);
        if (waited == WAIT_FAILED)
            report_error(errno, "server: poll");
        if (waited != WAIT_READY)
            break; /* a stop was requested */
        if (child_exited)
            reap_children(children, NULL, NULL); /* no zombies */
        if (!client_waiting)
            continue;
        char peer[ADDRESS_TEXT_MAX];
        int client_fd = accept_or_back_off(listen_fd, peer);
        if (client_fd < 0)
            continue;
        start_child(listen_fd, client_fd, peer, children, options);
    }
}

int main(int argc, char *argv[])
{
    long max_children = 40; /* Python's ForkingMixIn.max_children */
    const struct stage_option stage_options[] = {
        {'m', "MAX", "at most MAX children at once", 1, 10000, &max_children},
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
    if (stop_signals_install() < 0 || child_signal_install() < 0) {
        report_error(errno, "server: cannot install signal handlers");
        return 1;
    }
    int listen_fd = open_listener(&options);
    if (listen_fd < 0)
        return 1;
    if (print_banner(listen_fd) < 0) {
        report_error(errno, "server: cannot name the listening socket");
        return 1;
    }
    struct children children;
    if (children_init(&children, max_children) < 0) {
        report_error(errno, "server: cannot make room for %ld children", max_children);
        return 1;
    }

    serve_clients(listen_fd, &children, &options);

    close_connection(listen_fd);
    /* The children saw the stop too, on the same pipe: they answer what they have and exit. */
    stop_children(&children, SHUTDOWN_GRACE_MS);
    children_free(&children);
    printf("Server shutting down\n");
    return 0;
}
