/* writer.c - writes a trace: one LMDB environment, one write txn per tick.
 *
 * Runs on the shim's writer thread, so it never prints, never exits and uses
 * no stdio streams; every failure is a return code. The environment is opened
 * with MDB_NOSYNC: a commit reaches the kernel's page cache (enough to survive
 * SIGKILL and crashes of the process) but is not fsync'ed (a power loss may
 * lose recent ticks), not even at mt_writer_close. A put that fails ends the
 * tick: its txn is aborted, later puts and the commit return the same error.
 */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define MT__MAP_INITIAL (64ull << 20)
#define MT__MAP_MAX (64ull << 30)
#define MT__FD_FLOOR 100 /* LMDB's descriptors are opened at or above this */
#define MT__LMDB_FDS 3   /* mdb_env_open opens data.mdb twice (one O_DSYNC) and lock.mdb */
#define MT__FD_SCAN_MAX 65536
#define MT__COMPACT_MAX (1ull << 20) /* compact at close traces up to this size */

struct mt_writer {
    MDB_env *env;
    MDB_txn *txn; /* the open tick, or NULL */
    MDB_dbi dbi[MT__DB_COUNT];
    uint64_t next_block;      /* sequence number of the next block (first is 1) */
    uint64_t txn_next_block;  /* next_block as seen inside the open tick */
    uint64_t map_size, map_max;
    int tick_err; /* error that ended the open tick early; returned by commit */
    int grew;     /* the last MT_EMAPFULL grew the map */
    dev_t dev;    /* data.mdb, recorded at open for mt_writer_check_fd */
    ino_t ino;
    int fds[MT__LMDB_FDS]; /* LMDB's descriptors (data, lock, meta), -1 unused */
    int fd_floor;          /* where they were opened, at or above (0: anywhere) */
    ino_t fd_ino[MT__LMDB_FDS];
    mt__stackstore_t stacks; /* the prefix tree of stored stacks (stackstore.c) */
    mt__stackgroup_t group;  /* the tick's stacks, stored as groups at the commit */
    char dir[4096];          /* the trace directory, for the compaction at close */
};

/* Best-effort removal of a trace directory that mt_writer_open created but
 * could not finish. */
static void mt__remove_trace_dir(const char *dir)
{
    static const char *const files[] = {"data.mdb", "lock.mdb"};
    char path[4096];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, files[i]) < sizeof path)
            unlink(path);
    rmdir(dir);
}

/* Doubles the map, capped at map_max. Needs no transaction open. */
static void mt__grow(mt_writer_t *w)
{
    w->grew = 0;
    if (w->map_size >= w->map_max)
        return;
    uint64_t size = w->map_size > w->map_max / 2 ? w->map_max : w->map_size * 2;
    if (mdb_env_set_mapsize(w->env, (size_t)size) == 0) {
        w->map_size = size;
        w->grew = 1;
    }
}

/* Ends the open tick after LMDB failed with RC (the txn is unusable). */
static int mt__fail(mt_writer_t *w, int rc)
{
    if (w->txn) {
        mdb_txn_abort(w->txn);
        w->txn = NULL;
    }
    mt__stackstore_rollback(&w->stacks);
    mt__stackgroup_rollback(&w->group);
    if (rc == MDB_MAP_FULL)
        mt__grow(w);
    return w->tick_err = mt__lmdb_error(rc);
}

/* Stores KEY -> VAL in DB inside the open tick. */
static int mt__put(mt_writer_t *w, enum mt__db db, const void *key, size_t klen, const void *val,
                   size_t vlen, unsigned flags)
{
    if (!w->txn)
        return w->tick_err ? w->tick_err : MT_EINVAL;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int rc = mdb_put(w->txn, w->dbi[db], &k, &v, flags);
    return rc ? mt__fail(w, rc) : 0;
}

/* Creates the databases and the format record in the first transaction. */
static int mt__init_env(mt_writer_t *w)
{
    uint8_t rec[MT__FORMAT_RECORD_LEN];
    int rc = mdb_txn_begin(w->env, NULL, 0, &w->txn);
    if (rc) {
        w->txn = NULL;
        return mt__lmdb_error(rc);
    }
    w->txn_next_block = w->next_block;
    /* Counters, modules and threads go into meta (MT__MERGED_VERSION): their
     * own databases stay empty, which takes no page. */
    for (int i = 0; i < MT__DB_COUNT; i++)
        if ((rc = mdb_dbi_open(w->txn, mt__db_names[i], MDB_CREATE, &w->dbi[i])))
            return mt__fail(w, rc);
    size_t len = mt__format_record_encode(rec, MT_FORMAT_VERSION);
    if ((rc = mt__put(w, MT__DB_META, MT_META_FORMAT, strlen(MT_META_FORMAT), rec, len, 0)))
        return rc;
    return mt_writer_commit(w);
}

