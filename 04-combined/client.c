/* 04-combined client: the blog post's client, 8 clients 4 at a time by default. Against this
   server the same few PID/Thread-N tags answer them all, and the last line counts who served
   how many. */
#include <errno.h>
#include <stdio.h>

#include "echo_client.h"
#include "options.h"
#include "report.h"
#include "signals.h"

int main(int argc, char *argv[])
{
    struct client_options options = {.clients = 8, .jobs = 4};
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
