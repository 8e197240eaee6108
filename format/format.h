/* format.h - the mtrace trace schema, shared by the shim, the analyzer and the tests.
 *
 * A trace is one LMDB environment per process (a directory holding data.mdb
 * and lock.mdb). This header is the whole contract: the event record, the
 * block codec, the writer API (shim) and the read-only reader API (analyzer).
 * Only the .c files of format/ include <lmdb.h>. FORMAT.md next to this file is the spec.
 */
#ifndef MT_FORMAT_H
#define MT_FORMAT_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "errors.h"

#define MT_FORMAT_MAGIC "MTRACE01" /* 8 bytes, at the start of meta "format" */
#define MT_FORMAT_VERSION 4u       /* bump on any incompatible change */
#define MT_FORMAT_OLDEST 1u        /* oldest version readers still read */
#define MT_MAX_FRAMES 128          /* upper bound on frames in one stack */
#define MT_WEIGHT_ONE 65536u       /* weight of an exact (unsampled) record */

/* ---- events ------------------------------------------------------------ */

typedef enum mt_alloc_kind {
    MT_AK_MALLOC = 0,
    MT_AK_CALLOC = 1,
    MT_AK_REALLOC = 2,
    MT_AK_ALIGNED = 3, /* memalign, aligned_alloc, posix_memalign, valloc, pvalloc */
    MT_AK_NEW = 4,
    MT_AK_NEW_ARRAY = 5,
    MT_AK_MAX = 5
} mt_alloc_kind_t;

typedef enum mt_free_kind {
    MT_FK_FREE = 0,
    MT_FK_REALLOC = 1, /* the old block of a moving or freeing realloc */
    MT_FK_DELETE = 2,
    MT_FK_DELETE_ARRAY = 3,
    MT_FK_MAX = 3
} mt_free_kind_t;

/* POOL_ALLOC kinds (FORMAT.md): 0 is an object; MT_POOL_KIND_NAME + i
 * carries bytes [24i, 24i + 24) of the pool's name, little-endian, in ptr,
 * size and arg[0], zero padded; arg[1] is the pool id. */
#define MT_POOL_KIND_OBJECT 0
#define MT_POOL_KIND_NAME 0x80
#define MT_POOL_NAME_CHUNK 24

/* POLICY kinds: the call (events.def). */
typedef enum mt_policy_kind {
#define MT_POLICY(name, value, call) MT_PK_##name = value,
#include "events.def"
#undef MT_POLICY
    MT_PK_MAX = 0
#define MT_POLICY(name, value, call) +1
#include "events.def"
#undef MT_POLICY
    - 1
} mt_policy_kind_t;

/* The call each POLICY kind names ("mbind", ...), by kind. */
extern const char *const mt_policy_names[MT_PK_MAX + 1];

/* What an event type stores besides its type and ts (events.def, codec.c). */
enum {
    MT_EVF_PTR = 1 << 0,   /* zigzag delta from the previous ptr in the block */
    MT_EVF_SIZE = 1 << 1,  /* varint */
    MT_EVF_STACK = 1 << 2, /* varint, <= UINT32_MAX */
    MT_EVF_CPU = 1 << 3,   /* varint, <= UINT16_MAX */
    MT_EVF_NODE = 1 << 4,  /* zigzag, int16 range */
    MT_EVF_KIND = 1 << 5,  /* one byte right after the type, <= kind_max */
};

/* How an arg[] slot is stored. */
enum {
    MT_EVA_NONE = 0,   /* not stored, decodes as 0 */
    MT_EVA_UINT = 1,   /* varint */
    MT_EVA_SINT = 2,   /* zigzag varint: fds, results, which are often -1 */
    MT_EVA_WEIGHT = 3, /* zigzag(weight - MT_WEIGHT_ONE): exact records cost 1 byte */
};

