/* fuzz_line_reader.c: the line reader (common/line_reader.c) fed arbitrary bytes in arbitrary
   chunks, the way serve_connection feeds it, and checked against the framing rules.

   A libFuzzer target: clang -fsanitize=fuzzer builds it into a fuzzer (tests/check/fuzz.sh);
   where clang has no libFuzzer, fuzz_driver.c gives it a main() that runs a corpus and random
   mutations of it.

   One input is:
     byte 0      the line limit: below 0x80, LINE_LIMIT (1024, the server's); otherwise
                 byte0 - 0x80 (0 to 127), so that short inputs reach the limit too
     bytes 1-4   the seed of the chunk sizes: how many bytes each "read" delivers, from one
                 byte to all the room the reader offers
     the rest    the byte stream a client sends, ended by its EOF
   Inputs shorter than five bytes are skipped.

   The rules checked, against a model that cuts the whole stream at its '\n' bytes:
     - no line longer than the limit is ever delivered;
     - the lines delivered are, byte for byte and in order, the stream's lines up to the first
       over-long one (a final line without '\n' at EOF included);
     - a line is delivered as soon as its '\n' has arrived, and an over-long line is reported
       as soon as more than `limit` of its bytes have arrived, not later;
     - LINE_TOO_LONG comes only when the stream really holds an over-long line there;
     - the reader always offers room for at least one byte, inside its buffer, and never reads
       past the bytes it was given: the rest of the room is filled with '\n' decoys, which a
       reader that looked past the end would take for the end of a line.
   Each broken rule aborts with a line on stderr that says which; libFuzzer (or the driver)
   then saves the input that broke it. AddressSanitizer catches reads and writes out of the
   buffer, UndefinedBehaviorSanitizer the rest. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "line_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stop with the rule that was broken. abort() is what libFuzzer and the driver watch for. */
