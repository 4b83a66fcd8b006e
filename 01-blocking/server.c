/* 01-blocking: an iterative echo server. One process serves one client at a time, start to
   finish; while it does, the next clients wait in the listen backlog. Every reply is tagged
   with the server's PID, the same for every client. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>

#include "echo.h"
#include "io.h"
#include "options.h"
#include "report.h"
#include "signals.h"

/* Serve clients one by one until a stop is requested. */
static void serve_clients(int listen_fd, const struct server_options *options)
{
    char tag[TAG_MAX];
    tag_with_pid(tag);
    for (;;) {
        enum wait_result waited = wait_for(listen_fd, POLLIN, WAIT_FOREVER);
        if (waited == WAIT_FAILED)
            report_error(errno, "server: poll");
        if (waited != WAIT_READY)
            break; /* a stop was requested */
        char peer[ADDRESS_TEXT_MAX];
        int client_fd = accept_or_back_off(listen_fd, peer);
        if (client_fd < 0)
            continue;
        serve_connection(client_fd, peer, tag, options); /* everyone else waits meanwhile */
        close_connection(client_fd);
    }
}

int main(int argc, char *argv[])
{
    struct server_options options;
    switch (parse_server_options(argc, argv, &options, NULL, 0)) {
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
    int listen_fd = open_listener(&options);
    if (listen_fd < 0)
        return 1;
    if (print_banner(listen_fd) < 0) {
        report_error(errno, "server: cannot name the listening socket");
        return 1;
    }

    serve_clients(listen_fd, &options);

    close_connection(listen_fd);
    printf("Server shutting down\n");
    return 0;
}
