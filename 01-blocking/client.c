/* 01-blocking client: the blog post's client. Runs its clients one after another; each sends
   one line and prints who answered. Against this server, every answer carries the same PID. */
#include <errno.h>
#include <stdio.h>

#include "echo_client.h"
#include "options.h"
#include "report.h"
#include "signals.h"

int main(int argc, char *argv[])
{
    struct client_options options = {.clients = 2, .jobs = 1};
    switch (parse_client_options(argc, argv, &options)) {
    case OPTIONS_OK:
        break;
    case OPTIONS_HELP:
        return 0;
    case OPTIONS_BAD:
        return EXIT_USAGE;
    }
    setvbuf(stdout, NULL, _IOLBF, BUFSIZ);
    if (ignore_sigpipe() < 0) {
        report_error(errno, "client: cannot ignore SIGPIPE");
        return 1;
    }
    return run_clients(&options);
}
