/* test-codec.c - event block encoder/decoder (format/codec.c): exact bytes,
 * round trips of every event type, compression, blocks of format 3, and
 * hostile input. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "format.h"

#define CAP 4096

static mt_event_t ev(uint8_t type, uint64_t ts, uint64_t ptr, uint64_t size)
{
    mt_event_t e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.ts = ts;
    e.ptr = ptr;
    e.size = size;
    return e;
}

static mt_event_t alloc_ev(uint64_t ts, uint64_t ptr, uint64_t size, uint64_t weight,
                           uint32_t stack, uint16_t cpu, int16_t node, uint8_t kind)
{
    mt_event_t e = ev(MT_EV_ALLOC, ts, ptr, size);
    e.arg[0] = weight;
    e.stack = stack;
    e.cpu = cpu;
    e.node = node;
    e.kind = kind;
    return e;
}

static void assert_event_eq(const mt_event_t *a, const mt_event_t *b, size_t i)
{
    cr_assert_eq(a->type, b->type, "event %zu type", i);
    cr_assert_eq(a->ts, b->ts, "event %zu ts", i);
    cr_assert_eq(a->ptr, b->ptr, "event %zu ptr", i);
    cr_assert_eq(a->size, b->size, "event %zu size", i);
    for (int j = 0; j < 3; j++)
        cr_assert_eq(a->arg[j], b->arg[j], "event %zu arg%d", i, j);
    cr_assert_eq(a->stack, b->stack, "event %zu stack", i);
    cr_assert_eq(a->cpu, b->cpu, "event %zu cpu", i);
    cr_assert_eq(a->node, b->node, "event %zu node", i);
    cr_assert_eq(a->kind, b->kind, "event %zu kind", i);
    cr_assert(memcmp(a, b, sizeof *a) == 0, "event %zu: padding must be zero", i);
}

/* Decodes a copy of DATA[LEN] in an exactly sized heap buffer (so a
 * sanitizer sees any overread) into OUT[MAX]. Returns the event count, or
 * the first error. */
static int decode_all(const uint8_t *data, size_t len, mt_event_t *out, size_t max,
                      uint32_t *thread)
{
    uint8_t *copy = malloc(len ? len : 1);
    mt_block_decoder_t dec;
    mt_event_t e;
    int n = 0, rc;
    memcpy(copy, data, len);
    rc = mt_block_open(&dec, copy, len);
    if (rc == 0) {
        if (thread)
            *thread = dec.thread;
        while ((rc = mt_block_next(&dec, &e)) == 1) {
            if ((size_t)n < max)
                out[n] = e;
            n++;
        }
    }
    free(copy);
    return rc < 0 ? rc : n;
}

/* Encodes EVS[N] as one block of thread THREAD into BUF; LENS[i] gets the
 * bytes event i added. Returns the block length. */
static size_t encode(uint8_t *buf, uint32_t thread, const mt_event_t *evs, size_t n, size_t *lens)
{
    mt_block_encoder_t enc;
    mt_block_begin(&enc, buf, CAP, thread);
    for (size_t i = 0; i < n; i++) {
        size_t before = enc.len;
        cr_assert_eq(mt_block_add(&enc, &evs[i]), 0, "add %zu", i);
        if (lens)
            lens[i] = enc.len - before;
    }
    return mt_block_finish(&enc);
}

/* Exact malloc/malloc/free/calloc sequence; see FORMAT.md for the layout. */
static const mt_event_t *known_events(size_t *n)
{
    static mt_event_t evs[4];
    evs[0] = alloc_ev(1000, 0x10000, 24, MT_WEIGHT_ONE, 5, 2, 0, MT_AK_MALLOC);
    evs[1] = alloc_ev(1100, 0x10020, 24, MT_WEIGHT_ONE, 5, 2, 0, MT_AK_MALLOC);
    evs[2] = ev(MT_EV_FREE, 1150, 0x10000, 0);
    evs[2].kind = MT_FK_FREE;
    evs[3] = alloc_ev(1200, 0x10040, 1000, MT_WEIGHT_ONE * 3 / 2, 300, 1, -1, MT_AK_CALLOC);
    *n = 4;
    return evs;
}

/* Format 4 (block version 2): header, then the column lengths and the
 * columns; a block this small is stored uncompressed (flags 0). */
static const uint8_t known_bytes[] = {
    0x02, 0x04, 0x00, 0x00, 0x00, 0x03, 0xe8, 0x07, /* v2, count 4, thread 3, base 1000 */
    0x00, 0x2a,                                     /* flags 0 (stored), body 42 bytes */
    0x04, 0x04, 0x04, 0x03, 0x04, 0x04, 0x05, 0x04, 0x01, /* column lengths */
    0x01, 0x81, 0x82, 0x11,                         /* heads (the free: back-reference) */
    0x00, 0x64, 0x32, 0x32,                         /* ts deltas */
    0x90, 0x40, 0x14, 0x18,                         /* ALLOC ptr >> 4 deltas + 16 */
    0x00, 0x00, 0x00,                               /* their low nibbles */
    0x18, 0x18, 0xe8, 0x07,                         /* sizes */
    0x05, 0x05, 0xac, 0x02,                         /* stacks */
    0x00, 0x00, 0x80, 0x80, 0x04,                   /* weights */
    0x02, 0x00, 0x01, 0x01,                         /* rest: cpu, node of the placed ones */
    0x01,                                           /* the free: the ALLOC before the last */
};