/* Event types, from events.def; values are 1..MT_EV_TYPE_MAX. */
typedef enum mt_event_type {
#define MT_EVENT(name, value, fields, a0, a1, a2, kind_max) MT_EV_##name = value,
#include "events.def"
#undef MT_EVENT
    MT_EV_TYPE_MAX = 0
#define MT_EVENT(name, value, fields, a0, a1, a2, kind_max) +1
#include "events.def"
#undef MT_EVENT
} mt_event_type_t;

#define MT_NODE_UNKNOWN (-1)   /* node not known (no libnuma, query failed) */
#define MT_NODE_UNTOUCHED (-2) /* placement: page not yet faulted in */

/* One decoded event. The shim's rings hold exactly this record (64 bytes);
 * the codec turns runs of them into compact blocks. Fields a type does not
 * use are zero after decoding. */
typedef struct mt_event {
    uint64_t ts;     /* ns since the trace's start (CLOCK_MONOTONIC) */
    uint64_t ptr;    /* allocation / region / range address */
    uint64_t size;   /* requested bytes, region length, RSS bytes */
    uint64_t arg[3]; /* type-specific, see mt_event_type_t; ALLOC/POOL_ALLOC: arg[0]
                        is the weight, objects this sample stands for * 65536 */
    uint32_t stack;  /* stack id, 0 = none */
    uint16_t cpu;    /* CPU the thread ran on */
    int16_t node;    /* NUMA node of that CPU, or of the memory (PLACEMENT) */
    uint8_t type;    /* mt_event_type_t */
    uint8_t kind;    /* mt_alloc_kind_t / mt_free_kind_t / mt_policy_kind_t / flags */
    uint8_t pad[6];
} mt_event_t;

#define mt_event_weight(e) ((e)->arg[0])

/* ---- block codec ------------------------------------------------------- */

/* A block is one thread's run of events in time order, compactly encoded
 * (varints, deltas). Worst case per event is MT_EVENT_MAX_ENCODED bytes. */
#define MT_EVENT_MAX_ENCODED 96
#define MT_BLOCK_HEADER_MAX 32
#define MT_BLOCK_COLUMNS 9             /* a block's fields are stored in columns */
#define MT_BLOCK_RAW_MAX (1u << 20)     /* largest body a block may have, uncompressed */
#define MT_BLOCK_CLASSES 128            /* size classes of freed chunks an ALLOC may name */
#define MT_BLOCK_CLASS_DEPTH 8          /* chunks remembered per class */

struct mt__zstate;

typedef struct mt_block_encoder {
    uint8_t *buf;   /* caller's buffer: the block, once finished */
    size_t cap;     /* its size (at most MT_BLOCK_RAW_MAX is used) */
    size_t len;     /* bytes used so far before compression, header included */
    uint32_t count; /* events so far */
    uint32_t thread;
    uint64_t base_ts, prev_ts, prev_ptr;
    uint16_t prev_cpu; /* where the previous placed event ran (0, 0 at the start) */
    int16_t prev_node;
    int err;                        /* ENOMEM: no room for the columns */
    struct mt__zstate *z;           /* this thread's columns, zstd context, ALLOCs */
    uint64_t gen;                   /* which block of the thread this is */
    uint8_t *col[MT_BLOCK_COLUMNS]; /* the columns (this thread's) */
    uint8_t *w[MT_BLOCK_COLUMNS];   /* and where each one ends */
    uint32_t nfreed, nallocs;       /* FREEs and ALLOCs so far */
} mt_block_encoder_t;

/* Starts a block for thread sequence number THREAD in BUF[CAP]
 * (CAP >= MT_BLOCK_HEADER_MAX + MT_EVENT_MAX_ENCODED). The events go to
 * columns of the calling thread until mt_block_finish writes the block into
 * BUF: one block at a time per thread (beginning another one makes the
 * first one's adds fail with MT_EINVAL). */
void mt_block_begin(mt_block_encoder_t *enc, uint8_t *buf, size_t cap, uint32_t thread);
/* Appends E. Returns 0, or MT_EFULL when the block has no room left (E is not
 * added), or MT_EINVAL for an event type it does not know, ENOMEM when the
 * columns could not be allocated. Timestamps must not decrease within a block. */
