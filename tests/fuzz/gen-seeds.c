/* gen-seeds.c - writes the seed corpora of the fuzz targets from real
 * encoder output (format/codec.c, format/records.c), so that the fuzzers
 * start from valid blocks, records and traces and mutate from there.
 *
 * usage: gen-seeds DIR   -> DIR/block/, DIR/records/, DIR/trace/, DIR/mdb/
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static const char *root;

static void save(const char *target, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, target);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static mt_event_t ev(uint8_t type, uint64_t ts, uint64_t ptr, uint64_t size, uint32_t stack)
{
    mt_event_t e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.ts = ts;
    e.ptr = ptr;
    e.size = size;
    e.stack = stack;
    if (type == MT_EV_ALLOC || type == MT_EV_POOL_ALLOC)
        e.arg[0] = MT_WEIGHT_ONE;
    return e;
}

/* One block of every event type, as the shim writes them. */
static size_t block_all(uint8_t *buf, size_t cap, uint32_t thread, uint64_t t0)
{
    mt_block_encoder_t enc;
    mt_event_t e[12];
    int n = 0;
    e[n++] = ev(MT_EV_ALLOC, t0 + 10, 0x5555000010, 100, 1);
    e[n] = ev(MT_EV_ALLOC, t0 + 20, 0x5555000100, 4096, 2);
    e[n].kind = MT_AK_CALLOC, e[n].arg[0] = 3 * MT_WEIGHT_ONE, e[n].cpu = 1, n++;
    e[n++] = ev(MT_EV_FREE, t0 + 30, 0x5555000010, 0, 0);
    e[n] = ev(MT_EV_MMAP, t0 + 40, 0x7f0000000000, 1 << 20, 1);
    e[n].arg[0] = 3 | (uint64_t)0x22 << 32, e[n].arg[1] = (uint64_t)-1, n++;
    e[n] = ev(MT_EV_MREMAP, t0 + 50, 0x7f0000200000, 2 << 20, 1);
    e[n].arg[0] = 0x7f0000000000, e[n].arg[1] = 1 << 20, e[n].kind = 1, n++;
    e[n++] = ev(MT_EV_MUNMAP, t0 + 60, 0x7f0000200000, 2 << 20, 2);
    e[n] = ev(MT_EV_POLICY, t0 + 70, 0x7f0000400000, 1 << 20, 1);
    e[n].arg[0] = 1, e[n].arg[1] = 2, e[n].arg[2] = (uint64_t)-22, e[n].kind = MT_PK_MBIND, n++;
    e[n] = ev(MT_EV_PLACEMENT, t0 + 80, 0x5555000100, 4096, 0);
    e[n].node = MT_NODE_UNTOUCHED, n++;
    e[n++] = ev(MT_EV_RSS, t0 + 90, 0, 12 << 20, 0);
    e[n] = ev(MT_EV_POOL_ALLOC, t0 + 100, 0x6000000000, 64, 2);
    e[n].arg[1] = 7, n++;
    e[n] = ev(MT_EV_POOL_FREE, t0 + 110, 0x6000000000, 0, 0);
    e[n].arg[1] = 7, n++;
    e[n] = ev(MT_EV_FREE, t0 + 120, 0x5555000100, 0, 0);
    e[n].kind = MT_FK_DELETE, n++;
    mt_block_begin(&enc, buf, cap, thread);
    for (int i = 0; i < n; i++)
        if (mt_block_add(&enc, &e[i]) != 0)
            exit(2);
    return mt_block_finish(&enc);
}

static size_t block_allocs(uint8_t *buf, size_t cap, uint32_t thread, int count)
{
    mt_block_encoder_t enc;
    mt_block_begin(&enc, buf, cap, thread);
    for (int i = 0; i < count; i++) {
        mt_event_t a = ev(MT_EV_ALLOC, 1000 + 10 * (uint64_t)i, 0x5555000000 + 64 * (uint64_t)i,
                          (uint64_t)(16 + i), 1 + (uint32_t)(i % 3));
        if (mt_block_add(&enc, &a) != 0)
            exit(2);
        if (i % 2) {
            mt_event_t f = ev(MT_EV_FREE, 1005 + 10 * (uint64_t)i, a.ptr, 0, 0);
            if (mt_block_add(&enc, &f) != 0)
                exit(2);
        }
    }
    return mt_block_finish(&enc);
}

/* ---- trace inputs: flags, then (db, klen, key, u16 vlen, value) ---------- */

static uint8_t tbuf[1 << 16];
static size_t tlen;