Test(codec, known_sequence_exact_bytes)
{
    uint8_t buf[CAP];
    size_t n, lens[4];
    const mt_event_t *evs = known_events(&n);
    size_t len = encode(buf, 3, evs, n, lens);

    /* The first add also writes the 2-byte base ts into the header. */
    cr_assert_eq(lens[0], 2 + 10);
    cr_assert_eq(lens[1], 7, "an exact malloc with small deltas on the same cpu costs 7 bytes");
    cr_assert_eq(lens[2], 3, "a free of the block's own allocation costs 3 bytes");
    cr_assert_eq(lens[3], 13);
    cr_assert_eq(len, sizeof known_bytes);
    cr_assert_arr_eq(buf, known_bytes, sizeof known_bytes);

    mt_event_t out[4];
    uint32_t thread = 0;
    cr_assert_eq(decode_all(buf, len, out, 4, &thread), 4);
    cr_assert_eq(thread, 3);
    for (size_t i = 0; i < n; i++)
        assert_event_eq(&out[i], &evs[i], i);
}

/* The same events as a block of formats 1 to 3 (version 1, interleaved),
 * which this decoder still reads. */
static const uint8_t v1_bytes[] = {
    0x01, 0x04, 0x00, 0x00, 0x00, 0x03, 0xe8, 0x07,             /* v1, count 4, thread 3, base 1000 */
    0x01, 0x00, 0x80, 0x80, 0x08, 0x18, 0x00, 0x05, 0x02, 0x00, /* first malloc: 10 */
    0x81, 0x64, 0x40, 0x18, 0x00, 0x05,                         /* exact malloc, same cpu: 6 */
    0x02, 0x32, 0x3f,                                           /* free: 3 */
    0x11, 0x32, 0x80, 0x01, 0xe8, 0x07, 0x80, 0x80, 0x04, 0xac, 0x02, 0x01, 0x01, /* calloc: 13 */
};

Test(codec, format_3_blocks_still_decode)
{
    size_t n;
    const mt_event_t *evs = known_events(&n);
    mt_event_t out[4];
    uint32_t thread = 0;
    cr_assert_eq(decode_all(v1_bytes, sizeof v1_bytes, out, 4, &thread), 4);
    cr_assert_eq(thread, 3);
    for (size_t i = 0; i < n; i++)
        assert_event_eq(&out[i], &evs[i], i);
    for (size_t k = 0; k < sizeof v1_bytes; k++)
        cr_assert_eq(decode_all(v1_bytes, k, NULL, 0, NULL), MT_ECORRUPT, "prefix of %zu", k);
}

/* Pointers the block has seen cost one byte: a FREE names the ALLOC of its
 * pointer; an ALLOC a chunk of its size class the block freed (glibc's
 * tcache hands those out first), or one of the last 8 freed. */
Test(codec, pointers_seen_in_the_block_cost_one_byte)
{
    uint8_t buf[CAP];
    mt_event_t evs[5];
    size_t lens[5];
    evs[0] = alloc_ev(0, 0x7f0000001000, 24, MT_WEIGHT_ONE, 1, 0, 0, MT_AK_MALLOC);
    evs[1] = alloc_ev(1, 0x7f0000005000, 24, MT_WEIGHT_ONE, 1, 0, 0, MT_AK_MALLOC);
    evs[2] = ev(MT_EV_FREE, 2, 0x7f0000001000, 0);
    evs[3] = alloc_ev(3, 0x7f0000001000, 20, MT_WEIGHT_ONE, 1, 0, 0, MT_AK_MALLOC);
    evs[4] = alloc_ev(4, 0x7f0000001000, 24, MT_WEIGHT_ONE, 1, 0, 0, MT_AK_MALLOC);
    size_t len = encode(buf, 0, evs, 5, lens);
    cr_assert_eq(lens[1], 8, "ptr >> 4 delta 0x400 (zigzag 0x800, + 16): 2 bytes, nibble 1");
    cr_assert_eq(lens[2], 3, "head, ts, back-reference: the ALLOC before the last");
    cr_assert_eq(lens[3], 6, "head, ts, ptr = slot 0 of class 2 (24 and 20 bytes), size, "
                             "stack, weight");
    cr_assert_eq(lens[4], 6, "the class is empty now; the last freed ptr");
    cr_assert_eq(buf[7], 0, "flags: stored");
    /* header 9 (thread 0, base ts 0), 9 column lengths, heads 5, ts 5, then
     * the ptr column */
    static const uint8_t ptrs[] = {0x90, 0x84, 0x80, 0x80, 0x80, 0xfc, 0x03, /* 0x7f0000001000 */
                                   0x90, 0x10,                         /* + 0x4000 */
                                   0x00,                               /* class slot 0 */
                                   0x08};                              /* freed 0 ago */
    cr_assert_arr_eq(buf + 9 + 9 + 5 + 5, ptrs, sizeof ptrs);
    cr_assert_eq(buf[len - 1], 1, "the ref column: 1 ALLOC back");
    mt_event_t out[5];
    cr_assert_eq(decode_all(buf, len, out, 5, NULL), 5);
    for (size_t i = 0; i < 5; i++)
        assert_event_eq(&out[i], &evs[i], i);
}

/* A chunk of a size class is named by how many chunks of its class not
 * taken yet the block freed after it: with 9 freed and the newest taken,
 * the oldest is named again (7 newer), from a ring of the last 16 pushes.
 * Naming a chunk that is not there is corrupt. */
