/* internal.h - helpers shared by the files of format/, grouped by defining file.
 *
 * Nothing here is part of the trace API (that is format.h). Byte-order helpers
 * are inline; record encodings live in records.c so the writer and the reader
 * cannot disagree about them.
 */
#ifndef MT_FORMAT_INTERNAL_H
#define MT_FORMAT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "format.h"

/* ---- byte order (inline) ---------------------------------------------- */

static inline void mt__put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t mt__get_le32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static inline void mt__put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t mt__get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Big-endian keys sort numerically under LMDB's default memcmp order. */
static inline void mt__put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static inline uint32_t mt__get_be32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = (v << 8) | p[i];
    return v;
}

static inline void mt__put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static inline uint64_t mt__get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* ---- records.c: values of every database except events ----------------
 * Each decoder checks the length and version byte and returns 0 or
 * MT_ECORRUPT; each encoder returns the bytes written to OUT. */

#define MT__RECORD_VERSION 1 /* first byte of module, thread and counter values */

#define MT__FORMAT_RECORD_LEN 16 /* magic[8] + u32 version + u32 sizeof(mt_event_t) */
#define MT__MODULE_VERSION 3      /* first byte of module values (1, 2 in formats 1, 2-3) */
#define MT__MODULE_FIXED_V1 42    /* version, 5 x u64, build-id length */
#define MT__MODULE_FIXED 43       /* version 2: version, 5 x u64, flags, build-id length */
#define MT__MODULE_FIXED_MAX (1 + 5 * 10 + 2) /* version 3: 5 varints instead */
#define MT__MODULE_MAX (MT__MODULE_FIXED_MAX + 40 + 4095)
#define MT__THREAD_FIXED 22 /* version, u32 tid, 2 x u64, exited */
#define MT__THREAD_MAX (MT__THREAD_FIXED + 15)
#define MT__COUNTER_LEN 17  /* version, 2 x u64 */
#define MT__COUNTER_NAME_MAX 31

size_t mt__format_record_encode(uint8_t out[MT__FORMAT_RECORD_LEN], uint32_t version);
/* Checks a meta "format" value. Returns 0 (our version), MT_ENOTTRACE (no
 * magic), MT_ENEWER, MT_EOLDER or MT_ECORRUPT; *VERSION is the version
 * found whenever the magic matched. */
int mt__format_record_check(const void *val, size_t len, uint32_t *version);

size_t mt__module_encode(const mt_module_t *m, uint8_t out[MT__MODULE_MAX]);
int mt__module_decode(const void *val, size_t len, mt_module_t *m);
size_t mt__thread_encode(const mt_thread_t *t, uint8_t out[MT__THREAD_MAX]);
int mt__thread_decode(const void *val, size_t len, mt_thread_t *t);
size_t mt__counter_encode(const mt_counter_t *c, uint8_t out[MT__COUNTER_LEN]);
int mt__counter_decode(const void *val, size_t len, mt_counter_t *c);
/* Stack values: NFRAMES x u64 little-endian (NFRAMES <= MT_MAX_FRAMES). */
void mt__stack_encode(const uint64_t *pcs, uint32_t nframes, uint8_t *out);
int mt__stack_decode(const void *val, size_t len, uint64_t *pcs, uint32_t *nframes);

/* ---- stackstore.c: stack values of format 3, a prefix tree -------------
 * A value is varint parent stack id (0: none), varint shared (the outermost
 * frames taken from the parent's stack), varint M, then M frames innermost
 * first: a varint, then zigzag varints of each difference from the frame
 * before. The writer keeps the trie it chooses parents with. */

#define MT__STACK_TREE_VERSION 3 /* first format version with these values */
#define MT__STACK_VALUE_MAX (3 * 10 + 10 * MT_MAX_FRAMES)

typedef struct mt__stackstore {
    struct mt__trie_node *nodes;
    size_t nnodes, nodes_cap, committed_nodes;
    mt_table_t children; /* hash(parent node, pc) -> node index */
    mt_table_t chain;    /* stack id -> references to follow to resolve it */
    uint32_t *pending;   /* ids put since the last commit */
    size_t npending, pending_cap;
} mt__stackstore_t;

