/* line_reader.c: cutting a byte stream into lines of at most `limit` bytes. */
#include "line_reader.h"

#include <assert.h>
#include <string.h>

void line_reader_init(struct line_reader *reader, size_t limit)
{
    assert(limit < LINE_READER_CAPACITY);
    reader->start = 0;
    reader->scanned = 0;
    reader->end = 0;
    reader->limit = limit;
}

char *line_reader_space(struct line_reader *reader, size_t *room)
{
    if (reader->start > 0) {
        /* Move the unfinished line to the front, so the free space is in one piece. */
        size_t pending = reader->end - reader->start;
        memmove(reader->buffer, reader->buffer + reader->start, pending);
        reader->start = 0;
        reader->end = pending;
    }
    *room = LINE_READER_CAPACITY - reader->end;
    return reader->buffer + reader->end;
}

void line_reader_added(struct line_reader *reader, size_t count)
{
    assert(count <= LINE_READER_CAPACITY - reader->end);
    reader->end += count;
}

enum line_status line_reader_next(struct line_reader *reader, const char **line, size_t *length)
{
    const char *from = reader->buffer + reader->start + reader->scanned;
    size_t unsearched = reader->end - reader->start - reader->scanned;
    const char *newline = memchr(from, '\n', unsearched);
    if (newline == NULL) {
        reader->scanned += unsearched;
        /* More than `limit` bytes and still no '\n': whatever comes next, the line is too long. */
        if (reader->end - reader->start > reader->limit)
            return LINE_TOO_LONG;
        return LINE_INCOMPLETE;
    }
    size_t line_length = (size_t)(newline - (reader->buffer + reader->start));
    if (line_length > reader->limit)
        return LINE_TOO_LONG;
    *line = reader->buffer + reader->start;
    *length = line_length;
    reader->start += line_length + 1;
    reader->scanned = 0;
    return LINE_READY;
}

enum line_status line_reader_last(struct line_reader *reader, const char **line, size_t *length)
{
    enum line_status status = line_reader_next(reader, line, length);
    if (status != LINE_INCOMPLETE)
        return status;
    size_t pending = reader->end - reader->start;
    if (pending == 0)
        return LINE_INCOMPLETE;
    *line = reader->buffer + reader->start;
    *length = pending;
    reader->start = reader->end;
    reader->scanned = 0;
    return LINE_READY;
}

size_t line_reader_pending(const struct line_reader *reader)
{
    return reader->end - reader->start;
}