Test(codec, class_ring_codes_count_newer_chunks_left)
{
    uint8_t buf[CAP];
    mt_event_t evs[20];
    size_t lens[20];
    uint64_t p[9];
    for (int i = 0; i < 9; i++) {
        p[i] = 0x7f0000001000 + 0x40 * (uint64_t)i;
        evs[i] = alloc_ev((uint64_t)i, p[i], 24, MT_WEIGHT_ONE, 1, 0, 0, MT_AK_MALLOC);
        evs[9 + i] = ev(MT_EV_FREE, 9 + (uint64_t)i, p[i], 0);
    }
    evs[18] = alloc_ev(18, p[8], 24, MT_WEIGHT_ONE, 1, 0, 0, MT_AK_MALLOC); /* 0 newer */
    evs[19] = alloc_ev(19, p[0], 24, MT_WEIGHT_ONE, 1, 0, 0, MT_AK_MALLOC); /* p1..p7 */
    size_t len = encode(buf, 0, evs, 20, lens);
    cr_assert_eq(buf[7], 0, "flags: stored");
    cr_assert_eq(lens[18], 6, "head, ts, class code, size, stack, weight");
    cr_assert_eq(lens[19], 6, "the oldest of 9 freed: still one byte");
    /* header 9, 9 column lengths, heads 20, ts 20; the ptr column: p0 (7
     * bytes), + 4 eight times (zigzag 8, + 16), then the two class codes */
    static const uint8_t ptrs[] = {0x90, 0x84, 0x80, 0x80, 0x80, 0xfc, 0x03, 24, 24, 24, 24,
                                   24,   24,   24,   24,   0,    7};
    cr_assert_eq(buf[9 + 2], sizeof ptrs, "the ptr column's length");
    cr_assert_arr_eq(buf + 9 + 9 + 20 + 20, ptrs, sizeof ptrs);
    mt_event_t out[20];
    cr_assert_eq(decode_all(buf, len, out, 20, NULL), 20);
    for (size_t i = 0; i < 20; i++)
        assert_event_eq(&out[i], &evs[i], i);

    /* One chunk freed: code 0 is it, code 1 is not there; once taken, it
     * cannot be named again (the second ALLOC names the last FREE). */
    evs[0] = alloc_ev(0, p[0], 24, MT_WEIGHT_ONE, 1, 0, 0, MT_AK_MALLOC);
    evs[1] = ev(MT_EV_FREE, 1, p[0], 0);
    evs[2] = alloc_ev(2, p[0], 24, MT_WEIGHT_ONE, 1, 0, 0, MT_AK_MALLOC);
    evs[3] = alloc_ev(3, p[0], 24, MT_WEIGHT_ONE, 1, 0, 0, MT_AK_MALLOC);
    len = encode(buf, 0, evs, 4, lens);
    static const uint8_t ptrs2[] = {0x90, 0x84, 0x80, 0x80, 0x80, 0xfc, 0x03, 0, 8};
    cr_assert_arr_eq(buf + 9 + 9 + 4 + 4, ptrs2, sizeof ptrs2);
    cr_assert_eq(decode_all(buf, len, out, 4, NULL), 4);
    buf[9 + 9 + 4 + 4 + 7] = 1;
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT, "a second chunk");
    buf[9 + 9 + 4 + 4 + 7] = 0;
    buf[9 + 9 + 4 + 4 + 8] = 0;
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT, "a chunk taken");
}

/* A busy thread's block: zstd-compressed, its events back exactly. */
Test(codec, big_blocks_are_compressed)
{
    enum { N = 8000 };
    size_t cap = 64 << 10;
    uint8_t *buf = malloc(cap);
    mt_event_t *evs = malloc(N * sizeof *evs), *out = malloc(N * sizeof *out);
    uint64_t x = 88172645463325252ull, ts = 1000000;
    mt_block_encoder_t enc;
    mt_block_begin(&enc, buf, cap, 2);
    size_t n = 0;
    for (; n < N; n++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        ts += 50 + x % 200;
        if (n % 2 == 0)
            evs[n] = alloc_ev(ts, 0x555555550000 + (x >> 44) * 16, 16 + x % 240, MT_WEIGHT_ONE,
                              1 + (uint32_t)(x >> 61), 0, 0, MT_AK_MALLOC);
        else
            evs[n] = ev(MT_EV_FREE, ts, evs[n - 1].ptr, 0);
        if (mt_block_add(&enc, &evs[n]) == MT_EFULL)
            break;
    }
    cr_assert_eq(n, N, "8000 events fit 64 KiB");
    size_t raw = enc.len, len = mt_block_finish(&enc);
    cr_assert_eq(buf[0], 2);
    uint32_t count = buf[1] | buf[2] << 8 | (uint32_t)buf[3] << 16 | (uint32_t)buf[4] << 24;
    cr_assert_eq(count, N);
    cr_assert_eq(buf[5], 2, "thread 2");
    cr_assert_eq(buf[6 + mt_varint_put((uint8_t[10]){0}, evs[0].ts)], 1, "flags: zstd");
    cr_assert_lt(len, raw * 3 / 4, "%zu bytes compressed, %zu raw", len, raw);
    cr_assert_eq(decode_all(buf, len, out, N, NULL), N);
    for (size_t i = 0; i < N; i++)
        assert_event_eq(&out[i], &evs[i], i);
    /* Truncated: the frame no longer ends the block. */
    cr_assert_eq(decode_all(buf, len - 1, NULL, 0, NULL), MT_ECORRUPT);
    /* A decoder left mid-block frees the body with mt_block_close. */
    mt_block_decoder_t dec;
    mt_event_t e;
    cr_assert_eq(mt_block_open(&dec, buf, len), 0);
    cr_assert_eq(mt_block_next(&dec, &e), 1);
    cr_assert_not_null(dec.own);
    mt_block_close(&dec);
    cr_assert_null(dec.own);
    free(buf), free(evs), free(out);
}

/* A zip bomb: a tiny frame that claims (or holds) a huge body is refused
 * before the decoder allocates it, or when its sizes disagree. */
