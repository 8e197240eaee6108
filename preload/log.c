/* log.c - the shim's only output: short lines on stderr, written with write(2).
 *
 * No stdio (it allocates and may be closed by the host); each warning key is
 * printed at most once per process, so a failing feature never floods.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static int warned[MT__WARN_COUNT];

void mt__vlog(const char *prefix, const char *fmt, va_list ap)
{
    char line[1024];
    int saved = errno;
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
