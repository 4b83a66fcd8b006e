/* 04-combined client: the blog post's client, run -j JOBS at a time. New here: each job is a
   thread; each client's three lines are printed whole, never mixed with another's, and a last
   line counts how many clients each worker thread (PID/Thread-N) served. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo_client.h"
#include "locks.h"
#include "options.h"
#include "report.h"
#include "signals.h"

/* How many different PID/Thread-N tags the summary can tell apart. */
enum { TALLY_MAX = 1024 };

struct tally_entry {
    char tag[TAG_MAX];
    long count;
};

/* What the job threads share: every field below `mutex` is read and written under it. */
struct jobs {
    const struct client_options *options;
    pthread_mutex_t mutex;
    long next_client; /* clients handed out so far */
    long failures;
    long tally_used;
    struct tally_entry tally[TALLY_MAX];
};

static void count_tag(struct jobs *jobs, const char *tag)
{
    for (long i = 0; i < jobs->tally_used; i++) {
        if (strcmp(jobs->tally[i].tag, tag) == 0) {
            jobs->tally[i].count++;
            return;
        }
    }
    if (jobs->tally_used < TALLY_MAX) {
        struct tally_entry *entry = &jobs->tally[jobs->tally_used++];
        snprintf(entry->tag, sizeof entry->tag, "%s", tag);
        entry->count = 1;
    }
}

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

/* Run one client into a memory stream, then print its lines in one piece. */
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
    funlockfile(stdout);
    free(lines);
    lock(&jobs->mutex);
    if (status == 0) {
        count_tag(jobs, run.tag);
    } else {
        jobs->failures++;
        report("client: %s", run.why);
    }
    unlock(&jobs->mutex);
}

static void *job_main(void *argument)
{
    struct jobs *jobs = argument;
    while (take_client(jobs))
        run_client_whole(jobs);
    return NULL;
}

static int compare_tags(const void *a, const void *b)
{
    return strcmp(((const struct tally_entry *)a)->tag, ((const struct tally_entry *)b)->tag);
}

/* One line: "Clients served: 4251/Thread-1: 2, 4251/Thread-2: 1, ...", sorted by tag. */
static void print_summary(struct jobs *jobs)
{
    qsort(jobs->tally, (size_t)jobs->tally_used, sizeof jobs->tally[0], compare_tags);
    printf("Clients served:");
    for (long i = 0; i < jobs->tally_used; i++)
        printf("%s %s: %ld", i == 0 ? "" : ",", jobs->tally[i].tag, jobs->tally[i].count);
    printf("\n");
}

static int run_clients_at_once(const struct client_options *options)
{
    struct jobs *jobs = calloc(1, sizeof *jobs);
    pthread_t *threads = calloc((size_t)options->jobs, sizeof *threads);
    if (jobs == NULL || threads == NULL) {
        report_error(errno, "client: out of memory");
        free(threads);
        free(jobs);
        return 1;
    }
    jobs->options = options;
    int error = pthread_mutex_init(&jobs->mutex, NULL);
    if (error != 0) {
        report_error(error, "client: pthread_mutex_init");
        free(threads);
        free(jobs);
        return 1;
    }
    long started = 0;
    for (long i = 0; i < options->jobs; i++) {
        error = pthread_create(&threads[started], NULL, job_main, jobs);
        if (error != 0)
            report_error(error, "client: pthread_create"); /* the others share the work */
        else
            started++;
    }
    for (long i = 0; i < started; i++) {
        error = pthread_join(threads[i], NULL);
        if (error != 0)
            report_error(error, "client: pthread_join");
    }
    bool ok = started > 0 && jobs->failures == 0 && jobs->next_client == options->clients;
    if (ok)
        print_summary(jobs);
    pthread_mutex_destroy(&jobs->mutex);
    free(threads);
    free(jobs);
    return ok ? 0 : 1;
}

int main(int argc, char *argv[])
{
    struct client_options options = {.clients = 8, .jobs = 4};
    switch (parse_client_options(argc, argv, &options, true)) {
    case OPTIONS_OK:
        break;
    case OPTIONS_HELP:
        return 0;
    case OPTIONS_BAD:
        return EXIT_USAGE;
    }
    setvbuf(stdout, NULL, _IOLBF, BUFSIZ);
    if (ignore_sigpipe() < 0) {
        report_error(errno, "client: cannot ignore SIGPIPE");
        return 1;
    }
    if (options.jobs == 1)
        return run_clients_in_turn(&options);
    return run_clients_at_once(&options);
}