Test(codec, compressed_size_is_bounded_before_allocation)
{
    static uint8_t buf[1 << 16];
    /* header: v2, count 1, thread 0, base 0, flags zstd, body 2^20 + 1 */
    static const uint8_t over[] = {2, 1, 0, 0, 0, 0, 0, 1, 0x81, 0x80, 0x40, 0x28, 0xb5};
    cr_assert_eq(decode_all(over, sizeof over, NULL, 0, NULL), MT_ECORRUPT);
    mt_block_decoder_t dec;
    cr_assert_eq(mt_block_open(&dec, over, sizeof over), MT_ECORRUPT, "refused at open");
    /* a body of MT_BLOCK_RAW_MAX zero bytes compresses to a few bytes; the
     * header says 100: the frame's own size disagrees */
    static uint8_t zeros[MT_BLOCK_RAW_MAX];
    static const uint8_t hdr[] = {2, 1, 0, 0, 0, 0, 0, 1, 100};
    memcpy(buf, hdr, sizeof hdr);
    size_t z = ZSTD_compress(buf + sizeof hdr, sizeof buf - sizeof hdr, zeros, sizeof zeros, 1);
    cr_assert(!ZSTD_isError(z), "%s", ZSTD_getErrorName(z));
    cr_assert_lt(z, 100, "a zip bomb: %zu bytes", z);
    cr_assert_eq(decode_all(buf, sizeof hdr + z, NULL, 0, NULL), MT_ECORRUPT);
    /* with its true size (2^20) it decompresses, but its columns do not add
     * up: 8 empty columns, then a megabyte left over */
    buf[8] = 0x80, buf[9] = 0x80, buf[10] = 0x40;
    z = ZSTD_compress(buf + 11, sizeof buf - 11, zeros, sizeof zeros, 1);
    cr_assert(!ZSTD_isError(z));
    cr_assert_eq(decode_all(buf, 11 + z, NULL, 0, NULL), MT_ECORRUPT);
}

/* Columns are per thread: a second block begun before the first one is
 * finished takes them, and the first one's adds fail rather than mix. */
Test(codec, one_open_block_per_thread)
{
    uint8_t a[CAP], b[CAP];
    mt_block_encoder_t ea, eb;
    mt_event_t e = ev(MT_EV_RSS, 1, 0, 5);
    mt_block_begin(&ea, a, CAP, 1);
    cr_assert_eq(mt_block_add(&ea, &e), 0);
    mt_block_begin(&eb, b, CAP, 2);
    cr_assert_eq(mt_block_add(&ea, &e), MT_EINVAL);
    cr_assert_eq(mt_block_add(&eb, &e), 0);
    size_t len = mt_block_finish(&eb);
    cr_assert_eq(decode_all(b, len, NULL, 0, NULL), 1);
    len = mt_block_finish(&ea);
    cr_assert_eq(decode_all(a, len, NULL, 0, NULL), 0, "the first block: empty, not mixed");
}

/* One event of every type, with the bytes each must take. */
static const mt_event_t *all_types(size_t *n, const size_t **lens)
{
    static mt_event_t evs[MT_EV_TYPE_MAX];
    /* the header is 6 bytes + the base ts, which evs[0] pays for */
    /* kinds below 7 ride in the head byte; POLICY and POOL_ALLOC run where
     * the MMAP did, so their cpu and node are left out */
    /* a ptr costs a byte more than its delta: its low nibble */
    static const size_t expect[MT_EV_TYPE_MAX] = {1 + 17, 7, 13, 11, 7, 7, 9, 5, 12, 3};
    evs[0] = ev(MT_EV_MMAP, 0, 0x1000, 8192);
    evs[0].arg[0] = 3 | (0x22ull << 32);
    evs[0].arg[1] = (uint64_t)-1; /* fd of an anonymous map */
    evs[0].stack = 7, evs[0].cpu = 3, evs[0].node = 1;
    evs[1] = ev(MT_EV_MUNMAP, 10, 0x1000, 4096);
    evs[1].stack = 7;
    evs[2] = ev(MT_EV_MREMAP, 20, 0x3000, 16384);
    evs[2].arg[0] = 0x1000, evs[2].arg[1] = 4096, evs[2].kind = 1, evs[2].stack = 8;
    evs[3] = ev(MT_EV_POLICY, 30, 0x3000, 16384);
    evs[3].kind = MT_PK_MBIND, evs[3].arg[0] = 3, evs[3].arg[1] = 2, evs[3].arg[2] = 0;
    evs[3].stack = 9, evs[3].cpu = 3, evs[3].node = 1;
    evs[4] = ev(MT_EV_PLACEMENT, 40, 0x3000, 4096);
    evs[4].node = MT_NODE_UNTOUCHED;
    evs[5] = ev(MT_EV_RSS, 50, 0, 1ull << 30);
    evs[6] = ev(MT_EV_POOL_ALLOC, 60, 0x3100, 256);
    evs[6].arg[0] = MT_WEIGHT_ONE, evs[6].arg[1] = 4, evs[6].stack = 10, evs[6].cpu = 3;
    evs[6].node = 1;
    evs[7] = ev(MT_EV_POOL_FREE, 70, 0x3100, 0);
    evs[7].arg[1] = 4;
    /* ALLOC: ts +10, ptr -0x3100 (zigzag 0x61ff: 3), weight 0 (zigzag 131071: 3). */
    evs[8] = alloc_ev(80, 0, 8, 0, 1, 0, 0, MT_AK_NEW_ARRAY);
    evs[9] = ev(MT_EV_FREE, 90, 0, 0);
    evs[9].kind = MT_FK_DELETE_ARRAY;
    *n = MT_EV_TYPE_MAX;
    *lens = expect;
    return evs;
}

Test(codec, every_type_round_trips_with_exact_sizes)
{
    uint8_t buf[CAP];
    size_t n, lens[MT_EV_TYPE_MAX];
    const size_t *expect;
    const mt_event_t *evs = all_types(&n, &expect);
    size_t len = encode(buf, 1, evs, n, lens);
    size_t total = 6; /* version, count, thread 1 */
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(lens[i], expect[i], "event %zu (type %u) took %zu bytes", i, evs[i].type,
                     lens[i]);
        total += lens[i];
    }
    /* flags, body length and 9 column lengths: 1 byte each */
    cr_assert_eq(len, total + 11);
    cr_assert_eq(len, 109);

    mt_event_t out[MT_EV_TYPE_MAX];
    cr_assert_eq(decode_all(buf, len, out, n, NULL), (int)n);
    for (size_t i = 0; i < n; i++)
        assert_event_eq(&out[i], &evs[i], i);
}