int mt_block_add(mt_block_encoder_t *enc, const mt_event_t *e);
/* Finishes the block into BUF, compressed when that makes it smaller;
 * returns its length in bytes (at most ENC->len + 28). */
size_t mt_block_finish(mt_block_encoder_t *enc);

typedef struct mt_block_decoder {
    const uint8_t *p, *end;
    uint32_t thread;
    uint32_t count, left;
    uint64_t prev_ts, prev_ptr;
    uint16_t prev_cpu;
    int16_t prev_node;
    uint8_t version, zstd, bad;
    size_t raw;                          /* body bytes, uncompressed */
    uint8_t *own;                        /* the body (decompressed) and the arrays below */
    const uint8_t *c[MT_BLOCK_COLUMNS];  /* read positions in the columns */
    const uint8_t *ce[MT_BLOCK_COLUMNS]; /* and their ends */
    uint64_t freed[8];                   /* ptrs of the last 8 FREEs: FREE k in slot k & 7 */
    uint32_t nfreed, nallocs;            /* FREEs and ALLOCs so far */
    uint64_t *aptr;                      /* ptr and size class of each ALLOC so far */
    uint8_t *acls;
    uint64_t (*cls)[2 * MT_BLOCK_CLASS_DEPTH]; /* chunks freed, by size class:
                                                  push k in slot k & 15 */
    uint16_t *clive;                     /* per class, the slots holding a chunk not taken */
    uint32_t *ccnt;                      /* per class, the pushes so far */
} mt_block_decoder_t;

/* Opens a block for decoding. Returns 0 or MT_ECORRUPT. */
int mt_block_open(mt_block_decoder_t *dec, const void *data, size_t len);
/* Decodes the next event into E. Returns 1 when an event was produced, 0 at
 * the end of the block, MT_ECORRUPT on any malformed input (ENOMEM when a
 * compressed body cannot be allocated). Never reads outside [data,
 * data+len). The first call decompresses a compressed block into memory the
 * decoder owns until it returns 0 or an error. */
int mt_block_next(mt_block_decoder_t *dec, mt_event_t *e);
/* Frees what DEC holds: needed only for a decoder left before its end (0 or
 * an error); harmless on any opened or zeroed decoder. */
void mt_block_close(mt_block_decoder_t *dec);

/* ---- records other than events ---------------------------------------- */

typedef struct mt_module {
    uint64_t seq;        /* key: order in which the writer saw it */
    uint64_t base;       /* load bias (dlpi_addr) */
    uint64_t lo, hi;     /* address range of its PT_LOAD segments */
    uint64_t first_ts;   /* loaded after this time (format 1: when first seen) */
    uint64_t last_ts;    /* unloaded before this time, 0 = still loaded */
    uint32_t flags;      /* MT_MODULE_* */
    char path[4096];
    uint8_t build_id[40];
    uint32_t build_id_len;
} mt_module_t;

/* Module flags: how first_ts and last_ts were taken. */
#define MT_MODULE_AT_START 1u      /* there when the trace began (first_ts 0) */
#define MT_MODULE_LOAD_HOOKED 2u   /* first_ts: scan in the dlopen/dlclose hook before */
#define MT_MODULE_UNLOAD_HOOKED 4u /* last_ts: scan in the dlclose hook after */
#define MT_MODULE_SEEN_TIMES 8u    /* format 1: first_ts/last_ts are the ticks that
                                      saw it come and go, not bounds */

typedef struct mt_thread {
    uint32_t seq;      /* key: the shim's thread sequence number (blocks refer to it) */
    uint32_t tid;      /* kernel thread id */
    uint64_t first_ts; /* first event or registration */
    uint64_t last_ts;  /* last event, or exit */
    uint8_t exited;
    char name[16];
} mt_thread_t;