/* Fills the free descriptors below FLOOR with /dev/null (at most MAX) so that
 * the files LMDB opens next get numbers at or above it; returns how many
 * HELD. A daemon that closes every fd and opens its own files gets the
 * lowest numbers: keeping LMDB's far above them means a reused number almost
 * never points a commit at the program's file (mt_writer_check_fd catches
 * the rest before each commit). One open, then duplicates (the lowest free
 * number each): a hundred opens of /dev/null took 240 us of every start,
 * the duplicates take 50. */
static int mt__hold_low_fds(int floor, int *held, int max)
{
    int n = 0, fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    while (fd >= 0 && fd < floor) {
        held[n++] = fd;
        if (n == max)
            break;
        fd = fcntl(held[0], F_DUPFD_CLOEXEC, 0);
    }
    if (fd >= floor)
        close(fd);
    return n;
}

/* Opens ENV on DIR with LMDB's descriptors moved out of the program's way:
 * at or above MT__FD_FLOOR, or under a limit below 4 * MT__FD_FLOOR, on the
 * top MT__LMDB_FDS numbers the limit allows, so that the program's own files
 * get the numbers they get untraced. With HOLD 0 they go where they fall. */
static int mt__env_open_high(MDB_env *env, const char *dir, int hold, int *held_floor)
{
    int held[MT__FD_FLOOR];
    struct rlimit lim;
    int floor = MT__FD_FLOOR;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < (rlim_t)floor * 4)
        floor = (int)lim.rlim_cur - MT__LMDB_FDS;
    int n = hold ? mt__hold_low_fds(floor, held, MT__FD_FLOOR) : 0;
    *held_floor = hold && floor > 0 ? floor : 0;
    int rc = mdb_env_open(env, dir, MDB_NOSYNC, 0600);
    while (n > 0)
        close(held[--n]);
    return rc;
}

/* Creates W's environment and opens it on DIR. The top numbers may be taken
 * (the program opened them itself): then it opens again where the files
 * fall, since LMDB wants a failed environment closed, not reused. */
static int mt__env_setup(mt_writer_t *w, const char *dir)
{
    for (int hold = 1;; hold = 0) {
        int rc = mdb_env_create(&w->env);
        if (rc) {
            w->env = NULL;
            return rc;
        }
        if (!(rc = mdb_env_set_maxdbs(w->env, MT__DB_COUNT)) &&
            !(rc = mdb_env_set_mapsize(w->env, (size_t)w->map_size)))
            rc = mt__env_open_high(w->env, dir, hold, &w->fd_floor);
        if (rc != EMFILE || !hold)
            return rc;
        mdb_env_close(w->env);
        w->env = NULL;
    }
}

/* Records the descriptors LMDB opened on DIR's data.mdb and lock.mdb (the
 * environment keeps their numbers to itself; mdb_env_get_fd gives one), so
 * that a fork child can close the parent's with mt_writer_forget. The files
 * are new, so every descriptor on them is LMDB's. */
static void mt__find_lmdb_fds(mt_writer_t *w, const char *dir)
{
    struct stat data, lock, st;
    char path[4096];
    for (int i = 0; i < MT__LMDB_FDS; i++)
        w->fds[i] = -1;
    if ((size_t)snprintf(path, sizeof path, "%s/data.mdb", dir) >= sizeof path ||
        stat(path, &data) != 0)
        return;
    if ((size_t)snprintf(path, sizeof path, "%s/lock.mdb", dir) >= sizeof path ||
        stat(path, &lock) != 0)
        return;
    struct rlimit lim;
    int max = MT__FD_SCAN_MAX;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < (rlim_t)max)
        max = (int)lim.rlim_cur;
    /* From the floor up first: they are there unless the numbers were taken. */
    int n = 0, start = w->fd_floor < max ? w->fd_floor : 0;
    for (int i = 0; i < max && n < MT__LMDB_FDS; i++) {
        int fd = (start + i) % max;
        if (fstat(fd, &st) != 0 || st.st_dev != data.st_dev ||
            (st.st_ino != data.st_ino && st.st_ino != lock.st_ino))
            continue;
        w->fds[n] = fd;
        w->fd_ino[n++] = st.st_ino;
    }
}

