/* codec.c - the event block codec: one thread's events, delta/varint encoded
 * in columns, the columns compressed with zstd.
 *
 * Block (version 2, format 4): u8 version, u32 LE event count, varint thread
 * seq, varint base ts, u8 flags, varint body length, body. The body is
 * MT__COLS varint column lengths, then the columns (heads, ts deltas, ptrs,
 * ptr low nibbles, sizes, stacks, weights, the rest: kind bytes, other
 * args, cpu, node; and back-references of FREEs). With flag MT__FLAG_ZSTD the
 * body is one zstd frame. A pointer is coded against what the block saw
 * before (FORMAT.md): a FREE names the earlier ALLOC of its pointer, an
 * ALLOC a chunk the block freed of its size class (glibc hands those out
 * first) or one of the last 8 freed, else a delta of ptr >> 4. mt__layouts[]
 * (from events.def) says which fields a type stores. Blocks of version 1
 * (formats 1-3: the fields interleaved, no compression) are still decoded.
 * The decoder trusts nothing: every read is bounds-checked, and the body's
 * size is checked before anything is allocated. Columns and zstd contexts
 * are per thread: one encoder open at a time in a thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_c_literalCompressionMode (libzstd >= 1.5.0) */
#include <zstd.h>

#include "internal.h"

#define MT__BLOCK_V1 1 /* formats 1-3: interleaved fields */
#define MT__BLOCK_V2 2 /* format 4: columns, zstd */
#define MT__BLOCK_COUNT_OFF 1 /* the u32 count */
#define MT__BLOCK_FIXED 5     /* version + count */
#define MT__EVENT_MIN 2       /* type byte + ts delta: no event is shorter */
#define MT__FLAG_ZSTD 1       /* the body is one zstd frame */
#define MT__ZSTD_MIN 256      /* smaller bodies are stored as they are */
#define MT__ZSTD_FLUSH_MIN 4096 /* from here each column gets its own zstd block */
#define MT__COLS MT_BLOCK_COLUMNS
#define MT__CLASSES MT_BLOCK_CLASSES
#define MT__CLASS_DEPTH MT_BLOCK_CLASS_DEPTH
/* What a v2 block adds to its columns at most: flags, body length, column
 * lengths (varints of at most 3 bytes: MT_BLOCK_RAW_MAX < 2^21). */
#define MT__V2_TAIL_MAX (1 + 3 + MT__COLS * 3)
/* An event from this far before the end might not fit: base ts varint, the
 * largest event, the tail. */
#define MT__NEAR (10 + MT_EVENT_MAX_ENCODED + MT__V2_TAIL_MAX)
/* ALLOC ptr codes: below MT__PC_RING a slot of the size class's freed
 * chunks, then one of the last MT__FREED freed ptrs, then a delta. */
#define MT__FREED 8
_Static_assert(MT_BLOCK_CLASS_DEPTH == 8 && MT__FREED == 8, "MT__RING: rings of 8");
#define MT__PC_RING MT__CLASS_DEPTH
#define MT__PC_DELTA (MT__PC_RING + MT__FREED)
#define MT__HASH_BITS 14 /* the encoder's ptr -> ALLOC index table */
#define MT__FHASH_BITS 6 /* the encoder's ptr -> FREE sequence table */
#define MT__NONE UINT32_MAX
/* Room before the first column for the column lengths: mt_block_finish
 * packs the body (lengths, then columns) into one run there. */
#define MT__PRE_ROOM (MT__COLS * 5)

enum { MT__C_HEAD, MT__C_TS, MT__C_PTR, MT__C_LOW, MT__C_SIZE, MT__C_STACK, MT__C_WEIGHT,
       MT__C_REST, MT__C_REF };

typedef struct mt__layout {
    uint8_t fields;   /* MT_EVF_* */
    uint8_t arg[3];   /* MT_EVA_* per arg[] slot */
    uint8_t kind_max; /* largest valid kind, when MT_EVF_KIND */
} mt__layout_t;