#define REQUIRE(condition, ...)                                                                    \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "fuzz_line_reader: framing rule broken: " __VA_ARGS__);                \
            fprintf(stderr, "\n  (failed: %s, %s:%d)\n", #condition, __FILE__, __LINE__);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A small, fast generator for the chunk sizes (xorshift32): the same input, the same chunks. */
static uint32_t next_random(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

static size_t chunk_size(uint32_t *state, size_t room)
{
    uint32_t r = next_random(state);
    size_t size;
    switch (r % 8) {
    case 0:
    case 1:
    case 2:
        size = 1 + (r >> 3) % 4; /* a few bytes: lines cut anywhere */
        break;
    case 3:
    case 4:
    case 5:
        size = 1 + (r >> 3) % 64;
        break;
    case 6:
        size = 1 + (r >> 3) % room;
        break;
    default:
        size = room; /* as much as fits: several lines in one read */
        break;
    }
    return size < room ? size : room;
}

/* What the model expects, and how far the reader has got. */
struct check {
    const uint8_t *stream;
    size_t size;     /* bytes in the stream */
    size_t fed;      /* bytes given to the reader so far */
    size_t expected; /* where the next line the reader hands out must start */
    size_t limit;
};

static void check_invariants(const struct line_reader *reader, const struct check *check)
{
    REQUIRE(reader->start <= reader->end && reader->end <= LINE_READER_CAPACITY,
            "the reader's indexes left its buffer (start %zu, end %zu)", reader->start,
            reader->end);
    REQUIRE(reader->scanned <= reader->end - reader->start,
            "the reader searched bytes it does not hold (scanned %zu of %zu)", reader->scanned,
            reader->end - reader->start);
    REQUIRE(line_reader_pending(reader) == check->fed - check->expected,
            "%zu bytes pending in the reader, but %zu were given and not handed out",
            line_reader_pending(reader), check->fed - check->expected);
}

/* A line the reader handed out: it must be the model's next line. `at_eof`: the final line,
   handed out by line_reader_last, which needs no '\n'. */
static void check_line(const struct line_reader *reader, struct check *check, const char *line,
                       size_t length, int at_eof)
{
    REQUIRE(length <= check->limit, "a line of %zu bytes was delivered; the limit is %zu", length,
            check->limit);
    REQUIRE(line >= reader->buffer && line + length <= reader->buffer + reader->end,
            "a line was delivered from outside the bytes the reader holds");
    const uint8_t *from = check->stream + check->expected;
    size_t left = check->size - check->expected;
    const uint8_t *newline = memchr(from, '\n', left);
    size_t want = newline != NULL ? (size_t)(newline - from) : left;
    if (at_eof)
        REQUIRE(newline == NULL, "the final line was delivered while a '\\n' was still ahead");
    else
        REQUIRE(newline != NULL && check->expected + want < check->fed,
                "a line was delivered before its '\\n' arrived");
    REQUIRE(length == want, "a line of %zu bytes was delivered where the input has %zu", length,
            want);
    REQUIRE(memcmp(line, from, length) == 0,
            "the bytes of the line delivered at offset %zu differ from the input", check->expected);
    check->expected += length + (at_eof ? 0 : 1);
}

/* The reader said LINE_TOO_LONG: the stream must hold an over-long line right here, and more
   than `limit` of its bytes must have arrived. */
static void check_too_long(const struct check *check)
{
    const uint8_t *from = check->stream + check->expected;
    size_t left = check->size - check->expected;
    const uint8_t *newline = memchr(from, '\n', left);
    size_t length = newline != NULL ? (size_t)(newline - from) : left;
    REQUIRE(length > check->limit,
            "LINE_TOO_LONG for a line of %zu bytes at offset %zu; the limit is %zu", length,
            check->expected, check->limit);
    REQUIRE(check->fed - check->expected > check->limit,
            "LINE_TOO_LONG before more than the limit of the line had arrived");
}

/* The reader said LINE_INCOMPLETE: no complete line and no over-long one may be waiting. */
static void check_incomplete(const struct check *check)
{
    size_t waiting = check->fed - check->expected;
    REQUIRE(memchr(check->stream + check->expected, '\n', waiting) == NULL,
            "a complete line was held back (its '\\n' is at or before offset %zu)", check->fed - 1);
    REQUIRE(waiting <= check->limit, "%zu bytes without a '\\n' held back; the limit is %zu",
            waiting, check->limit);
}

/* Take every complete line, as answer_complete_lines does. Returns 0, or -1 after
   LINE_TOO_LONG (the server closes the connection there). */
static int take_lines(struct line_reader *reader, struct check *check)
{
    for (;;) {
        const char *line = NULL;
        size_t length = 0;
        enum line_status status = line_reader_next(reader, &line, &length);
        if (status == LINE_READY) {
            check_line(reader, check, line, length, 0);
            check_invariants(reader, check);
            continue;
        }
        if (status == LINE_TOO_LONG) {
            check_too_long(check);
            return -1;
        }
        REQUIRE(status == LINE_INCOMPLETE, "line_reader_next returned %d", (int)status);
        check_incomplete(check);
        check_invariants(reader, check);
        return 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    struct check check = {
        .stream = data + 5,
        .size = size - 5,
        .limit = data[0] < 0x80 ? LINE_LIMIT : (size_t)(data[0] - 0x80),
    };
    uint32_t seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
                    (uint32_t)data[4] << 24;
    uint32_t random_state = seed != 0 ? seed : 0x9E3779B9U;

    /* On the heap, so that AddressSanitizer sees the end of the whole reader. */
    struct line_reader *reader = malloc(sizeof *reader);
    if (reader == NULL)
        return 0;
    line_reader_init(reader, check.limit);
    check_invariants(reader, &check);

    int too_long = 0;
    while (check.fed < check.size && !too_long) {
        size_t room = 0;
        char *space = line_reader_space(reader, &room);
        REQUIRE(room >= 1, "the reader offers no room, though every line was taken");
        REQUIRE(space >= reader->buffer && space + room <= reader->buffer + LINE_READER_CAPACITY,
                "the room offered is outside the reader's buffer");
        REQUIRE(space == reader->buffer + reader->end,
                "the room offered does not follow the bytes held");
        size_t count = chunk_size(&random_state, room);
        if (count > check.size - check.fed)
            count = check.size - check.fed;
        memcpy(space, check.stream + check.fed, count);
        memset(space + count, '\n', room - count); /* decoys past the end of what arrived */
        line_reader_added(reader, count);
        check.fed += count;
        check_invariants(reader, &check);
        too_long = take_lines(reader, &check) < 0;
    }

    if (!too_long) {
        /* The client's EOF: whatever is left is the final line, as answer_last_line does. */
        const char *line = NULL;
        size_t length = 0;
        enum line_status status = line_reader_last(reader, &line, &length);
        if (status == LINE_READY) {
            check_line(reader, &check, line, length, 1);
        } else if (status == LINE_TOO_LONG) {
            check_too_long(&check);
            too_long = 1;
        } else {
            REQUIRE(status == LINE_INCOMPLETE, "line_reader_last returned %d", (int)status);
        }
        if (!too_long)
            REQUIRE(check.expected == check.size,
                    "the input ended with %zu bytes never delivered and no LINE_TOO_LONG",
                    check.size - check.expected);
    }
    free(reader);
    return 0;
}
