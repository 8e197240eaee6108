/* codec.c - the event block codec: one thread's events, delta/varint encoded.
 *
 * Block:  u8 version (1), u32 LE event count, varint thread seq, varint base ts.
 * Event:  u8 head = type (bits 0-3) | kind code (bits 4-6) | same place (bit 7),
 *         [u8 kind when the kind code is 7], varint ts delta, then the fields
 *         mt__layouts[] lists for that type, in the fixed order ptr, size,
 *         arg0..2, stack, cpu, node. Kinds 0-6 live in the head byte; cpu and
 *         node are left out when "same place" says they equal the previous
 *         placed event's in the block. mt__layouts[] says what a type
 *         stores; it is made from events.def, the one list of event types.
 * The decoder trusts nothing: every read is bounds-checked (see FORMAT.md).
 */
#include <string.h>

#include "internal.h"

#define MT__BLOCK_VERSION 1
#define MT__BLOCK_COUNT_OFF 1 /* the u32 count, patched by mt_block_finish */
#define MT__BLOCK_FIXED 5     /* version + count */
#define MT__EVENT_MIN 2       /* type byte + ts delta: no event is shorter */

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
#define MT__HEAD_SAME_PLACE 0x80
#define MT__F_PLACE (MT_EVF_CPU | MT_EVF_NODE)

static const mt__layout_t *mt__layout(uint8_t type)
{
    return type >= 1 && type <= MT_EV_TYPE_MAX ? &mt__layouts[type] : NULL;
}

/* ---- encoder ----------------------------------------------------------- */

void mt_block_begin(mt_block_encoder_t *enc, uint8_t *buf, size_t cap, uint32_t thread)
{
    memset(enc, 0, sizeof *enc);
    enc->buf = buf;
    enc->cap = cap;
    enc->thread = thread;
    buf[0] = MT__BLOCK_VERSION;
    mt__put_le32(buf + MT__BLOCK_COUNT_OFF, 0);
    enc->len = MT__BLOCK_FIXED + mt_varint_put(buf + MT__BLOCK_FIXED, thread);
    /* The base ts is the first event's ts, written by the first mt_block_add. */
}

static inline __attribute__((always_inline)) size_t mt__encode_arg(uint8_t *q, uint8_t how,
                                                                   uint64_t v)
{
    switch (how) {
    case MT_EVA_UINT:
        return mt_varint_put(q, v);
    case MT_EVA_SINT:
        return mt_varint_put(q, mt_zigzag((int64_t)v));
    case MT_EVA_WEIGHT:
        return mt_varint_put(q, mt_zigzag((int64_t)(v - MT_WEIGHT_ONE)));
    default:
        return 0;
    }
}

/* Encodes E after the previous event ENC remembers into Q (room for
 * MT_EVENT_MAX_ENCODED bytes); returns the length. Always inlined: called
 * with a constant layout, the compiler drops the tests of absent fields. */
static inline __attribute__((always_inline)) size_t mt__encode_event(uint8_t *q, const mt__layout_t *l, const mt_event_t *e,
                               const mt_block_encoder_t *enc, uint64_t prev_ts)
{
    uint8_t *start = q;
    uint8_t head = e->type;
    int kind_byte = 0, same_place = 0;
    if (l->fields & MT_EVF_KIND) {
        kind_byte = e->kind >= MT__HEAD_KIND_BYTE;
        head |= (uint8_t)((kind_byte ? MT__HEAD_KIND_BYTE : e->kind) << MT__HEAD_KIND_SHIFT);
    }
    if ((l->fields & MT__F_PLACE) == MT__F_PLACE && e->cpu == enc->prev_cpu &&
        e->node == enc->prev_node) {
        same_place = 1;
        head |= MT__HEAD_SAME_PLACE;
    }
    *q++ = head;
    if (kind_byte)
        *q++ = e->kind;
    q += mt_varint_put(q, e->ts - prev_ts);
    if (l->fields & MT_EVF_PTR)
        q += mt_varint_put(q, mt_zigzag((int64_t)(e->ptr - enc->prev_ptr)));
    if (l->fields & MT_EVF_SIZE)
        q += mt_varint_put(q, e->size);
    for (int i = 0; i < 3; i++)
        q += mt__encode_arg(q, l->arg[i], e->arg[i]);
    if (l->fields & MT_EVF_STACK)
        q += mt_varint_put(q, e->stack);
    if (!same_place) {
        if (l->fields & MT_EVF_CPU)
            q += mt_varint_put(q, e->cpu);
        if (l->fields & MT_EVF_NODE)
            q += mt_varint_put(q, mt_zigzag(e->node));
    }
    return (size_t)(q - start);
}

