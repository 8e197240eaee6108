/* t-spawn - posix_spawn from several threads at once.
 * usage: t-spawn [THREADS] [PER_THREAD]   (t-spawn child K exits K % 4)
 * Prints the sum of the children's exit codes; exits 0. */
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "torture.h"

extern char **environ;
static int per_thread = 10;
static int sum;
static char self[4096];

static void *spawner(void *arg)
{
    int base = (int)(intptr_t)arg;
    for (int i = 0; i < per_thread; i++) {
        char k[16];
        snprintf(k, sizeof k, "%d", base + i);
        char *args[] = {self, "child", k, NULL};
        pid_t pid;
        int rc = posix_spawn(&pid, self, NULL, NULL, args, environ);
        CHECK(rc == 0, "posix_spawn: %s", strerror(rc));
        churn((uint64_t)i, 30);
        int st;
        CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st), "child %s: status %d", k, st);
        __atomic_add_fetch(&sum, WEXITSTATUS(st), __ATOMIC_RELAXED);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "child") == 0) {
        churn((uint64_t)atoi(argv[2]), 50);
        return atoi(argv[2]) % 4;
    }
    int nthreads = argc > 1 ? atoi(argv[1]) : 4;
    if (argc > 2)
        per_thread = atoi(argv[2]);
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(len > 0, "readlink");
    self[len] = '\0';
    pthread_t t[64];
    for (int i = 0; i < nthreads; i++)
        CHECK(pthread_create(&t[i], NULL, spawner, (void *)(intptr_t)(i * 100)) == 0, "create");
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    printf("spawn: %d children, exit codes sum %d\n", nthreads * per_thread, sum);
    return 0;
}