Test(codec, extreme_values_round_trip_within_the_worst_case)
{
    uint8_t buf[CAP];
    mt_event_t evs[4];
    size_t lens[4];
    evs[0] = ev(MT_EV_RSS, 0, 0, 0);
    evs[1] = ev(MT_EV_POLICY, UINT64_MAX, 1ull << 63, UINT64_MAX);
    evs[1].kind = MT_PK_MAX;
    evs[1].arg[0] = UINT64_MAX, evs[1].arg[1] = UINT64_MAX, evs[1].arg[2] = 1ull << 63;
    evs[1].stack = UINT32_MAX, evs[1].cpu = UINT16_MAX, evs[1].node = INT16_MIN;
    evs[2] = alloc_ev(UINT64_MAX, 0, 0, UINT64_MAX, 0, 0, INT16_MAX, MT_AK_MAX);
    evs[3] = alloc_ev(UINT64_MAX, UINT64_MAX, 1, 0, 0, 0, 0, MT_AK_MALLOC);
    size_t len = encode(buf, UINT32_MAX, evs, 4, lens);
    cr_assert_eq(lens[1], 72, "the largest event there is");
    cr_assert(lens[1] <= MT_EVENT_MAX_ENCODED);
    /* head, ts 0, ptr >> 4 delta -2^59 (zigzag + 16: 9 bytes) and its nibble,
     * size 0, weight 2^64-1 - 65536 (zigzag: 3), stack 0, cpu 0, node */
    cr_assert_eq(lens[2], 1 + 1 + 9 + 1 + 1 + 3 + 1 + 1 + 3);
    /* head, ts, ptr >> 4 delta 2^60-1 (9 bytes) and its nibble, size,
     * weight -65536 (3), stack, cpu 0, node 0 */
    cr_assert_eq(lens[3], 1 + 1 + 9 + 1 + 1 + 3 + 1 + 1 + 1, "the largest pointer");
    cr_assert_eq(len - lens[0] - lens[1] - lens[2] - lens[3], 5 + 5 + 11, "thread u32 max");

    mt_event_t out[4];
    uint32_t thread;
    cr_assert_eq(decode_all(buf, len, out, 4, &thread), 4);
    cr_assert_eq(thread, UINT32_MAX);
    for (size_t i = 0; i < 4; i++)
        assert_event_eq(&out[i], &evs[i], i);
}

Test(codec, unused_fields_are_not_stored_and_decode_as_zero)
{
    uint8_t buf[CAP];
    mt_event_t e = ev(MT_EV_FREE, 5, 0x40, 999);
    e.kind = MT_FK_DELETE;
    e.arg[0] = e.arg[1] = e.arg[2] = 77;
    e.stack = 3, e.cpu = 4, e.node = 5;
    memset(e.pad, 0xaa, sizeof e.pad);
    size_t len = encode(buf, 0, &e, 1, NULL);
    /* header 5 + thread 1 + base 1, flags, body length, 9 column lengths,
     * then head (type and kind), dts, ptr >> 4 zigzag 8, low nibble 0. */
    cr_assert_eq(len, 7 + 11 + 4);

    mt_event_t out;
    cr_assert_eq(decode_all(buf, len, &out, 1, NULL), 1);
    mt_event_t want = ev(MT_EV_FREE, 5, 0x40, 0);
    want.kind = MT_FK_DELETE;
    assert_event_eq(&out, &want, 0);
}

Test(codec, empty_block)
{
    uint8_t buf[CAP];
    size_t len = encode(buf, 3, NULL, 0, NULL);
    static const uint8_t want[] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x09,
                                   0, 0, 0, 0, 0, 0, 0, 0, 0};
    cr_assert_eq(len, sizeof want);
    cr_assert_arr_eq(buf, want, sizeof want);
    uint32_t thread = 0;
    cr_assert_eq(decode_all(buf, len, NULL, 0, &thread), 0);
    cr_assert_eq(thread, 3);
}

Test(codec, encoder_rejects_invalid_events_unchanged)
{
    uint8_t buf[CAP];
    mt_block_encoder_t enc;
    mt_block_begin(&enc, buf, CAP, 0);
    mt_event_t ok = alloc_ev(100, 0x1000, 8, MT_WEIGHT_ONE, 1, 0, 0, MT_AK_MALLOC);
    cr_assert_eq(mt_block_add(&enc, &ok), 0);
    size_t len = enc.len;

    mt_event_t bad[7];
    bad[0] = ev(0, 100, 0, 0);
    bad[1] = ev(MT_EV_TYPE_MAX + 1, 100, 0, 0);
    bad[2] = alloc_ev(100, 0, 0, 0, 0, 0, 0, MT_AK_MAX + 1);
    bad[3] = ev(MT_EV_FREE, 100, 0, 0);
    bad[3].kind = MT_FK_MAX + 1;
    bad[4] = ev(MT_EV_POLICY, 100, 0, 0);
    bad[4].kind = MT_PK_MAX + 1;
    bad[5] = ev(MT_EV_RSS, 99, 0, 0); /* ts goes backwards */
    bad[6] = ev(255, 100, 0, 0);
    for (size_t i = 0; i < 7; i++) {
        cr_assert_eq(mt_block_add(&enc, &bad[i]), MT_EINVAL, "bad %zu", i);
        cr_assert_eq(enc.len, len);
        cr_assert_eq(enc.count, 1);
    }
    mt_event_t same_ts = ev(MT_EV_RSS, 100, 0, 0);
    cr_assert_eq(mt_block_add(&enc, &same_ts), 0, "equal timestamps are fine");
}

