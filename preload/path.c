/* path.c - where the trace goes: the MTRACE_OUT template, resolved once.
 *
 * %p is the pid, %e the command, %% a percent sign. A relative template is
 * anchored at the working directory seen at start, so a later chdir (daemons)
 * changes nothing. An existing directory is never reused: .1, .2, ... is
 * appended instead (an exec'd image keeps the pid). Each trace directory
 * made is announced in MTRACE_MANIFEST, which mtrace-record reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static char start_cwd[4096];

void mt__path_capture_cwd(void)
{
    if (!getcwd(start_cwd, sizeof start_cwd))
        start_cwd[0] = '\0';
}

static void command_name(char *out, size_t cap)
{
    const char *name = program_invocation_short_name;
    size_t n = 0;
    for (; name && name[n] && n + 1 < cap; n++) {
        char c = name[n];
        out[n] = (c == '/' || c < ' ' || c == 127) ? '_' : c;
    }
    out[n] = '\0';
    if (n == 0)
        snprintf(out, cap, "unknown");
}

static int append(char *out, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > cap)
        return -1;
    memcpy(out + *len, s, n + 1);
    *len += n;
    return 0;
}

int mt__path_resolve(char *out, size_t cap, const char *tmpl, pid_t pid)
{
    size_t len = 0;
    out[0] = '\0';
    if (tmpl[0] != '/') {
        if (!start_cwd[0] || append(out, cap, &len, start_cwd) || append(out, cap, &len, "/"))
            return -1;
    }
    while (tmpl[0] == '.' && tmpl[1] == '/')
        tmpl += 2;
    for (const char *s = tmpl; *s; s++) {
        char piece[256];
        if (s[0] == '%' && s[1] == 'p') {
            snprintf(piece, sizeof piece, "%d", (int)pid);
            s++;
        } else if (s[0] == '%' && s[1] == 'e') {
            command_name(piece, sizeof piece);
            s++;
        } else if (s[0] == '%' && s[1] == '%') {
            snprintf(piece, sizeof piece, "%%");
            s++;
        } else {
            piece[0] = *s;
            piece[1] = '\0';
        }
        if (append(out, cap, &len, piece))
            return -1;
    }
    while (len > 1 && out[len - 1] == '/')
        out[--len] = '\0';
    struct stat st;
    if (lstat(out, &st) != 0)
        return 0; /* free (or unreadable: the writer reports why) */
    for (int suffix = 1; suffix < 1000; suffix++) {
        char numbered[32];
        snprintf(numbered, sizeof numbered, ".%d", suffix);
        if (len + strlen(numbered) + 1 > cap)
            return -1;
        memcpy(out + len, numbered, strlen(numbered) + 1);
        if (lstat(out, &st) != 0)
            return 0;
    }
    return -1;
}

void mt__path_announce(const char *dir)
{
    if (!mt__opt.manifest[0])
        return;
    char line[MT__OPT_TEXT + 1];
    int n = snprintf(line, sizeof line, "%s\n", dir);
    if (n <= 0 || (size_t)n >= sizeof line)
        return;
    /* One O_APPEND write a line: a fork child and its parent never interleave. */
    int fd = open(mt__opt.manifest, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return;
    ssize_t w = write(fd, line, (size_t)n);
    (void)w;
    close(fd);
}