static void rec(int db, const void *key, size_t klen, const void *val, size_t vlen)
{
    if (tlen + 4 + klen + vlen > sizeof tbuf)
        exit(2);
    tbuf[tlen++] = (uint8_t)db;
    tbuf[tlen++] = (uint8_t)klen;
    memcpy(tbuf + tlen, key, klen);
    tlen += klen;
    tbuf[tlen++] = (uint8_t)vlen;
    tbuf[tlen++] = (uint8_t)(vlen >> 8);
    memcpy(tbuf + tlen, val, vlen);
    tlen += vlen;
}

static void meta_u64(const char *key, uint64_t v)
{
    uint8_t b[8];
    mt__put_le64(b, v);
    rec(MT__DB_META, key, strlen(key), b, 8);
}

static void meta_str(const char *key, const char *s, size_t len)
{
    rec(MT__DB_META, key, strlen(key), s, len);
}

static void trace_seed(const char *name, int flags, int complete, int blocks)
{
    uint8_t buf[8192], key[9];
    tlen = 0;
    tbuf[tlen++] = (uint8_t)flags;
    if (flags & 2) {
        uint8_t f[MT__FORMAT_RECORD_LEN];
        rec(MT__DB_META, MT_META_FORMAT, 6, f, mt__format_record_encode(f, MT_FORMAT_VERSION));
    }
    meta_u64(MT_META_PID, 4242);
    meta_u64(MT_META_PPID, 1);
    meta_str(MT_META_COMMAND, "demo", 4);
    meta_str(MT_META_EXE, "/nonexistent/demo", 17);
    meta_str(MT_META_ARGV, "demo\0-x\0", 8);
    meta_u64(MT_META_START_REALTIME, 1700000000000000000ull);
    meta_u64(MT_META_SAMPLE_INTERVAL, complete ? 0 : 524288);
    meta_u64(MT_META_PAGE_SIZE, 4096);
    meta_u64(MT_META_DEPTH, 64);
    meta_u64(MT_META_DURATION, 5000000);
    if (complete) {
        meta_u64(MT_META_COMPLETE, 1);
        meta_str(MT_META_END_REASON, "exit", 4);
    } else {
        meta_str(MT_META_TRUNCATED, "map full", 8);
        meta_u64(MT_META_PARENT_TRACE, 4000);
    }
    for (int i = 0; i < blocks; i++) {
        size_t n = i % 2 ? block_all(buf, sizeof buf, (uint32_t)(i % 3), 100 * (uint64_t)i)
                         : block_allocs(buf, sizeof buf, (uint32_t)(i % 3), 20 + i);
        mt__put_be64(key, (uint64_t)i + 1);
        rec(MT__DB_EVENTS, key, 8, buf, n);
    }
    mt__stackstore_t store;
    mt__stackgroup_t group;
    memset(&store, 0, sizeof store);
    memset(&group, 0, sizeof group);
    for (uint32_t id = 1; id <= 3; id++) { /* 2 and 3 share frames of 1; one group */
        uint64_t pcs[4] = {0x401000 + id, 0x401100, 0x7f1000001000, 0x401200};
        uint8_t v[MT__STACK_VALUE_MAX];
        size_t vlen;
        if (mt__stackstore_put(&store, id, pcs, 4, v, &vlen) ||
            mt__stackgroup_add(&group, id, v, vlen))
            abort();
    }
    const uint8_t *gv;
    uint32_t first;
    size_t glen;
    if (mt__stackgroup_finish(&group, &first, &gv, &glen) || !glen)
        abort();
    mt__put_be32(key, first);
    rec(MT__DB_STACKS, key, 4, gv, glen);
    mt__stackgroup_free(&group);
    mt__stackstore_free(&store);
    mt_module_t m;
    memset(&m, 0, sizeof m);
    m.base = 0, m.lo = 0x400000, m.hi = 0x500000;
    snprintf(m.path, sizeof m.path, "/nonexistent/demo");
    m.build_id_len = 20;
    memset(m.build_id, 0xab, 20);
    uint8_t mv[MT__MODULE_MAX];
    /* Format 4: modules, threads and counters are in meta, after a type byte. */
    key[0] = MT__KEY_MODULE;
    mt__put_be64(key + 1, 0);
    rec(MT__DB_META, key, 9, mv, mt__module_encode(&m, mv));
    m.seq = 1, m.base = 0x7f1000000000, m.lo = m.base, m.hi = m.base + 0x100000, m.last_ts = 900;
    snprintf(m.path, sizeof m.path, "/nonexistent/libmtrace.so");
    m.build_id_len = 0;
    mt__put_be64(key + 1, 1);
    rec(MT__DB_META, key, 9, mv, mt__module_encode(&m, mv));
    for (uint32_t t = 0; t < 3; t++) {
        mt_thread_t th;
        uint8_t v[MT__THREAD_MAX];
        memset(&th, 0, sizeof th);
        th.tid = 4242 + t, th.first_ts = 1, th.last_ts = 5000, th.exited = t > 0;
        snprintf(th.name, sizeof th.name, t ? "worker" : "demo");
        key[0] = MT__KEY_THREAD;
        mt__put_be32(key + 1, t);
        rec(MT__DB_META, key, 5, v, mt__thread_encode(&th, v));
    }
    static const char *const names[] = {"malloc", "calloc", "free", "mmap", "munmap",
                                        "operator new", "pool alloc", MT_COUNTER_EVENTS,
                                        MT_COUNTER_DROPPED, MT_COUNTER_BLOCKS};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        mt_counter_t c;
        uint8_t v[MT__COUNTER_LEN];
        memset(&c, 0, sizeof c);
        c.calls = 10 + i, c.bytes = 1000 * i;
        uint8_t ck[1 + MT__COUNTER_NAME_MAX] = {MT__KEY_COUNTER};
        memcpy(ck + 1, names[i], strlen(names[i]));
        rec(MT__DB_META, ck, 1 + strlen(names[i]), v, mt__counter_encode(&c, v));
    }
    save("trace", name, tbuf, tlen);
}