int mt_writer_open(mt_writer_t **wp, const char *dir, const mt_writer_options_t *opts)
{
    struct stat st;
    int fd, rc;

    *wp = NULL;
    /* mkdir never follows a final symlink: an existing name (link or not) is EEXIST. */
    if (mkdir(dir, 0700) != 0)
        return errno;
    if (lstat(dir, &st) != 0)
        return errno;
    if (!S_ISDIR(st.st_mode)) /* replaced between mkdir and lstat: not ours */
        return S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;

    mt_writer_t *w = calloc(1, sizeof *w);
    if (!w) {
        rmdir(dir);
        return ENOMEM;
    }
    w->map_size = opts && opts->map_initial ? opts->map_initial : MT__MAP_INITIAL;
    w->map_max = opts && opts->map_max ? opts->map_max : MT__MAP_MAX;
    if (w->map_size > w->map_max)
        w->map_size = w->map_max;
    w->next_block = 1;
    snprintf(w->dir, sizeof w->dir, "%s", dir);

    if ((rc = mt__env_setup(w, dir)) || (rc = mdb_env_get_fd(w->env, &fd)))
        goto fail;
    /* LMDB opens data.mdb without O_CLOEXEC: a program that execs (or
     * posix_spawns) must not hand the trace to the new image. */
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 || fstat(fd, &st) != 0) {
        rc = errno;
        goto fail;
    }
    w->dev = st.st_dev;
    w->ino = st.st_ino;
    mt__find_lmdb_fds(w, dir);
    /* Map-full on a map too small for the first txn: grow and retry. */
    while ((rc = mt__init_env(w)) == MT_EMAPFULL && w->grew)
        ;
    if (rc)
        goto fail_mapped;
    *wp = w;
    return 0;

fail:
    rc = mt__lmdb_error(rc);
fail_mapped:
    if (w->env)
        mdb_env_close(w->env);
    free(w);
    mt__remove_trace_dir(dir);
    return rc;
}

int mt_writer_can_grow(const mt_writer_t *w)
{
    return w->grew;
}

int mt_writer_begin(mt_writer_t *w)
{
    if (w->txn)
        return MT_EINVAL;
    w->tick_err = 0;
    int rc = mdb_txn_begin(w->env, NULL, 0, &w->txn);
    if (rc) {
        w->txn = NULL;
        return mt__lmdb_error(rc);
    }
    w->txn_next_block = w->next_block;
    return 0;
}

int mt_writer_put_meta(mt_writer_t *w, const char *key, const void *val, size_t len)
{
    size_t klen = strlen(key);
    if (klen == 0 || klen > 511 || (uint8_t)key[0] < MT__META_NAME_MIN)
        return MT_EINVAL;
    return mt__put(w, MT__DB_META, key, klen, val, len, 0);
}

int mt_writer_put_meta_u64(mt_writer_t *w, const char *key, uint64_t val)
{
    uint8_t v[8];
    mt__put_le64(v, val);
    return mt_writer_put_meta(w, key, v, sizeof v);
}

size_t mt_writer_block_max(const mt_writer_t *w)
{
    /* LMDB's largest leaf node is half a page less its header, minus the
     * node's index slot (me_nodemax); a node is an 8-byte header, the key
     * and the value. */
    MDB_stat st;
    size_t psize = mdb_env_stat(w->env, &st) == 0 ? st.ms_psize : 4096;
    return (((psize - 16) / 2) & ~(size_t)1) - 2 - 8 - 8;
}

int mt_writer_put_block(mt_writer_t *w, const void *block, size_t len)
{
    uint8_t key[8];
    mt__put_be64(key, w->txn_next_block);
    int rc = mt__put(w, MT__DB_EVENTS, key, sizeof key, block, len, MDB_APPEND);
    if (rc == 0)
        w->txn_next_block++;
    return rc;
}

/* Stores the open stack group under its first id. Ids only grow, so it
 * appends (and LMDB fills its pages). */
static int mt__put_stack_group(mt_writer_t *w)
{
    uint8_t key[4];
    const uint8_t *val;
    uint32_t first;
    size_t len;
    if (mt__stackgroup_finish(&w->group, &first, &val, &len))
        return mt__fail(w, ENOMEM);
    mt__put_be32(key, first);
    return len ? mt__put(w, MT__DB_STACKS, key, sizeof key, val, len, MDB_APPEND) : 0;
}