Test(codec, encoder_reports_full_at_the_exact_byte)
{
    uint8_t buf[MT_BLOCK_HEADER_MAX + MT_EVENT_MAX_ENCODED];
    mt_block_encoder_t enc;
    mt_block_begin(&enc, buf, sizeof buf, 0);
    cr_assert_eq(enc.len, 6);
    int added = 0, rc;
    for (uint64_t i = 0; (rc = mt_block_add(&enc, &(mt_event_t){
                                                     .type = MT_EV_ALLOC,
                                                     .ts = i,
                                                     .ptr = 0x1000 + 16 * i,
                                                     .size = 16,
                                                     .arg = {MT_WEIGHT_ONE},
                                                     .stack = 1,
                                                 })) == 0;
         i++)
        added++;
    cr_assert_eq(rc, MT_EFULL);
    /* 6 header + 1 base ts + 8 (first ptr delta takes 2 bytes; cpu and node
     * equal the block's initial 0, 0 and are left out) + 11 x 7 = 92; the
     * encoder keeps 31 bytes for flags, body and 9 column lengths (at most 3
     * bytes each), so a 12th 7-byte event (130) does not fit in 128. */
    cr_assert_eq(added, 12);
    cr_assert_eq(enc.len, 92);
    cr_assert_eq(mt_block_finish(&enc), 92 + 11);
    cr_assert_eq(decode_all(buf, 103, NULL, 0, NULL), 12);
}

/* ---- hostile input ----------------------------------------------------- */

Test(codec, every_truncation_is_corrupt)
{
    uint8_t buf[CAP];
    size_t n;
    const size_t *expect;
    const mt_event_t *evs = all_types(&n, &expect);
    size_t len = encode(buf, 1, evs, n, NULL);
    for (size_t k = 0; k < len; k++)
        cr_assert_eq(decode_all(buf, k, NULL, 0, NULL), MT_ECORRUPT, "prefix of %zu bytes", k);
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), (int)n);
}

Test(codec, every_bit_flip_is_corrupt_or_decodes_in_bounds)
{
    uint8_t buf[CAP];
    size_t n;
    const size_t *expect;
    const mt_event_t *evs = all_types(&n, &expect);
    size_t len = encode(buf, 1, evs, n, NULL);
    for (size_t bit = 0; bit < 8 * len; bit++) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        int rc = decode_all(buf, len, NULL, 0, NULL);
        /* The count is in the header, so a success decodes exactly n events. */
        cr_assert(rc == MT_ECORRUPT || rc == (int)n, "bit %zu: %d", bit, rc);
        if (bit < 40) /* version byte and count: always detected */
            cr_assert_eq(rc, MT_ECORRUPT, "bit %zu", bit);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
}

Test(codec, random_garbage_never_escapes_its_buffer)
{
    uint8_t buf[256];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 20000; round++) {
        size_t len = 0;
        for (size_t i = 0; i < sizeof buf; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (uint8_t)x;
        }
        len = (size_t)(x % sizeof buf);
        buf[0] = 1;                          /* get past the version check */
        buf[1] = (uint8_t)(x >> 40) & 7, buf[2] = buf[3] = buf[4] = 0; /* small counts */
        int rc = decode_all(buf, len, NULL, 0, NULL);
        cr_assert(rc == MT_ECORRUPT || (len >= 5 && rc == buf[1]), "round %d: %d", round, rc);
    }
}

/* Builds a one-event block: header (count COUNT, thread 0, base BASE) + BODY. */
static size_t craft(uint8_t *out, uint32_t count, uint64_t base, const uint8_t *body, size_t n)
{
    out[0] = 1;
    out[1] = (uint8_t)count, out[2] = (uint8_t)(count >> 8);
    out[3] = (uint8_t)(count >> 16), out[4] = (uint8_t)(count >> 24);
    out[5] = 0;
    size_t len = 6 + mt_varint_put(out + 6, base);
    memcpy(out + len, body, n);
    return len + n;
}

#define CRAFT(count, base, ...)                                                  \
    do {                                                                         \
        static const uint8_t body_[] = {__VA_ARGS__};                            \
        len = craft(buf, (count), (base), body_, sizeof body_);                  \
    } while (0)

Test(codec, crafted_corruption)
{
    uint8_t buf[64];
    size_t len;
    mt_event_t e;

    CRAFT(1, 0, MT_EV_RSS, 0, 5); /* valid: rss 5 at ts 0 */
    cr_assert_eq(decode_all(buf, len, &e, 1, NULL), 1);
    cr_assert_eq(e.size, 5);

    CRAFT(1, 0, 0, 0, 5); /* type 0 */
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);
    CRAFT(1, 0, MT_EV_TYPE_MAX + 1, 0, 5); /* type 11 */
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);
    CRAFT(2, 0, MT_EV_RSS, 0, 5, MT_EV_RSS); /* second event cut after its type */
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);
    CRAFT(2, 0, MT_EV_RSS, 0, 5, 0); /* count says 2, one event and a stray byte */
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);
    CRAFT(1, 0, MT_EV_RSS, 0, 5, MT_EV_RSS, 0, 5); /* trailing event beyond the count */
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);
    CRAFT(1000, 0, MT_EV_RSS, 0, 5); /* count beyond what the bytes can hold */
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);

    CRAFT(1, UINT64_MAX, MT_EV_RSS, 0, 5); /* ts exactly UINT64_MAX is fine */
    cr_assert_eq(decode_all(buf, len, &e, 1, NULL), 1);
    cr_assert_eq(e.ts, UINT64_MAX);
    CRAFT(1, UINT64_MAX, MT_EV_RSS, 1, 5); /* ts overflows */
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);
    CRAFT(1, 0, MT_EV_RSS, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT, "11-byte varint");

    /* Head byte: type | kind << 4 | same-place << 7; kind code 7 = own byte. */
