/* locks.c: the pthread calls for mutexes and condition variables, with their errors reported.
   Each can only fail through a bug in this program, so a failure aborts. */
#include "locks.h"

#include <errno.h>
#include <stdlib.h>

#include "report.h"

void lock(pthread_mutex_t *mutex)
{
    int error = pthread_mutex_lock(mutex);
    if (error != 0) {
        report_error(error, "pthread_mutex_lock");
        abort();
    }
}

void unlock(pthread_mutex_t *mutex)
{
    int error = pthread_mutex_unlock(mutex);
    if (error != 0) {
        report_error(error, "pthread_mutex_unlock");
        abort();
    }
}

void wake_one(pthread_cond_t *condition)
{
    int error = pthread_cond_signal(condition);
    if (error != 0) {
        report_error(error, "pthread_cond_signal");
        abort();
    }
}

void wait_on(pthread_cond_t *condition, pthread_mutex_t *mutex)
{
    int error = pthread_cond_wait(condition, mutex);
    if (error != 0) {
        report_error(error, "pthread_cond_wait");
        abort();
    }
}

bool wait_on_until(pthread_cond_t *condition, pthread_mutex_t *mutex,
                   const struct timespec *deadline)
{
    int error = pthread_cond_timedwait(condition, mutex, deadline);
    if (error == ETIMEDOUT)
        return false;
    if (error != 0) {
        report_error(error, "pthread_cond_timedwait");
        abort();
    }
    return true;
}

struct timespec deadline_after(int ms)
{
    struct timespec deadline;
    if (clock_gettime(CLOCK_REALTIME, &deadline) < 0) {
        report_error(errno, "clock_gettime");
        abort();
    }
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) { /* carry the second */
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    return deadline;
}
