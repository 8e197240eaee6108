/* reader.c - reads a trace read-only, also while its program still writes it.
 *
 * The reader holds one read transaction: a consistent snapshot of the last
 * committed tick. mt_reader_refresh replaces it with a newer one; pointers
 * handed out (meta values, blocks) stay valid until then. Every stored value
 * is length-checked before use: a damaged trace gives MT_ECORRUPT.
 */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define MT__GROUP_CACHE 8 /* decoded stack groups kept (format 4) */

struct mt_reader {
    MDB_env *env;
    MDB_txn *txn; /* the snapshot */
    MDB_dbi dbi[MT__DB_COUNT];
    uint32_t version; /* from the format record */
    uint64_t checked; /* txnid + 1 whose pages mt__lmdb_check accepted; 0: none
                       * (a txnid may be 0: a damaged file's, never checked) */
    mt__stack_memo_t stacks; /* resolved stacks (stackstore.c) */
    /* Stack groups decoded from this snapshot, most recently used first:
     * a stack's parents are mostly in its own group or an early one. */
    mt__stackgroup_index_t groups[MT__GROUP_CACHE];
    void *dctx;
};

static void mt__groups_drop(mt_reader_t *r)
{
    for (int i = 0; i < MT__GROUP_CACHE; i++)
        mt__stackgroup_index_free(&r->groups[i]);
}

/* Opens the environment read-only; FLAGS adds MDB_NOLOCK. */
static int mt__env_open(mt_reader_t *r, const char *dir, unsigned flags)
{
    int rc = mdb_env_create(&r->env);
    if (rc) {
        r->env = NULL;
        return mt__lmdb_error(rc);
    }
    /* MDB_NOTLS: the snapshot is not tied to the thread that took it. Mode
     * 0600 applies to a lock.mdb LMDB has to create (a copied trace). */
    if ((rc = mdb_env_set_maxdbs(r->env, MT__DB_COUNT)) ||
        (rc = mdb_env_open(r->env, dir, MDB_RDONLY | MDB_NOTLS | flags, 0600))) {
        mdb_env_close(r->env);
        r->env = NULL;
    }
    return mt__lmdb_error(rc);
}

/* Begins a read txn, following a map the writer has grown meanwhile, and
 * checks the pages its snapshot can reach before LMDB reads any of them
 * (lmdb_check.c). A live writer that reused the snapshot's meta slot in
 * between makes us take a newer snapshot. */
static int mt__begin(mt_reader_t *r, MDB_txn **txn)
{
    int rc = 0, err = MT_ECORRUPT; /* if no meta page ever holds the lock table's txnid */
    for (int tries = 0; tries < 8; tries++) {
        *txn = NULL;
        rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, txn);
        if (rc == MDB_MAP_RESIZED) {
            /* No txn of ours is active here: adopt the size the writer set. */
            if ((rc = mdb_env_set_mapsize(r->env, 0)))
                break;
            rc = MDB_MAP_RESIZED;
            continue;
        }
        if (rc)
            break;
        uint64_t id = mdb_txn_id(*txn);
        int fd;
        if (id + 1 == r->checked)
            return 0;
        if ((rc = mdb_env_get_fd(r->env, &fd)) == 0 && (err = mt__lmdb_check(fd, id)) == 0) {
            r->checked = id + 1;
            return 0;
        }
        mdb_txn_abort(*txn);
        *txn = NULL;
        if (rc || err != EAGAIN)
            break;
        err = MT_ECORRUPT;
    }
    *txn = NULL;
    return rc ? mt__lmdb_error(rc) : err;
}

/* Opens the named databases and checks the format record, in one txn that
 * is committed so the handles outlive it. */
static int mt__open_dbs(mt_reader_t *r)
{
    MDB_txn *txn;
    MDB_val k = {strlen(MT_META_FORMAT), MT_META_FORMAT}, v;
    int err = mt__begin(r, &txn); /* mtrace error space */
    if (err)
        return err;
    /* Meta first: a newer format may have other databases. */
    int rc = mdb_dbi_open(txn, mt__db_names[MT__DB_META], 0, &r->dbi[MT__DB_META]);
    if (rc == 0)
        rc = mdb_get(txn, r->dbi[MT__DB_META], &k, &v);
    if (rc == 0)
        err = mt__format_record_check(v.mv_data, v.mv_size, &r->version);
    for (int i = MT__DB_META + 1; rc == 0 && err == 0 && i < MT__DB_COUNT; i++)
        rc = mdb_dbi_open(txn, mt__db_names[i], 0, &r->dbi[i]);
    if (rc || err) {
        mdb_txn_abort(txn);
        return err ? err : rc == MDB_NOTFOUND ? MT_ENOTTRACE : mt__lmdb_error(rc);
    }
    return mt__lmdb_error(mdb_txn_commit(txn));
}

