/* locks.h: locking a mutex and waiting on a condition variable, with the errors checked.

   The pthread functions return their error number instead of setting errno. Locking one of
   our own, correctly initialised mutexes can only fail through a bug in this program, so these
   report the error and abort rather than ask every caller to handle the impossible. */
#ifndef LOCKS_H
#define LOCKS_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

void lock(pthread_mutex_t *mutex);
void unlock(pthread_mutex_t *mutex);

/* Wake one thread waiting on `condition`. */
void wake_one(pthread_cond_t *condition);

/* With `mutex` locked: release it, sleep until woken, lock it again. Wakeups may be spurious,
   so call it in a loop that tests what you are waiting for. */
void wait_on(pthread_cond_t *condition, pthread_mutex_t *mutex);

/* The same, giving up at `deadline` (on CLOCK_REALTIME): false once the deadline has passed. */
bool wait_on_until(pthread_cond_t *condition, pthread_mutex_t *mutex,
                   const struct timespec *deadline);

/* The CLOCK_REALTIME time `ms` milliseconds from now, as wait_on_until wants it. */
struct timespec deadline_after(int ms);

#endif
