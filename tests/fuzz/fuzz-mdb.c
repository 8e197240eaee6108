/* fuzz-mdb.c - libFuzzer target for the raw bytes of a trace's LMDB files:
 * data.mdb (page headers, node offsets, overflow runs, meta pages, named
 * database records) and lock.mdb, read by every mtrace-analyze subcommand
 * in process, as a damaged file on disk would be.
 *
 * Input: one flags byte (bit 0: --json; bit 1: lock.mdb given), then, with
 * bit 1, a u32 LE length of data.mdb; then data.mdb; then the rest is
 * lock.mdb. Seeds (gen-seeds.c) are real LMDB environments written through
 * LMDB with the writer's databases. Whatever the bytes, a command must
 * print its report or one error line and return 0, 1 or 2, never crash,
 * hang or leak. MT_FUZZ_SKIP (a list of command names) leaves some out.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"
#include "internal.h" /* analyze/ */

/* Subcommands being written in parallel: called only when linked in. */
int cmd_fit(int argc, char **argv) __attribute__((weak));
int cmd_numa(int argc, char **argv) __attribute__((weak));

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/mtrace-fuzz-mdb.XXXXXX", base);
    if (!mkdtemp(dir))
        abort();
    if (!freopen("/dev/null", "w", stdout))
        abort();
    if (!getenv("MT_FUZZ_VERBOSE"))
        stderr = fopen("/dev/null", "w");
    return 0;
}

/* Writes DIR/NAME = P[N], or removes it when P is NULL. */
static void put(const char *name, const uint8_t *p, size_t n)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
    if (!p)
        return;
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0 || write(fd, p, n) != (ssize_t)n)
        abort();
    close(fd);
}

static void run(int (*fn)(int, char **), const char *name, const char *opt)
{
    const char *skip = getenv("MT_FUZZ_SKIP");
    if (skip && strstr(skip, name))
        return;
    char *argv[4];
    int argc = 0;
    argv[argc++] = (char *)name;
    if (opt)
        argv[argc++] = (char *)opt;
    argv[argc++] = dir;
    argv[argc] = NULL;
    int rc = fn(argc, argv);
    if (rc < 0 || rc > 2)
        abort();
    fflush(stdout);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int flags = data[0];
    const uint8_t *p = data + 1;
    size_t n = size - 1, dlen = n;
    if (flags & 2) {
        if (n < 4)
            return 0;
        dlen = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
        p += 4, n -= 4;
        if (dlen > n)
            dlen = n;
    }
    put("data.mdb", p, dlen);
    put("lock.mdb", flags & 2 ? p + dlen : NULL, n - dlen);
    const char *json = flags & 1 ? "--json" : NULL;
    run(cmd_info, "info", flags & 1 ? "--json" : "-v");
    run(cmd_top, "top", json);
    run(cmd_leaks, "leaks", json);
    if (cmd_fit)
        run(cmd_fit, "fit", json);
    if (cmd_numa)
        run(cmd_numa, "numa", json);
    return 0;
}
