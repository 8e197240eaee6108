/* putcount.c - a preload for test-ticks.c, loaded before libmtrace.so: it
 * wraps LMDB's mdb_put and, for each put of one of the keys below made
 * without MDB_APPEND (the writer's ticks, not the compaction's copy at
 * close), appends the key and a newline to $PUTCOUNT_FILE. A key matches
 * as it is (meta names) or after the counter type byte 1 (format 4 keeps
 * counters in meta under that byte, FORMAT.md). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data, unsigned flags)
{
    static const char *const keys[] = {"pvalloc", "malloc", "duration_ns"};
    int (*real)(MDB_txn *, MDB_dbi, MDB_val *, MDB_val *, unsigned);
    *(void **)&real = dlsym(RTLD_NEXT, "mdb_put");
    const char *file = getenv("PUTCOUNT_FILE");
    for (size_t i = 0; file && !(flags & MDB_APPEND) && i < sizeof keys / sizeof keys[0]; i++) {
        size_t len = strlen(keys[i]);
        const char *k = key->mv_data;
        if (key->mv_size == len + 1 && k[0] == 1)
            k++;
        else if (key->mv_size != len)
            continue;
        if (memcmp(k, keys[i], len) != 0)
            continue;
        int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0) {
            char line[32];
            memcpy(line, keys[i], len);
            line[len] = '\n';
            ssize_t w = write(fd, line, len + 1);
            (void)w;
            close(fd);
        }
    }
    return real(txn, dbi, key, data, flags);
}