/* What each type stores: events.def, the one list. */
static const mt__layout_t mt__layouts[MT_EV_TYPE_MAX + 1] = {
#define MT_EVENT(name, value, fields, a0, a1, a2, kind_max)                                   \
    [value] = {(fields), {MT_EVA_##a0, MT_EVA_##a1, MT_EVA_##a2}, (kind_max)},
#include "events.def"
#undef MT_EVENT
};

const char *const mt_policy_names[MT_PK_MAX + 1] = {
#define MT_POLICY(name, value, call) [value] = call,
#include "events.def"
#undef MT_POLICY
};

#define MT__HEAD_TYPE 0x0f
#define MT__HEAD_KIND_SHIFT 4
#define MT__HEAD_KIND_BYTE 7 /* kind code: the kind follows in its own byte */
#define MT__HEAD_SAME_PLACE 0x80 /* types with cpu and node */
#define MT__HEAD_REF 0x80        /* FREE (v2): its ptr is an earlier ALLOC's */
#define MT__F_PLACE (MT_EVF_CPU | MT_EVF_NODE)

static const mt__layout_t *mt__layout(uint8_t type)
{
    return type >= 1 && type <= MT_EV_TYPE_MAX ? &mt__layouts[type] : NULL;
}

/* The size class of a request: glibc's chunk size / 16, the big ones together. */
static inline unsigned mt__class(uint64_t size)
{
    uint64_t c = size < 4096 ? (size + 23) >> 4 : MT__CLASSES;
    return c < MT__CLASSES - 1 ? (unsigned)c : MT__CLASSES - 1;
}

/* The last 8 FREEs by number: FREE number S lives in slot S & 7. */
#define MT__RING(s) ((s) & 7u)
/* A class ring: push number S lives in slot S & 15 while fewer than 16
 * pushes followed it; a mask says which slots hold a chunk not taken. An
 * ALLOC names one by how many chunks not taken are newer (below 8). */
#define MT__CSLOTS 16
#define MT__CSLOT(s) ((s) & (MT__CSLOTS - 1u))

/* The chunks not taken (LIVE) among the D pushes after push S. */
static inline unsigned mt__newer_live(unsigned live, uint32_t s, uint32_t d)
{
    uint32_t m = ((1u << d) - 1) << MT__CSLOT(s + 1);
    uint32_t x = live & (m | m >> MT__CSLOTS) & 0xffff;
    x = x - ((x >> 1) & 0x5555);
    x = (x & 0x3333) + ((x >> 2) & 0x3333);
    x = (x + (x >> 4)) & 0x0f0f;
    return (x + (x >> 8)) & 0x1f;
}

/* ---- per-thread state: columns and zstd contexts ----------------------- */

typedef struct mt__zstate {
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    int clevel, clit; /* the level and literal mode set in cctx (+ 1: 0 none yet) */
    uint8_t *cols;   /* MT__COLS regions of colcap bytes, MT__PRE_ROOM after colmem */
    uint8_t *colmem;
    size_t colcap;
    uint64_t owner;  /* the encoder (mt_block_begin's generation) using cols */
    uint64_t gen;
    uint64_t *aptr;  /* the ptr, class and class push (of its FREE, */
    uint8_t *acls;   /* MT__NONE while not freed) of each ALLOC of the */
    uint32_t *aseq;  /* open block */
    size_t acap;
    uint32_t slot[1u << MT__HASH_BITS]; /* ptr hash -> an ALLOC index (checked) */
    struct {
        uint64_t ptr;
        uint32_t seq; /* FREE number + 1 in the block; 0: none */
    } fslot[1u << MT__FHASH_BITS];      /* ptr hash -> its latest FREE */
    uint32_t ccnt[MT__CLASSES];         /* pushes to each class ring so far */
    uint16_t clive[MT__CLASSES];        /* and its slots holding a chunk not taken */
} mt__zstate_t;

static pthread_key_t mt__zkey;
static pthread_once_t mt__zonce = PTHREAD_ONCE_INIT;
static int mt__zkey_ok;

static void mt__zstate_free(void *p)
{
    mt__zstate_t *z = p;
    ZSTD_freeCCtx(z->cctx);
    ZSTD_freeDCtx(z->dctx);
    free(z->colmem);
    free(z->aptr);
    free(z->acls);
    free(z->aseq);
    free(z);
}

static void mt__zkey_make(void)
{
    mt__zkey_ok = pthread_key_create(&mt__zkey, mt__zstate_free) == 0;
}

/* The calling thread's state, made on first use; NULL when out of memory. */
static mt__zstate_t *mt__zstate(void)
{
    pthread_once(&mt__zonce, mt__zkey_make);
    if (!mt__zkey_ok)
        return NULL;
    mt__zstate_t *z = pthread_getspecific(mt__zkey);
    if (!z && (z = calloc(1, sizeof *z)) && pthread_setspecific(mt__zkey, z) != 0) {
        free(z);
        z = NULL;
    }
    return z;
}

/* Makes Z's columns hold a block of CAP bytes; 0 or ENOMEM. */
static int mt__zstate_size(mt__zstate_t *z, size_t cap)
{
    size_t need = cap + MT_EVENT_MAX_ENCODED + 16, allocs = cap / 6 + 1;
    if (z->colcap < need) {
        uint8_t *mem = malloc(MT__PRE_ROOM + need * MT__COLS);
        if (!mem)
            return ENOMEM;
        free(z->colmem);
        z->colmem = mem;
        z->cols = mem + MT__PRE_ROOM;
        z->colcap = need;
    }
    if (z->acap < allocs) { /* an ALLOC takes 6 bytes at least */
        uint64_t *aptr = malloc(allocs * sizeof *aptr);
        uint8_t *acls = malloc(allocs);
        uint32_t *aseq = malloc(allocs * sizeof *aseq);
        if (!aptr || !acls || !aseq) {
            free(aptr);
            free(acls);
            free(aseq);
            return ENOMEM;
        }
        free(z->aptr);
        free(z->acls);
        free(z->aseq);
        z->aptr = aptr;
        z->acls = acls;
        z->aseq = aseq;
        z->acap = allocs;
    }
    return 0;
}

/* ---- encoder ----------------------------------------------------------- */

/* zstd level, and whether literals are always Huffman-coded (negative
 * levels leave them raw by default, which is what the columns are for):
 * FORMAT.md gives the ratio and writer CPU of each choice. Variables only so
 * that tools can measure other choices; the format does not depend on them. */
int mt__zstd_level = 1;
int mt__zstd_literals = 1;

void mt_block_begin(mt_block_encoder_t *enc, uint8_t *buf, size_t cap, uint32_t thread)
{
    memset(enc, 0, sizeof *enc);
    enc->buf = buf;
    enc->cap = cap > MT_BLOCK_RAW_MAX ? MT_BLOCK_RAW_MAX : cap;
    enc->thread = thread;
    /* version, count, thread; the base ts comes with the first event */
    enc->len = MT__BLOCK_FIXED + mt_varint_put(buf + MT__BLOCK_FIXED, thread);
    mt__zstate_t *z = mt__zstate();
    if (!z || mt__zstate_size(z, enc->cap)) {
        enc->err = ENOMEM;
        return;
    }
    enc->z = z;
    enc->gen = z->owner = ++z->gen;
    memset(z->ccnt, 0, sizeof z->ccnt);
    memset(z->clive, 0, sizeof z->clive);
    memset(z->fslot, 0, sizeof z->fslot);
    for (int i = 0; i < MT__COLS; i++)
        enc->col[i] = enc->w[i] = z->cols + (size_t)i * z->colcap;
}

static inline unsigned mt__hash(uint64_t ptr, unsigned bits)
{
    return (unsigned)(((ptr >> 4) * 0x9e3779b97f4a7c15ull) >> (64 - bits));
}

/* Appends varint V at *P (advanced), counting its bytes in *N: one byte,
 * nearly always, without a loop. */
static inline __attribute__((always_inline)) void mt__put(uint8_t **p, size_t *n, uint64_t v)
{
    uint8_t *q = *p;
    if (v < 0x80) {
        *q = (uint8_t)v;
        *p = q + 1;
        ++*n;
    } else if (v < 1u << 14) {
        q[0] = (uint8_t)(v | 0x80);
        q[1] = (uint8_t)(v >> 7);
        *p = q + 2;
        *n += 2;
    } else {
        size_t k = mt_varint_put(*p, v);
        *p += k;
        *n += k;
    }
}
#define MT__PUT(col, v) mt__put(&w[col], &n, (v))

/* What encoding an event decided about the block's pointer state, applied
 * once the event is in (an event that does not fit changes nothing). */
typedef struct mt__ptrnote {
    uint32_t ref;  /* FREE: the index of the ALLOC it names, or MT__NONE */
    uint32_t take; /* ALLOC: the slot of its class ring it takes, or MT__NONE */
    unsigned h;   /* the ptr's entry in z->slot */
    unsigned cls; /* ALLOC: its size class */
} mt__ptrnote_t;

/* Appends E's fields to the columns at W (advanced); returns the bytes.
 * FIELDS and A0..A2 are E's layout (mt__layouts[]); always inlined and
 * called with constants for ALLOC and FREE, so that the compiler drops the
 * tests of absent fields. The pointer lookups are O(1): a FREE finds its
 * ALLOC through z->slot, an ALLOC its chunk through the same slot (the
 * ALLOC of the ptr, freed as class push aseq) or its latest FREE through
 * z->fslot; a collision in either table only costs bytes. */
static inline __attribute__((always_inline)) size_t
mt__encode_event(uint8_t **w, unsigned type, unsigned fields, unsigned a0, unsigned a1,
                 unsigned a2, const mt_event_t *e, const mt_block_encoder_t *enc, uint64_t prev_ts,
                 mt__ptrnote_t *note)
{
    mt__zstate_t *z = enc->z;
    size_t n = 1; /* the head */
    uint8_t head = (uint8_t)type;
    if (fields & MT_EVF_KIND) {
        int kind_byte = e->kind >= MT__HEAD_KIND_BYTE;
        head |= (uint8_t)((kind_byte ? MT__HEAD_KIND_BYTE : e->kind) << MT__HEAD_KIND_SHIFT);
        if (kind_byte) {
            *w[MT__C_REST]++ = e->kind;
            n++;
        }
    }
    int same_place = (fields & MT__F_PLACE) == MT__F_PLACE && e->cpu == enc->prev_cpu &&
                     e->node == enc->prev_node;
    MT__PUT(MT__C_TS, e->ts - prev_ts);
    note->ref = note->take = MT__NONE;
    note->h = note->cls = 0;
    if (fields & MT_EVF_PTR) {
        uint64_t code = UINT64_MAX;
        note->h = mt__hash(e->ptr, MT__HASH_BITS);
        if (type == MT_EV_ALLOC) {
            uint32_t i = z->slot[note->h];
            unsigned c = note->cls = mt__class(e->size);
            uint32_t s;
            uint32_t d, k = MT__CLASS_DEPTH;
            if (i < enc->nallocs && z->aptr[i] == e->ptr && (s = z->aseq[i]) != MT__NONE &&
                z->acls[i] == c && (d = z->ccnt[c] - 1 - s) < MT__CSLOTS &&
                (k = mt__newer_live(z->clive[c], s, d)) < MT__CLASS_DEPTH) {
                code = k; /* a chunk of its class this block freed */
                note->take = MT__CSLOT(s);
            } else {
                unsigned f = mt__hash(e->ptr, MT__FHASH_BITS);
                if (z->fslot[f].ptr == e->ptr && z->fslot[f].seq &&
                    enc->nfreed - z->fslot[f].seq < MT__FREED)
                    code = MT__PC_RING + enc->nfreed - z->fslot[f].seq;
            }
        } else if (type == MT_EV_FREE) {
            uint32_t i = z->slot[note->h];
            if (i < enc->nallocs && z->aptr[i] == e->ptr) {
                note->ref = i;
                head |= MT__HEAD_REF;
                MT__PUT(MT__C_REF, enc->nallocs - 1 - i);
            }
        }
        if (code != UINT64_MAX) {
            *w[MT__C_PTR]++ = (uint8_t)code; /* below 16: one byte */
            n++;
        } else if (note->ref == MT__NONE) {
            /* Heap pointers are 16-byte aligned: the delta of ptr >> 4 here,
             * the low nibble in a column of its own (all zeros compress away). */
            uint64_t v = mt_zigzag((int64_t)((e->ptr >> 4) - (enc->prev_ptr >> 4)));
            if (type == MT_EV_ALLOC)
                v += MT__PC_DELTA;
            MT__PUT(MT__C_PTR, v);
            *w[MT__C_LOW]++ = (uint8_t)(e->ptr & 15);
            n++;
        }
    }
    if (same_place)
        head |= MT__HEAD_SAME_PLACE;
    *w[MT__C_HEAD]++ = head;
    if (fields & MT_EVF_SIZE)
        MT__PUT(MT__C_SIZE, e->size);
#define MT__ARG(i, how)                                                                        \
    do {                                                                                       \
        if ((how) == MT_EVA_WEIGHT)                                                            \
            MT__PUT(MT__C_WEIGHT, mt_zigzag((int64_t)(e->arg[i] - MT_WEIGHT_ONE)));            \
        else if ((how) == MT_EVA_UINT)                                                         \
            MT__PUT(MT__C_REST, e->arg[i]);                                                    \
        else if ((how) == MT_EVA_SINT)                                                         \
            MT__PUT(MT__C_REST, mt_zigzag((int64_t)e->arg[i]));                                \
    } while (0)
    MT__ARG(0, a0);
    MT__ARG(1, a1);
    MT__ARG(2, a2);
#undef MT__ARG
    if (fields & MT_EVF_STACK)
        MT__PUT(MT__C_STACK, e->stack);
    if (!same_place) {
        if (fields & MT_EVF_CPU)
            MT__PUT(MT__C_REST, e->cpu);
        if (fields & MT_EVF_NODE)
            MT__PUT(MT__C_REST, mt_zigzag(e->node));
    }
    return n;
}

/* Each type's layout as constants, for the specialised copies. */
enum {
#define MT_EVENT(name, value, fields, a0, a1, a2, kind_max)                                   \
    MT__F_##name = (fields), MT__A0_##name = MT_EVA_##a0, MT__A1_##name = MT_EVA_##a1,        \
    MT__A2_##name = MT_EVA_##a2,
#include "events.def"
#undef MT_EVENT
};

/* Records E (just added to the columns) in the block's pointer state. */
static inline __attribute__((always_inline)) void
mt__note_event(mt_block_encoder_t *enc, unsigned type, unsigned fields, const mt_event_t *e,
               const mt__ptrnote_t *note)
{
    mt__zstate_t *z = enc->z;
    enc->count++;
    enc->prev_ts = e->ts;
    if (fields & MT_EVF_PTR)
        enc->prev_ptr = e->ptr;
    if (type == MT_EV_ALLOC) {
        /* The slot now names this ALLOC: a chunk it took is no longer found. */
        z->aptr[enc->nallocs] = e->ptr;
        if (note->take != MT__NONE)
            z->clive[note->cls] &= (uint16_t)~(1u << note->take);
        z->acls[enc->nallocs] = (uint8_t)note->cls;
        z->aseq[enc->nallocs] = MT__NONE;
        z->slot[note->h] = enc->nallocs++;
    } else if (type == MT_EV_FREE) {
        if (note->ref != MT__NONE) { /* the chunk joins its class's ring */
            unsigned c = z->acls[note->ref];
            uint32_t s = z->aseq[note->ref] = z->ccnt[c]++;
            z->clive[c] |= (uint16_t)(1u << MT__CSLOT(s));
        }
        unsigned f = mt__hash(e->ptr, MT__FHASH_BITS);
        z->fslot[f].ptr = e->ptr;
        z->fslot[f].seq = ++enc->nfreed;
    }
    if ((fields & MT__F_PLACE) == MT__F_PLACE) {
        enc->prev_cpu = e->cpu;
        enc->prev_node = e->node;
    }
}

/* Adds E of a type whose layout is FIELDS, A0..A2 (constants for ALLOC and
 * FREE, so that each gets a copy without the tests of absent fields). */
static inline __attribute__((always_inline)) int
mt__add(mt_block_encoder_t *enc, const mt_event_t *e, unsigned type, unsigned fields,
        unsigned a0, unsigned a1, unsigned a2)
{
    mt__ptrnote_t note;
    /* Far from the end of the buffer (nearly always): straight into the
     * columns. The first event puts the base ts in the header. */
    if (__builtin_expect(enc->count > 0 && enc->len + MT__NEAR <= enc->cap, 1)) {
        enc->len += mt__encode_event(enc->w, type, fields, a0, a1, a2, e, enc, enc->prev_ts, &note);
        mt__note_event(enc, type, fields, e, &note);
        return 0;
    }
    size_t n = 0;
    uint64_t prev = enc->prev_ts;
    if (enc->count == 0) {
        uint8_t tmp[10];
        n = mt_varint_put(tmp, e->ts); /* the base ts, in the header */
        prev = e->ts;
    }
    /* Near the end, write to copies of the column ends, so that an event
     * that does not fit leaves them as they were. */
    uint8_t *copy[MT__COLS];
    memcpy(copy, enc->w, sizeof copy);
    n += mt__encode_event(copy, type, fields, a0, a1, a2, e, enc, prev, &note);
    if (enc->len + n + MT__V2_TAIL_MAX > enc->cap)
        return MT_EFULL; /* the columns keep their ends: E is dropped */
    memcpy(enc->w, copy, sizeof copy);
    enc->len += n;
    if (enc->count == 0)
        enc->base_ts = e->ts;
    mt__note_event(enc, type, fields, e, &note);
    return 0;
}

/* Any type but ALLOC and FREE (a kind out of range included): its layout
 * from the table; out of line, so that the two hot copies stay lean. */
static __attribute__((noinline)) int mt__add_other(mt_block_encoder_t *enc, const mt_event_t *e)
{
    const mt__layout_t *l = mt__layout(e->type);
    if (!l || ((l->fields & MT_EVF_KIND) && e->kind > l->kind_max))
        return MT_EINVAL;
    return mt__add(enc, e, e->type, l->fields, l->arg[0], l->arg[1], l->arg[2]);
}

int mt_block_add(mt_block_encoder_t *enc, const mt_event_t *e)
{
    /* A failed begin leaves z NULL; another block begun in this thread
     * takes the columns (owner). The body's bound (MT_BLOCK_RAW_MAX, 2
     * bytes per event at least) keeps the count below 2^32. */
    if (__builtin_expect(!enc->z || enc->z->owner != enc->gen, 0))
        return enc->err ? enc->err : MT_EINVAL;
    if (__builtin_expect(e->ts < enc->prev_ts, 0))
        return MT_EINVAL;
    if (e->type == MT_EV_ALLOC && e->kind <= MT_AK_MAX)
        return mt__add(enc, e, MT_EV_ALLOC, MT__F_ALLOC, MT__A0_ALLOC, MT__A1_ALLOC,
                       MT__A2_ALLOC);
    if (e->type == MT_EV_FREE && e->kind <= MT_FK_MAX)
        return mt__add(enc, e, MT_EV_FREE, MT__F_FREE, MT__A0_FREE, MT__A1_FREE, MT__A2_FREE);
    return mt__add_other(enc, e);
}

/* Compresses BODY[RAW] (the column lengths, then the columns ending at
 * ENDS[]) into OUT[CAP] as one zstd frame; returns its length, or 0 when
 * it does not fit (or zstd fails): then the body is stored as it is. The
 * context keeps its parameters between blocks, and reads the body where it
 * is (stable input: no copy into zstd's window). */
static size_t mt__compress(mt__zstate_t *z, const uint8_t *body, size_t raw,
                           const size_t ends[MT__COLS], uint8_t *out, size_t cap)
{
    ZSTD_CCtx *c = z->cctx;
    if (!c && !(c = z->cctx = ZSTD_createCCtx()))
        return 0;
    ZSTD_CCtx_reset(c, ZSTD_reset_session_only);
    if (z->clevel != mt__zstd_level + 1 || z->clit != mt__zstd_literals + 1) {
        z->clevel = z->clit = 0;
        if (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, mt__zstd_level)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(
                c, ZSTD_c_literalCompressionMode,
                mt__zstd_literals ? ZSTD_ps_enable : ZSTD_ps_auto)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_stableInBuffer, 1)))
            return 0;
        z->clevel = mt__zstd_level + 1;
        z->clit = mt__zstd_literals + 1;
    }
    if (ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(c, raw)))
        return 0;
    /* A big body ends a zstd block after each column, so that each gets
     * its own entropy tables (a column's bytes look alike). */
    ZSTD_outBuffer ob = {out, cap, 0};
    ZSTD_inBuffer ib = {body, 0, 0};
    for (int i = raw >= MT__ZSTD_FLUSH_MIN ? 0 : MT__COLS - 1; i < MT__COLS; i++) {
        ib.size = ends[i]; /* stable input: only its size grows */
        ZSTD_EndDirective how = i == MT__COLS - 1 ? ZSTD_e_end : ZSTD_e_flush;
        size_t left = ZSTD_compressStream2(c, &ob, &ib, how);
        if (ZSTD_isError(left) || ib.pos != ib.size || left != 0)
            return 0; /* out of room: smaller than the body it is not */
    }
    return ob.pos;
}