int mt_block_add(mt_block_encoder_t *enc, const mt_event_t *e)
{
    const mt__layout_t *l = mt__layout(e->type);
    if (!l || ((l->fields & MT_EVF_KIND) && e->kind > l->kind_max))
        return MT_EINVAL;
    if (enc->count > 0 && e->ts < enc->prev_ts)
        return MT_EINVAL;
    if (enc->count == UINT32_MAX)
        return MT_EFULL;

    /* Worst case: a 10-byte base ts (first event only) + 73 bytes of event.
     * Encode in place when that fits, else through a scratch buffer. */
    uint8_t tmp[10 + MT_EVENT_MAX_ENCODED];
    int direct = enc->cap - enc->len >= sizeof tmp;
    uint8_t *q = direct ? enc->buf + enc->len : tmp;
    size_t n = 0;
    uint64_t prev_ts = enc->prev_ts;
    if (enc->count == 0) {
        n = mt_varint_put(q, e->ts);
        prev_ts = e->ts;
    }
    /* The two types of nearly every event get a copy specialised for their
     * layout (the bytes are the same as the generic one's). */
    if (e->type == MT_EV_ALLOC)
        n += mt__encode_event(q + n, &mt__layouts[MT_EV_ALLOC], e, enc, prev_ts);
    else if (e->type == MT_EV_FREE)
        n += mt__encode_event(q + n, &mt__layouts[MT_EV_FREE], e, enc, prev_ts);
    else
        n += mt__encode_event(q + n, l, e, enc, prev_ts);
    if (!direct) {
        if (n > enc->cap - enc->len)
            return MT_EFULL;
        memcpy(enc->buf + enc->len, tmp, n);
    }
    enc->len += n;
    if (enc->count == 0)
        enc->base_ts = e->ts;
    enc->count++;
    enc->prev_ts = e->ts;
    if (l->fields & MT_EVF_PTR)
        enc->prev_ptr = e->ptr;
    if ((l->fields & MT__F_PLACE) == MT__F_PLACE) {
        enc->prev_cpu = e->cpu;
        enc->prev_node = e->node;
    }
    return 0;
}

size_t mt_block_finish(mt_block_encoder_t *enc)
{
    if (enc->count == 0)
        enc->len += mt_varint_put(enc->buf + enc->len, 0); /* base ts of an empty block */
    mt__put_le32(enc->buf + MT__BLOCK_COUNT_OFF, enc->count);
    return enc->len;
}

/* ---- decoder ----------------------------------------------------------- */

/* Marks DEC as failed: every later mt_block_next returns MT_ECORRUPT too. */
static int mt__corrupt(mt_block_decoder_t *dec)
{
    dec->p = dec->end;
    dec->left = 1;
    return MT_ECORRUPT;
}

int mt_block_open(mt_block_decoder_t *dec, const void *data, size_t len)
{
    const uint8_t *p = data, *end = p + len;
    uint64_t thread, base_ts;
    size_t n;

    memset(dec, 0, sizeof *dec);
    dec->p = dec->end = end;
    if (len < MT__BLOCK_FIXED || p[0] != MT__BLOCK_VERSION)
        return MT_ECORRUPT;
    uint32_t count = mt__get_le32(p + MT__BLOCK_COUNT_OFF);
    p += MT__BLOCK_FIXED;
    if (!(n = mt_varint_get(p, end, &thread)) || thread > UINT32_MAX)
        return MT_ECORRUPT;
    p += n;
    if (!(n = mt_varint_get(p, end, &base_ts)))
        return MT_ECORRUPT;
    p += n;
    if (count > (size_t)(end - p) / MT__EVENT_MIN)
        return MT_ECORRUPT;

    dec->p = p;
    dec->thread = (uint32_t)thread;
    dec->count = dec->left = count;
    dec->prev_ts = base_ts;
    return 0;
}

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

int mt_block_next(mt_block_decoder_t *dec, mt_event_t *e)
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
