/* echo_client.h: one echo client's exchange, as the blog post's client does it, and the loop
   that runs several clients one after another. */
#ifndef ECHO_CLIENT_H
#define ECHO_CLIENT_H

#include <stdio.h>

#include "echo.h"
#include "line_reader.h"
#include "net.h"
#include "options.h"

/* The reply to "MESSAGE" is "TAG: MESSAGE": at most a tag, ": " and a line at the limit. */
enum { REPLY_LIMIT = TAG_MAX + 2 + LINE_LIMIT };

/* How long a client waits for its reply before giving up. */
enum { REPLY_TIMEOUT_MS = 30 * 1000 };

/* What one client learnt. */
struct client_run {
    char tag[TAG_MAX];              /* who answered, taken from the reply */
    char why[REASON_TEXT_MAX + 64]; /* on failure, the one-line reason */
};

/* Connect, send the message and '\n', read one reply line, and print on `out`, as each step
   happens, three lines: "PID P sending message to server: 'M'", "Sent: N bytes" and
   "PID P received: REPLY". Returns 0 when the reply is "TAG: MESSAGE", or -1 with the reason
   in `run->why`. */
int run_one_client(const struct client_options *options, FILE *out, struct client_run *run);

/* Run options->clients clients one after another on stdout. Stops at the first failure, with
   the reason on stderr. Returns the exit status: 0, or 1 on failure. */
int run_clients_in_turn(const struct client_options *options);

#endif
