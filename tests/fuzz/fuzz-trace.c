/* fuzz-trace.c - libFuzzer target for everything that reads a trace: the
 * reader (format/reader.c and the record decoders behind it) and every
 * mtrace-analyze subcommand (info, top, leaks, and fit / numa when they are
 * linked in), run in process on a trace built from the input.
 *
 * Input: one flags byte (bit 0: --json; bit 1: no valid "format" record is
 * written first), then records, each
 *     u8 database (mod 6: meta events stacks modules threads counters)
 *     u8 key length, key bytes, u16 LE value length, value bytes
 * stored raw, exactly as given, into a fresh LMDB environment (the seeds,
 * from gen-seeds.c, are real writer output). Whatever the bytes, a command
 * must print its report or one error line and return 0, 1 or 2, never crash,
 * hang or leak. MT_FUZZ_SKIP (a list of command names) leaves some out.
 */
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"
#include "internal.h" /* analyze/ */

/* format/internal.h: the layout the writer uses. Both are named internal.h,
 * so declare the two things needed here. */
extern const char *const mt__db_names[];
#define MT__DB_COUNT 6
size_t mt__format_record_encode(uint8_t out[16], uint32_t version);

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
    snprintf(dir, sizeof dir, "%s/mtrace-fuzz-trace.XXXXXX", base);
    if (!mkdtemp(dir))
        abort();
    /* Reports go nowhere; the analyzer's stdio stderr too (libFuzzer and the
     * sanitizers keep writing to file descriptor 2). */
    if (!freopen("/dev/null", "w", stdout))
        abort();
    if (!getenv("MT_FUZZ_VERBOSE"))
        stderr = fopen("/dev/null", "w");
    return 0;
}

static void clean(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
}

/* Builds the trace; returns 0 when it has something to read. */
static int build(const uint8_t *p, size_t n, int flags)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi[MT__DB_COUNT];
    const uint8_t *end = p + n;

    clean();
    if (mdb_env_create(&env))
        return -1;
    if (mdb_env_set_maxdbs(env, MT__DB_COUNT) || mdb_env_set_mapsize(env, 8u << 20) ||
        mdb_env_open(env, dir, MDB_NOSYNC, 0600) || mdb_txn_begin(env, NULL, 0, &txn)) {
        mdb_env_close(env);
        return -1;
    }
    for (int i = 0; i < MT__DB_COUNT; i++)
        if (mdb_dbi_open(txn, mt__db_names[i], MDB_CREATE, &dbi[i]))
            goto fail;
    if (!(flags & 2)) {
        uint8_t rec[16];
        MDB_val k = {6, "format"}, v = {mt__format_record_encode(rec, MT_FORMAT_VERSION), rec};
        if (mdb_put(txn, dbi[0], &k, &v, 0))
            goto fail;
    }
    while (end - p >= 2) {
        int db = p[0] % MT__DB_COUNT;
        size_t klen = p[1];
        p += 2;
        if ((size_t)(end - p) < klen + 2)
            break;
        MDB_val k = {klen, (void *)p};
        p += klen;
        size_t vlen = (size_t)p[0] | (size_t)p[1] << 8;
        p += 2;
        if ((size_t)(end - p) < vlen)
            vlen = (size_t)(end - p);
        MDB_val v = {vlen, (void *)p};
        p += vlen;
        if (klen > 0) /* an empty key is refused by LMDB anyway */
            mdb_put(txn, dbi[db], &k, &v, 0);
    }
    if (mdb_txn_commit(txn)) {
        mdb_env_close(env);
        return -1;
    }
    mdb_env_close(env);
    return 0;
fail:
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return -1;
}

static void run(int (*fn)(int, char **), const char *name, const char *opt)
{
    /* MT_FUZZ_SKIP="fit numa": leave commands out (one with a known bug
     * would otherwise stop every run at its first input). */
    const char *skip = getenv("MT_FUZZ_SKIP");
    if (skip && strstr(skip, name))
        return;
    char *argv[6];
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
    if (size < 1 || build(data + 1, size - 1, data[0]) != 0)
        return 0;
    const char *json = data[0] & 1 ? "--json" : NULL;
    run(cmd_info, "info", data[0] & 1 ? "--json" : "-v");
    run(cmd_top, "top", json);
    run(cmd_leaks, "leaks", json);
    if (cmd_fit)
        run(cmd_fit, "fit", json);
    if (cmd_numa)
        run(cmd_numa, "numa", json);
    return 0;
}
