/* hooks_process.c - exec and _exit: flush the trace before the image goes.
 *
 * Normal exit flushes from mtrace's destructor (init.c). exec replaces the
 * image and _exit skips destructors, so both commit the trace first: _exit
 * finishes it; exec commits it as complete but keeps recording, since an
 * exec that fails returns to a program that goes on (the trace is then
 * marked incomplete again). A vfork
 * child shares our memory but not our writer thread: it must not touch the
 * trace, which getpid() != mt__pid tells. glibc's execl* and posix_spawn
 * reach the kernel through internal calls, so each public exec entry point
 * is wrapped here.
 */
#include <alloca.h>
#include <errno.h>
#include <stdarg.h>
#include <unistd.h>

#include "internal.h"

static int ours(void)
{
    if (__atomic_load_n(&mt__state, __ATOMIC_ACQUIRE) == MT__UNINIT)
        mt__init(); /* resolves the next definitions we forward to */
    return __atomic_load_n(&mt__state, __ATOMIC_ACQUIRE) == MT__ON && getpid() == mt__pid;
}

/* Commits the trace before an exec; returns whether it did. */
static int before_exec(void)
{
    if (!ours())
        return 0;
    mt__scope_t scope = mt__enter();
    mt__writer_sync("exec");
    mt__leave(scope);
    return 1;
}

/* The exec returned: it failed, and the program goes on being traced. */
static int after_exec(int synced, int rc)
{
    if (synced) {
        int saved = errno;
        mt__writer_reopen();
        errno = saved;
    }
    return rc;
}

static void finish_before(const char *reason)
{
    if (ours())
        mt__finish(reason);
}

MT__EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    int synced = before_exec();
    return after_exec(synced, mt__real.execve(path, argv, envp));
}

MT__EXPORT int execv(const char *path, char *const argv[])
{
    int synced = before_exec();
    return after_exec(synced, mt__real.execv(path, argv));
}

MT__EXPORT int execvp(const char *file, char *const argv[])
{
    int synced = before_exec();
    return after_exec(synced, mt__real.execvp(file, argv));
}

MT__EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    int synced = before_exec();
    return after_exec(synced, mt__real.execvpe(file, argv, envp));
}

MT__EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    int synced = before_exec();
    return after_exec(synced, mt__real.fexecve(fd, argv, envp));
}

/* Collects execl-style arguments (up to the NULL) into an array on the stack. */
#define COLLECT_ARGS(argv, first, ap)                      \
    do {                                                   \
        va_list count_ap;                                  \
        va_copy(count_ap, ap);                             \
        size_t n = 1;                                      \
        while (va_arg(count_ap, const char *) != NULL)     \
            n++;                                           \
        va_end(count_ap);                                  \
        argv = alloca((n + 1) * sizeof *argv);             \
        argv[0] = (char *)(first);                         \
        for (size_t i = 1; i <= n; i++)                    \
            argv[i] = va_arg(ap, char *);                  \
    } while (0)

MT__EXPORT int execl(const char *path, const char *arg, ...)
{
    char **argv;
    va_list ap;
    va_start(ap, arg);
    COLLECT_ARGS(argv, arg, ap);
    va_end(ap);
    return execv(path, argv);
}

MT__EXPORT int execlp(const char *file, const char *arg, ...)
{
    char **argv;
    va_list ap;
    va_start(ap, arg);
    COLLECT_ARGS(argv, arg, ap);
    va_end(ap);
    return execvp(file, argv);
}

MT__EXPORT int execle(const char *path, const char *arg, ...)
{
    char **argv;
    va_list ap;
    va_start(ap, arg);
    COLLECT_ARGS(argv, arg, ap);
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return execve(path, argv, envp);
}

MT__EXPORT void _exit(int status)
{
    finish_before("_exit");
    mt__real.exit_(status);
}

MT__EXPORT void _Exit(int status)
{
    finish_before("_exit");
    mt__real.Exit_(status);
}
