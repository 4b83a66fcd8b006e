/* line_reader.h: cutting a byte stream into lines, with a limit on a line's length.

   TCP delivers a stream of bytes, not messages: one read(2) may return half a line, or three
   lines and a half. The reader keeps the bytes that arrived, hands out each complete line, and
   keeps the rest for later. It never touches a descriptor: the caller reads into the space the
   reader offers and tells it how much arrived. That keeps the rules in one place, where a test
   or a fuzzer can feed it bytes in any chunks. */
#ifndef LINE_READER_H
#define LINE_READER_H

#include <stddef.h>

/* The longest line a client may send, not counting its '\n' (the blog post's BUF_SIZE). */
enum { LINE_LIMIT = 1024 };

/* Bytes the reader can hold: a line at the limit plus its '\n' must fit, with room to spare so
   that several short lines can arrive in one read. */
enum { LINE_READER_CAPACITY = 4096 };

enum line_status {
    LINE_READY,      /* a line is ready: *line and *length describe it */
    LINE_INCOMPLETE, /* no complete line yet: read more (or, at end of input, nothing is left) */
    LINE_TOO_LONG,   /* more than `limit` bytes came without a '\n': stop reading this stream */
};

struct line_reader {
    char buffer[LINE_READER_CAPACITY];
    size_t start;   /* first byte not yet handed out */
    size_t scanned; /* bytes from `start` already searched for '\n' (searched once only) */
    size_t end;     /* one past the last byte received */
    size_t limit;   /* longest line allowed, not counting the '\n' */
};

/* Start empty; `limit` is at most LINE_READER_CAPACITY - 1. */
void line_reader_init(struct line_reader *reader, size_t limit);

/* Where the next bytes should go, and how many fit there (always at least one, provided every
   line was taken with line_reader_next until it stopped returning LINE_READY). Invalidates the
   lines handed out before. */
char *line_reader_space(struct line_reader *reader, size_t *room);

/* Tell the reader that `count` bytes were written into its space. */
void line_reader_added(struct line_reader *reader, size_t count);

/* Take the next complete line. On LINE_READY, *line points at its bytes (without the '\n',
   possibly holding NUL bytes) and *length counts them. */
enum line_status line_reader_next(struct line_reader *reader, const char **line, size_t *length);

/* At the end of the input, the bytes after the last '\n' form a final line: LINE_READY if
   there are some, LINE_INCOMPLETE if there are none, LINE_TOO_LONG if there are too many. */
enum line_status line_reader_last(struct line_reader *reader, const char **line, size_t *length);

/* How many bytes are waiting that are not yet part of a complete line. */
size_t line_reader_pending(const struct line_reader *reader);

#endif