size_t mt_block_finish(mt_block_encoder_t *enc)
{
    uint8_t *p = enc->buf;
    uint8_t pre[MT__COLS * 5];
    size_t npre = 0, cols = 0, ends[MT__COLS];
    int ok = !enc->err && enc->z && enc->z->owner == enc->gen;
    for (int i = 0; i < MT__COLS; i++) {
        size_t n = ok ? (size_t)(enc->w[i] - enc->col[i]) : 0;
        npre += mt_varint_put(pre + npre, n);
        ends[i] = cols += n;
    }
    if (!ok)
        enc->count = 0; /* nothing was added */
    size_t raw = npre + cols;
    p[0] = MT__BLOCK_V2;
    mt__put_le32(p + MT__BLOCK_COUNT_OFF, enc->count);
    size_t len = MT__BLOCK_FIXED + mt_varint_put(p + MT__BLOCK_FIXED, enc->thread);
    len += mt_varint_put(p + len, enc->count ? enc->base_ts : 0);
    size_t flags_at = len++;
    len += mt_varint_put(p + len, raw);
    if (!ok) { /* an empty body: the lengths only */
        p[flags_at] = 0;
        memcpy(p + len, pre, npre);
        return len + npre;
    }
    /* The body in one run: the lengths just before the first column, the
     * other columns moved down after it. */
    uint8_t *body = enc->col[0] - npre;
    memcpy(body, pre, npre);
    for (int i = 1; i < MT__COLS; i++)
        memmove(enc->col[0] + ends[i - 1], enc->col[i], ends[i] - ends[i - 1]);
    for (int i = 0; i < MT__COLS; i++)
        ends[i] += npre;
    size_t z = raw >= MT__ZSTD_MIN ? mt__compress(enc->z, body, raw, ends, p + len, raw - 1) : 0;
    p[flags_at] = z ? MT__FLAG_ZSTD : 0;
    if (z) {
        len += z;
    } else {
        memcpy(p + len, body, raw);
        len += raw;
    }
    enc->z->owner = 0; /* the columns are free for the next block */
    return len;
}

