/* error.c - the analyzer's diagnostics: one line each on stderr, prefixed
 * with the program name, flushed after stdout so they appear in order. The
 * functions return the exit status the caller passes up to main().
 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static void vreport(const char *prefix, const char *fmt, va_list ap)
{
    fflush(stdout);
    fprintf(stderr, "%s: %s: ", MT_PROGNAME, prefix);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int mt_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("error", fmt, ap);
    va_end(ap);
    return MT_EXIT_ERROR;
}

int mt_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("error", fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, "Run '%s %s --help' for usage.\n", MT_PROGNAME, cmd);
    else
        fprintf(stderr, "Run '%s --help' for usage.\n", MT_PROGNAME);
    return MT_EXIT_USAGE;
}

void mt_warning(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("warning", fmt, ap);
    va_end(ap);
}