/* ---- mdb inputs: flags, [u32 LE data length], data.mdb, [lock.mdb] -------
 * A real LMDB environment holding the records of the last trace_seed, in
 * two commits (both meta pages in use, a free list), plus EXTRA 200-byte
 * event blocks (branch pages) and, if BIG, one 9000-byte block (overflow
 * pages). FLAGS bit 1: lock.mdb follows data.mdb. */

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    static uint8_t buf[1 << 20];
    if (!f)
        exit(1);
    *len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

static void mdb_seed(const char *name, int flags, int extra, int big)
{
    char dir[4096], path[4200];
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi[MT__DB_COUNT];
    snprintf(dir, sizeof dir, "%s/mdb-env.XXXXXX", root);
    if (!mkdtemp(dir) || mdb_env_create(&env) || mdb_env_set_maxdbs(env, MT__DB_COUNT) ||
        mdb_env_set_mapsize(env, 8u << 20) || mdb_env_open(env, dir, MDB_NOSYNC, 0600))
        exit(1);
    for (int commit = 0; commit < 2; commit++) {
        if (mdb_txn_begin(env, NULL, 0, &txn))
            exit(1);
        for (int i = 0; i < MT__DB_COUNT; i++)
            if (mdb_dbi_open(txn, mt__db_names[i], MDB_CREATE, &dbi[i]))
                exit(1);
        if (commit == 0) {
            uint8_t f[MT__FORMAT_RECORD_LEN];
            MDB_val k = {6, MT_META_FORMAT}, v = {mt__format_record_encode(f, MT_FORMAT_VERSION), f};
            mdb_put(txn, dbi[MT__DB_META], &k, &v, 0);
        }
        /* Commit 0: the records of the first half of tbuf; 1: the rest. */
        const uint8_t *p = tbuf + 1, *end = tbuf + tlen;
        for (int n = 0; end - p >= 4; n++) {
            int db = p[0];
            size_t klen = p[1];
            MDB_val k = {klen, (void *)(p + 2)};
            MDB_val v = {(size_t)p[2 + klen] | (size_t)p[3 + klen] << 8, (void *)(p + 4 + klen)};
            p += 4 + klen + v.mv_size;
            if ((n % 2) == commit)
                mdb_put(txn, dbi[db], &k, &v, 0);
        }
        for (int i = 0; commit == 1 && i < extra + (big ? 1 : 0); i++) {
            static uint8_t blob[9000];
            uint8_t key[8];
            mt__put_be64(key, 1000 + (uint64_t)i);
            memset(blob, i, sizeof blob);
            MDB_val k = {8, key}, v = {i < extra ? 200 : sizeof blob, blob};
            mdb_put(txn, dbi[MT__DB_EVENTS], &k, &v, 0);
        }
        if (mdb_txn_commit(txn))
            exit(1);
    }
    mdb_env_close(env);
    size_t dlen, llen;
    static uint8_t out[1 << 21];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    uint8_t *d = slurp(path, &dlen);
    out[0] = (uint8_t)flags;
    size_t n = 1;
    if (flags & 2) {
        mt__put_le32(out + 1, (uint32_t)dlen);
        n += 4;
    }
    memcpy(out + n, d, dlen);
    n += dlen;
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    if (flags & 2) {
        uint8_t *l = slurp(path, &llen);
        memcpy(out + n, l, llen);
        n += llen;
    }
    unlink(path);
    rmdir(dir);
    save("mdb", name, out, n);
}