/* ---- decoder ----------------------------------------------------------- */

/* Marks DEC as failed: every later mt_block_next returns MT_ECORRUPT too. */
static int mt__corrupt(mt_block_decoder_t *dec)
{
    mt_block_close(dec);
    dec->p = dec->end;
    dec->left = 1;
    dec->bad = 1;
    return MT_ECORRUPT;
}

void mt_block_close(mt_block_decoder_t *dec)
{
    free(dec->own);
    dec->own = NULL;
    for (int i = 0; i < MT__COLS; i++)
        dec->c[i] = dec->ce[i] = NULL;
    dec->aptr = NULL;
    dec->acls = NULL;
    dec->cls = NULL;
    dec->ccnt = NULL;
    dec->clive = NULL;
}

int mt_block_open(mt_block_decoder_t *dec, const void *data, size_t len)
{
    const uint8_t *p = data, *end = p + len;
    uint64_t thread, base_ts, raw;
    size_t n;

    memset(dec, 0, sizeof *dec);
    dec->p = dec->end = end;
    dec->bad = 1;
    if (len < MT__BLOCK_FIXED || (p[0] != MT__BLOCK_V1 && p[0] != MT__BLOCK_V2))
        return MT_ECORRUPT;
    dec->version = p[0];
    uint32_t count = mt__get_le32(p + MT__BLOCK_COUNT_OFF);
    p += MT__BLOCK_FIXED;
    if (!(n = mt_varint_get(p, end, &thread)) || thread > UINT32_MAX)
        return MT_ECORRUPT;
    p += n;
    if (!(n = mt_varint_get(p, end, &base_ts)))
        return MT_ECORRUPT;
    p += n;
    if (dec->version == MT__BLOCK_V2) {
        if (p >= end || (*p & ~MT__FLAG_ZSTD))
            return MT_ECORRUPT;
        dec->zstd = *p++ & MT__FLAG_ZSTD;
        if (!(n = mt_varint_get(p, end, &raw)))
            return MT_ECORRUPT;
        p += n;
        /* The body's size bounds what a decoder allocates: checked here,
         * before anything is (a small frame may claim a huge size). */
        if (raw > MT_BLOCK_RAW_MAX || (!dec->zstd && raw != (uint64_t)(end - p)) ||
            (dec->zstd && p == end) || count > raw / MT__EVENT_MIN)
            return MT_ECORRUPT;
        dec->raw = (size_t)raw;
    } else if (count > (size_t)(end - p) / MT__EVENT_MIN) {
        return MT_ECORRUPT;
    }

    dec->p = p;
    dec->thread = (uint32_t)thread;
    dec->count = dec->left = count;
    dec->prev_ts = base_ts;
    dec->bad = 0;
    return 0;
}

