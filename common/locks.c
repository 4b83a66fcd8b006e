/* locks.c: pthread_mutex_lock and pthread_mutex_unlock, with their errors reported. */
#include "locks.h"

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
