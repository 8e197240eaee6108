/* log.c - the shim's only output: short lines on stderr, written with write(2).
 *
 * No stdio (it allocates and may be closed by the host); each warning key is
 * printed at most once per process, so a failing feature never floods. A
 * line goes to fd 2 only while fd 2 is still the file it was at start: a
 * daemon that closed its fds may have opened a file of its own as fd 2, and
 * a warning must never land in it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static int warned[MT__WARN_COUNT];
static dev_t stderr_dev;
static ino_t stderr_ino;
static int stderr_known;

void mt__log_setup(void)
{
    struct stat st;
    stderr_known = fstat(STDERR_FILENO, &st) == 0;
    stderr_dev = st.st_dev;
    stderr_ino = st.st_ino;
}

static int stderr_is_ours(void)
{
    struct stat st;
    return stderr_known && fstat(STDERR_FILENO, &st) == 0 && st.st_dev == stderr_dev &&
           st.st_ino == stderr_ino;
}

void mt__vlog(const char *prefix, const char *fmt, va_list ap)
{
    char line[1024];
    int saved = errno;
    if (!stderr_is_ours())
        return;
    size_t n = (size_t)snprintf(line, sizeof line, "%s", prefix);
    int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    if (m > 0)
        n += (size_t)m < sizeof line - n - 1 ? (size_t)m : sizeof line - n - 2;
    line[n++] = '\n';
    for (size_t off = 0; off < n;) {
        ssize_t w = write(STDERR_FILENO, line + off, n - off);
        if (w <= 0 && errno != EINTR)
            break;
        if (w > 0)
            off += (size_t)w;
    }
    errno = saved;
}

void mt__warn_once(int key, const char *fmt, ...)
{
    if (__atomic_exchange_n(&warned[key], 1, __ATOMIC_RELAXED))
        return;
    va_list ap;
    va_start(ap, fmt);
    mt__vlog("mtrace: warning: ", fmt, ap);
    va_end(ap);
}

void mt__warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mt__vlog("mtrace: warning: ", fmt, ap);
    va_end(ap);
}

void mt__say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mt__vlog("mtrace: ", fmt, ap);
    va_end(ap);
}