int mt_reader_open(mt_reader_t **rp, const char *dir)
{
    struct stat st;
    char path[4096];
    int rc;

    *rp = NULL;
    if (stat(dir, &st) != 0)
        return errno;
    if (!S_ISDIR(st.st_mode))
        return ENOTDIR;
    if ((size_t)snprintf(path, sizeof path, "%s/data.mdb", dir) >= sizeof path)
        return ENAMETOOLONG;
    if (stat(path, &st) != 0)
        return errno == ENOENT ? MT_ENOTTRACE : errno;
    if (!S_ISREG(st.st_mode) || st.st_size == 0) /* empty: died before its first commit */
        return MT_ENOTTRACE;

    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno;
    rc = mt__lmdb_precheck(fd);
    close(fd);
    if (rc)
        return rc;
    mt_reader_t *r = calloc(1, sizeof *r);
    if (!r)
        return ENOMEM;
    rc = mt__env_open(r, dir, 0);
    /* A trace we may read but not lock (another user's, a read-only copy):
     * read without the lock file. Safe for a finished trace; a live one may
     * then show a torn snapshot, which the checked decoders turn into errors. */
    if (rc == EACCES || rc == EROFS)
        rc = mt__env_open(r, dir, MDB_NOLOCK);
    if (rc == 0 && (rc = mt__open_dbs(r)) == 0)
        rc = mt__begin(r, &r->txn);
    if (rc) {
        mt_reader_close(r);
        return rc;
    }
    *rp = r;
    return 0;
}

void mt_reader_close(mt_reader_t *r)
{
    if (!r)
        return;
    if (r->txn)
        mdb_txn_abort(r->txn);
    if (r->env)
        mdb_env_close(r->env);
    mt__stack_memo_free(&r->stacks);
    mt__groups_drop(r);
    mt__stackgroup_dctx_free(r->dctx);
    free(r);
}

int mt_reader_refresh(mt_reader_t *r)
{
    if (r->txn)
        mdb_txn_abort(r->txn);
    r->txn = NULL;
    mt__groups_drop(r); /* decoded from the old snapshot */
    return mt__begin(r, &r->txn);
}

/* Fetches KEY from DB in the snapshot. */
static int mt__get(mt_reader_t *r, enum mt__db db, const void *key, size_t klen, MDB_val *v)
{
    if (!r->txn)
        return MT_EINVAL; /* a failed refresh left no snapshot */
    MDB_val k = {klen, (void *)key};
    return mt__lmdb_error(mdb_get(r->txn, r->dbi[db], &k, v));
}

/* Positions at the first record of DB with key >= KEY (or the first record
 * when KEY is NULL, then skipping SKIP records). Returns 1 with *K, *V set,
 * 0 past the end, <0 on error. */
static int mt__seek(mt_reader_t *r, enum mt__db db, const void *key, size_t klen, uint64_t skip,
                    MDB_val *k, MDB_val *v)
{
    MDB_cursor *c;
    if (!r->txn)
        return MT_EINVAL;
    int rc = mdb_cursor_open(r->txn, r->dbi[db], &c);
    if (rc)
        return mt__lmdb_error(rc);
    k->mv_size = klen;
    k->mv_data = (void *)key;
    rc = mdb_cursor_get(c, k, v, key ? MDB_SET_RANGE : MDB_FIRST);
    for (uint64_t i = 0; rc == 0 && i < skip; i++)
        rc = mdb_cursor_get(c, k, v, MDB_NEXT);
    mdb_cursor_close(c); /* K and V point into the snapshot, not the cursor */
    if (rc == MDB_NOTFOUND)
        return 0;
    return rc ? mt__lmdb_error(rc) : 1;
}

int mt_reader_meta(mt_reader_t *r, const char *key, const void **val, size_t *len)
{
    MDB_val v;
    size_t klen = strlen(key);
    if (klen == 0 || klen > 511 || (uint8_t)key[0] < MT__META_NAME_MIN)
        return MT_EINVAL;
    int rc = mt__get(r, MT__DB_META, key, klen, &v);
    if (rc)
        return rc;
    *val = v.mv_data;
    *len = v.mv_size;
    return 0;
}

