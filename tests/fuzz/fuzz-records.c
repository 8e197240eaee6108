/* fuzz-records.c - libFuzzer target for the decoders of every stored value
 * other than event blocks (format/records.c): the meta "format" record,
 * modules, threads, counters and stacks (format 2 arrays, format 3
 * prefix-tree values and format 4 groups of them, stackstore.c).
 *
 * Input: one selector byte, then the value. Decoders must never read outside
 * the value and must NUL-terminate strings; a value that decodes must encode
 * back to a value that decodes to the same record.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void module(const uint8_t *p, size_t n)
{
    static mt_module_t m, again;
    static uint8_t out[MT__MODULE_MAX];
    m.seq = 7;
    if (mt__module_decode(p, n, &m) != 0)
        return;
    if (m.seq != 7 || m.build_id_len > sizeof m.build_id || strlen(m.path) >= sizeof m.path)
        abort();
    size_t len = mt__module_encode(&m, out);
    again.seq = 7;
    if (len > sizeof out || mt__module_decode(out, len, &again) != 0)
        abort();
    if (again.base != m.base || again.lo != m.lo || again.hi != m.hi ||
        again.first_ts != m.first_ts || again.last_ts != m.last_ts || again.flags != m.flags ||
        again.build_id_len != m.build_id_len ||
        memcmp(again.build_id, m.build_id, m.build_id_len) != 0 ||
        strcmp(again.path, m.path) != 0) /* a path with a NUL keeps its first part */
        abort();
}

static void thread(const uint8_t *p, size_t n)
{
    mt_thread_t t, again;
    uint8_t out[MT__THREAD_MAX];
    t.seq = 3;
    if (mt__thread_decode(p, n, &t) != 0)
        return;
    if (t.seq != 3 || memchr(t.name, 0, sizeof t.name) == NULL)
        abort();
    size_t len = mt__thread_encode(&t, out);
    again.seq = 3;
    if (mt__thread_decode(out, len, &again) != 0 || again.tid != t.tid ||
        again.first_ts != t.first_ts || again.last_ts != t.last_ts ||
        again.exited != t.exited || strcmp(again.name, t.name) != 0)
        abort();
}

static void counter(const uint8_t *p, size_t n)
{
    mt_counter_t c, again;
    uint8_t out[MT__COUNTER_LEN];
    memset(&c, 0, sizeof c);
    if (mt__counter_decode(p, n, &c) != 0)
        return;
    memset(&again, 0, sizeof again);
    size_t len = mt__counter_encode(&c, out);
    if (len != n || memcmp(out, p, n) != 0 || mt__counter_decode(out, len, &again) != 0 ||
        again.calls != c.calls || again.bytes != c.bytes)
        abort();
}

static void stack(const uint8_t *p, size_t n)
{
    uint64_t pcs[MT_MAX_FRAMES];
    uint8_t out[8 * MT_MAX_FRAMES];
    uint32_t nframes = UINT32_MAX;
    if (mt__stack_decode(p, n, pcs, &nframes) != 0)
        return;
    if (nframes > MT_MAX_FRAMES || (size_t)nframes * 8 != n)
        abort();
    mt__stack_encode(pcs, nframes, out);
    if (memcmp(out, p, n) != 0)
        abort();
}

/* The value's own bytes stand for every parent it names. */
static int self_get(void *ctx, uint32_t id, const void **val, size_t *len)
{
    const uint8_t *const *v = ctx;
    (void)id;
    *val = v[0];
    *len = (size_t)(v[1] - v[0]);
    return 0;
}

static void stack_tree(const uint8_t *p, size_t n)
{
    uint64_t pcs[MT_MAX_FRAMES], back[MT_MAX_FRAMES];
    uint8_t out[MT__STACK_VALUE_MAX];
    const uint8_t *ctx[2] = {p, p + n};
    uint32_t nframes = UINT32_MAX, again = UINT32_MAX;
    size_t len;
    int rc = mt__stack_resolve(MT_FORMAT_VERSION, UINT32_MAX, p, n, self_get, ctx, pcs, &nframes);
    if (rc != 0 && rc != MT_ECORRUPT)
        abort();
    if (rc != 0)
        return;
    if (nframes > MT_MAX_FRAMES)
        abort();
    /* Stored again whole (a fresh store has no parent): the same frames. */
    mt__stackstore_t s;
    memset(&s, 0, sizeof s);
    if (mt__stackstore_put(&s, 1, pcs, nframes, out, &len) != 0)
        abort();
    mt__stackstore_free(&s);
    if (len > sizeof out || mt__stack_resolve(MT_FORMAT_VERSION, 1, out, len, self_get, ctx, back,
                                              &again) != 0 ||
        again != nframes || memcmp(back, pcs, nframes * sizeof *pcs) != 0)
        abort();
}

