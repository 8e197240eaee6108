/* lmdb_check.c - checks the LMDB page structure of data.mdb before LMDB trusts it.
 *
 * LMDB reads its B-trees in place from the map and believes every page
 * number, node offset and size it finds there: one flipped bit is a SIGSEGV,
 * a SIGBUS past the end of the file, or a walk that never ends. So before a
 * read transaction is used, mt__lmdb_check walks, with pread (which cannot
 * fault), exactly the pages that snapshot can reach: the main tree of the
 * meta page whose txnid is the snapshot's, and the trees of the named
 * databases the reader opens. Anything LMDB could not follow safely is
 * MT_ECORRUPT. Why a validator and not a fault handler: see LMDB-CHECK.md.
 *
 * Layout facts (LMDB 0.9.x data format 1, 64-bit, little-endian):
 *   page header, 16 bytes: u64 pgno, u16 pad, u16 flags, then either
 *     u16 lower, u16 upper (branch/leaf) or u32 page count (overflow);
 *     branch/leaf: u16 node offsets from byte 16 up to `lower`, nodes
 *     packed from `upper` to the page end.
 *   meta (pages 0 and 1, after the header): u32 magic, u32 version,
 *     u64 address, u64 mapsize, MDB_db free, MDB_db main, u64 last page,
 *     u64 txnid. MDB_db, 48 bytes: u32 pad (page size in meta 0's free
 *     db), u16 flags, u16 depth, u64 branch, leaf, overflow pages,
 *     u64 entries, u64 root (all ones: empty).
 *   node, 8-byte header: u16 lo, u16 hi, u16 flags, u16 key size, key,
 *     then (leaf) data of lo|hi<<16 bytes, or for F_BIGDATA a u64 overflow
 *     page number; a branch node's child is lo|hi<<16|flags<<32.
 *   A named database is a main-tree leaf node with F_SUBDATA whose data is
 *     its 48-byte MDB_db.
 *
 * Work is bounded by the file: each page may be reached once (a bitmap),
 * so a cycle or two parents sharing a subtree is corruption, and depth is
 * bounded by the tree's recorded depth.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define PAGEHDR 16
#define NODEHDR 8
#define DB_LEN 48
#define META_MAGIC 0xBEEFC0DEu
#define META_MAGIC_OFF 16
#define META_PSIZE_OFF 40 /* the free db's md_pad in meta page 0 */
#define META_MAIN_OFF 88
#define META_LAST_OFF 136
#define META_TXNID_OFF 144
#define MAX_DEPTH 32 /* LMDB's cursor stack */
#define MAX_KEY 511  /* LMDB's default key size limit */

#define P_BRANCH 0x01
#define P_LEAF 0x02
#define P_OVERFLOW 0x04
#define P_META 0x08
#define P_LEAF2 0x20
#define P_SUBP 0x40
#define P_TYPES (P_BRANCH | P_LEAF | P_OVERFLOW | P_META | P_LEAF2 | P_SUBP)

#define F_BIGDATA 0x01
#define F_SUBDATA 0x02
#define F_DUPDATA 0x04

struct walk {
    int fd;
    uint32_t psize;
    uint64_t npages;  /* pages the snapshot may use: min(file, last page + 1) */
    uint8_t *seen;    /* one bit per page */
    uint8_t *buf;     /* MAX_DEPTH pages */
    bool main;        /* walking the main tree: collect named databases */
    uint8_t subdb[MT__DB_COUNT][DB_LEN];
    bool have[MT__DB_COUNT];
};

static inline uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Reads LEN bytes at OFF; a short read (the file shrank) is corruption. */
static int rd(int fd, void *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, (uint8_t *)buf + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        if (n == 0)
            return MT_ECORRUPT;
        got += (size_t)n;
    }
    return 0;
}

/* Claims pages [PG, PG+N): each must exist, be no meta page, and be new. */
static int claim(struct walk *w, uint64_t pg, uint64_t n)
{
    if (pg < 2 || n == 0 || pg >= w->npages || n > w->npages - pg)
        return MT_ECORRUPT;
    for (uint64_t i = pg; i < pg + n; i++) {
        if (w->seen[i >> 3] & (1u << (i & 7)))
            return MT_ECORRUPT;
        w->seen[i >> 3] |= (uint8_t)(1u << (i & 7));
    }
    return 0;
}

