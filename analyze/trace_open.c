/* trace_open.c - opening trace directories for every subcommand, and turning
 * each reader error into one line that says what is wrong with which trace
 * and what to do about it. The reader (format/) does the checking; this
 * file only looks at the file system to tell similar cases apart.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

#define RECORD_HINT "did the program run with LD_PRELOAD=libmtrace.so?"

/* 1 if PATH/NAME exists, 0 if not, -errno on other stat errors. */
static int has_file(const char *path, const char *name)
{
    char buf[4096 + 64];
    struct stat st;
    if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", path, name) >= sizeof(buf))
        return -ENAMETOOLONG;
    if (stat(buf, &st) == 0)
        return 1;
    return errno == ENOENT ? 0 : -errno;
}

static int report_open_error(const char *path, int err)
{
    struct stat st;
    switch (err) {
    case ENOENT:
        return mt_error("cannot open trace %s: no such file or directory; traces are "
                        "directories named mtrace.<command>.<pid>, check the path",
                        path);
    case ENOTDIR:
        if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
            const char *base = strrchr(path, '/');
            base = base ? base + 1 : path;
            if (strcmp(base, "data.mdb") == 0 || strcmp(base, "lock.mdb") == 0)
                return mt_error("cannot open trace %s: this is a file inside a trace; "
                                "pass the directory that contains it",
                                path);
            return mt_error("not an mtrace trace: %s is a file, not a trace directory; "
                            "pass a directory named mtrace.<command>.<pid>",
                            path);
        }
        return mt_error("cannot open trace %s: a component of the path is not a "
                        "directory; check the path",
                        path);
    case EACCES:
    case EPERM:
        return mt_error("cannot open trace %s: permission denied; traces are private "
                        "to the user who recorded them (mode 0700), run as that user",
                        path);
    case MT_ENOTTRACE:
        if (has_file(path, "data.mdb") == 0)
            return mt_error("not an mtrace trace: %s has no data.mdb; " RECORD_HINT, path);
        return mt_error("not an mtrace trace: %s/data.mdb has no mtrace format record "
                        "(another program's LMDB database, or a trace whose first tick "
                        "was never committed); " RECORD_HINT,
                        path);
    case MT_ENEWER:
        return mt_error("%s: written by a newer mtrace (trace format newer than %u); "
                        "upgrade mtrace-analyze",
                        path, MT_FORMAT_VERSION);
    case MT_EOLDER:
        return mt_error("%s: written by an older mtrace (trace format older than %u) "
                        "that this mtrace-analyze cannot read; use the mtrace-analyze "
                        "release that recorded it",
                        path, MT_FORMAT_VERSION);
    case MT_ECORRUPT:
        return mt_error("%s: corrupt trace: data.mdb is not a valid LMDB database or its "
                        "format record is damaged; the trace cannot be read, record it again",
                        path);
    case MT_ELMDB:
        return mt_error("cannot open trace %s: the LMDB database could not be opened "
                        "(damaged data.mdb or lock.mdb, or out of address space); "
                        "check the files, or record again",
                        path);
    default:
        return mt_error("cannot open trace %s: %s", path, mt_strerror(err));
    }
}

int mt_trace_open(const char *path, mt_reader_t **r)
{
    *r = NULL;
    int err = mt_reader_open(r, path);
    if (err == 0)
        return MT_EXIT_OK;
    *r = NULL; /* the reader frees what it allocated when it fails */
    return report_open_error(path, err);
}

int mt_trace_error(const char *path, const char *what, int err)
{
    if (err == MT_ECORRUPT)
        return mt_error("%s: corrupt trace: %s cannot be decoded; the rest of the trace "
                        "may still be readable with other subcommands",
                        path, what);
    return mt_error("%s: cannot read %s: %s", path, what, mt_strerror(err));
}
