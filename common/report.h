/* report.h: one-line messages on stderr, safe to use from many threads and processes. */
#ifndef REPORT_H
#define REPORT_H

#include <stddef.h>

/* Lets the compiler check the format string of report() like printf's. */
#if defined(__GNUC__) || defined(__clang__)
#define PRINTF_LIKE(format_index, first_arg)                                                       \
    __attribute__((format(printf, format_index, first_arg)))
#else
#define PRINTF_LIKE(format_index, first_arg)
#endif

/* Print one line on stderr, in a single write(2) so that lines from different threads or
   processes never mix. */
void report(const char *format, ...) PRINTF_LIKE(1, 2);

/* Like report(), followed by ": " and the text of the error number `errnum`. Takes the number
   rather than reading errno, because the pthread functions return their error instead. */
void report_error(int errnum, const char *format, ...) PRINTF_LIKE(2, 3);

/* The text of an error number, written into `buf` (strerror() is not thread-safe). */
const char *error_text(int errnum, char *buf, size_t size);

#endif