int mt_writer_put_stack(mt_writer_t *w, uint32_t id, const uint64_t *pcs, uint32_t nframes)
{
    uint8_t val[MT__STACK_VALUE_MAX];
    size_t len;
    int rc;
    if (id == 0 || id <= w->group.top || nframes > MT_MAX_FRAMES)
        return MT_EINVAL;
    if (!w->txn)
        return w->tick_err ? w->tick_err : MT_EINVAL;
    if (mt__stackgroup_full(&w->group) && (rc = mt__put_stack_group(w)))
        return rc;
    if (mt__stackstore_put(&w->stacks, id, pcs, nframes, val, &len) ||
        mt__stackgroup_add(&w->group, id, val, len))
        return mt__fail(w, ENOMEM); /* ends the tick and rolls the trie back */
    return 0;
}

int mt_writer_put_module(mt_writer_t *w, const mt_module_t *m)
{
    uint8_t key[1 + 8] = {MT__KEY_MODULE}, val[MT__MODULE_MAX];
    if (m->seq == UINT64_MAX || m->build_id_len > sizeof m->build_id)
        return MT_EINVAL;
    mt__put_be64(key + 1, m->seq);
    size_t len = mt__module_encode(m, val);
    return mt__put(w, MT__DB_META, key, sizeof key, val, len, 0);
}

int mt_writer_put_thread(mt_writer_t *w, const mt_thread_t *t)
{
    uint8_t key[1 + 4] = {MT__KEY_THREAD}, val[MT__THREAD_MAX];
    mt__put_be32(key + 1, t->seq);
    size_t len = mt__thread_encode(t, val);
    return mt__put(w, MT__DB_META, key, sizeof key, val, len, 0);
}

int mt_writer_put_counter(mt_writer_t *w, const mt_counter_t *c)
{
    uint8_t key[1 + MT__COUNTER_NAME_MAX] = {MT__KEY_COUNTER}, val[MT__COUNTER_LEN];
    size_t klen = strnlen(c->name, sizeof c->name);
    if (klen == 0 || klen > MT__COUNTER_NAME_MAX)
        return MT_EINVAL;
    memcpy(key + 1, c->name, klen);
    if (c->calls == 0 && c->bytes == 0 && w->txn) {
        /* Absent reads as 0: most entry points are never called, and their
         * counters would fill most of meta's leaf page. */
        MDB_val k = {1 + klen, key};
        int rc = mdb_del(w->txn, w->dbi[MT__DB_META], &k, NULL);
        return rc && rc != MDB_NOTFOUND ? mt__fail(w, rc) : 0;
    }
    size_t len = mt__counter_encode(c, val);
    return mt__put(w, MT__DB_META, key, 1 + klen, val, len, 0);
}

int mt_writer_commit(mt_writer_t *w)
{
    if (w->txn && w->group.count)
        mt__put_stack_group(w); /* on failure the txn is gone: reported below */
    if (!w->txn) {
        int err = w->tick_err ? w->tick_err : MT_EINVAL;
        w->tick_err = 0;
        return err;
    }
    int rc = mdb_txn_commit(w->txn); /* frees the txn even when it fails */
    w->txn = NULL;
    if (rc) {
        mt__stackstore_rollback(&w->stacks);
        mt__stackgroup_rollback(&w->group);
        if (rc == MDB_MAP_FULL)
            mt__grow(w);
        return mt__lmdb_error(rc);
    }
    w->next_block = w->txn_next_block;
    mt__stackstore_commit(&w->stacks);
    mt__stackgroup_commit(&w->group);
    return 0;
}

void mt_writer_abort(mt_writer_t *w)
{
    if (w->txn)
        mdb_txn_abort(w->txn);
    w->txn = NULL;
    w->tick_err = 0;
    mt__stackstore_rollback(&w->stacks);
    mt__stackgroup_rollback(&w->group);
}

int mt_writer_check_fd(mt_writer_t *w)
{
    struct stat st;
    int fd;
    if (mdb_env_get_fd(w->env, &fd) != 0 || fstat(fd, &st) != 0 || st.st_dev != w->dev ||
        st.st_ino != w->ino)
        return MT_EBADFD;
    return 0;
}

/* Copies every record of W's databases into a new environment at PATH (a
 * file created empty by the caller; no lock file, no sync): one write txn,
 * each database read in key order and appended, so that its leaf and branch
 * pages come out full. Pages LMDB keeps free are not copied. */