/* Exact counters: one record per entry point and a few named totals. */
typedef struct mt_counter {
    char name[32];
    uint64_t calls;
    uint64_t bytes;
} mt_counter_t;

/* Entry points with exact counters. X(ID, "name", family). The family says
 * which info total the entry point adds to. Append only. The tc_* entries
 * group tcmalloc's variants as operator new/delete do: tc_malloc also counts
 * tc_malloc_skip_new_handler; tc_free also tc_cfree and tc_free_sized; tc_new
 * and tc_newarray their nothrow and aligned forms; tc_delete and
 * tc_deletearray their sized, nothrow and aligned forms. "allocator mmap" and
 * friends are mapping calls made from inside the next allocator's own code
 * (jemalloc's extents, tcmalloc's spans): not the program's, not in "mmap". */
#define MT_FAMILY_ALLOC 1
#define MT_FAMILY_FREE 2
#define MT_FAMILY_MAP 3
#define MT_FAMILY_POLICY 4
#define MT_FAMILY_POOL 5
#define MT_ENTRY_POINTS(X)                                     \
    X(MALLOC, "malloc", MT_FAMILY_ALLOC)                       \
    X(CALLOC, "calloc", MT_FAMILY_ALLOC)                       \
    X(REALLOC, "realloc", MT_FAMILY_ALLOC)                     \
    X(REALLOCARRAY, "reallocarray", MT_FAMILY_ALLOC)           \
    X(MEMALIGN, "memalign", MT_FAMILY_ALLOC)                   \
    X(ALIGNED_ALLOC, "aligned_alloc", MT_FAMILY_ALLOC)         \
    X(POSIX_MEMALIGN, "posix_memalign", MT_FAMILY_ALLOC)       \
    X(VALLOC, "valloc", MT_FAMILY_ALLOC)                       \
    X(PVALLOC, "pvalloc", MT_FAMILY_ALLOC)                     \
    X(NEW, "operator new", MT_FAMILY_ALLOC)                    \
    X(NEW_ARRAY, "operator new[]", MT_FAMILY_ALLOC)            \
    X(FREE, "free", MT_FAMILY_FREE)                            \
    X(CFREE, "cfree", MT_FAMILY_FREE)                          \
    X(FREE_SIZED, "free_sized", MT_FAMILY_FREE)                \
    X(FREE_ALIGNED_SIZED, "free_aligned_sized", MT_FAMILY_FREE) \
    X(DELETE, "operator delete", MT_FAMILY_FREE)               \
    X(DELETE_ARRAY, "operator delete[]", MT_FAMILY_FREE)       \
    X(MMAP, "mmap", MT_FAMILY_MAP)                             \
    X(MUNMAP, "munmap", MT_FAMILY_MAP)                         \
    X(MREMAP, "mremap", MT_FAMILY_MAP)                         \
    X(MBIND, "mbind", MT_FAMILY_POLICY)                        \
    X(SET_MEMPOLICY, "set_mempolicy", MT_FAMILY_POLICY)        \
    X(MOVE_PAGES, "move_pages", MT_FAMILY_POLICY)              \
    X(MIGRATE_PAGES, "migrate_pages", MT_FAMILY_POLICY)        \
    X(POOL_ALLOC, "pool alloc", MT_FAMILY_POOL)                \
    X(POOL_FREE, "pool free", MT_FAMILY_POOL)                  \
    X(MALLOCX, "mallocx", MT_FAMILY_ALLOC)                     \
    X(RALLOCX, "rallocx", MT_FAMILY_ALLOC)                     \
    X(XALLOCX, "xallocx", MT_FAMILY_ALLOC)                     \
    X(DALLOCX, "dallocx", MT_FAMILY_FREE)                      \
    X(SDALLOCX, "sdallocx", MT_FAMILY_FREE)                    \
    X(TC_MALLOC, "tc_malloc", MT_FAMILY_ALLOC)                 \
    X(TC_CALLOC, "tc_calloc", MT_FAMILY_ALLOC)                 \
    X(TC_REALLOC, "tc_realloc", MT_FAMILY_ALLOC)               \
    X(TC_MEMALIGN, "tc_memalign", MT_FAMILY_ALLOC)             \
    X(TC_POSIX_MEMALIGN, "tc_posix_memalign", MT_FAMILY_ALLOC) \
    X(TC_VALLOC, "tc_valloc", MT_FAMILY_ALLOC)                 \
    X(TC_PVALLOC, "tc_pvalloc", MT_FAMILY_ALLOC)               \
    X(TC_NEW, "tc_new", MT_FAMILY_ALLOC)                       \
    X(TC_NEW_ARRAY, "tc_newarray", MT_FAMILY_ALLOC)            \
    X(TC_FREE, "tc_free", MT_FAMILY_FREE)                      \
    X(TC_DELETE, "tc_delete", MT_FAMILY_FREE)                  \
    X(TC_DELETE_ARRAY, "tc_deletearray", MT_FAMILY_FREE)       \
    X(ALLOCATOR_MMAP, "allocator mmap", MT_FAMILY_MAP)         \
    X(ALLOCATOR_MUNMAP, "allocator munmap", MT_FAMILY_MAP)     \
    X(ALLOCATOR_MREMAP, "allocator mremap", MT_FAMILY_MAP)

