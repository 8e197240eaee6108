/* procinfo.c - facts about the process for the trace: metadata at start
 * and resident memory each tick. Runs on the writer thread only. (The
 * module map is modules.c.)
 */
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static ssize_t read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    while (len < cap) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    return (ssize_t)len;
}

uint64_t mt__proc_rss(void)
{
    char buf[128];
    ssize_t n = read_file("/proc/self/statm", buf, sizeof buf - 1);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strchr(buf, ' ');
    return p ? strtoull(p + 1, NULL, 10) * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

/* Whether the calling thread is the only one left that can run: the main
 * thread has ended (pthread_exit leaves it a zombie, state Z, that still
 * counts in num_threads) and no other thread exists. The writer asks after
 * each tick; once true it stays true (nothing is left to create a thread). */
int mt__proc_only_caller_left(void)
{
    char buf[1024];
    ssize_t n = read_file("/proc/self/stat", buf, sizeof buf - 1);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
    if (!p || p[1] != ' ' || p[2] != 'Z')
        return 0;
    /* Field 3 is the state; num_threads is field 20. */
    p += 2;
    for (int field = 3; field < 20; field++) {
        p = strchr(p, ' ');
        if (!p)
            return 0;
        p++;
    }
    return strtol(p, NULL, 10) == 2; /* the zombie main thread and the caller */
}

int mt__proc_write_meta(mt_writer_t *w, pid_t parent_pid)
{
    char buf[8192];
    int rc = 0;
    const char *comm = program_invocation_short_name ? program_invocation_short_name : "";
    rc = rc ? rc : mt_writer_put_meta(w, MT_META_COMMAND, comm, strlen(comm));
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    rc = rc ? rc : mt_writer_put_meta(w, MT_META_EXE, buf, n > 0 ? (size_t)n : 0);
    n = read_file("/proc/self/cmdline", buf, sizeof buf);
    rc = rc ? rc : mt_writer_put_meta(w, MT_META_ARGV, buf, n > 0 ? (size_t)n : 0);
    struct timespec real, mono;
    clock_gettime(CLOCK_REALTIME, &real);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    uint64_t real_ns = (uint64_t)real.tv_sec * 1000000000u + (uint64_t)real.tv_nsec;
    uint64_t since_start = mt__now();
    rc = rc ? rc : mt_writer_put_meta_u64(w, MT_META_PID, (uint64_t)mt__pid);
    rc = rc ? rc : mt_writer_put_meta_u64(w, MT_META_PPID, (uint64_t)getppid());
    rc = rc ? rc : mt_writer_put_meta_u64(w, MT_META_START_REALTIME, real_ns - since_start);
    rc = rc ? rc : mt_writer_put_meta_u64(w, MT_META_SAMPLE_INTERVAL, mt__opt.sample);
    rc = rc ? rc : mt_writer_put_meta_u64(w, MT_META_PAGE_SIZE, (uint64_t)sysconf(_SC_PAGESIZE));
    rc = rc ? rc : mt_writer_put_meta_u64(w, MT_META_DEPTH, mt__opt.depth);
    rc = rc ? rc : mt_writer_put_meta_u64(w, MT_META_COMPLETE, 0);
    if (parent_pid)
        rc = rc ? rc : mt_writer_put_meta_u64(w, MT_META_PARENT_TRACE, (uint64_t)parent_pid);
    return rc;
}
