/* records.c - byte encodings of every stored value except event blocks:
 * the meta "format" record, modules, threads, counters and stacks.
 *
 * All integers are little-endian and fixed width; strings are raw bytes
 * without a terminator, at the end of the value so their length is implied.
 * Decoders never read outside [val, val+len) and always NUL-terminate.
 * FORMAT.md documents each layout.
 */
#include <string.h>

#include "internal.h"

size_t mt__format_record_encode(uint8_t out[MT__FORMAT_RECORD_LEN], uint32_t version)
{
    memcpy(out, MT_FORMAT_MAGIC, 8);
    mt__put_le32(out + 8, version);
    mt__put_le32(out + 12, (uint32_t)sizeof(mt_event_t));
    return MT__FORMAT_RECORD_LEN;
}

int mt__format_record_check(const void *val, size_t len, uint32_t *version)
{
    const uint8_t *p = val;
    if (len < 8 || memcmp(p, MT_FORMAT_MAGIC, 8) != 0)
        return MT_ENOTTRACE;
    /* Magic and version are the stable prefix; the rest may change with it. */
    if (len < 12)
        return MT_ECORRUPT;
    *version = mt__get_le32(p + 8);
    if (*version > MT_FORMAT_VERSION)
        return MT_ENEWER;
    if (*version < MT_FORMAT_OLDEST)
        return MT_EOLDER;
    if (len != MT__FORMAT_RECORD_LEN || mt__get_le32(p + 12) != sizeof(mt_event_t))
        return MT_ECORRUPT;
    return 0;
}

size_t mt__module_encode(const mt_module_t *m, uint8_t out[MT__MODULE_MAX])
{
    /* Version 3 (format 4): varints, the range as offsets from the base. */
    size_t path_len = strnlen(m->path, sizeof m->path - 1);
    uint32_t id_len = m->build_id_len; /* <= 40, checked by the writer */
    size_t n = 0;
    out[n++] = MT__MODULE_VERSION;
    n += mt_varint_put(out + n, m->base);
    n += mt_varint_put(out + n, mt_zigzag((int64_t)(m->lo - m->base)));
    n += mt_varint_put(out + n, m->hi - m->lo);
    n += mt_varint_put(out + n, m->first_ts);
    n += mt_varint_put(out + n, m->last_ts);
    out[n++] = (uint8_t)(m->flags & 0xff);
    out[n++] = (uint8_t)id_len;
    memcpy(out + n, m->build_id, id_len);
    memcpy(out + n + id_len, m->path, path_len);
    return n + id_len + path_len;
}

/* The fixed part of a version 3 record into M; returns its length, or 0. */
static size_t mt__module_head_v3(const uint8_t *p, size_t len, mt_module_t *m)
{
    const uint8_t *q = p + 1, *end = p + len;
    uint64_t v[5];
    for (int i = 0; i < 5; i++) {
        size_t k = mt_varint_get(q, end, &v[i]);
        if (!k)
            return 0;
        q += k;
    }
    if (end - q < 2)
        return 0;
    m->base = v[0];
    m->lo = v[0] + (uint64_t)mt_unzigzag(v[1]);
    m->hi = m->lo + v[2];
    m->first_ts = v[3];
    m->last_ts = v[4];
    m->flags = q[0];
    return (size_t)(q + 2 - p);
}

int mt__module_decode(const void *val, size_t len, mt_module_t *m)
{
    const uint8_t *p = val;
    mt_module_t h;
    memset(&h, 0, sizeof h);
    /* Format 1 wrote record version 1 (no flags byte), formats 2-3 version 2
     * (u64 fields), format 4 version 3 (varints). */
    size_t fixed = len && p[0] == 1 ? MT__MODULE_FIXED_V1 : MT__MODULE_FIXED;
    if (len && p[0] == MT__MODULE_VERSION) {
        if (!(fixed = mt__module_head_v3(p, len, &h)))
            return MT_ECORRUPT;
    } else if (len < fixed || (p[0] != 1 && p[0] != 2)) {
        return MT_ECORRUPT;
    } else {
        h.base = mt__get_le64(p + 1);
        h.lo = mt__get_le64(p + 9);
        h.hi = mt__get_le64(p + 17);
        h.first_ts = mt__get_le64(p + 25);
        h.last_ts = mt__get_le64(p + 33);
        h.flags = p[0] == 1 ? MT_MODULE_SEEN_TIMES : p[41];
    }
    size_t id_len = p[fixed - 1];
    if (id_len > sizeof m->build_id || len - fixed < id_len)
        return MT_ECORRUPT;
    size_t path_len = len - fixed - id_len;
    if (path_len >= sizeof m->path)
        return MT_ECORRUPT;
    uint64_t seq = m->seq; /* the key, filled in by the caller */
    memset(m, 0, sizeof *m);
    m->seq = seq;
    m->base = h.base;
    m->lo = h.lo;
    m->hi = h.hi;
    m->first_ts = h.first_ts;
    m->last_ts = h.last_ts;
    m->flags = h.flags;
    m->build_id_len = (uint32_t)id_len;
    memcpy(m->build_id, p + fixed, id_len);
    memcpy(m->path, p + fixed + id_len, path_len);
    return 0;
}

size_t mt__thread_encode(const mt_thread_t *t, uint8_t out[MT__THREAD_MAX])
{
    size_t name_len = strnlen(t->name, sizeof t->name - 1);
    out[0] = MT__RECORD_VERSION;
    mt__put_le32(out + 1, t->tid);
    mt__put_le64(out + 5, t->first_ts);
    mt__put_le64(out + 13, t->last_ts);
    out[21] = t->exited != 0;
    memcpy(out + MT__THREAD_FIXED, t->name, name_len);
    return MT__THREAD_FIXED + name_len;
}

