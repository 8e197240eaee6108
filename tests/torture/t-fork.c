/* t-fork - fork without exec and fork + exec while another thread allocates.
 * usage: t-fork [N]        (t-fork child K: the exec'd image, exits K % 5)
 * Prints the sum of the children's exit codes; exits 0. */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "torture.h"

static int stop;
static uint64_t bg_sum;

static void *background(void *arg)
{
    (void)arg;
    for (uint64_t i = 0; !__atomic_load_n(&stop, __ATOMIC_ACQUIRE); i++)
        bg_sum += churn(i, 50);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "child") == 0) {
        int k = atoi(argv[2]);
        churn((uint64_t)k, 100);
        return k % 5;
    }
    int n = argc > 1 ? atoi(argv[1]) : 12;
    pthread_t bg;
    CHECK(pthread_create(&bg, NULL, background, NULL) == 0, "pthread_create");
    int plain = 0, execd = 0;
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        CHECK(pid >= 0, "fork");
        if (pid == 0) {
            /* Only this thread exists here: allocate, then leave either way. */
            uint64_t s = churn((uint64_t)i, 200);
            if (i % 2)
                _exit((int)(s % 7));
            exit((int)(s % 7));
        }
        int st;
        CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st), "fork child %d: status %d", i, st);
        plain += WEXITSTATUS(st);

        char k[16];
        snprintf(k, sizeof k, "%d", i);
        pid = fork();
        CHECK(pid >= 0, "fork");
        if (pid == 0) {
            char *args[] = {argv[0], "child", k, NULL};
            execv("/proc/self/exe", args);
            _exit(126);
        }
        CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st), "exec child %d: status %d", i, st);
        execd += WEXITSTATUS(st);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    pthread_join(bg, NULL);
    printf("fork: %d plain children sum %d, %d exec'd children sum %d\n", n, plain, n, execd);
    return 0;
}
