/* echo.h: the service every stage offers, whatever its concurrency model.

   A stage decides who serves a connection (the one process, a child, a thread); these
   functions do the serving: read lines, answer "TAG: LINE", log, time out, stop politely. */
#ifndef ECHO_H
#define ECHO_H

#include <stdbool.h>

#include "line_reader.h"
#include "net.h"
#include "options.h"

/* Room for the longest tag, "PID/Thread-N". */
enum { TAG_MAX = 64 };

/* Write this process's PID into `tag`, in decimal: the tag of 01's replies and 02's. */
void tag_with_pid(char tag[TAG_MAX]);

/* How long a stopping server waits for its connections to finish before it ends them. Each
   connection gives itself 2 s to answer what has arrived and close gently (echo.c); the stop's
   deadline (signals.h) comes a second after this. */
enum { SHUTDOWN_GRACE_MS = 3000 };

/* Listen where the options say. On failure, prints
   "server: cannot listen on ADDRESS:PORT: REASON" and returns -1. */
int open_listener(const struct server_options *options);

/* Print the first line of every server, "Server listening on ADDRESS:PORT (PID N)".
   Returns 0, or -1 with errno set. */
int print_banner(int listen_fd);

/* Accept a client that poll(2) said is waiting, and write its address into `peer`. Returns its
   socket, or -1 when there is none after all (another process or thread took it) or accept
   failed. Out of descriptors (EMFILE), it backs off for a moment instead of spinning: the client
   stays in the backlog and is accepted once a descriptor is free; the failure is reported once,
   then at most once a second while it lasts. */
int accept_or_back_off(int listen_fd, char peer[ADDRESS_TEXT_MAX]);

/* Serve one connection until the client's EOF, an over-long line, a timeout, an error, or a stop
   request. Every line gets the reply "TAG: LINE\n", logged on stdout first unless
   `options->quiet`. The idle timeout also bounds each line: one still unfinished that long after
   its first byte ends the connection. At a stop, every complete line that has arrived is
   answered and the connection is closed gently, so that the answers reach the client. `peer`
   names the client in messages on stderr. Does not close `client_fd`: the caller owns it. */
void serve_connection(int client_fd, const char *peer, const char *tag,
                      const struct server_options *options);

/* The same service a step at a time, for a server that waits for many connections in one
   poll(2) instead of serving each to its end (01's Exercise 3). serve_connection is a loop of
   "wait for the client, then serve_readable", with the idle timeout and the stop added.

   One connection's state, kept from one step to the next: the caller owns the memory, the
   functions below own the fields. */
struct connection {
    int fd;
    const char *peer; /* the client's address, for messages on stderr */
    const char *tag;
    const struct server_options *options;
    struct line_reader reader; /* the bytes of the line not yet complete */
    long long line_deadline;   /* when the unfinished line must be complete; 0: none pending */
    long long stop_deadline;   /* once a stop was requested: when to give up; 0 before */
};

/* Make `conn` ready to serve `client_fd`, and make that socket non-blocking: one client's read or
   write must never put the whole server to sleep. `peer`, `tag` and `options` must outlive the
   connection. Returns 0, or -1 with errno set. */
int start_connection(struct connection *conn, int client_fd, const char *peer, const char *tag,
                     const struct server_options *options);

/* Call when poll(2) says the client's socket is readable (POLLIN, or POLLHUP or POLLERR): one
   read(2), then the reply "TAG: LINE\n" to each line it completed (written with write_all, which
   waits, up to the idle timeout, for a client slow to take it). Returns true while the connection
   goes on; false once it is over: the client closed (its last line answered), sent a line too
   long, vanished, or cannot be written to. Then close it with close_connection. The idle timeout
   is the caller's to keep. */
bool serve_readable(struct connection *conn);

/* Close a client's socket, reporting the (rare) failure. */
void close_connection(int client_fd);

#endif
