/* options.c: parsing the servers' and clients' command lines with POSIX getopt(3). */
#include "options.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "line_reader.h"

enum { OPTSTRING_MAX = 64 };

static const char default_message[] = "Hello echo server!";

/* Read a whole number in [min, max] from `text`; "12x", "", " 7", "+7" and "99999999999" are
   refused. */
static bool parse_number(const char *text, long min, long max, long *value)
{
    if (!isdigit((unsigned char)text[0]) && text[0] != '-')
        return false;
    char *end;
    errno = 0;
    long number = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || number < min || number > max)
        return false;
    *value = number;
    return true;
}

static void print_server_usage(FILE *out, const struct stage_option *extra, const long *defaults,
                               size_t extra_count)
{
    fprintf(out, "usage: server [-a ADDRESS] [-p PORT] [-i SECONDS] [-q] [-h]");
    for (size_t i = 0; i < extra_count; i++)
        fprintf(out, " [-%c %s]", extra[i].letter, extra[i].value_name);
    fprintf(out,
            "\n"
            "  -a ADDRESS   address to listen on (default 127.0.0.1; ::1 and :: for IPv6,\n"
            "               0.0.0.0 for every IPv4 interface)\n"
            "  -p PORT      port, 0 to 65535 (default 0: the kernel picks a free one)\n"
            "  -i SECONDS   close a connection that sends nothing for this long\n"
            "               (default 60; 0: wait forever; at most %d)\n"
            "  -q           quiet: no line per response\n"
            "  -h           show this help and exit\n",
            IDLE_SECONDS_MAX);
    for (size_t i = 0; i < extra_count; i++) {
        char flag[32];
        snprintf(flag, sizeof flag, "-%c %s", extra[i].letter, extra[i].value_name);
        fprintf(out, "  %-12s %s (default %ld; %ld to %ld)\n", flag, extra[i].help, defaults[i],
                extra[i].min, extra[i].max);
    }
}

static const struct stage_option *find_stage_option(int letter, const struct stage_option *extra,
                                                    size_t extra_count)
{
    for (size_t i = 0; i < extra_count; i++)
        if (extra[i].letter == letter)
            return &extra[i];
    return NULL;
}

static void build_optstring(char *optstring, size_t size, const char *common,
                            const struct stage_option *extra, size_t extra_count)
{
    /* A leading ':' makes getopt return ':' for a missing value, so we can say which. */
    size_t used = (size_t)snprintf(optstring, size, ":%s", common);
    for (size_t i = 0; i < extra_count && used + 2 < size; i++) {
        optstring[used++] = extra[i].letter;
        optstring[used++] = ':';
    }
    optstring[used] = '\0';
}

/* Complain about what getopt rejected: an unknown option, or one missing its value. */
static void report_getopt_error(const char *program, int result)
{
    if (result == ':')
        fprintf(stderr, "%s: option -%c needs a value\n", program, optopt);
    else
        fprintf(stderr, "%s: unknown option -%c\n", program, optopt);
}

static bool bad_value(const char *program, int letter, const char *text, long min, long max)
{
    fprintf(stderr, "%s: -%c takes a whole number from %ld to %ld, not '%s'\n", program, letter,
            min, max, text);
    return false;
}

static bool take_server_option(int letter, const char *value, struct server_options *options,
                               const struct stage_option *extra, size_t extra_count)
{
    long number;
    switch (letter) {
    case 'a':
        options->address = value;
        return true;
    case 'p':
        if (!parse_number(value, 0, 65535, &number))
            return bad_value("server", 'p', value, 0, 65535);
        snprintf(options->port, sizeof options->port, "%ld", number);
        return true;
    case 'i':
        if (!parse_number(value, 0, IDLE_SECONDS_MAX, &number))
            return bad_value("server", 'i', value, 0, IDLE_SECONDS_MAX);
        options->idle_ms = number == 0 ? WAIT_FOREVER : (int)number * 1000;
        return true;
    case 'q':
        options->quiet = true;
        return true;
    default: {
        const struct stage_option *option = find_stage_option(letter, extra, extra_count);
        if (!parse_number(value, option->min, option->max, option->value))
            return bad_value("server", letter, value, option->min, option->max);
        return true;
    }
    }
}

enum parse_result parse_server_options(int argc, char *argv[], struct server_options *options,
                                       const struct stage_option *extra, size_t extra_count)
{
    options->address = "127.0.0.1";
    snprintf(options->port, sizeof options->port, "0");
    options->idle_ms = 60 * 1000;
    options->quiet = false;

    /* Keep the stage's defaults: the usage shows them even after an option has replaced one. */
    assert(extra_count <= STAGE_OPTIONS_MAX);
    long defaults[STAGE_OPTIONS_MAX];
    for (size_t i = 0; i < extra_count; i++)
        defaults[i] = *extra[i].value;

    char optstring[OPTSTRING_MAX];
    build_optstring(optstring, sizeof optstring, "a:p:i:qh", extra, extra_count);
    opterr = 0; /* we print our own messages, naming the program the same way every time */
    int letter;
    while ((letter = getopt(argc, argv, optstring)) != -1) {
        if (letter == 'h') {
            print_server_usage(stdout, extra, defaults, extra_count);
            return OPTIONS_HELP;
        }
        if (letter == '?' || letter == ':') {
            report_getopt_error("server", letter);
            print_server_usage(stderr, extra, defaults, extra_count);
            return OPTIONS_BAD;
        }
        if (!take_server_option(letter, optarg, options, extra, extra_count)) {
            print_server_usage(stderr, extra, defaults, extra_count);
            return OPTIONS_BAD;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "server: unexpected argument '%s'\n", argv[optind]);
        print_server_usage(stderr, extra, defaults, extra_count);
        return OPTIONS_BAD;
    }
    return OPTIONS_OK;
}