/* Sets up DEC's columns from its body (decompressed first when it is a zstd
 * frame) and the memory for its ALLOCs and class rings; 0, MT_ECORRUPT or
 * ENOMEM. What it allocates is bounded by the checked body length. */
static int mt__columns(mt_block_decoder_t *dec)
{
    const uint8_t *body = dec->p;
    size_t zlen = (size_t)(dec->end - dec->p);
    if (dec->zstd && (ZSTD_getFrameContentSize(body, zlen) != dec->raw ||
                      ZSTD_findFrameCompressedSize(body, zlen) != zlen))
        return MT_ECORRUPT; /* the frame must say the header's size and end the block */
    size_t at = dec->zstd ? (dec->raw + 7) & ~(size_t)7 : 0;
    size_t cls_at = at + (size_t)dec->count * sizeof(uint64_t);
    size_t ccnt_at = cls_at + sizeof(uint64_t) * MT__CLASSES * MT__CSLOTS;
    size_t clive_at = ccnt_at + sizeof(uint32_t) * MT__CLASSES;
    size_t acls_at = clive_at + sizeof(uint16_t) * MT__CLASSES;
    size_t total = acls_at + dec->count;
    if (!(dec->own = malloc(total)))
        return ENOMEM;
    dec->aptr = (uint64_t *)(void *)(dec->own + at);
    dec->cls = (uint64_t(*)[MT__CSLOTS])(void *)(dec->own + cls_at);
    dec->ccnt = (uint32_t *)(void *)(dec->own + ccnt_at);
    dec->acls = dec->own + acls_at;
    dec->clive = (uint16_t *)(void *)(dec->own + clive_at);
    memset(dec->ccnt, 0, sizeof(uint32_t) * MT__CLASSES);
    memset(dec->clive, 0, sizeof(uint16_t) * MT__CLASSES);
    if (dec->zstd) {
        mt__zstate_t *z = mt__zstate();
        if (!z || (!z->dctx && !(z->dctx = ZSTD_createDCtx())))
            return ENOMEM;
        size_t got = ZSTD_decompressDCtx(z->dctx, dec->own, dec->raw, body, zlen);
        if (ZSTD_isError(got) || got != dec->raw)
            return MT_ECORRUPT;
        body = dec->own;
    }
    const uint8_t *p = body, *end = body + dec->raw;
    uint64_t n[MT__COLS], sum = 0;
    for (int i = 0; i < MT__COLS; i++) {
        size_t k = mt_varint_get(p, end, &n[i]);
        if (!k || n[i] > dec->raw)
            return MT_ECORRUPT;
        p += k;
        sum += n[i];
    }
    /* Every event has one head byte; the columns fill the body exactly. */
    if (sum != (uint64_t)(end - p) || n[MT__C_HEAD] != dec->count)
        return MT_ECORRUPT;
    for (int i = 0; i < MT__COLS; i++) {
        dec->c[i] = p;
        dec->ce[i] = p += n[i];
    }
    dec->p = dec->end; /* the columns are read from here on */
    return 0;
}

