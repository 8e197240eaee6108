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
 *
 * glibc also leaves through internal calls that no hook sees: daemon()
 * forks and its parent calls the internal _exit, and quick_exit() runs its
 * handlers and then the internal _exit. daemon is wrapped so that its fork's
 * parent handler commits the trace first (as for exec; if the fork fails the
 * trace reopens); quick_exit is met by a handler registered at load, which
 * runs after the program's own. (system, popen and posix_spawn children
 * share our memory until their internal exec: they never touch the trace,
 * and the new image starts its own. _Fork runs no fork handlers: its child
 * stays untraced, and getpid() != mt__pid keeps it off the parent's trace.)
 */
#include <alloca.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
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

/* Set around the real daemon() in the calling thread: 1 while inside it, 2
 * once its fork's parent handler committed the trace. */
static MT__TLS int in_daemon;

void mt__process_fork_parent(void)
{
    if (in_daemon == 1 && ours()) {
        in_daemon = 2;
        mt__scope_t scope = mt__enter();
        mt__writer_sync("daemon");
        mt__leave(scope);
    }
}

/* daemon: the parent never returns (glibc's internal _exit), so its trace is
 * committed as complete, end reason "daemon", in the fork's parent handler;
 * the child goes on per MTRACE_FOLLOW_FORK (own trace, or untraced). */
MT__EXPORT int daemon(int nochdir, int noclose)
{
    if (__atomic_load_n(&mt__state, __ATOMIC_ACQUIRE) == MT__UNINIT)
        mt__init();
    if (!mt__real.daemon) {
        errno = ENOSYS;
        return -1;
    }
    pid_t self = getpid();
    in_daemon = 1;
    int rc = mt__real.daemon(nochdir, noclose);
    int synced = in_daemon == 2 && getpid() == self; /* the fork failed: we go on */
    in_daemon = 0;
    return after_exec(synced, rc);
}

static void on_quick_exit(void)
{
    finish_before("quick_exit");
}

void mt__process_setup(void)
{
    at_quick_exit(on_quick_exit);
}