/* The ranges of the client's numbers, as the usage states them. */
enum { CLIENTS_MAX = 1000000, JOBS_MAX = 1000 };

static void print_client_usage(FILE *out, const struct client_options *defaults)
{
    fprintf(out,
            "usage: client [-a ADDRESS] -p PORT [-c CLIENTS] [-j JOBS] [-d SECONDS] [-h] "
            "[MESSAGE]\n"
            "  -a ADDRESS   server address (default 127.0.0.1)\n"
            "  -p PORT      server port, 1 to 65535 (required: the server prints it)\n"
            "  -c CLIENTS   how many clients to run (default %ld; 1 to %d)\n"
            "  -j JOBS      how many of them run at once, each in a thread of the client\n"
            "               (default %ld; 1 to %d; 1 runs them one after another)\n"
            "  -d SECONDS   a slow client: each keeps its connection open SECONDS after its\n"
            "               reply (default 0; 0 to %d, such as 2, 0.5 or 1.25: a digit\n"
            "               before the point, at most 3 after it)\n"
            "  -h           show this help and exit\n"
            "  MESSAGE      the line each client sends (default \"%s\"; no newline,\n"
            "               at most %d bytes are accepted by the server)\n"
            "With -j above 1 or -d above 0, a last line counts the clients served, the seconds\n"
            "they took, and who served them.\n",
            defaults->clients, CLIENTS_MAX, defaults->jobs, JOBS_MAX, DELAY_SECONDS_MAX,
            default_message, LINE_LIMIT);
}

/* Read seconds, whole or with up to three decimals ("2", "0.5", "1.25"), as milliseconds, at
   most `max_seconds`. Only digits and at most one point, with a digit on each side of it:
   "", ".5", "1.", "-1", "+1", " 1", "1e3", "0x1" and "0.0001" are refused. Read by hand: strtod
   would take most of those, and in some locales it wants "0,5". */
static bool parse_seconds(const char *text, long max_seconds, long *ms)
{
    const char *digit = text;
    long whole = 0;
    if (!isdigit((unsigned char)*digit))
        return false;
    for (; isdigit((unsigned char)*digit); digit++) {
        whole = whole * 10 + (*digit - '0');
        if (whole > max_seconds)
            return false;
    }
    long thousandths = 0;
    if (*digit == '.') {
        digit++;
        if (!isdigit((unsigned char)*digit))
            return false;
        for (long scale = 100; isdigit((unsigned char)*digit); digit++, scale /= 10) {
            if (scale == 0)
                return false; /* a fourth decimal: finer than a millisecond */
            thousandths += (*digit - '0') * scale;
        }
    }
    if (*digit != '\0' || whole * 1000 + thousandths > max_seconds * 1000)
        return false;
    *ms = whole * 1000 + thousandths;
    return true;
}

static bool take_client_option(int letter, const char *value, struct client_options *options)
{
    long number;
    switch (letter) {
    case 'a':
        options->address = value;
        return true;
    case 'p':
        if (!parse_number(value, 1, 65535, &number))
            return bad_value("client", 'p', value, 1, 65535);
        snprintf(options->port, sizeof options->port, "%ld", number);
        return true;
    case 'c':
        if (!parse_number(value, 1, CLIENTS_MAX, &options->clients))
            return bad_value("client", 'c', value, 1, CLIENTS_MAX);
        return true;
    case 'j':
        if (!parse_number(value, 1, JOBS_MAX, &options->jobs))
            return bad_value("client", 'j', value, 1, JOBS_MAX);
        return true;
    default: /* 'd' */
        if (!parse_seconds(value, DELAY_SECONDS_MAX, &options->delay_ms)) {
            fprintf(stderr,
                    "client: -d takes seconds from 0 to %d such as 2, 0.5 or 1.25 (a digit "
                    "before the point, at most 3 after it), not '%s'\n",
                    DELAY_SECONDS_MAX, value);
            return false;
        }
        return true;
    }
}

static enum parse_result client_usage_error(const struct client_options *defaults)
{
    print_client_usage(stderr, defaults);
    return OPTIONS_BAD;
}

enum parse_result parse_client_options(int argc, char *argv[], struct client_options *options)
{
    const struct client_options defaults = *options;
    options->address = "127.0.0.1";
    options->port[0] = '\0';
    options->delay_ms = 0;
    options->message = default_message;

    opterr = 0;
    int letter;
    while ((letter = getopt(argc, argv, ":a:p:c:j:d:h")) != -1) {
        if (letter == 'h') {
            print_client_usage(stdout, &defaults);
            return OPTIONS_HELP;
        }
        if (letter == '?' || letter == ':') {
            report_getopt_error("client", letter);
            return client_usage_error(&defaults);
        }
        if (!take_client_option(letter, optarg, options))
            return client_usage_error(&defaults);
    }
    if (options->port[0] == '\0') {
        fprintf(stderr,
                "client: -p PORT is required (the server prints its port when it starts)\n");
        return client_usage_error(&defaults);
    }
    if (argc - optind > 1) {
        fprintf(stderr, "client: one MESSAGE at most; quote it if it has spaces\n");
        return client_usage_error(&defaults);
    }
    if (optind < argc)
        options->message = argv[optind];
    if (strchr(options->message, '\n') != NULL) {
        fprintf(stderr, "client: MESSAGE must not contain a newline: it would be two lines\n");
        return client_usage_error(&defaults);
    }
    return OPTIONS_OK;
}
