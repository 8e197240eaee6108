/* test-codec.c - event block encoder/decoder (format/codec.c): exact bytes,
 * round trips of every event type, and hostile input. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

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

static const uint8_t known_bytes[] = {
    0x01, 0x04, 0x00, 0x00, 0x00, 0x03, 0xe8, 0x07,             /* v1, count 4, thread 3, base 1000 */
    0x01, 0x00, 0x80, 0x80, 0x08, 0x18, 0x00, 0x05, 0x02, 0x00, /* first malloc: 10 */
    0x81, 0x64, 0x40, 0x18, 0x00, 0x05,                         /* exact malloc, same cpu: 6 */
    0x02, 0x32, 0x3f,                                           /* free: 3 */
    0x11, 0x32, 0x80, 0x01, 0xe8, 0x07, 0x80, 0x80, 0x04, 0xac, 0x02, 0x01, 0x01, /* calloc: 13 */
};

Test(codec, known_sequence_exact_bytes)
{
    uint8_t buf[CAP];
    size_t n, lens[4];
    const mt_event_t *evs = known_events(&n);
    size_t len = encode(buf, 3, evs, n, lens);

    /* The first add also writes the 2-byte base ts into the header. */
    cr_assert_eq(lens[0], 2 + 10);
    cr_assert_eq(lens[1], 6, "an exact malloc with small deltas on the same cpu costs 6 bytes");
    cr_assert_eq(lens[2], 3, "a free with small deltas costs 3 bytes");
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

/* One event of every type, with the bytes each must take. */
static const mt_event_t *all_types(size_t *n, const size_t **lens)
{
    static mt_event_t evs[MT_EV_TYPE_MAX];
    /* the header is 6 bytes + the base ts, which evs[0] pays for */
    /* kinds below 7 ride in the head byte; POLICY and POOL_ALLOC run where
     * the MMAP did, so their cpu and node are left out */
    static const size_t expect[MT_EV_TYPE_MAX] = {1 + 16, 6, 13, 10, 6, 7, 9, 4, 12, 3};
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
    cr_assert_eq(len, total);
    cr_assert_eq(len, 93);

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
    cr_assert_eq(lens[2], 1 + 1 + 10 + 1 + 3 + 1 + 1 + 3);
    cr_assert_eq(lens[3], 1 + 1 + 1 + 1 + 3 + 1 + 1 + 1, "ptr wraps: delta -1");
    cr_assert_eq(len - lens[0] - lens[1] - lens[2] - lens[3], 5 + 5, "thread u32 max");

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
    /* header 5 + thread 1 + base 1, then head (type and kind), dts, ptr zigzag 0x80 (2). */
    cr_assert_eq(len, 7 + 4);

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
    static const uint8_t want[] = {0x01, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00};
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
    /* 6 header + 1 base ts + 7 (first ptr takes 2 bytes; cpu and node equal the
     * block's initial 0, 0 and are left out) + 19 x 6 = 128: the buffer is full
     * to the byte, and a 20th 6-byte event does not fit. */
    cr_assert_eq(added, 20);
    cr_assert_eq(enc.len, 128);
    cr_assert_eq(mt_block_finish(&enc), 128);
    cr_assert_eq(decode_all(buf, 128, NULL, 0, NULL), 20);
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
    buf[0] = 2; /* version */
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
