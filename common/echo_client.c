/* echo_client.c: the client's side of the echo exchange, and the runner that runs many
   clients, one after another or several at once. */
#include "echo_client.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "locks.h"
#include "net.h"
#include "report.h"

/* What one client learnt. */
struct client_run {
    char tag[TAG_MAX];              /* who answered, taken from the reply */
    char why[REASON_TEXT_MAX + 64]; /* on failure, the one-line reason */
    long long connect_ms;           /* on the monotonic clock: just before it connected */
    long long close_ms;             /* and just after it closed */
};

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

/* Sleep `ms` milliseconds. A signal may cut nanosleep short (EINTR); it then says how long
   was left, and we sleep that. Returns 0, or -1 with errno set. */
static int sleep_ms(long ms)
{
    struct timespec left = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    struct timespec rest;
    while (nanosleep(&left, &rest) < 0) {
        if (errno != EINTR)
            return -1;
        left = rest;
    }
    return 0;
}

/* Connect, exchange one line (printing the three lines on `out`), wait -d after the reply, and
   close. Returns 0 when the reply is "TAG: MESSAGE", or -1 with the reason in `run->why`. */
static int run_one_client(const struct client_options *options, FILE *out, struct client_run *run)
{
    run->tag[0] = '\0';
    run->why[0] = '\0';
    char why[REASON_TEXT_MAX];
    run->connect_ms = monotonic_ms();
    int fd = tcp_connect(options->address, options->port, why, sizeof why);
    if (fd < 0) {
        snprintf(run->why, sizeof run->why, "cannot connect to %s:%s: %s", options->address,
                 options->port, why);
        return -1;
    }
    int status = exchange(fd, options, out, run);
    /* A slow client: the reply is in, and the connection stays open a while. */
    if (status == 0 && options->delay_ms > 0 && sleep_ms(options->delay_ms) < 0) {
        snprintf(run->why, sizeof run->why, "cannot wait before closing: %s",
                 error_text(errno, why, sizeof why));
        status = -1;
    }
    if (close(fd) < 0 && status == 0) {
        snprintf(run->why, sizeof run->why, "close: %s", error_text(errno, why, sizeof why));
        status = -1;
    }
    run->close_ms = monotonic_ms();
    return status;
}

/* ---------------------------------------------------------------------------------------------
   The tally: who served how many clients, for the last line.

   The tags are kept in the order first seen, and found again through a hash index: against 02
   and 03 every client brings a new tag, and comparing each with all the tags before it would
   cost time that grows with the square of -c. */

struct tally_entry {
    char tag[TAG_MAX];
    long count;
};

struct tally {
    struct tally_entry *entries; /* in the order first seen */
    size_t used;
    size_t room;   /* entries allocated; a power of two */
    size_t *index; /* 2 * room slots: 0 for an empty one, else 1 + an entry's number */
};

/* FNV-1a, a simple hash that spreads short strings well. */
static size_t hash_tag(const char *tag)
{
    uint32_t hash = 2166136261U;
    for (; *tag != '\0'; tag++)
        hash = (hash ^ (unsigned char)*tag) * 16777619U;
    return hash;
}

/* The slot of `tag` in the index: the one that holds it, or the empty one where it belongs.
   The index is never more than half full, so an empty slot is always found. */
static size_t find_slot(const struct tally *tally, const char *tag)
{
    size_t mask = 2 * tally->room - 1;
    size_t slot = hash_tag(tag) & mask;
    while (tally->index[slot] != 0 && strcmp(tally->entries[tally->index[slot] - 1].tag, tag) != 0)
        slot = (slot + 1) & mask;
    return slot;
}

/* Twice the room, and the index built anew for it. Returns 0, or -1 with errno set. */
static int grow_tally(struct tally *tally)
{
    size_t room = tally->room == 0 ? 16 : 2 * tally->room;
    struct tally_entry *entries = realloc(tally->entries, room * sizeof *entries);
    if (entries == NULL)
        return -1;
    tally->entries = entries;
    size_t *index = calloc(2 * room, sizeof *index);
    if (index == NULL)
        return -1;
    free(tally->index);
    tally->index = index;
    tally->room = room;
    for (size_t i = 0; i < tally->used; i++)
        tally->index[find_slot(tally, tally->entries[i].tag)] = i + 1;
    return 0;
}