/* Encodes stack ID (N frames PCS, innermost first) into OUT and adds it to
 * the trie. Returns 0 or ENOMEM. */
int mt__stackstore_put(mt__stackstore_t *s, uint32_t id, const uint64_t *pcs, uint32_t n,
                       uint8_t out[MT__STACK_VALUE_MAX], size_t *len);
void mt__stackstore_commit(mt__stackstore_t *s);   /* the tick's stacks are stored */
void mt__stackstore_rollback(mt__stackstore_t *s); /* the tick was aborted */
void mt__stackstore_free(mt__stackstore_t *s);

/* ---- stackstore.c: stack groups of format 4 ----------------------------
 * The writer packs the stacks of a tick into groups: one LMDB value per
 * group, keyed by its first stack id (u32 big-endian), holding varint
 * count, a flags byte (bit 0: zstd), varint raw length, then the records
 * (or one zstd frame of them). A record is varint id gap (its id minus the
 * previous record's minus 1; the first record's id is the key), then a
 * format 3 stack value. A reader finds a stack's group by a cursor seek. */

#define MT__STACK_GROUP_VERSION 4        /* first format version with groups */
#define MT__STACK_GROUP_RAW_MAX (256u << 10) /* records of one group, uncompressed */
#define MT__STACK_RECORD_MIN 4           /* gap, parent, shared, m: a varint each */
#define MT__STACK_GROUP_FLAG_ZSTD 1

typedef struct mt__stackgroup {
    uint8_t *raw;    /* records of the open group */
    size_t len, cap;
    uint32_t first, last, count; /* ids of the open group, and its stacks */
    uint32_t top, committed_top; /* highest id put (0: none), and at the last commit */
    void *cctx;      /* ZSTD_CCtx */
    uint8_t *out;    /* the finished value */
    size_t out_cap;
} mt__stackgroup_t;

/* 1 when the open group has no room for one more record of any size. */
int mt__stackgroup_full(const mt__stackgroup_t *g);
/* Appends stack ID's format 3 value VAL[LEN] to the open group; ID must be
 * above every id added before (else MT_EINVAL) and the group not full.
 * Returns 0, MT_EINVAL or ENOMEM. */
int mt__stackgroup_add(mt__stackgroup_t *g, uint32_t id, const uint8_t *val, size_t len);
/* Finishes the open group: *FIRST its key and *VAL[*LEN] its value (valid
 * until the next call); *LEN 0 when the group is empty. Returns 0 or ENOMEM. */
int mt__stackgroup_finish(mt__stackgroup_t *g, uint32_t *first, const uint8_t **val,
                          size_t *len);
void mt__stackgroup_commit(mt__stackgroup_t *g);   /* the tick's groups are stored */
void mt__stackgroup_rollback(mt__stackgroup_t *g); /* the tick was aborted */
void mt__stackgroup_free(mt__stackgroup_t *g);

/* A decoded group: the records and where each stack's value lies. */
typedef struct mt__stackgroup_index {
    uint32_t first, last, count;
    uint32_t *ids;  /* count ids, increasing */
    uint32_t *off;  /* count + 1 offsets into raw: record i is [off[i] .. off[i + 1]) */
    uint8_t *raw;   /* the records (one allocation holds ids, off and raw) */
} mt__stackgroup_index_t;

/* Decodes group value VAL[LEN] stored under key FIRST into IX (allocated;
 * free with mt__stackgroup_index_free). *DCTX caches a ZSTD_DCtx across
 * calls (free it with mt__stackgroup_dctx_free). Returns 0, MT_ECORRUPT
 * or ENOMEM; never allocates more than MT__STACK_GROUP_RAW_MAX plus 3 words
 * per MT__STACK_RECORD_MIN bytes of it. */
int mt__stackgroup_decode(uint32_t first, const void *val, size_t len, void **dctx,
                          mt__stackgroup_index_t *ix);
void mt__stackgroup_index_free(mt__stackgroup_index_t *ix);
void mt__stackgroup_dctx_free(void *dctx);
/* The format 3 value of the I-th stack of IX, *LEN bytes. */
const uint8_t *mt__stackgroup_value(const mt__stackgroup_index_t *ix, uint32_t i, size_t *len);
/* Position in IX of the first id >= ID (IX->count when none). */
uint32_t mt__stackgroup_lower(const mt__stackgroup_index_t *ix, uint32_t id);