typedef enum mt_entry_point {
#define MT__EP_ENUM(id, name, family) MT_EP_##id,
    MT_ENTRY_POINTS(MT__EP_ENUM)
#undef MT__EP_ENUM
    MT_EP_COUNT
} mt_entry_point_t;

extern const char *const mt_entry_point_names[MT_EP_COUNT];
extern const uint8_t mt_entry_point_family[MT_EP_COUNT];

/* Named totals beside the entry points (same record shape, bytes may be 0). */
#define MT_COUNTER_EVENTS "events"           /* events committed */
#define MT_COUNTER_DROPPED "dropped"         /* events lost to full rings */
#define MT_COUNTER_STACKS "stacks"           /* distinct stacks */
#define MT_COUNTER_STACKS_LOST "stacks lost" /* samples whose stack table was full */
#define MT_COUNTER_BLOCKS "blocks"           /* event blocks, bytes = encoded bytes */

/* ---- meta ---------------------------------------------------------------
 * Keys of the meta database. Integers are u64 little-endian (8 bytes),
 * strings are raw bytes without a terminator. "format" is checked first by
 * every reader. */
#define MT_META_FORMAT "format"                   /* magic[8] + u32 version + u32 sizeof(mt_event_t) */
#define MT_META_PID "pid"                         /* u64 */
#define MT_META_PPID "ppid"                       /* u64 */
#define MT_META_COMMAND "command"                 /* string: comm */
#define MT_META_EXE "exe"                         /* string: /proc/self/exe target */
#define MT_META_ARGV "argv"                       /* NUL-separated strings */
#define MT_META_START_REALTIME "start_realtime_ns" /* u64 wall clock at ts=0 */
#define MT_META_SAMPLE_INTERVAL "sample_interval" /* u64 mean bytes, 0 = every call */
#define MT_META_PAGE_SIZE "page_size"             /* u64 */
#define MT_META_DEPTH "depth"                     /* u64 max frames */
#define MT_META_COMPLETE "complete"               /* u64 1 after a clean end */
#define MT_META_END_REASON "end_reason"           /* string: exit, _exit, exec, error */
#define MT_META_TRUNCATED "truncated"             /* string: why recording stopped early */
#define MT_META_DURATION "duration_ns"            /* u64 last tick's ts */
#define MT_META_PARENT_TRACE "parent_pid"         /* u64: set in a fork child's trace */
#define MT_META_TOPOLOGY "numa_topology"          /* see FORMAT.md */

