/* io.h: waiting for a descriptor with a timeout, and writing a whole buffer.

   The waits of a serving server also watch the stop pipes (signals.h), so a server that is
   asked to stop never sleeps through the request, whatever it was waiting for. A server that is
   already stopping uses the waits that ignore them, with a timeout of its own. */
#ifndef IO_H
#define IO_H

#include <stdbool.h>
#include <stddef.h>

/* A timeout meaning "wait as long as it takes". */
enum { WAIT_FOREVER = -1 };

enum wait_result {
    WAIT_READY,   /* the descriptor is ready (or has an error or end-of-file to report) */
    WAIT_TIMEOUT, /* nothing happened for the whole timeout */
    WAIT_STOP,    /* a stop was requested */
    WAIT_FAILED,  /* poll(2) itself failed; errno says why */
};

/* Wait until `fd` is ready for `events` (POLLIN or POLLOUT), a stop is requested, or
   `timeout_ms` milliseconds pass (WAIT_FOREVER: no limit). A stop wins over readiness.
   An fd of -1 waits for the stop or the timeout only. Signals that interrupt the wait do not
   restart the clock: the wait resumes with the time that is left. */
enum wait_result wait_for(int fd, short events, int timeout_ms);

/* Wait until `fd` or `other_fd` is readable, or a stop is requested. A descriptor of -1 is left
   out. Returns WAIT_STOP, WAIT_FAILED, or WAIT_READY with *fd_ready and *other_ready saying
   which is readable: one or both, so the caller can handle both in one turn. */
enum wait_result wait_for_either(int fd, int other_fd, bool *fd_ready, bool *other_ready);

/* Wait until `fd` is ready for `events` or `timeout_ms` pass, whether or not a stop was
   requested: for the waits of a server that is already stopping. Returns WAIT_READY,
   WAIT_TIMEOUT or WAIT_FAILED. */
enum wait_result wait_ignoring_stop(int fd, short events, int timeout_ms);

/* Milliseconds on the monotonic clock, which never jumps when someone sets the date. */
long long monotonic_ms(void);

/* Write all `length` bytes of `data` to the non-blocking `fd`, however many write(2) calls that
   takes. Between pieces it waits at most `timeout_ms` for the peer to make room. Returns 0, or
   -1 with errno set: ETIMEDOUT if the peer took nothing for that long, ECANCELED if a stop was
   requested meanwhile, EPIPE or ECONNRESET if the peer is gone. */
int write_all(int fd, const void *data, size_t length, int timeout_ms);

/* The same for a server that is already stopping: a stop does not end its waits, so the
   answers it still owes get out; `timeout_ms` bounds the whole write (ETIMEDOUT). */
int write_all_while_stopping(int fd, const void *data, size_t length, int timeout_ms);

#endif
