/* echo_client.h: the clients every stage runs, as the blog post's client does it: each
   connects, sends one line, reads the reply, prints three lines and closes. -j runs several at
   once, each job a thread; -d makes each one slow to leave. */
#ifndef ECHO_CLIENT_H
#define ECHO_CLIENT_H

#include "echo.h"
#include "line_reader.h"
#include "options.h"

/* The reply to "MESSAGE" is "TAG: MESSAGE": at most a tag, ": " and a line at the limit. */
enum { REPLY_LIMIT = TAG_MAX + 2 + LINE_LIMIT };

/* How long a client waits for its reply before giving up. */
enum { REPLY_TIMEOUT_MS = 30 * 1000 };

/* Run options->clients clients, options->jobs of them at a time, and print for each, on
   stdout, three lines: "PID P sending message to server: 'M'", "Sent: N bytes" and
   "PID P received: REPLY". Each client keeps its connection options->delay_ms after its reply,
   then closes.
   - With one job, the clients run one after another on the calling thread, and each line is
     printed as it happens: the blog post's replay.
   - With more, each job is a thread that runs clients until all are handed out; a client's
     three lines are printed in one piece once it has closed, never mixed with another's.
   When jobs is above 1 or delay_ms above 0, one last line follows the last client's:
   "Clients served: N in S.SS s (TAG: COUNT, ...)", the seconds from the first connect to the
   last close, and every tag with how many clients it served, in the order first seen.
   No client is started after one fails; the reason is on stderr, and the last line is left
   out. Returns the exit status: 0 when every reply was "TAG: MESSAGE", else 1. */
int run_clients(const struct client_options *options);

#endif
