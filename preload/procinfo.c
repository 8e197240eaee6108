/* procinfo.c - facts about the process for the trace: metadata at start
 * and resident memory each tick. Runs on the writer thread only. (The
 * module map is modules.c.)
 *
 * The writer never opens and closes a descriptor during a tick: a program
 * that closes all of its descriptors can close it in between and open a file
 * of its own under the number, and the writer's close() would then close the
 * program's file (torture-files close_from_3_each_reuse_count lost its pwrite
 * descriptors that way). What it reads each tick, /proc/self/stat (resident
 * memory, and whether main ended with pthread_exit), stays open on a number
 * at or above 100 from the start, is checked to still be that file before
 * each read, and is never closed by the writer. Only without it (a low
 * RLIMIT_NOFILE, or the program closed it) is stat opened for one read.
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

/* /proc/self/stat, kept open for the writer's ticks: -1 when not open (a
 * limit under 4 * KEPT_FD_FLOOR, where the trace's 3 descriptors are all the
 * program gives up: README "Costs"), or lost to the program. */
static int stat_fd = -1;
static dev_t stat_dev;
static ino_t stat_ino;

void mt__proc_setup(void)
{
    struct rlimit lim;
    struct stat st;
    if (stat_fd >= 0)
        return; /* still open from an earlier start in this process */
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur < (rlim_t)KEPT_FD_FLOOR * 4)
        return;
    /* Opened where the trace starts (as LMDB's files), then moved high,
     * out of the way of the program's lowest numbers. */
    int low = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (low < 0)
        return;
    int fd = low >= KEPT_FD_FLOOR ? low : fcntl(low, F_DUPFD_CLOEXEC, KEPT_FD_FLOOR);
    if (fd != low)
        close(low);
    if (fd >= 0 && fstat(fd, &st) == 0) {
        stat_fd = fd;
        stat_dev = st.st_dev;
        stat_ino = st.st_ino;
    } else if (fd >= 0) {
        close(fd);
    }
}

void mt__proc_after_fork(void)
{
    /* Only this thread lives in a fork child: nothing can reuse the number
     * between the check and the close. The file is the parent's. */
    struct stat st;
    if (stat_fd >= 0 && fstat(stat_fd, &st) == 0 && st.st_dev == stat_dev &&
        st.st_ino == stat_ino)
        close(stat_fd);
    stat_fd = -1;
}

/* /proc/self/stat into BUF (NUL-terminated): from the kept descriptor after
 * checking it is still that file, else opened for this read alone (no kept
 * one; or the program closed it, and may own the number: left alone).
 * Returns a pointer past the ")" that ends the command name, at field 3
 * (the state), or NULL. */
static char *read_stat(char *buf, size_t cap)
{
    struct stat st;
    ssize_t n = -1;
    if (stat_fd >= 0 && (fstat(stat_fd, &st) != 0 || st.st_dev != stat_dev ||
                         st.st_ino != stat_ino))
        stat_fd = -1;
    /* pread: no file offset moves even if the number changed hands since
     * the check, and pipes, sockets and terminals refuse it (ESPIPE). */
    if (stat_fd >= 0)
        n = pread(stat_fd, buf, cap - 1, 0);
    else
        n = read_file("/proc/self/stat", buf, cap - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
    return p && p[1] == ' ' ? p + 2 : NULL;
}

/* Field WANT of stat, P at field 3. */
static const char *stat_field(const char *p, int want)
{
    for (int field = 3; p && field < want; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    return p;
}

uint64_t mt__proc_rss(void)
{
    char buf[1024];
    const char *p = stat_field(read_stat(buf, sizeof buf), 24); /* rss, in pages */
    return p ? strtoull(p, NULL, 10) * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

/* Whether the calling thread is the only one left that can run: the main
 * thread has ended (pthread_exit leaves it a zombie, state Z, that still
 * counts in num_threads) and no other thread exists. The writer asks after
 * each tick; once true it stays true (nothing is left to create a thread). */
int mt__proc_only_caller_left(void)
{
    char buf[1024];
    const char *p = read_stat(buf, sizeof buf);
    if (!p || *p != 'Z')
        return 0;
    p = stat_field(p, 20); /* num_threads */
    return p && strtol(p, NULL, 10) == 2; /* the zombie main thread and the caller */
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
