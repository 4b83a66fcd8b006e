/* rusage_run.c: run a server and write down the CPU time it used, children and threads included.

   Stevens measures every server design in UNP ch. 30 the same way: the CPU seconds (user +
   system) the server spent, read from its own resource usage once it has exited. We fork, exec
   the server, wait for it, then ask getrusage(RUSAGE_CHILDREN): that counts the server, all its
   threads, and every child of its own that it reaped (the servers reap theirs). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static double seconds_of(struct timeval t)
{
    return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: rusage_run OUTPUT_FILE COMMAND [ARGUMENT...]\n"
                        "Runs COMMAND; when it exits, writes 'user_s= sys_s= cpu_s= status='\n"
                        "to OUTPUT_FILE and exits with COMMAND's status.\n");
        return 2;
    }
    const char *output = argv[1];
    pid_t pid = fork();
    if (pid < 0) {
        perror("rusage_run: fork");
        return 1;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        fprintf(stderr, "rusage_run: cannot run %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    /* Signals for the server go to the server (by its PID). Ctrl-C reaches the whole process
       group: let the server handle it, and stay to collect its usage. Only after the fork, or
       the server would inherit the ignored signals across exec. */
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    if (sigemptyset(&ignore.sa_mask) < 0 || sigaction(SIGINT, &ignore, NULL) < 0 ||
        sigaction(SIGTERM, &ignore, NULL) < 0)
        perror("rusage_run: sigaction");

    int status;
    pid_t done;
    do
        done = waitpid(pid, &status, 0);
    while (done < 0 && errno == EINTR);
    if (done < 0) {
        perror("rusage_run: waitpid");
        return 1;
    }
    struct rusage usage;
    if (getrusage(RUSAGE_CHILDREN, &usage) < 0) {
        perror("rusage_run: getrusage");
        return 1;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    double user = seconds_of(usage.ru_utime), sys = seconds_of(usage.ru_stime);
    FILE *out = fopen(output, "w");
    if (out == NULL) {
        fprintf(stderr, "rusage_run: cannot write %s: %s\n", output, strerror(errno));
        return 1;
    }
    fprintf(out, "user_s=%.3f sys_s=%.3f cpu_s=%.3f status=%d\n", user, sys, user + sys, code);
    if (fclose(out) == EOF) {
        fprintf(stderr, "rusage_run: cannot write %s: %s\n", output, strerror(errno));
        return 1;
    }
    return code;
}
