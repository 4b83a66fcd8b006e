/* echo.h: the service every stage offers, whatever its concurrency model.

   A stage decides who serves a connection (the one process, a child, a thread); these
   functions do the serving: read lines, answer "TAG: LINE", log, time out, stop politely. */
#ifndef ECHO_H
#define ECHO_H

#include "options.h"

/* Room for the longest tag, "PID/Thread-N". */
enum { TAG_MAX = 64 };

/* Write this process's PID into `tag`, in decimal: the tag of 01's replies and 02's. */
void tag_with_pid(char tag[TAG_MAX]);

/* How long a stopping server waits for its connections to finish before it ends them,
   leaving a margin inside the contract's 5 seconds. */
enum { SHUTDOWN_GRACE_MS = 4000 };

/* Listen where the options say. On failure, prints
   "server: cannot listen on ADDRESS:PORT: REASON" and returns -1. */
int open_listener(const struct server_options *options);

/* Print the first line of every server, "Server listening on ADDRESS:PORT (PID N)".
   Returns 0, or -1 with errno set. */
int print_banner(int listen_fd);

/* Accept a client that poll(2) said is waiting. Returns its socket, or -1 when there is none
   after all (another process or thread took it) or accept failed. Out of descriptors
   (EMFILE), it backs off for a moment instead of spinning: the client stays in the backlog
   and is accepted once a descriptor is free. */
int accept_or_back_off(int listen_fd);

/* Serve one connection until the client's EOF, an over-long line, the idle timeout, an error,
   or a stop request. Every line gets the reply "TAG: LINE\n", logged on stdout first unless
   `options->quiet`. Does not close `client_fd`: the caller owns it. */
void serve_connection(int client_fd, const char *tag, const struct server_options *options);

/* Close a client's socket, reporting the (rare) failure. */
void close_connection(int client_fd);

#endif
