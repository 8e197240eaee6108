/* exits.c - process endings that glibc reaches through internal calls, which
 * no hook sees: daemon() (fork, then the parent's internal _exit),
 * quick_exit() (its handlers, then the internal _exit), and the main thread's
 * pthread_exit (the process ends with the last thread, through exit(0)).
 *
 *   exits daemon        parent: 3 x malloc(1000), 1 free, daemon(1, 1);
 *                       child:  2 x malloc(500), 1 free, prints, exit(0)
 *   exits quick_exit    3 x malloc(1000), 1 free, quick_exit(0); its
 *                       at_quick_exit handler: 1 x malloc(700)
 *   exits pthread_exit [baseline]
 *                       main starts a worker and calls pthread_exit; the
 *                       worker waits for main to end, then 2 x malloc(500),
 *                       1 free, prints and returns. With "baseline" neither
 *                       thread allocates (the test asserts the difference).
 *   exits system        3 x malloc(1000), 1 free, system("exit 3"), exit(0)
 *   exits popen         3 x malloc(1000), 1 free, popen("echo hi"), reads the
 *                       line, pclose, exit(0)
 *   exits _Fork         3 x malloc(1000), 1 free, _Fork (no fork handlers);
 *                       child: 2 x malloc(500), _exit(0); parent waits, exit(0)
 *
 * Exact totals (tests/e2e/test-lifecycle.c): daemon parent 3 calls 3000 bytes
 * 1 free, end "daemon"; child 2 calls 1000 bytes 1 free, end "exit".
 * quick_exit: 4 calls 3700 bytes 1 free, end "quick_exit". pthread_exit: the
 * baseline plus 5 calls 4000 bytes 2 frees, end "pthread_exit". system, popen
 * and _Fork: the parent's trace as measured there (glibc's own calls
 * included), end "exit"; the shell has a trace of its own, the _Fork child
 * none.
 */
#include <pthread.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "example.h"

__attribute__((noinline)) static void work(int n, size_t size)
{
    void *p[3];
    for (int i = 0; i < n; i++) {
        p[i] = malloc(size);
        mt_example_keep(p[i]);
    }
    free(p[0]);
}

static int do_daemon(void)
{
    work(3, 1000);
    if (daemon(1, 1) != 0)
        return 1;
    work(2, 500);
    mt_example_say("exits: daemon child done\n");
    return 0;
}

static void on_quick_exit(void)
{
    mt_example_keep(malloc(700));
}

static void do_quick_exit(void)
{
    at_quick_exit(on_quick_exit);
    work(3, 1000);
    quick_exit(0);
}

static int baseline;
static pid_t main_tid;

static void *worker(void *arg)
{
    (void)arg;
    /* Wait until the main thread has ended (its /proc state turns Z). */
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)main_tid);
    for (int tries = 0; tries < 5000; tries++) {
        char buf[256];
        int fd = open(path, O_RDONLY);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (n <= 0)
            break;
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        if (p && p[1] == ' ' && p[2] == 'Z')
            break;
        usleep(1000);
    }
    if (!baseline)
        work(2, 500);
    mt_example_say("exits: worker done\n");
    return NULL;
}

static void do_pthread_exit(void)
{
    main_tid = getpid();
    if (!baseline)
        work(3, 1000);
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) != 0)
        exit(1);
    pthread_exit(NULL);
}

static int do_spawns(const char *how)
{
    work(3, 1000);
    if (strcmp(how, "system") == 0) {
        int st = system("exit 3");
        return WIFEXITED(st) && WEXITSTATUS(st) == 3 ? 0 : 1;
    }
    if (strcmp(how, "popen") == 0) {
        FILE *f = popen("echo hi", "r");
        char line[16];
        if (!f || !fgets(line, sizeof line, f))
            return 1;
        return pclose(f) == 0 && strcmp(line, "hi\n") == 0 ? 0 : 1;
    }
    pid_t pid = _Fork();
    if (pid == 0) {
        work(2, 500);
        _exit(0);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        ;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "system") == 0 || strcmp(argv[1], "popen") == 0 ||
                      strcmp(argv[1], "_Fork") == 0))
        return do_spawns(argv[1]);
    if (argc == 2 && strcmp(argv[1], "daemon") == 0)
        return do_daemon();
    if (argc == 2 && strcmp(argv[1], "quick_exit") == 0)
        do_quick_exit();
    if (argc >= 2 && strcmp(argv[1], "pthread_exit") == 0) {
        baseline = argc == 3 && strcmp(argv[2], "baseline") == 0;
        do_pthread_exit();
    }
    mt_example_say("usage: exits daemon | quick_exit | pthread_exit [baseline] | system | popen | _Fork\n");
    return 2;
}
