/* fake_server.c: an echo server that can be told to misbehave, for testing the load generator.

   It serves one connection at a time and answers "fake: LINE\n", like a real stage, until it
   has answered -g lines in all; from then on it does what -b says. A load generator that
   passes its tests against this one cannot report a run in which a server answered wrongly. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "option_number.h"
#include "ref_common.h" /* the yardsticks' listening socket, banner and write_all */

static const char usage_text[] =
    "usage: fake_server [-p PORT] [-g GOOD_LINES] [-b BEHAVIOUR] [-q]\n"
    "  -p PORT        port on 127.0.0.1 (default 0: the kernel picks)\n"
    "  -g GOOD_LINES  answer this many lines correctly first (default 0)\n"
    "  -b BEHAVIOUR   then: good (default), wrong (a changed byte), notag (\": LINE\"),\n"
    "                 twice (two replies), drop (close without replying), silent (never reply)\n"
    "  -q             accepted, as the stages' servers take it; this server never logs\n";

enum behaviour { GOOD, WRONG, NOTAG, TWICE, DROP, SILENT };

static enum behaviour behaviour = GOOD;
static long good_lines = 0;
static long answered = 0;

/* Answer one line (without its '\n'); false to close the connection. */
static bool answer(int fd, const char *line, size_t length)
{
    char reply[LINE_LIMIT + 16];
    enum behaviour now = answered < good_lines ? GOOD : behaviour;
    answered++;
    if (now == DROP)
        return false;
    if (now == SILENT)
        return true;
    size_t used = 0;
    if (now != NOTAG) {
        memcpy(reply, "fake", 4);
        used = 4;
    }
    memcpy(reply + used, ": ", 2);
    memcpy(reply + used + 2, line, length);
    used += 2 + length;
    reply[used++] = '\n';
    if (now == WRONG)
        reply[used - 2] ^= 1; /* the last byte of the line, flipped */
    if (!write_all(fd, reply, used))
        return false;
    return now != TWICE || write_all(fd, reply, used);
}

static void serve(int fd)
{
    char buf[LINE_LIMIT + 1];
    size_t used = 0;
    for (;;) {
        ssize_t n = read(fd, buf + used, sizeof buf - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
        char *newline;
        while ((newline = memchr(buf, '\n', used)) != NULL) {
            size_t length = (size_t)(newline - buf);
            if (!answer(fd, buf, length))
                return;
            used -= length + 1;
            memmove(buf, newline + 1, used);
        }
        if (used == sizeof buf)
            return; /* over-long line: just close, this server only tests the client */
    }
    if (used > 0)
        answer(fd, buf, used);
}

int main(int argc, char **argv)
{
    long port = 0;
    int option;
    while ((option = getopt(argc, argv, "p:g:b:qh")) != -1) {
        switch (option) {
        case 'p':
            port = option_number(optarg);
            break;
        case 'g':
            good_lines = option_number(optarg);
            break;
        case 'b':
            if (strcmp(optarg, "good") == 0)
                behaviour = GOOD;
            else if (strcmp(optarg, "wrong") == 0)
                behaviour = WRONG;
            else if (strcmp(optarg, "notag") == 0)
                behaviour = NOTAG;
            else if (strcmp(optarg, "twice") == 0)
                behaviour = TWICE;
            else if (strcmp(optarg, "drop") == 0)
                behaviour = DROP;
            else if (strcmp(optarg, "silent") == 0)
                behaviour = SILENT;
            else {
                fputs(usage_text, stderr);
                return 2;
            }
            break;
        case 'q':
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            fputs(usage_text, stderr);
            return 2;
        }
    }
    if (optind != argc || port < 0 || port > 65535 || good_lines < 0) {
        fputs(usage_text, stderr);
        return 2;
    }
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        perror("fake_server: signal");
        return 1;
    }
    unsigned short bound_port;
    int listen_fd = listen_on_loopback(port, &bound_port);
    if (listen_fd < 0)
        return 1;
    print_banner(bound_port);
    for (;;) { /* until SIGTERM, whose default action ends us */
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno != EINTR && errno != ECONNABORTED)
                perror("fake_server: accept");
            continue;
        }
        serve(fd);
        if (close(fd) < 0)
            perror("fake_server: close");
    }
}