/* One more client served by `tag`. Returns 0, or -1 with errno set. */
static int count_tag(struct tally *tally, const char *tag)
{
    if (tally->used == tally->room && grow_tally(tally) < 0)
        return -1;
    size_t slot = find_slot(tally, tag);
    if (tally->index[slot] == 0) {
        struct tally_entry *entry = &tally->entries[tally->used++];
        snprintf(entry->tag, sizeof entry->tag, "%s", tag);
        entry->count = 0;
        tally->index[slot] = tally->used;
    }
    tally->entries[tally->index[slot] - 1].count++;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
   The runner. */

/* What the jobs share: every field below `mutex` is read and written under it. */
struct jobs {
    const struct client_options *options;
    bool summary; /* print the "Clients served" line at the end */
    pthread_mutex_t mutex;
    long next_client; /* clients handed out so far */
    long served;      /* clients whose reply was right */
    long failures;
    long long first_connect_ms, last_close_ms;
    struct tally tally;
};

/* Take the next client to run; false when all are handed out, or once one has failed. */
static bool take_client(struct jobs *jobs)
{
    lock(&jobs->mutex);
    bool take = jobs->next_client < jobs->options->clients && jobs->failures == 0;
    if (take)
        jobs->next_client++;
    unlock(&jobs->mutex);
    return take;
}

/* Count a client that has closed: who served it and when, or its failure, reported. */
static void note_result(struct jobs *jobs, int status, struct client_run *run)
{
    lock(&jobs->mutex);
    if (status == 0 && jobs->summary && count_tag(&jobs->tally, run->tag) < 0) {
        char reason[REASON_TEXT_MAX];
        snprintf(run->why, sizeof run->why, "cannot count who served the clients: %s",
                 error_text(errno, reason, sizeof reason));
        status = -1;
    }
    if (status == 0) {
        if (jobs->served == 0 || run->connect_ms < jobs->first_connect_ms)
            jobs->first_connect_ms = run->connect_ms;
        if (jobs->served == 0 || run->close_ms > jobs->last_close_ms)
            jobs->last_close_ms = run->close_ms;
        jobs->served++;
    } else {
        jobs->failures++;
        report("client: %s", run->why);
    }
    unlock(&jobs->mutex);
}

/* One job: run a client straight onto stdout, each line as it happens. */
static void run_client_in_turn(struct jobs *jobs)
{
    struct client_run run;
    int status = run_one_client(jobs->options, stdout, &run);
    if (status < 0)
        fflush(stdout); /* the lines so far come before the reason */
    note_result(jobs, status, &run);
}

/* One of several jobs: run a client into a memory stream, then print its lines in one piece. */
static void run_client_whole(struct jobs *jobs)
{
    char *lines = NULL;
    size_t size = 0;
    struct client_run run;
    int status = -1;
    FILE *out = open_memstream(&lines, &size);
    if (out == NULL) {
        char reason[REASON_TEXT_MAX];
        snprintf(run.why, sizeof run.why, "open_memstream: %s",
                 error_text(errno, reason, sizeof reason));
    } else {
        status = run_one_client(jobs->options, out, &run);
        if (fclose(out) != 0 && status == 0) {
            char reason[REASON_TEXT_MAX];
            snprintf(run.why, sizeof run.why, "cannot keep a client's output: %s",
                     error_text(errno, reason, sizeof reason));
            status = -1;
        }
    }
    flockfile(stdout); /* the whole block, then the next thread's */
    if (lines != NULL)
        fputs(lines, stdout);
    /* Counted before the next block is printed: the tags are first seen in the blocks' order. */
    note_result(jobs, status, &run);
    funlockfile(stdout);
    free(lines);
}

static void *job_main(void *argument)
{
    struct jobs *jobs = argument;
    while (take_client(jobs))
        run_client_whole(jobs);
    return NULL;
}

/* Start a thread for each job (no more than there are clients) and wait for them all. */
static void run_job_threads(struct jobs *jobs)
{
    const struct client_options *options = jobs->options;
    long count = options->jobs < options->clients ? options->jobs : options->clients;
    pthread_t *threads = calloc((size_t)count, sizeof *threads);
    if (threads == NULL) {
        report_error(errno, "client: out of memory");
        return;
    }
    long started = 0;
    for (long i = 0; i < count; i++) {
        int error = pthread_create(&threads[started], NULL, job_main, jobs);
        if (error != 0)
            report_error(error, "client: pthread_create"); /* the others share the work */
        else
            started++;
    }
    for (long i = 0; i < started; i++) {
        int error = pthread_join(threads[i], NULL);
        if (error != 0)
            report_error(error, "client: pthread_join");
    }
    free(threads);
}

/* "Clients served: 2 in 1.01 s (4251/Thread-1: 1, 4252/Thread-1: 1)", the seconds rounded to
   hundredths. */
static void print_summary(const struct jobs *jobs)
{
    long long hundredths = (jobs->last_close_ms - jobs->first_connect_ms + 5) / 10;
    printf("Clients served: %ld in %lld.%02lld s (", jobs->served, hundredths / 100,
           hundredths % 100);
    for (size_t i = 0; i < jobs->tally.used; i++)
        printf("%s%s: %ld", i == 0 ? "" : ", ", jobs->tally.entries[i].tag,
               jobs->tally.entries[i].count);
    printf(")\n");
}

int run_clients(const struct client_options *options)
{
    struct jobs jobs = {.options = options, .summary = options->jobs > 1 || options->delay_ms > 0};
    int error = pthread_mutex_init(&jobs.mutex, NULL);
    if (error != 0) {
        report_error(error, "client: pthread_mutex_init");
        return 1;
    }
    if (options->jobs == 1) {
        while (take_client(&jobs))
            run_client_in_turn(&jobs);
    } else {
        run_job_threads(&jobs);
    }
    bool ok = jobs.failures == 0 && jobs.served == options->clients;
    if (ok && jobs.summary)
        print_summary(&jobs);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        report("client: cannot write to standard output");
        ok = false;
    }
    pthread_mutex_destroy(&jobs.mutex);
    free(jobs.tally.entries);
    free(jobs.tally.index);
    return ok ? 0 : 1;
}
