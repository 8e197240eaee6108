/* fdlimit.c - a program under a low RLIMIT_NOFILE that forks, and in parent
 * and child opens as many files as it can.
 *
 *   fdlimit N     sets RLIMIT_NOFILE to N, then execs itself as "fdlimit run"
 *                 (so the image starts under the limit, as from a shell's
 *                 ulimit -n N)
 *   fdlimit run   forks; the child opens /dev/null until it fails, prints
 *                 "child K from F" (F: the first number it got), closes them
 *                 and exits; then the parent does the same, "parent K from F"
 *
 * No allocation of its own. Under mtrace each process's trace holds 3
 * descriptors (README "Costs"), so K is 3 lower than untraced, and F is the
 * same: the trace's are the top 3 numbers (tests/e2e/test-lifecycle.c).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "example.h"

static void open_all(const char *who)
{
    int fds[1024], n = 0;
    while (n < 1024 && (fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        n++;
    char line[64];
    snprintf(line, sizeof line, "%s %d from %d\n", who, n, n ? fds[0] : -1);
    mt_example_say(line);
    while (n > 0)
        close(fds[--n]);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "run") == 0) {
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid == 0) {
            open_all("child");
            exit(0);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0)
            ;
        open_all("parent");
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    if (argc == 2) {
        struct rlimit lim = {(rlim_t)atoi(argv[1]), (rlim_t)atoi(argv[1])};
        if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
            return 1;
        char *args[] = {argv[0], "run", NULL};
        execv("/proc/self/exe", args);
        return 127;
    }
    mt_example_say("usage: fdlimit N | fdlimit run\n");
    return 2;
}