/* Reads a u64 meta value; absent -> 0. */
static int mt__meta_u64(mt_reader_t *r, const char *key, uint64_t *out)
{
    const void *val;
    size_t len;
    int rc = mt_reader_meta(r, key, &val, &len);
    *out = 0;
    if (rc == MT_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (len != 8)
        return MT_ECORRUPT;
    *out = mt__get_le64(val);
    return 0;
}

/* Reads a string meta value into OUT[CAP], truncated and NUL-terminated;
 * absent -> "". */
static int mt__meta_str(mt_reader_t *r, const char *key, char *out, size_t cap)
{
    const void *val;
    size_t len;
    int rc = mt_reader_meta(r, key, &val, &len);
    out[0] = '\0';
    if (rc == MT_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (len >= cap)
        len = cap - 1;
    memcpy(out, val, len);
    out[len] = '\0';
    return 0;
}

int mt_reader_info(mt_reader_t *r, mt_trace_info_t *info)
{
    uint64_t complete;
    int rc;
    memset(info, 0, sizeof *info);
    info->version = r->version;
    if ((rc = mt__meta_u64(r, MT_META_PID, &info->pid)) ||
        (rc = mt__meta_u64(r, MT_META_PPID, &info->ppid)) ||
        (rc = mt__meta_str(r, MT_META_COMMAND, info->command, sizeof info->command)) ||
        (rc = mt__meta_str(r, MT_META_EXE, info->exe, sizeof info->exe)) ||
        (rc = mt__meta_u64(r, MT_META_START_REALTIME, &info->start_realtime_ns)) ||
        (rc = mt__meta_u64(r, MT_META_SAMPLE_INTERVAL, &info->sample_interval)) ||
        (rc = mt__meta_u64(r, MT_META_PAGE_SIZE, &info->page_size)) ||
        (rc = mt__meta_u64(r, MT_META_DEPTH, &info->depth)) ||
        (rc = mt__meta_u64(r, MT_META_DURATION, &info->duration_ns)) ||
        (rc = mt__meta_u64(r, MT_META_COMPLETE, &complete)) ||
        (rc = mt__meta_str(r, MT_META_END_REASON, info->end_reason, sizeof info->end_reason)) ||
        (rc = mt__meta_str(r, MT_META_TRUNCATED, info->truncated, sizeof info->truncated)) ||
        (rc = mt__meta_u64(r, MT_META_PARENT_TRACE, &info->parent_pid)))
        return rc;
    info->complete = complete != 0;
    return 0;
}

/* Decodes a counters record (key = name). */
static int mt__counter(const MDB_val *k, const MDB_val *v, mt_counter_t *c)
{
    memset(c, 0, sizeof *c);
    if (k->mv_size == 0 || k->mv_size > MT__COUNTER_NAME_MAX)
        return MT_ECORRUPT;
    memcpy(c->name, k->mv_data, k->mv_size);
    return mt__counter_decode(v->mv_data, v->mv_size, c);
}

/* Where the records of DB are: format 4 keeps counters, modules and
 * threads in meta, their keys after the type byte TAG. Sets *DB and
 * KEY[0]; returns the prefix length (0 or 1). */
static size_t mt__keyed(const mt_reader_t *r, enum mt__db *db, uint8_t tag, uint8_t *key)
{
    if (r->version < MT__MERGED_VERSION)
        return 0;
    *db = MT__DB_META;
    key[0] = tag;
    return 1;
}

/* Strips the type byte TAG off K (PRE 1); 0 when K is not of that type:
 * past the last record of the type. */
static int mt__untag(MDB_val *k, size_t pre, uint8_t tag)
{
    if (!pre)
        return 1;
    if (k->mv_size == 0 || *(const uint8_t *)k->mv_data != tag)
        return 0;
    k->mv_size--;
    k->mv_data = (uint8_t *)k->mv_data + 1;
    return 1;
}

int mt_reader_next_counter(mt_reader_t *r, uint64_t *cursor, mt_counter_t *c)
{
    /* Names do not fit a u64, so the cursor counts records already given. */
    uint8_t key[1];
    enum mt__db db = MT__DB_COUNTERS;
    size_t pre = mt__keyed(r, &db, MT__KEY_COUNTER, key);
    MDB_val k, v;
    int rc = mt__seek(r, db, pre ? key : NULL, pre, *cursor, &k, &v);
    if (rc <= 0)
        return rc;
    if (!mt__untag(&k, pre, MT__KEY_COUNTER))
        return 0;
    if ((rc = mt__counter(&k, &v, c)))
        return rc;
    ++*cursor;
    return 1;
}

int mt_reader_counter(mt_reader_t *r, const char *name, mt_counter_t *c)
{
    uint8_t key[1 + MT__COUNTER_NAME_MAX];
    enum mt__db db = MT__DB_COUNTERS;
    MDB_val v;
    size_t klen = strnlen(name, MT__COUNTER_NAME_MAX + 1);
    if (klen == 0 || klen > MT__COUNTER_NAME_MAX)
        return MT_EINVAL;
    size_t pre = mt__keyed(r, &db, MT__KEY_COUNTER, key);
    memcpy(key + pre, name, klen);
    int rc = mt__get(r, db, key, pre + klen, &v);
    if (rc)
        return rc;
    MDB_val k = {klen, (void *)name};
    return mt__counter(&k, &v, c);
}

/* Cursors of threads, modules and stacks hold the next key to look at. */

int mt_reader_next_thread(mt_reader_t *r, uint64_t *cursor, mt_thread_t *t)
{
    uint8_t key[1 + 4];
    enum mt__db db = MT__DB_THREADS;
    MDB_val k, v;
    if (*cursor > UINT32_MAX)
        return 0;
    size_t pre = mt__keyed(r, &db, MT__KEY_THREAD, key);
    mt__put_be32(key + pre, (uint32_t)*cursor);
    int rc = mt__seek(r, db, key, pre + 4, 0, &k, &v);
    if (rc <= 0)
        return rc;
    if (!mt__untag(&k, pre, MT__KEY_THREAD))
        return 0;
    if (k.mv_size != 4)
        return MT_ECORRUPT;
    t->seq = mt__get_be32(k.mv_data);
    if ((rc = mt__thread_decode(v.mv_data, v.mv_size, t)))
        return rc;
    *cursor = (uint64_t)t->seq + 1;
    return 1;
}

int mt_reader_next_module(mt_reader_t *r, uint64_t *cursor, mt_module_t *m)
{
    uint8_t key[1 + 8];
    enum mt__db db = MT__DB_MODULES;
    MDB_val k, v;
    if (*cursor == UINT64_MAX)
        return 0;
    size_t pre = mt__keyed(r, &db, MT__KEY_MODULE, key);
    mt__put_be64(key + pre, *cursor);
    int rc = mt__seek(r, db, key, pre + 8, 0, &k, &v);
    if (rc <= 0)
        return rc;
    if (!mt__untag(&k, pre, MT__KEY_MODULE))
        return 0;
    if (k.mv_size != 8)
        return MT_ECORRUPT;
    m->seq = mt__get_be64(k.mv_data);
    if (m->seq == UINT64_MAX) /* the writer refuses it: it has no next cursor */
        return MT_ECORRUPT;
    if ((rc = mt__module_decode(v.mv_data, v.mv_size, m)))
        return rc;
    *cursor = m->seq + 1;
    return 1;
}

/* The decoded group with the largest key <= ID (NEXT 0), or with the
 * smallest key > ID (NEXT 1), from the cache or the stacks database:
 * *IX, or NULL when there is none (0). Returns 0 or an error. */
static int mt__group_seek(mt_reader_t *r, uint32_t id, int next, mt__stackgroup_index_t **ix)
{
    *ix = NULL;
    if (!next)
        for (int i = 0; i < MT__GROUP_CACHE && r->groups[i].count; i++)
            if (r->groups[i].first <= id && id <= r->groups[i].last) {
                mt__stackgroup_index_t hit = r->groups[i];
                memmove(&r->groups[1], &r->groups[0], (size_t)i * sizeof hit);
                r->groups[0] = hit;
                *ix = &r->groups[0];
                return 0;
            }
    if (!r->txn)
        return MT_EINVAL;
    uint8_t key[4];
    MDB_cursor *c;
    MDB_val k = {sizeof key, key}, v;
    if (next && id == UINT32_MAX)
        return 0;
    mt__put_be32(key, next ? id + 1 : id);
    int rc = mdb_cursor_open(r->txn, r->dbi[MT__DB_STACKS], &c);
    if (rc)
        return mt__lmdb_error(rc);
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (!next) { /* the key itself, else the one before */
        if (rc == MDB_NOTFOUND)
            rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
        else if (rc == 0 && (k.mv_size != 4 || mt__get_be32(k.mv_data) != id))
            rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
    }
    mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return mt__lmdb_error(rc);
    if (k.mv_size != 4)
        return MT_ECORRUPT;
    uint32_t first = mt__get_be32(k.mv_data);
    if (next ? first <= id : first > id)
        return MT_ECORRUPT;
    /* A hit of the cache for NEXT: the groups do not move. */
    for (int i = 0; i < MT__GROUP_CACHE && r->groups[i].count; i++)
        if (r->groups[i].first == first) {
            *ix = &r->groups[i];
            return 0;
        }
    mt__stackgroup_index_t fresh;
    if ((rc = mt__stackgroup_decode(first, v.mv_data, v.mv_size, &r->dctx, &fresh)))
        return rc;
    mt__stackgroup_index_free(&r->groups[MT__GROUP_CACHE - 1]);
    memmove(&r->groups[1], &r->groups[0], (MT__GROUP_CACHE - 1) * sizeof fresh);
    r->groups[0] = fresh;
    *ix = &r->groups[0];
    return 0;
}

/* mt__stack_get_fn for stackstore.c: the stored value of a stack. The
 * value stays valid until the next call (a cached group may be dropped). */
static int mt__stack_get(void *ctx, uint32_t id, const void **val, size_t *len)
{
    mt_reader_t *r = ctx;
    MDB_val v;
    int rc;
    if (r->version >= MT__STACK_GROUP_VERSION) {
        mt__stackgroup_index_t *ix;
        if ((rc = mt__group_seek(r, id, 0, &ix)))
            return rc;
        uint32_t i = ix ? mt__stackgroup_lower(ix, id) : 0;
        if (!ix || i == ix->count || ix->ids[i] != id)
            return MT_ENOTFOUND;
        *val = mt__stackgroup_value(ix, i, len);
        return 0;
    }
    uint8_t key[4];
    mt__put_be32(key, id);
    rc = mt__get(r, MT__DB_STACKS, key, sizeof key, &v);
    if (rc == 0) {
        *val = v.mv_data;
        *len = v.mv_size;
    }
    return rc;
}

int mt_reader_stack(mt_reader_t *r, uint32_t id, uint64_t *pcs, uint32_t *nframes)
{
    const void *val;
    size_t len;
    int rc = mt__stack_get(r, id, &val, &len);
    return rc ? rc
              : mt__stack_resolve_memo(r->version, id, val, len, mt__stack_get, r, &r->stacks,
                                       pcs, nframes);
}

int mt_reader_next_stack(mt_reader_t *r, uint64_t *cursor, uint32_t *id, uint64_t *pcs,
                         uint32_t *nframes)
{
    uint8_t key[4];
    MDB_val k, v;
    if (*cursor > UINT32_MAX)
        return 0;
    if (r->version >= MT__STACK_GROUP_VERSION) {
        /* The group holding the cursor's id or the next one after it. */
        uint32_t want = (uint32_t)*cursor;
        mt__stackgroup_index_t *ix;
        int rc = mt__group_seek(r, want, 0, &ix);
        if (rc == 0 && (!ix || ix->last < want))
            rc = mt__group_seek(r, want, 1, &ix);
        if (rc || !ix)
            return rc;
        *id = ix->ids[mt__stackgroup_lower(ix, want)];
        *cursor = (uint64_t)*id + 1;
        rc = mt_reader_stack(r, *id, pcs, nframes);
        return rc ? rc : 1;
    }
    mt__put_be32(key, (uint32_t)*cursor);
    int rc = mt__seek(r, MT__DB_STACKS, key, sizeof key, 0, &k, &v);
    if (rc <= 0)
        return rc;
    if (k.mv_size != 4)
        return MT_ECORRUPT;
    *id = mt__get_be32(k.mv_data);
    if ((rc = mt__stack_resolve_memo(r->version, *id, v.mv_data, v.mv_size, mt__stack_get, r,
                                     &r->stacks, pcs, nframes)))
        return rc;
    *cursor = (uint64_t)*id + 1;
    return 1;
}

int mt_reader_next_block(mt_reader_t *r, uint64_t *cursor, const void **data, size_t *len)
{
    /* Blocks are numbered from 1; the cursor is the last one given. */
    uint8_t key[8];
    MDB_val k, v;
    if (*cursor == UINT64_MAX)
        return 0;
    mt__put_be64(key, *cursor + 1);
    int rc = mt__seek(r, MT__DB_EVENTS, key, sizeof key, 0, &k, &v);
    if (rc <= 0)
        return rc;
    if (k.mv_size != 8)
        return MT_ECORRUPT;
    *cursor = mt__get_be64(k.mv_data);
    *data = v.mv_data;
    *len = v.mv_size;
    return 1;
}