static int mt__copy_records(mt_writer_t *w, const char *path)
{
    MDB_env *env;
    MDB_txn *from = NULL, *to = NULL;
    int rc = mdb_env_create(&env);
    if (rc)
        return rc;
    if ((rc = mdb_env_set_maxdbs(env, MT__DB_COUNT)) ||
        (rc = mdb_env_set_mapsize(env, (size_t)w->map_size)) ||
        (rc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_NOLOCK | MDB_NOSYNC, 0600)) ||
        (rc = mdb_txn_begin(w->env, NULL, MDB_RDONLY, &from)) ||
        (rc = mdb_txn_begin(env, NULL, 0, &to))) {
        if (from)
            mdb_txn_abort(from);
        mdb_env_close(env);
        return rc;
    }
    for (int i = 0; i < MT__DB_COUNT && !rc; i++) {
        MDB_dbi dbi;
        MDB_cursor *cur;
        MDB_val k, v;
        if ((rc = mdb_dbi_open(to, mt__db_names[i], MDB_CREATE, &dbi)) ||
            (rc = mdb_cursor_open(from, w->dbi[i], &cur)))
            break;
        for (int got = mdb_cursor_get(cur, &k, &v, MDB_FIRST); !rc && !got;
             got = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
            rc = mdb_put(to, dbi, &k, &v, MDB_APPEND);
        mdb_cursor_close(cur);
    }
    if (!rc)
        rc = mdb_txn_commit(to);
    else
        mdb_txn_abort(to);
    mdb_txn_abort(from);
    mdb_env_close(env);
    return rc;
}

/* Rewrites data.mdb without its free pages (mt__copy_records into a new
 * file, renamed over it): LMDB keeps about two ticks' worth of pages free
 * for copy-on-write, which is most of a small trace. Best effort: on any
 * failure the trace stays as it is. Only up to MT__COMPACT_MAX: the free
 * pages are a fixed ~70 KiB, worth a copy only in a small trace; only when
 * DIR still holds our data.mdb (a daemon may have chrooted). The copy runs
 * on the calling thread with LMDB's ordinary puts: LMDB's own compacting
 * copy (mdb_env_copyfd2) starts a thread and faults in a 2 MiB buffer (3.8
 * of the 7.8 ms a short program's exit took; preload/COST.md). */
static void mt__compact(mt_writer_t *w)
{
    char tmp[4096 + 32], path[4096 + 16];
    struct stat st;
    int fd;
    if (mdb_env_get_fd(w->env, &fd) != 0 || fstat(fd, &st) != 0 ||
        (uint64_t)st.st_size > MT__COMPACT_MAX ||
        (size_t)snprintf(path, sizeof path, "%s/data.mdb", w->dir) >= sizeof path ||
        (size_t)snprintf(tmp, sizeof tmp, "%s/data.mdb.compact", w->dir) >= sizeof tmp)
        return;
    if (lstat(path, &st) != 0 || st.st_dev != w->dev || st.st_ino != w->ino)
        return;
    /* Made here, empty, never an existing file (LMDB would open it). */
    int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0)
        return;
    int ok = fstat(out, &st) == 0 && st.st_dev == w->dev;
    ok = close(out) == 0 && ok;
    ok = ok && mt__copy_records(w, tmp) == 0;
    if (!ok || rename(tmp, path) != 0)
        unlink(tmp);
}

/* No fsync at the end either (the environment is MDB_NOSYNC throughout): a
 * trace outlives the program's crash or kill in the page cache like every
 * commit before; only a power loss or kernel crash before the kernel writes
 * it back may lose it, as it may any file written without fsync. A sync
 * here cost 0.5 to 9 ms of every traced program's exit (and after a
 * compaction synced the file just replaced). */
void mt_writer_close(mt_writer_t *w)
{
    if (!w)
        return;
    mt_writer_abort(w);
    mt__compact(w);
    mdb_env_close(w->env);
    mt__stackstore_free(&w->stacks);
    mt__stackgroup_free(&w->group);
    free(w);
}

void mt_writer_forget(mt_writer_t *w)
{
    /* A fork child must not touch the parent's LMDB environment: leak it,
     * but close its descriptors (3 of them: the child's own trace needs as
     * many, and under a low RLIMIT_NOFILE the program needs the rest). The
     * child holds none of the parent's fcntl locks, so closing releases
     * nothing of the parent's. A number the program reused is left alone. */
    struct stat st;
    for (int i = 0; i < MT__LMDB_FDS; i++)
        if (w->fds[i] >= 0 && fstat(w->fds[i], &st) == 0 && st.st_dev == w->dev &&
            st.st_ino == w->fd_ino[i])
            close(w->fds[i]);
    mt__stackstore_free(&w->stacks); /* the writer's own memory, not LMDB's */
    mt__stackgroup_free(&w->group);
    free(w);
}