#define HEAD(type, kind) ((uint8_t)((type) | (kind) << 4))
    /* kinds out of range: ALLOC 6, FREE 4, POLICY 4; MREMAP takes any byte */
    CRAFT(1, 0, HEAD(MT_EV_ALLOC, MT_AK_MAX + 1), 0, 0, 0, 0, 0, 0, 0);
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);
    CRAFT(1, 0, HEAD(MT_EV_ALLOC, MT_AK_MAX), 0, 0, 0, 0, 0, 0, 0);
    cr_assert_eq(decode_all(buf, len, &e, 1, NULL), 1);
    cr_assert_eq(e.kind, MT_AK_MAX);
    CRAFT(1, 0, HEAD(MT_EV_FREE, MT_FK_MAX + 1), 0, 0);
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);
    CRAFT(1, 0, HEAD(MT_EV_POLICY, MT_PK_MAX + 1), 0, 0, 0, 0, 0, 0, 0, 0, 0);
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);
    CRAFT(1, 0, HEAD(MT_EV_MREMAP, 7), 0xff, 0, 0, 0, 0, 0, 0);
    cr_assert_eq(decode_all(buf, len, &e, 1, NULL), 1);
    cr_assert_eq(e.kind, 0xff);
    CRAFT(1, 0, HEAD(MT_EV_MREMAP, 7)); /* kind byte missing */
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);
    CRAFT(1, 0, HEAD(MT_EV_MREMAP, 7), 3, 0, 0, 0, 0, 0, 0); /* small kind in its own byte */
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);
    CRAFT(1, 0, HEAD(MT_EV_RSS, 1), 0, 5); /* a kind on a type without one */
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);
    CRAFT(1, 0, MT_EV_FREE | 0x80, 0, 0); /* same place on a type without cpu/node */
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);
    /* same place at the start of a block: cpu 0, node 0 */
    CRAFT(1, 0, MT_EV_ALLOC | 0x80, 0, 0, 0, 0, 0);
    cr_assert_eq(decode_all(buf, len, &e, 1, NULL), 1);
    cr_assert_eq(e.cpu, 0);
    cr_assert_eq(e.node, 0);

    /* ALLOC fields out of their C types: stack 2^32, cpu 65536, node 32768 */
    CRAFT(1, 0, MT_EV_ALLOC, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 0);
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);
    CRAFT(1, 0, MT_EV_ALLOC, 0, 0, 0, 0, 0, 0x80, 0x80, 0x04, 0);
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);
    CRAFT(1, 0, MT_EV_ALLOC, 0, 0, 0, 0, 0, 0, 0x80, 0x80, 0x04);
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);
    CRAFT(1, 0, MT_EV_ALLOC, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xff, 0xff, 0x03,
          0xff, 0xff, 0x03);
    cr_assert_eq(decode_all(buf, len, &e, 1, NULL), 1, "the largest in-range values");
    cr_assert_eq(e.stack, UINT32_MAX);
    cr_assert_eq(e.cpu, UINT16_MAX);
    cr_assert_eq(e.node, INT16_MIN);
}

Test(codec, bad_headers)
{
    uint8_t buf[32];
    size_t len;
    len = craft(buf, 0, 0, (const uint8_t *)"", 0);
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), 0);
    buf[0] = 3; /* version */
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);
    buf[0] = 0;
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);
    buf[0] = 1;
    cr_assert_eq(decode_all(buf, 4, NULL, 0, NULL), MT_ECORRUPT, "shorter than the count");
    cr_assert_eq(decode_all(buf, 0, NULL, 0, NULL), MT_ECORRUPT);
    /* thread 2^32 */
    static const uint8_t big_thread[] = {1, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x10, 0};
    cr_assert_eq(decode_all(big_thread, sizeof big_thread, NULL, 0, NULL), MT_ECORRUPT);
    static const uint8_t max_thread[] = {1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0};
    cr_assert_eq(decode_all(max_thread, sizeof max_thread, NULL, 0, NULL), 0);
}

Test(codec, errors_are_sticky)
{
    uint8_t buf[32];
    size_t len;
    mt_block_decoder_t dec;
    mt_event_t e;
    CRAFT(2, 0, MT_EV_RSS, 0, 5, 0, 0, 5);
    cr_assert_eq(mt_block_open(&dec, buf, len), 0);
    cr_assert_eq(mt_block_next(&dec, &e), 1);
    cr_assert_eq(mt_block_next(&dec, &e), MT_ECORRUPT);
    cr_assert_eq(mt_block_next(&dec, &e), MT_ECORRUPT);
    cr_assert_eq(mt_block_next(&dec, &e), MT_ECORRUPT);
}

/* Builds a stored (uncompressed) format 4 block of COUNT events, thread 0,
 * base ts 0, from the 9 columns COLS[i][LENS[i]]. */
static size_t craft2(uint8_t *out, uint32_t count, const uint8_t *const cols[9],
                     const size_t lens[9])
{
    size_t body = 9, len = 0;
    for (int i = 0; i < 9; i++)
        body += lens[i];
    out[len++] = 2;
    for (int i = 0; i < 4; i++)
        out[len++] = (uint8_t)(count >> (8 * i));
    out[len++] = 0, out[len++] = 0, out[len++] = 0; /* thread, base ts, flags */
    len += mt_varint_put(out + len, body);
    for (int i = 0; i < 9; i++)
        out[len++] = (uint8_t)lens[i];
    for (int i = 0; i < 9; i++) {
        if (lens[i]) /* an empty column may be NULL */
            memcpy(out + len, cols[i], lens[i]);
        len += lens[i];
    }
    return len;
}

/* One ALLOC (kind malloc, ts 0, size 8, stack 1, weight exact, cpu 0 node 0
 * by the same-place bit) with ptr column PTR[NPTR] and low nibbles LOW[NLOW]. */