int mt__thread_decode(const void *val, size_t len, mt_thread_t *t)
{
    const uint8_t *p = val;
    if (len < MT__THREAD_FIXED || len > MT__THREAD_MAX || p[0] != MT__RECORD_VERSION ||
        p[21] > 1)
        return MT_ECORRUPT;
    uint32_t seq = t->seq; /* the key, filled in by the caller */
    memset(t, 0, sizeof *t);
    t->seq = seq;
    t->tid = mt__get_le32(p + 1);
    t->first_ts = mt__get_le64(p + 5);
    t->last_ts = mt__get_le64(p + 13);
    t->exited = p[21];
    memcpy(t->name, p + MT__THREAD_FIXED, len - MT__THREAD_FIXED);
    return 0;
}

size_t mt__counter_encode(const mt_counter_t *c, uint8_t out[MT__COUNTER_LEN])
{
    out[0] = MT__RECORD_VERSION;
    mt__put_le64(out + 1, c->calls);
    mt__put_le64(out + 9, c->bytes);
    return MT__COUNTER_LEN;
}

int mt__counter_decode(const void *val, size_t len, mt_counter_t *c)
{
    const uint8_t *p = val;
    if (len != MT__COUNTER_LEN || p[0] != MT__RECORD_VERSION)
        return MT_ECORRUPT;
    c->calls = mt__get_le64(p + 1);
    c->bytes = mt__get_le64(p + 9);
    return 0;
}

void mt__stack_encode(const uint64_t *pcs, uint32_t nframes, uint8_t *out)
{
    for (uint32_t i = 0; i < nframes; i++)
        mt__put_le64(out + 8 * (size_t)i, pcs[i]);
}

int mt__stack_decode(const void *val, size_t len, uint64_t *pcs, uint32_t *nframes)
{
    const uint8_t *p = val;
    if (len % 8 != 0 || len / 8 > MT_MAX_FRAMES)
        return MT_ECORRUPT;
    *nframes = (uint32_t)(len / 8);
    for (uint32_t i = 0; i < *nframes; i++)
        pcs[i] = mt__get_le64(p + 8 * (size_t)i);
    return 0;
}

/* ---- numa_topology (meta) ------------------------------------------------ */

#define TOPOLOGY_VERSION 1

size_t mt_topology_encode(const mt_topology_t *t, uint8_t *out, size_t cap)
{
    uint32_t n = t->nnodes;
    if (n > MT_TOPOLOGY_MAX_NODES || t->cpu_start[0] != 0)
        return 0;
    size_t need = 3 + (size_t)n * n;
    for (uint32_t i = 0; i < n; i++) {
        if (t->cpu_start[i + 1] < t->cpu_start[i] || t->cpu_start[i + 1] > MT_TOPOLOGY_MAX_CPUS)
            return 0;
        need += 12 + 2 * (size_t)(t->cpu_start[i + 1] - t->cpu_start[i]);
    }
    if (need > cap)
        return 0;
    uint8_t *p = out;
    *p++ = TOPOLOGY_VERSION;
    *p++ = (uint8_t)n;
    *p++ = (uint8_t)(n >> 8);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t c = t->cpu_start[i + 1] - t->cpu_start[i];
        *p++ = (uint8_t)t->node[i];
        *p++ = (uint8_t)(t->node[i] >> 8);
        mt__put_le64(p, t->memory[i]);
        p += 8;
        *p++ = (uint8_t)c;
        *p++ = (uint8_t)(c >> 8);
        for (uint32_t k = t->cpu_start[i]; k < t->cpu_start[i + 1]; k++) {
            *p++ = (uint8_t)t->cpu[k];
            *p++ = (uint8_t)(t->cpu[k] >> 8);
        }
    }
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < n; j++)
            *p++ = t->distance[i][j];
    return (size_t)(p - out);
}

int mt_topology_decode(const void *val, size_t len, mt_topology_t *t)
{
    const uint8_t *p = val, *end = p + len;
    memset(t, 0, sizeof *t);
    if (len < 3 || p[0] != TOPOLOGY_VERSION)
        return MT_ECORRUPT;
    uint32_t n = (uint32_t)p[1] | (uint32_t)p[2] << 8;
    p += 3;
    if (n > MT_TOPOLOGY_MAX_NODES)
        return MT_ECORRUPT;
    uint32_t ncpu = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (end - p < 12)
            return MT_ECORRUPT;
        t->node[i] = (uint16_t)(p[0] | p[1] << 8);
        t->memory[i] = mt__get_le64(p + 2);
        uint32_t c = (uint32_t)p[10] | (uint32_t)p[11] << 8;
        p += 12;
        if ((size_t)(end - p) < 2 * (size_t)c || ncpu + c > MT_TOPOLOGY_MAX_CPUS)
            return MT_ECORRUPT;
        for (uint32_t k = 0; k < c; k++, p += 2)
            t->cpu[ncpu + k] = (uint16_t)(p[0] | p[1] << 8);
        ncpu += c;
        t->cpu_start[i + 1] = ncpu;
        for (uint32_t j = 0; j < i; j++)
            if (t->node[j] == t->node[i])
                return MT_ECORRUPT;
    }
    if ((size_t)(end - p) != (size_t)n * n)
        return MT_ECORRUPT;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < n; j++)
            t->distance[i][j] = *p++;
    t->nnodes = n;
    return 0;
}
