/* locks.h: locking and unlocking a mutex, with the error checked.

   The pthread functions return their error number instead of setting errno. Locking one of
   our own, correctly initialised mutexes can only fail through a bug in this program, so these
   report the error and abort rather than ask every caller to handle the impossible. */
#ifndef LOCKS_H
#define LOCKS_H

#include <pthread.h>

void lock(pthread_mutex_t *mutex);
void unlock(pthread_mutex_t *mutex);

#endif