/* Checks the overflow run at PG holding DSIZE bytes. */
static int overflow(struct walk *w, uint64_t pg, uint64_t dsize)
{
    uint8_t h[PAGEHDR];
    int rc;
    if (pg < 2 || pg >= w->npages)
        return MT_ECORRUPT;
    if ((rc = rd(w->fd, h, sizeof h, pg * w->psize)))
        return rc;
    uint64_t n = mt__get_le32(h + 12);
    if (mt__get_le64(h) != pg || (get16(h + 10) & P_TYPES) != P_OVERFLOW ||
        PAGEHDR + dsize > n * w->psize)
        return MT_ECORRUPT;
    return claim(w, pg, n);
}

/* A main-tree record naming one of our databases: keep its MDB_db. */
static int named_db(struct walk *w, const uint8_t *key, size_t klen, const uint8_t *data,
                    uint64_t dsize)
{
    if (dsize != DB_LEN)
        return MT_ECORRUPT;
    for (int i = 0; i < MT__DB_COUNT; i++)
        if (strlen(mt__db_names[i]) == klen && memcmp(mt__db_names[i], key, klen) == 0) {
            memcpy(w->subdb[i], data, DB_LEN);
            w->have[i] = true;
        }
    return 0;
}

static int page(struct walk *w, uint64_t pg, unsigned level, unsigned depth)
{
    uint8_t *p = w->buf + (size_t)level * w->psize;
    int rc = claim(w, pg, 1);
    if (rc || (rc = rd(w->fd, p, w->psize, pg * w->psize)))
        return rc;
    bool leaf = level + 1 == depth;
    unsigned lower = get16(p + 12), upper = get16(p + 14);
    if (mt__get_le64(p) != pg || (get16(p + 10) & P_TYPES) != (leaf ? P_LEAF : P_BRANCH) ||
        lower < PAGEHDR + 2 || (lower & 1) || lower > upper || upper > w->psize)
        return MT_ECORRUPT;
    unsigned nkeys = (lower - PAGEHDR) / 2;
    if (!leaf && nkeys < 2) /* LMDB asserts (abort) that a branch has two */
        return MT_ECORRUPT;
    for (unsigned i = 0; i < nkeys; i++) {
        size_t at = get16(p + PAGEHDR + 2 * i);
        if (at < upper || at + NODEHDR > w->psize)
            return MT_ECORRUPT;
        const uint8_t *n = p + at;
        uint64_t lo = get16(n) | (uint64_t)get16(n + 2) << 16;
        unsigned flags = get16(n + 4), ksize = get16(n + 6);
        size_t key_end = at + NODEHDR + ksize;
        if (ksize > MAX_KEY || key_end > w->psize)
            return MT_ECORRUPT;
        if (!leaf) {
            if ((rc = page(w, lo | (uint64_t)flags << 32, level + 1, depth)))
                return rc;
            continue;
        }
        if (flags & ~(unsigned)(F_BIGDATA | F_SUBDATA))
            return MT_ECORRUPT; /* F_DUPDATA: none of our databases has duplicates */
        if (flags & F_BIGDATA) {
            if ((flags & F_SUBDATA) || key_end + 8 > w->psize)
                return MT_ECORRUPT;
            rc = overflow(w, mt__get_le64(p + key_end), lo);
        } else if (key_end + lo > w->psize) {
            return MT_ECORRUPT;
        } else if (flags & F_SUBDATA) {
            rc = w->main ? named_db(w, n + NODEHDR, ksize, p + key_end, lo) : MT_ECORRUPT;
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* Walks the tree described by the 48-byte MDB_db at DB. */
static int tree(struct walk *w, const uint8_t *db)
{
    unsigned flags = get16(db + 4), depth = get16(db + 6);
    uint64_t root = mt__get_le64(db + 40);
    if (flags != 0) /* the writer creates every database with flags 0 */
        return MT_ECORRUPT;
    if (root == UINT64_MAX)
        return depth == 0 ? 0 : MT_ECORRUPT;
    if (depth == 0 || depth > MAX_DEPTH)
        return MT_ECORRUPT;
    return page(w, root, 0, depth);
}

/* META: the whole meta page, header included. */
static int check_meta(struct walk *w, const uint8_t *meta, uint64_t fpages)
{
    uint64_t last = mt__get_le64(meta + META_LAST_OFF);
    if (last >= fpages)
        return MT_ECORRUPT;
    w->npages = last + 1;
    memset(w->seen, 0, (size_t)(fpages + 7) / 8);
    memset(w->have, 0, sizeof w->have);
    w->main = true;
    int rc = tree(w, meta + META_MAIN_OFF);
    w->main = false;
    for (int i = 0; rc == 0 && i < MT__DB_COUNT; i++)
        if (w->have[i])
            rc = tree(w, w->subdb[i]);
    return rc;
}

int mt__lmdb_precheck(int fd)
{
    struct stat st;
    uint8_t head[2][META_TXNID_OFF + 8];
    uint32_t psize = 0;
    int rc;
    if (rd(fd, head[0], sizeof head[0], 0) != 0 ||
        mt__get_le32(head[0] + META_MAGIC_OFF) != META_MAGIC)
        return 0; /* too short or no LMDB file at all: mdb_env_open says so */
    for (int m = 0; m < 2; m++) {
        const uint8_t *h = head[m];
        if (m == 1 && (rc = rd(fd, head[1], sizeof head[1], psize)))
            return rc;
        uint32_t ps = mt__get_le32(h + META_PSIZE_OFF);
        /* LMDB takes its page size from whichever meta is newer and divides
         * by it; it finds meta 1 at meta 0's page size. */
        if (!(get16(h + 10) & P_META) || mt__get_le32(h + META_MAGIC_OFF) != META_MAGIC ||
            mt__get_le32(h + META_MAGIC_OFF + 4) != 1 || ps < 512 || ps > 65536 ||
            (ps & (ps - 1)) || (m == 1 && ps != psize))
            return MT_ECORRUPT;
        psize = ps;
    }
    /* The size after the metas were read: a live writer only grows the
     * file, and grows it before it commits a meta naming the new pages. */
    if (fstat(fd, &st) != 0)
        return errno;
    for (int m = 0; m < 2; m++)
        if ((uint64_t)st.st_size < 2ull * psize ||
            mt__get_le64(head[m] + META_LAST_OFF) >= (uint64_t)st.st_size / psize)
            return MT_ECORRUPT;
    return 0;
}

int mt__lmdb_check(int fd, uint64_t txnid)
{
    struct stat st;
    uint8_t head[2][META_TXNID_OFF + 8];
    int rc;
    if ((rc = rd(fd, head[0], sizeof head[0], 0)))
        return rc;
    uint32_t psize = mt__get_le32(head[0] + META_PSIZE_OFF);
    if (mt__get_le32(head[0] + META_MAGIC_OFF) != META_MAGIC || psize < 512 || psize > 65536 ||
        (psize & (psize - 1)))
        return MT_ECORRUPT;
    if ((rc = rd(fd, head[1], sizeof head[1], psize)))
        return rc;
    if (fstat(fd, &st) != 0) /* after the metas: see mt__lmdb_precheck */
        return errno;
    if ((uint64_t)st.st_size < 2ull * psize)
        return MT_ECORRUPT;
    uint64_t fpages = (uint64_t)st.st_size / psize;
    struct walk w = {.fd = fd, .psize = psize};
    w.seen = calloc(1, (size_t)(fpages + 7) / 8);
    w.buf = malloc((size_t)MAX_DEPTH * psize);
    if (!w.seen || !w.buf) {
        free(w.seen);
        free(w.buf);
        return ENOMEM;
    }
    /* LMDB takes the snapshot from meta[txnid & 1] (lock table), or from
     * the one with the larger txnid (none); a valid file has txnid T only
     * in slot T & 1. Check that slot and any other meta claiming TXNID. A
     * newer txnid in the slot: the writer has reused it since (EAGAIN: the
     * caller takes a new snapshot); an older one: damage. */
    uint64_t slot = mt__get_le64(head[txnid & 1] + META_TXNID_OFF);
    rc = slot > txnid ? EAGAIN : slot < txnid ? MT_ECORRUPT : 0;
    for (int m = 0; rc == 0 && m < 2; m++) {
        const uint8_t *meta = head[m] + PAGEHDR;
        if (mt__get_le64(head[m] + META_TXNID_OFF) != txnid)
            continue;
        if (mt__get_le64(head[m]) != (uint64_t)m || !(get16(head[m] + 10) & P_META) ||
            mt__get_le32(meta) != META_MAGIC)
            rc = MT_ECORRUPT;
        else
            rc = check_meta(&w, head[m], fpages);
    }
    free(w.seen);
    free(w.buf);
    return rc;
}