int main(int argc, char **argv)
{
    uint8_t buf[8192], rec1[1 + MT__MODULE_MAX];
    if (argc != 2) {
        fprintf(stderr, "usage: gen-seeds DIR\n");
        return 2;
    }
    root = argv[1];

    /* Blocks. */
    mt_block_encoder_t enc;
    mt_block_begin(&enc, buf, sizeof buf, 0);
    save("block", "empty", buf, mt_block_finish(&enc));
    save("block", "all-types", buf, block_all(buf, sizeof buf, 5, 123456789));
    save("block", "allocs", buf, block_allocs(buf, sizeof buf, 300, 50));

    /* Records: selector byte (0 module, 1 thread, 2 counter, 3 stack, 4 format,
     * 5 stack tree value, 6 stack group). */
    mt_module_t m;
    memset(&m, 0, sizeof m);
    m.base = 0x7f0000000000, m.lo = m.base + 0x1000, m.hi = m.base + 0x9000;
    m.first_ts = 5, m.build_id_len = 20;
    memset(m.build_id, 0x5a, 20);
    snprintf(m.path, sizeof m.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
    rec1[0] = 0;
    save("records", "module", rec1, 1 + mt__module_encode(&m, rec1 + 1));
    mt_thread_t t;
    memset(&t, 0, sizeof t);
    t.tid = 77, t.first_ts = 1, t.last_ts = 99, t.exited = 1;
    snprintf(t.name, sizeof t.name, "worker-1");
    rec1[0] = 1;
    save("records", "thread", rec1, 1 + mt__thread_encode(&t, rec1 + 1));
    mt_counter_t c;
    memset(&c, 0, sizeof c);
    c.calls = 12345, c.bytes = 678910;
    rec1[0] = 2;
    save("records", "counter", rec1, 1 + mt__counter_encode(&c, rec1 + 1));
    uint64_t pcs[5] = {0x401000, 0x401234, 0x7f0000001000, 0x7f0000002000, 0x400100};
    rec1[0] = 3;
    mt__stack_encode(pcs, 5, rec1 + 1);
    save("records", "stack", rec1, 1 + 40);
    {
        mt__stackstore_t st;
        memset(&st, 0, sizeof st);
        size_t vlen;
        rec1[0] = 5;
        if (mt__stackstore_put(&st, 1, pcs, 5, rec1 + 1, &vlen))
            abort();
        mt__stackstore_free(&st);
        save("records", "stack-tree", rec1, 1 + vlen);
    }
    {
        /* Selector 6: a group of 40 stacks sharing outer frames, compressed. */
        mt__stackstore_t st;
        mt__stackgroup_t g;
        memset(&st, 0, sizeof st);
        memset(&g, 0, sizeof g);
        uint8_t v[MT__STACK_VALUE_MAX];
        size_t vlen;
        for (uint32_t id = 1; id <= 40; id++) { /* ids 1 to 20, 22 to 41: a gap */
            uint32_t gid = id + (id > 20);
            pcs[0] = 0x401000 + 0x10 * id;
            if (mt__stackstore_put(&st, gid, pcs, 5, v, &vlen) ||
                mt__stackgroup_add(&g, gid, v, vlen))
                abort();
        }
        const uint8_t *gv;
        uint32_t first;
        if (mt__stackgroup_finish(&g, &first, &gv, &vlen) || vlen + 1 > sizeof rec1)
            abort();
        rec1[0] = 6;
        memcpy(rec1 + 1, gv, vlen);
        save("records", "stack-group", rec1, 1 + vlen);
        mt__stackgroup_free(&g);
        mt__stackstore_free(&st);
    }
    rec1[0] = 4;
    save("records", "format", rec1, 1 + mt__format_record_encode(rec1 + 1, MT_FORMAT_VERSION));

    /* Traces. */
    trace_seed("complete", 0, 1, 3);
    trace_seed("complete-json", 1, 1, 4);
    trace_seed("killed", 2, 0, 2);
    trace_seed("empty", 0, 1, 0);
    mdb_seed("empty", 0, 0, 0);
    trace_seed("complete", 0, 1, 3);
    mdb_seed("complete", 0, 0, 0);
    mdb_seed("complete-lock", 3, 0, 0);
    mdb_seed("branches", 1, 60, 0);
    mdb_seed("overflow", 0, 0, 1);
    return 0;
}