/* The decoded "numa_topology" meta value (FORMAT.md). Node i (in record
 * order) has id node[i], memory[i] bytes (0 = unknown) and the CPUs
 * cpu[cpu_start[i] .. cpu_start[i+1]); distance[i][j] is from node i to node
 * j in SLIT units (10 = local, 0 = unknown). The limits bound the decoder's
 * work; a record beyond them is refused (MT_ECORRUPT). */
#define MT_TOPOLOGY_MAX_NODES 64
#define MT_TOPOLOGY_MAX_CPUS 4096
#define MT_TOPOLOGY_MAX_ENCODED \
    (3 + MT_TOPOLOGY_MAX_NODES * 12 + MT_TOPOLOGY_MAX_CPUS * 2 + \
     MT_TOPOLOGY_MAX_NODES * MT_TOPOLOGY_MAX_NODES)
typedef struct mt_topology {
    uint32_t nnodes;
    uint16_t node[MT_TOPOLOGY_MAX_NODES];
    uint64_t memory[MT_TOPOLOGY_MAX_NODES];
    uint32_t cpu_start[MT_TOPOLOGY_MAX_NODES + 1];
    uint16_t cpu[MT_TOPOLOGY_MAX_CPUS];
    uint8_t distance[MT_TOPOLOGY_MAX_NODES][MT_TOPOLOGY_MAX_NODES];
} mt_topology_t;

/* Encodes T into OUT[CAP]; returns the length, or 0 when T is out of the
 * limits above or CAP is too small (MT_TOPOLOGY_MAX_ENCODED always suffices). */
size_t mt_topology_encode(const mt_topology_t *t, uint8_t *out, size_t cap);
/* Decodes a "numa_topology" value into T. Returns 0 or MT_ECORRUPT (wrong
 * version, truncated, trailing bytes, limits exceeded, duplicate node id);
 * never reads outside [VAL, VAL+LEN). */
int mt_topology_decode(const void *val, size_t len, mt_topology_t *t);

/* ---- writer (the shim's writer thread; single-threaded use) ---------- */

typedef struct mt_writer mt_writer_t;

typedef struct mt_writer_options {
    uint64_t map_initial; /* initial LMDB map size, bytes (0 = 64 MiB) */
    uint64_t map_max;     /* largest map size the writer grows to (0 = 64 GiB) */
} mt_writer_options_t;

/* Creates directory DIR (mode 0700, must not exist, a symlink is not
 * followed) and an LMDB environment in it (files 0600). Returns 0, -> *W.
 * Errors: EEXIST, EACCES, ENOENT, ... (errno values), MT_ELMDB. */
int mt_writer_open(mt_writer_t **w, const char *dir, const mt_writer_options_t *opts);
/* Starts the write transaction of one tick. Returns 0; MT_EINVAL when one
 * is open already; MT_EMAPFULL, MT_ELMDB or an errno value from LMDB. */
int mt_writer_begin(mt_writer_t *w);

/* The puts below write one record into the tick's open transaction
 * (mt_writer_begin); nothing is visible to readers before mt_writer_commit.
 * Each returns 0 on success, or:
 *   MT_EINVAL   a bad argument (named below), or no open transaction;
 *   MT_EMAPFULL the map is full: the transaction is spoiled, every later put
 *               of the tick fails the same way; abort, then check
 *               mt_writer_can_grow and redo the whole tick;
 *   MT_ELMDB or an errno value: an LMDB or I/O failure; stop recording.
 * Keys and values are copied: the caller's buffers may be reused at once. */

/* Meta record KEY (1 to 511 bytes, else MT_EINVAL) = VAL[LEN], replacing an
 * earlier value; _u64 stores VAL little-endian in 8 bytes. */
int mt_writer_put_meta(mt_writer_t *w, const char *key, const void *val, size_t len);
int mt_writer_put_meta_u64(mt_writer_t *w, const char *key, uint64_t val);
/* The largest block that LMDB stores inside a leaf page, two to a page
 * (2022 bytes with 4 KiB pages). A larger one takes pages of its own and
 * wastes the rest of its last page; smaller blocks appended in order fill
 * the leaf pages (tools/trace-sizes shows the fill). */
