/* forker.c - process lifecycle fixture: fork without exec, and fork + exec.
 *
 *   forker fork           parent: 2 x malloc(1000), fork, wait, 2 x free
 *                         child:  5 x malloc(200), 2 x free, _exit(0)
 *   forker exec PATH ARG  parent: 1 x malloc(1000), fork, wait, 1 x free
 *                         child:  2 x malloc(300), 1 x free, execv(PATH, ARG...);
 *                         if execv fails: 1 x malloc(50), _exit(127)
 *
 * Exact totals per process (tests/e2e/test-lifecycle.c):
 *   fork:  parent 2 calls 2000 bytes 2 frees; child 5 calls 1000 bytes 2 frees, "_exit"
 *   exec:  parent 1 call  1000 bytes 1 free;  child before exec 2 calls 600 bytes
 *          1 free, "exec"; the exec'd image has its own totals. With a PATH
 *          that cannot be run: child 3 calls 650 bytes 1 free, "_exit".
 * The parent exits with the child's exit status and prints one line.
 */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "example.h"

static int wait_child(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

__attribute__((noinline)) static void child_work(void)
{
    void *p[5];
    for (int i = 0; i < 5; i++) {
        p[i] = malloc(200);
        mt_example_keep(p[i]);
    }
    free(p[0]);
    free(p[1]);
    /* _exit skips atexit handlers and stdio: the BGSAVE child's way out. */
    _exit(p[2] && p[3] && p[4] ? 0 : 1);
}

static int do_fork(void)
{
    void *a = malloc(1000), *b = malloc(1000);
    mt_example_keep(a);
    mt_example_keep(b);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0)
        child_work();
    int rc = wait_child(pid);
    free(a);
    free(b);
    mt_example_say(rc == 0 ? "forker: child exited 0\n" : "forker: child failed\n");
    return rc;
}

static int do_exec(char **argv)
{
    void *a = malloc(1000);
    mt_example_keep(a);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        void *p = malloc(300), *q = malloc(300);
        mt_example_keep(p);
        mt_example_keep(q);
        free(p);
        execv(argv[0], argv);
        void *after = malloc(50); /* the exec failed: still traced */
        mt_example_keep(after);
        _exit(127);
    }
    int rc = wait_child(pid);
    free(a);
    mt_example_say(rc == 0 ? "forker: exec'd child exited 0\n" : "forker: exec'd child failed\n");
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "fork") == 0)
        return do_fork();
    if (argc >= 3 && strcmp(argv[1], "exec") == 0)
        return do_exec(argv + 2);
    mt_example_say("usage: forker fork | forker exec PATH [ARG...]\n");
    return 2;
}
