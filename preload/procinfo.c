/* procinfo.c - facts about the process for the trace: metadata at start
 * and resident memory each tick. Runs on the writer thread only. (The
 * module map is modules.c.)
 *
 * The writer never opens and closes a descriptor during a tick: a program
 * that closes all of its descriptors can close it in between and open a file
 * of its own under the number, and the writer's close() would then close the
 * program's file (torture-files close_from_3_each_reuse_count lost its pwrite
 * descriptors that way). What it reads each tick, /proc/self/statm, stays
 * open on a high number from the start, is checked to still be that file
 * before each read, and is never closed: a number that is no longer ours is
 * left alone, and resident memory is then no longer sampled.
 */
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

#define KEPT_FD_FLOOR 100 /* as LMDB's descriptors (format/writer.c) */

/* A /proc file kept open for the writer's ticks. */
typedef struct {
    int fd; /* -1: not open, or lost to the program */
    dev_t dev;
    ino_t ino;
} kept_t;

static kept_t statm = {-1, 0, 0};

/* Opens PATH into K, moved to a number at or above KEPT_FD_FLOOR (a quarter
 * of a low RLIMIT_NOFILE), out of the way of the program's lowest numbers.
 * Called when the trace starts, where LMDB opens its files. */
static void kept_open(kept_t *k, const char *path)
{
    struct rlimit lim;
    struct stat st;
    int floor = KEPT_FD_FLOOR;
    if (k->fd >= 0)
        return; /* still open from an earlier start in this process */
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < (rlim_t)floor * 4)
        floor = (int)(lim.rlim_cur / 4);
    int low = open(path, O_RDONLY | O_CLOEXEC);
    if (low < 0)
        return;
    int fd = low >= floor ? low : fcntl(low, F_DUPFD_CLOEXEC, floor);
    if (fd != low)
        close(low);
    if (fd >= 0 && fstat(fd, &st) == 0) {
        k->fd = fd;
        k->dev = st.st_dev;
        k->ino = st.st_ino;
    } else if (fd >= 0) {
        close(fd);
    }
}

/* Reads K from its start into BUF; -1 once its number is not K's file. */
static ssize_t kept_read(kept_t *k, char *buf, size_t cap)
{
    struct stat st;
    if (k->fd < 0)
        return -1;
    if (fstat(k->fd, &st) != 0 || st.st_dev != k->dev || st.st_ino != k->ino) {
        k->fd = -1; /* the program closed it, and may own the number now */
        return -1;
    }
    /* pread: no file offset moves even if the number changed hands since
     * the check, and pipes, sockets and terminals refuse it (ESPIPE). */
    return pread(k->fd, buf, cap, 0);
}

void mt__proc_setup(void)
{
    kept_open(&statm, "/proc/self/statm");
}

void mt__proc_after_fork(void)
{
    /* Only this thread lives in the child: nothing can reuse the number
     * between the check and the close. The file is the parent's statm. */
    struct stat st;
    if (statm.fd >= 0 && fstat(statm.fd, &st) == 0 && st.st_dev == statm.dev &&
        st.st_ino == statm.ino)
        close(statm.fd);
    statm.fd = -1;
}

uint64_t mt__proc_rss(void)
{
    char buf[128];
    ssize_t n = kept_read(&statm, buf, sizeof buf - 1);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strchr(buf, ' ');
    return p ? strtoull(p + 1, NULL, 10) * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
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