size_t mt_writer_block_max(const mt_writer_t *w);
/* Appends one encoded event block (mt_block_finish) under the next block
 * sequence number; the number advances only when the put succeeds. */
int mt_writer_put_block(mt_writer_t *w, const void *block, size_t len);
/* Stack ID = PCS[NFRAMES], innermost first; NFRAMES at most MT_MAX_FRAMES
 * (else MT_EINVAL). Ids only grow: an id at or below one written before
 * (in a committed tick or this one) is MT_EINVAL and spoils nothing. The
 * tick's stacks are stored together, compressed, at the commit. */
int mt_writer_put_stack(mt_writer_t *w, uint32_t id, const uint64_t *pcs, uint32_t nframes);
/* Module record M (keyed by its generation and index); a path too long for
 * the record is MT_EINVAL. */
int mt_writer_put_module(mt_writer_t *w, const mt_module_t *m);
/* Thread record T (keyed by its sequence number), replacing an earlier one. */
int mt_writer_put_thread(mt_writer_t *w, const mt_thread_t *t);
/* Counter C (keyed by its name; an empty or too long name is MT_EINVAL),
 * replacing an earlier value: counters are totals, not increments. A
 * counter of 0 calls and 0 bytes is removed (a reader reads it as absent,
 * MT_ENOTFOUND, which means 0). */
int mt_writer_put_counter(mt_writer_t *w, const mt_counter_t *c);
/* Commits the tick. On MT_EMAPFULL the transaction is discarded and the map
 * grown (up to map_max): the caller re-does the tick. Other errors are final. */
int mt_writer_commit(mt_writer_t *w);
/* After a put or mt_writer_commit returned MT_EMAPFULL: 1 if the map was
 * grown, so re-doing the tick may succeed; 0 if it was already at map_max
 * (or could not be remapped): the trace is full, stop recording. */
int mt_writer_can_grow(const mt_writer_t *w);
/* Abandons the open transaction, if any. */
void mt_writer_abort(mt_writer_t *w);
/* Checks that the environment's file descriptor still refers to data.mdb
 * (a daemon may have closed or reused it). Returns 0 or MT_EBADFD. */
int mt_writer_check_fd(mt_writer_t *w);
/* Flushes and closes. */
void mt_writer_close(mt_writer_t *w);
/* Leaves the environment untouched (fork child): frees nothing LMDB owns,
 * and closes the descriptors LMDB opened, which the child cannot use. */
void mt_writer_forget(mt_writer_t *w);

/* ---- reader (analyzer; read-only, works while the trace is written) -- */

typedef struct mt_reader mt_reader_t;

typedef struct mt_trace_info {
    uint32_t version;
    uint64_t pid, ppid;
    char command[64];
    char exe[4096];
    uint64_t start_realtime_ns;
    uint64_t sample_interval;
    uint64_t page_size;
    uint64_t depth;
    uint64_t duration_ns;
    int complete;
    char end_reason[32];
    char truncated[256]; /* empty when not truncated */
    uint64_t parent_pid; /* 0 unless a fork child */
} mt_trace_info_t;

/* Opens trace directory DIR read-only and checks its format record.
 * Errors: ENOENT / ENOTDIR, MT_ENOTTRACE (no data.mdb or no meta), MT_ENEWER,
 * MT_EOLDER, MT_ECORRUPT, MT_ELMDB. */