/* Reads one varint of column I into *V; 0 when truncated or too long. */
static inline int mt__cget(mt_block_decoder_t *dec, int i, uint64_t *v)
{
    const uint8_t *p = dec->c[i];
    if (p < dec->ce[i] && *p < 0x80) { /* one byte: most of them */
        *v = *p;
        dec->c[i] = p + 1;
        return 1;
    }
    size_t n = mt_varint_get(p, dec->ce[i], v);
    dec->c[i] = p + n;
    return n != 0;
}

/* Decodes E's ptr (E's type and size known); 1, or 0 when corrupt. */
static int mt__get_ptr(mt_block_decoder_t *dec, mt_event_t *e, int ref)
{
    uint64_t v;
    if (ref) { /* a FREE of an earlier ALLOC of the block */
        if (!mt__cget(dec, MT__C_REF, &v) || v >= dec->nallocs)
            return 0;
        uint32_t i = dec->nallocs - 1 - (uint32_t)v;
        e->ptr = dec->aptr[i];
        unsigned c = dec->acls[i], s = MT__CSLOT(dec->ccnt[c]++);
        dec->cls[c][s] = e->ptr; /* push number ccnt: the chunk joins its class's ring */
        dec->clive[c] |= (uint16_t)(1u << s);
        return 1;
    }
    if (!mt__cget(dec, MT__C_PTR, &v))
        return 0;
    if (e->type == MT_EV_ALLOC && v < MT__PC_DELTA) {
        if (v < MT__PC_RING) { /* the chunk of its class with v newer ones not taken */
            unsigned c = mt__class(e->size), live = dec->clive[c];
            uint32_t n = dec->ccnt[c] < MT__CSLOTS ? dec->ccnt[c] : MT__CSLOTS;
            for (uint32_t k = 0; k < n; k++) {
                unsigned s = MT__CSLOT(dec->ccnt[c] - 1 - k);
                if (!(live & (1u << s)) || v--)
                    continue;
                e->ptr = dec->cls[c][s];
                dec->clive[c] = (uint16_t)(live & ~(1u << s));
                return 1;
            }
            return 0; /* fewer chunks than that */
        } else { /* one of the last freed; never one the block did not free */
            v -= MT__PC_RING;
            if (v >= dec->nfreed)
                return 0;
            e->ptr = dec->freed[MT__RING(dec->nfreed - 1 - (uint32_t)v)];
        }
        return 1;
    }
    if (e->type == MT_EV_ALLOC)
        v -= MT__PC_DELTA;
    const uint8_t *lo = dec->c[MT__C_LOW];
    if (lo >= dec->ce[MT__C_LOW] || *lo > 15)
        return 0;
    dec->c[MT__C_LOW] = lo + 1;
    uint64_t hi = (dec->prev_ptr >> 4) + (uint64_t)mt_unzigzag(v);
    if (hi >> 60) /* not a 64-bit pointer */
        return 0;
    e->ptr = hi << 4 | *lo;
    return 1;
}