static int group_get(void *ctx, uint32_t id, const void **val, size_t *len)
{
    const mt__stackgroup_index_t *ix = ctx;
    uint32_t i = mt__stackgroup_lower(ix, id);
    if (i == ix->count || ix->ids[i] != id)
        return MT_ENOTFOUND;
    *val = mt__stackgroup_value(ix, i, len);
    return 0;
}

/* A format 4 group of stacks (key 1): its index is consistent, its first
 * stacks resolve or are corrupt, and stored again it decodes the same. */
static void stack_group(const uint8_t *p, size_t n)
{
    static void *dctx;
    mt__stackgroup_index_t ix, again;
    int rc = mt__stackgroup_decode(1, p, n, &dctx, &ix);
    if (rc != 0 && rc != MT_ECORRUPT && rc != ENOMEM)
        abort();
    if (rc != 0)
        return;
    if (ix.count == 0 || ix.first != 1 || ix.ids[0] != 1 || ix.last != ix.ids[ix.count - 1] ||
        ix.count > MT__STACK_GROUP_RAW_MAX / MT__STACK_RECORD_MIN)
        abort();
    mt__stackgroup_t g;
    memset(&g, 0, sizeof g);
    for (uint32_t i = 0; i < ix.count; i++) {
        size_t len;
        const uint8_t *v = mt__stackgroup_value(&ix, i, &len);
        if ((i && ix.ids[i] <= ix.ids[i - 1]) || ix.off[i] > ix.off[i + 1])
            abort();
        if (i < 64) {
            uint64_t pcs[MT_MAX_FRAMES];
            uint32_t nframes;
            rc = mt__stack_resolve(MT_FORMAT_VERSION, ix.ids[i], v, len, group_get, &ix, pcs,
                                   &nframes);
            if ((rc != 0 && rc != MT_ECORRUPT) || (rc == 0 && nframes > MT_MAX_FRAMES))
                abort();
        }
        if (len > MT__STACK_VALUE_MAX)
            continue; /* decodes as an index, not as a stack: not stored again */
        if (mt__stackgroup_full(&g) || mt__stackgroup_add(&g, ix.ids[i], v, len) != 0)
            break;
    }
    uint32_t first;
    const uint8_t *val;
    size_t vlen;
    if (g.count && mt__stackgroup_finish(&g, &first, &val, &vlen) == 0 && vlen) {
        if (mt__stackgroup_decode(first, val, vlen, &dctx, &again) != 0)
            abort();
        for (uint32_t i = 0; i < again.count; i++) {
            uint32_t j = mt__stackgroup_lower(&ix, again.ids[i]);
            size_t l1, l2;
            const uint8_t *v1 = mt__stackgroup_value(&ix, j, &l1);
            const uint8_t *v2 = mt__stackgroup_value(&again, i, &l2);
            if (j == ix.count || ix.ids[j] != again.ids[i] || l1 != l2 || memcmp(v1, v2, l1))
                abort();
        }
        mt__stackgroup_index_free(&again);
    }
    mt__stackgroup_free(&g);
    mt__stackgroup_index_free(&ix);
}

static void format_record(const uint8_t *p, size_t n)
{
    uint32_t version = 0;
    int rc = mt__format_record_check(p, n, &version);
    if (rc == 0 && (version < MT_FORMAT_OLDEST || version > MT_FORMAT_VERSION ||
                    n != MT__FORMAT_RECORD_LEN))
        abort();
    if (rc != 0 && rc != MT_ENOTTRACE && rc != MT_ENEWER && rc != MT_EOLDER &&
        rc != MT_ECORRUPT)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = size - 1;
    /* An exactly sized copy, so that ASan sees a read one byte past the end. */
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        return 0;
    memcpy(p, data + 1, n);
    switch (data[0] % 7) {
    case 0: module(p, n); break;
    case 1: thread(p, n); break;
    case 2: counter(p, n); break;
    case 3: stack(p, n); break;
    case 4: format_record(p, n); break;
    case 5: stack_tree(p, n); break;
    case 6: stack_group(p, n); break;
    }
    free(p);
    return 0;
}