int mt_reader_open(mt_reader_t **r, const char *dir);
void mt_reader_close(mt_reader_t *r);
/* Starts a fresh read snapshot (for live mode); the open call takes one. */
int mt_reader_refresh(mt_reader_t *r);
int mt_reader_info(mt_reader_t *r, mt_trace_info_t *info);
/* Raw meta value; *VAL points into the snapshot. MT_ENOTFOUND if absent. */
int mt_reader_meta(mt_reader_t *r, const char *key, const void **val, size_t *len);
/* The mt_reader_next_* iterators walk one kind of record of the current
 * snapshot in key order. *CURSOR is 0 for the first call and is advanced by
 * each call; keep it between calls. Each returns:
 *   1            a record was decoded into the output arguments;
 *   0            no more records;
 *   MT_ECORRUPT  a record fails its length or range checks (the trace is
 *                damaged: stop, and say which trace);
 *   MT_EINVAL    no snapshot (a failed mt_reader_refresh);
 *   MT_ELMDB or an errno value: LMDB could not read the file.
 * A snapshot never changes: records committed after it are seen only after
 * mt_reader_refresh, which keeps cursors valid (keys only grow). */

/* Counters, by name. */
int mt_reader_next_counter(mt_reader_t *r, uint64_t *cursor, mt_counter_t *c);
/* Looks a counter up by name: 0, MT_ENOTFOUND if absent, or an error above. */
int mt_reader_counter(mt_reader_t *r, const char *name, mt_counter_t *c);
/* Thread records, by sequence number. */
int mt_reader_next_thread(mt_reader_t *r, uint64_t *cursor, mt_thread_t *t);
/* Module records, in the order they were recorded (generation, index). */
int mt_reader_next_module(mt_reader_t *r, uint64_t *cursor, mt_module_t *m);
/* Stack by id: *NFRAMES frames, innermost first, into PCS[MT_MAX_FRAMES].
 * Returns 0, MT_ENOTFOUND (not committed yet, or lost), or an error above. */
int mt_reader_stack(mt_reader_t *r, uint32_t id, uint64_t *pcs, uint32_t *nframes);
/* Stacks in id order: *ID and PCS[*NFRAMES] as mt_reader_stack. */
int mt_reader_next_stack(mt_reader_t *r, uint64_t *cursor, uint32_t *id, uint64_t *pcs,
                         uint32_t *nframes);
/* Event blocks in sequence order, starting after *CURSOR (0 = from the
 * start; on return, the sequence number of the block given). *DATA points
 * into the snapshot and stays valid until the next refresh or close; decode
 * it with mt_block_open / mt_block_next, which check every bound. */
int mt_reader_next_block(mt_reader_t *r, uint64_t *cursor, const void **data, size_t *len);

/* ---- the NUMA object model (objects.h) ---------------------------------- */

/* An object whose placement is followed: a heap block keyed by its address,
 * or an mmap region keyed by its address | MT_OBJ_REGION (addresses of both
 * are even). */
#define MT_OBJ_REGION 1u
#define MT_OBJ_MAX_STEPS 3
enum { MT_OBJ_END = 1, MT_OBJ_BEGIN = 2 };

typedef struct mt_obj_step {
    uint8_t op;    /* MT_OBJ_END: the object KEY ends; MT_OBJ_BEGIN: KEY starts */
    uint64_t key;  /* address, | MT_OBJ_REGION for a region */
    uint64_t size; /* BEGIN: its bytes */
    uint64_t from; /* BEGIN: the key of the object it continues (a trimmed or
                      moved region, ended by an earlier step), 0 when new */
} mt_obj_step_t;

/* The caller's table: whether the object KEY is live, and its size. */
typedef bool (*mt_obj_find_fn)(void *ctx, uint64_t key, uint64_t *size);

/* mt_obj_steps(E, FIND, CTX, OUT): fills OUT with the steps event E makes
 * to the objects, in order, and returns how many (0 to MT_OBJ_MAX_STEPS).
 * Events other than ALLOC, FREE, MMAP, MUNMAP and MREMAP make none.
 * objects.h states the rules (inline: the writer thread runs it per event). */
#include "objects.h"

/* ---- small shared helpers -------------------------------------------- */

/* Unsigned LEB128. put returns bytes written (<= 10); get returns bytes read
 * or 0 when the input ends early or the value overflows 64 bits. */
static inline size_t mt_varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}
size_t mt_varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v);
static inline uint64_t mt_zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t mt_unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

#endif