/* Fetches the stored value of stack ID (MT_ENOTFOUND when absent). */
typedef int (*mt__stack_get_fn)(void *ctx, uint32_t id, const void **val, size_t *len);

/* Decodes the value VAL of stack ID in a trace of format VERSION, following
 * parent references through GET. Returns 0 or MT_ECORRUPT (or GET's error). */
int mt__stack_resolve(uint32_t version, uint32_t id, const void *val, size_t len,
                      mt__stack_get_fn get, void *ctx, uint64_t *pcs, uint32_t *nframes);

/* ---- codec.c ----------------------------------------------------------- */

/* The zstd level of event blocks and whether their literals are always
 * entropy-coded; tools/ measure other choices with them (FORMAT.md). */
extern int mt__zstd_level;
extern int mt__zstd_literals;

/* The stacks a reader resolved, by id: a stack whose parent is here takes
 * the parent's outer frames from it instead of following the parent's
 * references again (an analysis reads every stack, and their chains share
 * parents). Values of committed stacks never change, so it outlives a
 * refresh. */
typedef struct mt__stack_memo_ent {
    uint64_t off;        /* of its frames in pcs */
    uint16_t n;          /* frames; 0: not resolved yet */
    uint16_t steps;      /* references followed to resolve it */
} mt__stack_memo_ent_t;
typedef struct mt__stack_memo {
    mt__stack_memo_ent_t *at; /* by id */
    size_t nat;
    uint64_t *pcs;
    size_t npcs, pcs_cap;
} mt__stack_memo_t;
/* mt__stack_resolve with MEMO (NULL: none), which it also fills. */
int mt__stack_resolve_memo(uint32_t version, uint32_t id, const void *val, size_t len,
                           mt__stack_get_fn get, void *ctx, mt__stack_memo_t *memo,
                           uint64_t *pcs, uint32_t *nframes);
void mt__stack_memo_free(mt__stack_memo_t *memo);

/* ---- store.c: the LMDB layout shared by writer.c and reader.c ---------- */

enum mt__db {
    MT__DB_META,
    MT__DB_EVENTS,
    MT__DB_STACKS,
    MT__DB_MODULES,
    MT__DB_THREADS,
    MT__DB_COUNTERS,
    MT__DB_COUNT
};

extern const char *const mt__db_names[MT__DB_COUNT];

/* From format 4 on, counters, modules and threads live in the meta
 * database, under a type byte before their key (meta names start with a
 * byte of 0x20 or above); their own databases stay empty: a small trace
 * has three leaf pages fewer. */
#define MT__MERGED_VERSION 4
#define MT__KEY_COUNTER 1 /* + name */
#define MT__KEY_MODULE 2  /* + u64 big-endian sequence */
#define MT__KEY_THREAD 3  /* + u32 big-endian sequence */
#define MT__META_NAME_MIN 0x20 /* the first byte of a meta name is at least this */

/* Maps an LMDB return code into the mtrace error space: errno values pass
 * through, MDB_MAP_FULL -> MT_EMAPFULL, MDB_NOTFOUND -> MT_ENOTFOUND,
 * damaged-file codes -> MT_ECORRUPT, anything else -> MT_ELMDB. */
int mt__lmdb_error(int rc);

/* ---- lmdb_check.c ------------------------------------------------------ */

/* Checks, with pread on FD (data.mdb), every page the snapshot TXNID can
 * reach through the main tree and the named databases of mt__db_names.
 * Returns 0, MT_ECORRUPT, EAGAIN (no meta page holds TXNID any more: a live
 * writer moved on; begin a new snapshot) or another errno value. */
int mt__lmdb_check(int fd, uint64_t txnid);

/* Checks what mdb_env_open believes of FD's two meta pages (page size,
 * last page, magic, version) before it runs: 0, MT_ECORRUPT or an errno
 * value. A file that is no LMDB file at all passes (LMDB refuses it). */
int mt__lmdb_precheck(int fd);

#endif
