/* discover.c - which traces a report reads when it is given none: the
 * newest run in the current directory, as `perf report` reads ./perf.data.
 *
 * A run is one traced process and its traced descendants: fork children
 * (their trace names the parent's pid), exec'd images (same pid, the
 * previous image's trace ended by exec) and children that exec'd without a
 * traced fork (their ppid is the parent's pid). A descendant starts no
 * earlier than its parent and, when the parent ended, no later than its end;
 * that keeps a reused pid of an older run out. The run chosen is the one
 * whose root is an ancestor of the trace that started last.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

/* Slack for "started before its parent ended": the child's first tick and
 * the parent's last one are read from different clocks' snapshots. */
#define END_SLACK_NS 2000000000ull

static bool descends_from(const mt_found_trace_t *child, const mt_found_trace_t *parent)
{
    if (child == parent || child->start_ns < parent->start_ns)
        return false;
    if (parent->ended && child->start_ns > parent->start_ns + parent->duration_ns + END_SLACK_NS)
        return false;
    if (child->parent_pid && child->parent_pid == parent->pid)
        return true; /* a fork child */
    if (child->pid == parent->pid && parent->exec)
        return true; /* the image parent exec'd */
    return !child->parent_pid && child->ppid == parent->pid; /* fork + exec, fork untraced */
}

/* Index of T's closest ancestor among the N traces (the latest-starting
 * candidate), or -1 for a root. */
static long parent_of(const mt_found_trace_t *t, size_t n, size_t i)
{
    long best = -1;
    for (size_t j = 0; j < n; j++) {
        if (descends_from(&t[i], &t[j]) && (best < 0 || t[j].start_ns > t[best].start_ns))
            best = (long)j;
    }
    return best;
}

size_t mt_discover_pick(const mt_found_trace_t *t, size_t n, bool *chosen)
{
    memset(chosen, 0, n * sizeof(*chosen));
    if (n == 0)
        return 0;
    size_t newest = 0;
    for (size_t i = 1; i < n; i++)
        if (t[i].start_ns > t[newest].start_ns)
            newest = i;
    size_t root = newest;
    for (size_t hops = 0; hops < n; hops++) {
        long up = parent_of(t, n, root);
        if (up < 0)
            break;
        root = (size_t)up;
    }
    /* Every trace whose chain of closest ancestors reaches ROOT. */
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        size_t at = i;
        for (size_t hops = 0; hops <= n && at != root; hops++) {
            long up = parent_of(t, n, at);
            if (up < 0)
                break;
            at = (size_t)up;
        }
        if (at == root) {
            chosen[i] = true;
            count++;
        }
    }
    return count;
}

static int by_start(const void *a, const void *b)
{
    const mt_found_trace_t *x = a, *y = b;
    if (x->start_ns != y->start_ns)
        return x->start_ns < y->start_ns ? -1 : 1;
    return strcmp(x->path, y->path);
}

/* Reads the identity of the trace at PATH; false when it is no readable trace. */
static bool identify(const char *path, mt_found_trace_t *out)
{
    mt_reader_t *r;
    if (mt_reader_open(&r, path) != 0)
        return false;
    mt_trace_info_t ti;
    bool ok = mt_reader_info(r, &ti) == 0;
    mt_reader_close(r);
    if (!ok)
        return false;
    memset(out, 0, sizeof(*out));
    out->pid = ti.pid;
    out->ppid = ti.ppid;
    out->parent_pid = ti.parent_pid;
    out->start_ns = ti.start_realtime_ns;
    out->duration_ns = ti.duration_ns;
    out->ended = ti.complete;
    out->exec = ti.complete && strcmp(ti.end_reason, "exec") == 0;
    out->path = strdup(path);
    return out->path != NULL;
}

int mt_discover_scan(const char *dir, char ***paths, size_t *count)
{
    *paths = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno ? errno : EIO;
    mt_found_trace_t *found = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096], data[4200];
        struct stat st;
        snprintf(path, sizeof path, "%s%s%s", strcmp(dir, ".") ? dir : "", strcmp(dir, ".") ? "/" : "",
                 e->d_name);
        snprintf(data, sizeof data, "%s/data.mdb", path);
        if (stat(data, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            mt_found_trace_t *grown = realloc(found, cap * sizeof(*found));
            if (!grown)
                break;
            found = grown;
        }
        if (identify(path, &found[n]))
            n++;
    }
    closedir(d);
    if (n > 1)
        qsort(found, n, sizeof(*found), by_start);
    bool *chosen = calloc(n ? n : 1, sizeof(*chosen));
    char **out = calloc(n ? n : 1, sizeof(*out));
    int rc = 0;
    if (!chosen || !out) {
        rc = ENOMEM;
    } else if (mt_discover_pick(found, n, chosen) > 0) {
        for (size_t i = 0; i < n; i++) {
            if (chosen[i]) {
                out[(*count)++] = found[i].path;
                found[i].path = NULL;
            }
        }
        *paths = out;
        out = NULL;
    }
    for (size_t i = 0; i < n; i++)
        free(found[i].path);
    free(found);
    free(chosen);
    free(out);
    return rc;
}

int mt_discover_traces(const char *dir, char ***paths, size_t *count)
{
    int err = mt_discover_scan(dir, paths, count);
    if (err == ENOMEM)
        return mt_error("out of memory");
    if (err)
        return mt_error("no TRACE given and cannot read the current directory: %s", strerror(err));
    if (!*count) {
        /* A usage error (status 2), in one line: there is nothing to read. */
        free(*paths);
        *paths = NULL;
        mt_error("no TRACE given and no trace in the current directory; record one with "
                 "'mtrace-record PROGRAM' or pass trace directories");
        return MT_EXIT_USAGE;
    }
    fprintf(stderr, "%s: no TRACE given; reading the newest run here:", MT_PROGNAME);
    for (size_t i = 0; i < *count; i++)
        fprintf(stderr, " %s", (*paths)[i]);
    fputc('\n', stderr);
    return 0;
}