static int mt__next_v2(mt_block_decoder_t *dec, mt_event_t *e)
{
    uint64_t v;
    if (!dec->c[MT__C_HEAD]) { /* the first call: set the columns up */
        int rc = mt__columns(dec);
        if (rc) {
            mt__corrupt(dec);
            return rc;
        }
    }
    if (dec->left == 0) {
        for (int i = 0; i < MT__COLS; i++)
            if (dec->c[i] != dec->ce[i])
                return mt__corrupt(dec); /* bytes left over */
        free(dec->own); /* the end: keep the columns' ends, drop the memory */
        dec->own = NULL;
        for (int i = 0; i < MT__COLS; i++)
            dec->c[i] = dec->ce[i] = (const uint8_t *)dec; /* empty, not NULL */
        return 0;
    }
    memset(e, 0, sizeof *e);
    uint8_t head = *dec->c[MT__C_HEAD]++; /* count head bytes: checked */
    e->type = head & MT__HEAD_TYPE;
    const mt__layout_t *l = mt__layout(e->type);
    if (!l)
        return mt__corrupt(dec);
    uint8_t kind_code = (head >> MT__HEAD_KIND_SHIFT) & 7;
    int bit7 = (head & MT__HEAD_SAME_PLACE) != 0;
    int same_place = bit7 && e->type != MT_EV_FREE, ref = bit7 && e->type == MT_EV_FREE;
    if (!(l->fields & MT_EVF_KIND) && kind_code)
        return mt__corrupt(dec);
    if (same_place && (l->fields & MT__F_PLACE) != MT__F_PLACE)
        return mt__corrupt(dec);
    if (kind_code == MT__HEAD_KIND_BYTE) {
        const uint8_t *k = dec->c[MT__C_REST];
        if (k >= dec->ce[MT__C_REST] || *k < MT__HEAD_KIND_BYTE || *k > l->kind_max)
            return mt__corrupt(dec);
        e->kind = *k;
        dec->c[MT__C_REST] = k + 1;
    } else {
        if (kind_code > l->kind_max)
            return mt__corrupt(dec);
        e->kind = kind_code;
    }
    if (!mt__cget(dec, MT__C_TS, &v) || v > UINT64_MAX - dec->prev_ts)
        return mt__corrupt(dec);
    e->ts = dec->prev_ts + v;
    /* size before ptr: an ALLOC's ptr may be coded by its size class */
    if ((l->fields & MT_EVF_SIZE) && !mt__cget(dec, MT__C_SIZE, &e->size))
        return mt__corrupt(dec);
    if ((l->fields & MT_EVF_PTR) && !mt__get_ptr(dec, e, ref))
        return mt__corrupt(dec);
    for (int i = 0; i < 3; i++) {
        uint8_t how = l->arg[i];
        if (how == MT_EVA_NONE)
            continue;
        if (!mt__cget(dec, how == MT_EVA_WEIGHT ? MT__C_WEIGHT : MT__C_REST, &v))
            return mt__corrupt(dec);
        if (how == MT_EVA_UINT)
            e->arg[i] = v;
        else if (how == MT_EVA_SINT)
            e->arg[i] = (uint64_t)mt_unzigzag(v);
        else
            e->arg[i] = MT_WEIGHT_ONE + (uint64_t)mt_unzigzag(v);
    }
    if (l->fields & MT_EVF_STACK) {
        if (!mt__cget(dec, MT__C_STACK, &v) || v > UINT32_MAX)
            return mt__corrupt(dec);
        e->stack = (uint32_t)v;
    }
    if (same_place) {
        e->cpu = dec->prev_cpu;
        e->node = dec->prev_node;
    }
    if ((l->fields & MT_EVF_CPU) && !same_place) {
        if (!mt__cget(dec, MT__C_REST, &v) || v > UINT16_MAX)
            return mt__corrupt(dec);
        e->cpu = (uint16_t)v;
    }
    if ((l->fields & MT_EVF_NODE) && !same_place) {
        if (!mt__cget(dec, MT__C_REST, &v))
            return mt__corrupt(dec);
        int64_t node = mt_unzigzag(v);
        if (node < INT16_MIN || node > INT16_MAX)
            return mt__corrupt(dec);
        e->node = (int16_t)node;
    }

    dec->left--;
    dec->prev_ts = e->ts;
    if (l->fields & MT_EVF_PTR)
        dec->prev_ptr = e->ptr;
    if (e->type == MT_EV_ALLOC) {
        dec->aptr[dec->nallocs] = e->ptr; /* at most count ALLOCs */
        dec->acls[dec->nallocs++] = (uint8_t)mt__class(e->size);
    } else if (e->type == MT_EV_FREE) {
        dec->freed[MT__RING(dec->nfreed++)] = e->ptr; /* FREE number nfreed */
    }
    if ((l->fields & MT__F_PLACE) == MT__F_PLACE) {
        dec->prev_cpu = e->cpu;
        dec->prev_node = e->node;
    }
    return 1;
}

