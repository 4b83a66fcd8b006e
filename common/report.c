/* report.c: one-line messages on stderr. */
#include "report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { REPORT_LINE_MAX = 1024 };

const char *error_text(int errnum, char *buf, size_t size)
{
    /* With _POSIX_C_SOURCE set, strerror_r is the POSIX one: it returns 0 or an error. */
    if (strerror_r(errnum, buf, size) != 0)
        snprintf(buf, size, "error %d", errnum);
    return buf;
}

/* Write a finished line with one write(2); stderr is unbuffered, so stdio would split it. */
static void write_line(char *line, size_t used)
{
    if (used > REPORT_LINE_MAX - 2)
        used = REPORT_LINE_MAX - 2;
    line[used++] = '\n';
    ssize_t written;
    do
        written = write(STDERR_FILENO, line, used);
    while (written < 0 && errno == EINTR);
    /* If stderr itself fails there is nowhere left to report it. */
}

static size_t format_into(char *line, size_t used, const char *format, va_list args)
{
    int n = vsnprintf(line + used, REPORT_LINE_MAX - used, format, args);
    if (n < 0)
        return used;
    used += (size_t)n;
    return used < REPORT_LINE_MAX ? used : REPORT_LINE_MAX - 1;
}

void report(const char *format, ...)
{
    int saved_errno = errno;
    char line[REPORT_LINE_MAX];
    va_list args;
    va_start(args, format);
    size_t used = format_into(line, 0, format, args);
    va_end(args);
    write_line(line, used);
    errno = saved_errno;
}

void report_error(int errnum, const char *format, ...)
{
    int saved_errno = errno;
    char line[REPORT_LINE_MAX];
    char reason[256];
    va_list args;
    va_start(args, format);
    size_t used = format_into(line, 0, format, args);
    va_end(args);
    int n = snprintf(line + used, REPORT_LINE_MAX - used, ": %s",
                     error_text(errnum, reason, sizeof reason));
    if (n > 0)
        used += (size_t)n;
    write_line(line, used < REPORT_LINE_MAX ? used : REPORT_LINE_MAX - 1);
    errno = saved_errno;
}
