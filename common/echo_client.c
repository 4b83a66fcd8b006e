/* echo_client.c: the client's side of the echo exchange. */
#include "echo_client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "report.h"

static int send_message(int fd, const struct client_options *options, FILE *out,
                        struct client_run *run)
{
    size_t length = strlen(options->message);
    char *line = malloc(length + 1);
    if (line == NULL) {
        snprintf(run->why, sizeof run->why, "out of memory");
        return -1;
    }
    memcpy(line, options->message, length);
    line[length] = '\n';
    fprintf(out, "PID %ld sending message to server: '%s'\n", (long)getpid(), options->message);
    int status = write_all(fd, line, length + 1, REPLY_TIMEOUT_MS);
    int saved_errno = errno;
    free(line);
    if (status < 0) {
        char reason[REASON_TEXT_MAX];
        snprintf(run->why, sizeof run->why, "cannot send to %s:%s: %s", options->address,
                 options->port, error_text(saved_errno, reason, sizeof reason));
        return -1;
    }
    fprintf(out, "Sent: %zu bytes\n", length + 1);
    return 0;
}

/* Read one line into `reader`; a last line without '\n' before the server's EOF counts too. */
static enum line_status receive_reply(int fd, struct line_reader *reader, const char **reply,
                                      size_t *length, struct client_run *run)
{
    char reason[REASON_TEXT_MAX];
    for (;;) {
        enum line_status status = line_reader_next(reader, reply, length);
        if (status != LINE_INCOMPLETE)
            return status;
        if (wait_for(fd, POLLIN, REPLY_TIMEOUT_MS) != WAIT_READY) {
            snprintf(run->why, sizeof run->why, "no reply within %d seconds",
                     REPLY_TIMEOUT_MS / 1000);
            return LINE_INCOMPLETE;
        }
        size_t room;
        char *space = line_reader_space(reader, &room);
        ssize_t n = read(fd, space, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(run->why, sizeof run->why, "cannot read the reply: %s",
                     error_text(errno, reason, sizeof reason));
            return LINE_INCOMPLETE;
        }
        if (n == 0) {
            status = line_reader_last(reader, reply, length);
            if (status == LINE_INCOMPLETE)
                snprintf(run->why, sizeof run->why,
                         "the server closed the connection without a reply");
            return status;
        }
        line_reader_added(reader, (size_t)n);
    }
}

/* Is `reply` "TAG: MESSAGE", with a tag of at least one byte? Then copy the tag. */
static bool reply_matches(const char *reply, size_t length, const char *message, char *tag,
                          size_t tag_size)
{
    size_t message_length = strlen(message);
    if (length < message_length + 3)
        return false;
    size_t tag_length = length - message_length - 2;
    if (tag_length >= tag_size || memcmp(reply + tag_length, ": ", 2) != 0 ||
        memcmp(reply + tag_length + 2, message, message_length) != 0)
        return false;
    memcpy(tag, reply, tag_length);
    tag[tag_length] = '\0';
    return true;
}

static int exchange(int fd, const struct client_options *options, FILE *out, struct client_run *run)
{
    if (send_message(fd, options, out, run) < 0)
        return -1;
    struct line_reader reader;
    line_reader_init(&reader, REPLY_LIMIT);
    const char *reply;
    size_t length;
    enum line_status status = receive_reply(fd, &reader, &reply, &length, run);
    if (status == LINE_TOO_LONG) {
        snprintf(run->why, sizeof run->why, "reply longer than %d bytes", REPLY_LIMIT);
        return -1;
    }
    if (status != LINE_READY)
        return -1;
    fprintf(out, "PID %ld received: ", (long)getpid());
    fwrite(reply, 1, length, out);
    fputc('\n', out);
    if (!reply_matches(reply, length, options->message, run->tag, sizeof run->tag)) {
        snprintf(run->why, sizeof run->why, "unexpected reply: %.*s",
                 (int)(length < 200 ? length : 200), reply);
        return -1;
    }
    return 0;
}

int run_one_client(const struct client_options *options, FILE *out, struct client_run *run)
{
    run->tag[0] = '\0';
    run->why[0] = '\0';
    char why[REASON_TEXT_MAX];
    int fd = tcp_connect(options->address, options->port, why, sizeof why);
    if (fd < 0) {
        snprintf(run->why, sizeof run->why, "cannot connect to %s:%s: %s", options->address,
                 options->port, why);
        return -1;
    }
    int status = exchange(fd, options, out, run);
    if (close(fd) < 0 && status == 0) {
        snprintf(run->why, sizeof run->why, "close: %s", error_text(errno, why, sizeof why));
        status = -1;
    }
    return status;
}

int run_clients_in_turn(const struct client_options *options)
{
    for (long i = 0; i < options->clients; i++) {
        struct client_run run;
        if (run_one_client(options, stdout, &run) < 0) {
            fflush(stdout); /* the lines so far come before the reason */
            report("client: %s", run.why);
            return 1;
        }
    }
    return 0;
}