/* ---- version 1 blocks (formats 1 to 3) --------------------------------- */

/* Reads one varint into *V, advancing DEC->p; 0 when truncated or too long. */
static int mt__get(mt_block_decoder_t *dec, uint64_t *v)
{
    size_t n = mt_varint_get(dec->p, dec->end, v);
    dec->p += n;
    return n != 0;
}

static int mt__decode_arg(mt_block_decoder_t *dec, uint8_t how, uint64_t *out)
{
    uint64_t v;
    if (how == MT_EVA_NONE)
        return 1;
    if (!mt__get(dec, &v))
        return 0;
    if (how == MT_EVA_UINT)
        *out = v;
    else if (how == MT_EVA_SINT)
        *out = (uint64_t)mt_unzigzag(v);
    else
        *out = MT_WEIGHT_ONE + (uint64_t)mt_unzigzag(v);
    return 1;
}

static int mt__next_v1(mt_block_decoder_t *dec, mt_event_t *e)
{
    uint64_t v;

    if (dec->left == 0)
        return dec->p == dec->end ? 0 : mt__corrupt(dec); /* trailing bytes */
    if (dec->p >= dec->end)
        return mt__corrupt(dec); /* fewer events than the count says */

    memset(e, 0, sizeof *e);
    uint8_t head = *dec->p++;
    e->type = head & MT__HEAD_TYPE;
    const mt__layout_t *l = mt__layout(e->type);
    if (!l)
        return mt__corrupt(dec);
    uint8_t kind_code = (head >> MT__HEAD_KIND_SHIFT) & 7;
    int same_place = (head & MT__HEAD_SAME_PLACE) != 0;
    if (!(l->fields & MT_EVF_KIND) && kind_code)
        return mt__corrupt(dec);
    if (same_place && (l->fields & MT__F_PLACE) != MT__F_PLACE)
        return mt__corrupt(dec);
    if (kind_code == MT__HEAD_KIND_BYTE) {
        /* A kind of 7 or more in its own byte; smaller ones use the head. */
        if (dec->p >= dec->end || *dec->p < MT__HEAD_KIND_BYTE || *dec->p > l->kind_max)
            return mt__corrupt(dec);
        e->kind = *dec->p++;
    } else {
        if (kind_code > l->kind_max)
            return mt__corrupt(dec);
        e->kind = kind_code;
    }
    if (!mt__get(dec, &v) || v > UINT64_MAX - dec->prev_ts)
        return mt__corrupt(dec);
    e->ts = dec->prev_ts + v;
    if (l->fields & MT_EVF_PTR) {
        if (!mt__get(dec, &v))
            return mt__corrupt(dec);
        e->ptr = dec->prev_ptr + (uint64_t)mt_unzigzag(v);
    }
    if ((l->fields & MT_EVF_SIZE) && !mt__get(dec, &e->size))
        return mt__corrupt(dec);
    for (int i = 0; i < 3; i++)
        if (!mt__decode_arg(dec, l->arg[i], &e->arg[i]))
            return mt__corrupt(dec);
    if (l->fields & MT_EVF_STACK) {
        if (!mt__get(dec, &v) || v > UINT32_MAX)
            return mt__corrupt(dec);
        e->stack = (uint32_t)v;
    }
    if (same_place) {
        e->cpu = dec->prev_cpu;
        e->node = dec->prev_node;
    }
    if ((l->fields & MT_EVF_CPU) && !same_place) {
        if (!mt__get(dec, &v) || v > UINT16_MAX)
            return mt__corrupt(dec);
        e->cpu = (uint16_t)v;
    }
    if ((l->fields & MT_EVF_NODE) && !same_place) {
        if (!mt__get(dec, &v))
            return mt__corrupt(dec);
        int64_t node = mt_unzigzag(v);
        if (node < INT16_MIN || node > INT16_MAX)
            return mt__corrupt(dec);
        e->node = (int16_t)node;
    }

    dec->left--;
    dec->prev_ts = e->ts;
    if (l->fields & MT_EVF_PTR)
        dec->prev_ptr = e->ptr;
    if ((l->fields & MT__F_PLACE) == MT__F_PLACE) {
        dec->prev_cpu = e->cpu;
        dec->prev_node = e->node;
    }
    return 1;
}

int mt_block_next(mt_block_decoder_t *dec, mt_event_t *e)
{
    if (dec->bad)
        return MT_ECORRUPT;
    return dec->version == MT__BLOCK_V2 ? mt__next_v2(dec, e) : mt__next_v1(dec, e);
}
