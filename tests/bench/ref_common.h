/* ref_common.h: what the benchmark's yardsticks share (ref_server.c, the blocking models, and
   ref_event.c, the event loop): the listening socket, the banner, the reply, the tag, the stop.
   They link none of the stages' code: a yardstick is the least a server of its model can do. */
#ifndef REF_COMMON_H
#define REF_COMMON_H

#include <stdbool.h>
#include <stddef.h>

enum {
    LINE_LIMIT = 1024, /* the protocol's longest line, without its '\n' */
    TAG_SIZE = 32,     /* room for the longest tag a yardstick makes, "Thread-N" */
    REPLY_SIZE = TAG_SIZE + 2 + LINE_LIMIT + 1,
};

/* The protocol's answer to a line longer than LINE_LIMIT, and its length. */
extern const char too_long_reply[];
extern const size_t too_long_length;

/* A socket listening on 127.0.0.1:port with the system's largest backlog, or -1 (the reason on
   stderr). *bound_port is the port it got, the kernel's choice when port is 0. */
int listen_on_loopback(long port, unsigned short *bound_port);

/* The contract's first line, "Server listening on 127.0.0.1:PORT (PID N)", line-buffered. */
void print_banner(unsigned short port);

/* Write all of buf to a blocking descriptor; false on an error (the client went away). */
bool write_all(int fd, const char *buf, size_t length);

/* "TAG: LINE\n" into out (REPLY_SIZE bytes); returns its length. */
size_t format_reply(char *out, const char *tag, size_t tag_length, const char *line, size_t length);

/* number in decimal, at the end of buffer; returns where it starts, and its length in
   *length. Not snprintf, and no library call at all: in a new child, each stretch of library
   code it runs costs a page fault (docs/02-forking.md, "What a fork copies"), which the fork
   yardstick must not pay. */
char *decimal_tag(char buffer[TAG_SIZE], unsigned long number, size_t *length);

/* SIGTERM and SIGINT: wait for every child there is (so that their CPU time reaches the
   server's getrusage(RUSAGE_CHILDREN)), print "Server shutting down", _exit(0); a child that
   gets the signal just exits. SIGPIPE is ignored: a client that goes away is an EPIPE. A
   yardstick has no clients to finish: the exit ends every thread at once. -1 with errno set. */
int install_stop_signals(void);

#endif