static int alloc_with_ptr(const uint8_t *ptr, size_t nptr, const uint8_t *low, size_t nlow,
                          mt_event_t *e)
{
    static const uint8_t head[] = {MT_EV_ALLOC | 0x80}, ts[] = {0}, size[] = {8}, stack[] = {1},
                         weight[] = {0};
    const uint8_t *cols[9] = {head, ts, ptr, low, size, stack, weight, NULL, NULL};
    const size_t lens[9] = {1, 1, nptr, nlow, 1, 1, 1, 0, 0};
    uint8_t buf[64];
    size_t len = craft2(buf, 1, cols, lens);
    return decode_all(buf, len, e, 1, NULL);
}

Test(codec, crafted_column_corruption)
{
    mt_event_t e;
    static const uint8_t zero[] = {0}, eight[] = {8}, sixteen[] = {16}, fifteen[] = {15};
    /* ptr >> 4 delta 0 (zigzag 0, + 16 for an ALLOC), nibble 15 */
    static const uint8_t d0[] = {16};
    cr_assert_eq(alloc_with_ptr(d0, 1, fifteen, 1, &e), 1);
    cr_assert_eq(e.ptr, 15);
    cr_assert_eq(e.size, 8);
    cr_assert_eq(e.stack, 1);
    cr_assert_eq(e.arg[0], MT_WEIGHT_ONE);
    cr_assert_eq(alloc_with_ptr(d0, 1, sixteen, 1, &e), MT_ECORRUPT, "a nibble above 15");
    cr_assert_eq(alloc_with_ptr(d0, 1, NULL, 0, &e), MT_ECORRUPT, "no nibble");
    cr_assert_eq(alloc_with_ptr(d0, 1, (const uint8_t[]){0, 0}, 2, &e), MT_ECORRUPT,
                 "a nibble left over");
    cr_assert_eq(alloc_with_ptr(zero, 1, NULL, 0, &e), MT_ECORRUPT,
                 "a chunk of its class when the block freed none");
    cr_assert_eq(alloc_with_ptr(eight, 1, NULL, 0, &e), MT_ECORRUPT,
                 "a just-freed ptr when the block freed none");
    /* ptr >> 4 of 2^60 is no pointer: delta 2^60 = zigzag 2^61, + 16 */
    static const uint8_t big[] = {0x90, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20};
    cr_assert_eq(alloc_with_ptr(big, sizeof big, zero, 1, &e), MT_ECORRUPT);
    static const uint8_t max[] = {0x8e, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20};
    cr_assert_eq(alloc_with_ptr(max, sizeof max, fifteen, 1, &e), 1, "2^60 - 1");
    cr_assert_eq(e.ptr, UINT64_MAX);

    /* the head column holds exactly one byte per event */
    uint8_t buf[64];
    static const uint8_t rss[] = {MT_EV_RSS, MT_EV_RSS}, ts[] = {0, 0}, five[] = {5, 5};
    const uint8_t *cols[9] = {rss, ts, NULL, NULL, five};
    size_t lens[9] = {1, 1, 0, 0, 1};
    size_t len = craft2(buf, 1, cols, lens);
    cr_assert_eq(decode_all(buf, len, &e, 1, NULL), 1);
    cr_assert_eq(e.size, 5);
    lens[0] = 2;
    len = craft2(buf, 1, cols, lens);
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT, "a head beyond the count");
    lens[0] = 1, lens[1] = 2;
    len = craft2(buf, 1, cols, lens);
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT, "a ts left over");
    lens[1] = 1;
    len = craft2(buf, 1, cols, lens);
    buf[7] = 2; /* an unknown flag */
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);
    buf[7] = 0;
    cr_assert_eq(decode_all(buf, len - 1, NULL, 0, NULL), MT_ECORRUPT, "body shorter");
    buf[8]++;
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT, "body length disagrees");
    buf[8]--;
    buf[9 + 4] = 2; /* the size column claims a byte more than the body has */
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);

    /* a FREE naming an ALLOC the block does not have: 1 back of 1 */
    static const uint8_t heads[] = {MT_EV_ALLOC | 0x80, MT_EV_FREE | 0x80}, ts2[] = {0, 0},
                         ptr[] = {16}, low[] = {0}, size[] = {8}, stack[] = {1}, weight[] = {0},
                         back0[] = {0}, back1[] = {1};
    const uint8_t *fcols[9] = {heads, ts2, ptr, low, size, stack, weight, NULL, back0};
    size_t flens[9] = {2, 2, 1, 1, 1, 1, 1, 0, 1};
    mt_event_t two[2];
    len = craft2(buf, 2, fcols, flens);
    cr_assert_eq(decode_all(buf, len, two, 2, NULL), 2);
    cr_assert_eq(two[1].type, MT_EV_FREE);
    cr_assert_eq(two[1].ptr, 0);
    fcols[8] = back1;
    len = craft2(buf, 2, fcols, flens);
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT);
    flens[8] = 0;
    len = craft2(buf, 2, fcols, flens);
    cr_assert_eq(decode_all(buf, len, NULL, 0, NULL), MT_ECORRUPT, "the reference missing");
}

Test(codec, random_column_garbage_never_escapes_its_buffer)
{
    uint8_t buf[256];
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (int round = 0; round < 20000; round++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint8_t cols[9][16];
        const uint8_t *cp[9];
        size_t lens[9];
        uint32_t count = (uint32_t)(x % 6);
        for (int i = 0; i < 9; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            lens[i] = i == 0 ? count : (size_t)(x % 17);
            for (size_t k = 0; k < 16; k++)
                cols[i][k] = (uint8_t)(x >> (k * 4));
            if (i == 0)
                for (size_t k = 0; k < count; k++)
                    cols[0][k] = (uint8_t)(cols[0][k] % 12); /* mostly known types */
            cp[i] = cols[i];
        }
        size_t len = craft2(buf, count, cp, lens);
        int rc = decode_all(buf, len, NULL, 0, NULL);
        cr_assert(rc == MT_ECORRUPT || rc == (int)count, "round %d: %d", round, rc);
    }
}
