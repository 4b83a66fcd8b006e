/* options.h: the command lines of every server and client (see docs/common.md).

   Every server takes -a -p -i -q -h; a stage adds its own options (02's -m, 04's -w and -t)
   by describing them in a table of `struct stage_option`. Every client takes the same options,
   -a -p -c -j -d -h; a stage sets only their defaults. The parsers print the usage themselves
   and tell main how to end: main alone decides to exit. */
#ifndef OPTIONS_H
#define OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

/* What the parsers ask main to do next. */
enum parse_result {
    OPTIONS_OK,   /* go on and run */
    OPTIONS_HELP, /* -h: the usage is on stdout; exit 0 */
    OPTIONS_BAD,  /* bad usage: a reason and the usage are on stderr; exit EXIT_USAGE */
};

/* The exit status for bad usage, as for most Unix commands. */
enum { EXIT_USAGE = 2 };

/* The longest idle timeout, so that it still fits poll(2)'s int of milliseconds. */
enum { IDLE_SECONDS_MAX = 2000000 };

struct server_options {
    const char *address; /* -a: where to listen */
    char port[8];        /* -p: as text, ready for getaddrinfo; "0" lets the kernel pick */
    int idle_ms;         /* -i, in milliseconds; WAIT_FOREVER for -i 0 */
    bool quiet;          /* -q: no line per response */
};

/* One option of a stage's own, taking a whole number in [min, max]. */
struct stage_option {
    char letter;            /* 'm' for -m */
    const char *value_name; /* "MAX", as the usage shows it */
    const char *help;       /* "at most MAX children at once" */
    long min;
    long max;
    long *value; /* holds the default; receives the value given */
};

/* The most options a stage may add; a stage passing more is a programming error. */
enum { STAGE_OPTIONS_MAX = 8 };

/* Parse a server's command line into `options` and the stage's own `extra` options. */
enum parse_result parse_server_options(int argc, char *argv[], struct server_options *options,
                                       const struct stage_option *extra, size_t extra_count);

/* The longest a slow client (-d) keeps its connection: an hour. */
enum { DELAY_SECONDS_MAX = 3600 };

struct client_options {
    const char *address; /* -a */
    char port[8];        /* -p, required: empty until given */
    long clients;        /* -c: how many clients to run */
    long jobs;           /* -j: how many of them at once, each in a thread */
    long delay_ms;       /* -d, in ms: how long each keeps its connection after its reply */
    const char *message; /* the line each client sends */
};

/* Parse a client's command line. `options` holds the stage's defaults (clients, jobs) on
   entry. */
enum parse_result parse_client_options(int argc, char *argv[], struct client_options *options);

#endif
