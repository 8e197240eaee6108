/* tracegen.h - writes small traces with exact, known events through the
 * format/ writer API and block encoder, for the replay and CLI tests.
 *
 * Usage: tg_open(dir, interval, start, duration); tg_block(thread, events, n) once per
 * block, in the order blocks are to be stored; tg_stack(id, pcs, n);
 * tg_close(complete). Any failure exits with a message (status 3).
 */
#ifndef MT_TEST_TRACEGEN_H
#define MT_TEST_TRACEGEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

static mt_writer_t *tg_w;

static inline void tg_check(int err, const char *what)
{
    if (err != 0) {
        fprintf(stderr, "tracegen: %s: %s\n", what, mt_strerror(err));
        exit(3);
    }
}

/* Event constructors (weight MT_WEIGHT_ONE unless given). */
static inline mt_event_t tg_alloc_w(uint64_t ts, uint64_t ptr, uint64_t size, uint32_t stack,
                                    uint64_t weight)
{
    mt_event_t e;
    memset(&e, 0, sizeof(e));
    e.type = MT_EV_ALLOC;
    e.ts = ts;
    e.ptr = ptr;
    e.size = size;
    e.stack = stack;
    e.arg[0] = weight;
    return e;
}

static inline mt_event_t tg_alloc(uint64_t ts, uint64_t ptr, uint64_t size, uint32_t stack)
{
    return tg_alloc_w(ts, ptr, size, stack, MT_WEIGHT_ONE);
}

static inline mt_event_t tg_free(uint64_t ts, uint64_t ptr)
{
    mt_event_t e;
    memset(&e, 0, sizeof(e));
    e.type = MT_EV_FREE;
    e.ts = ts;
    e.ptr = ptr;
    return e;
}

static inline mt_event_t tg_pool_alloc(uint64_t ts, uint64_t ptr, uint64_t size, uint32_t stack,
                                       uint64_t pool)
{
    mt_event_t e = tg_alloc(ts, ptr, size, stack);
    e.type = MT_EV_POOL_ALLOC;
    e.arg[1] = pool;
    return e;
}

static inline mt_event_t tg_pool_free(uint64_t ts, uint64_t ptr, uint64_t pool)
{
    mt_event_t e = tg_free(ts, ptr);
    e.type = MT_EV_POOL_FREE;
    e.arg[1] = pool;
    return e;
}

static inline void tg_block(uint32_t thread, const mt_event_t *ev, size_t n)
{
    uint8_t buf[8192];
    mt_block_encoder_t enc;
    mt_block_begin(&enc, buf, sizeof(buf), thread);
    for (size_t i = 0; i < n; i++)
        tg_check(mt_block_add(&enc, &ev[i]), "block add");
    size_t len = mt_block_finish(&enc);
    tg_check(mt_writer_put_block(tg_w, buf, len), "put block");
}

/* Stores LEN raw bytes as the next block (for corrupt-block tests). */
static inline void tg_raw_block(const void *data, size_t len)
{
    tg_check(mt_writer_put_block(tg_w, data, len), "put raw block");
}

static inline void tg_stack(uint32_t id, const uint64_t *pcs, uint32_t n)
{
    tg_check(mt_writer_put_stack(tg_w, id, pcs, n), "put stack");
}

static inline void tg_module(uint64_t seq, const char *path, uint64_t base, uint64_t lo,
                             uint64_t hi)
{
    static mt_module_t m;
    memset(&m, 0, sizeof(m));
    m.seq = seq;
    m.base = base;
    m.lo = lo;
    m.hi = hi;
    snprintf(m.path, sizeof(m.path), "%s", path);
    tg_check(mt_writer_put_module(tg_w, &m), "put module");
}

static inline void tg_counter(const char *name, uint64_t calls, uint64_t bytes)
{
    mt_counter_t c;
    memset(&c, 0, sizeof(c));
    snprintf(c.name, sizeof(c.name), "%s", name);
    c.calls = calls;
    c.bytes = bytes;
    tg_check(mt_writer_put_counter(tg_w, &c), name);
}

/* Opens DIR and the first tick. */
static inline void tg_open(const char *dir, uint64_t sample_interval, uint64_t start_realtime,
                           uint64_t duration)
{
    tg_check(mt_writer_open(&tg_w, dir, NULL), "open");
    tg_check(mt_writer_begin(tg_w), "begin");
    tg_check(mt_writer_put_meta_u64(tg_w, MT_META_PID, 100), "pid");
    tg_check(mt_writer_put_meta(tg_w, MT_META_COMMAND, "gen", 3), "command");
    tg_check(mt_writer_put_meta_u64(tg_w, MT_META_SAMPLE_INTERVAL, sample_interval), "interval");
    tg_check(mt_writer_put_meta_u64(tg_w, MT_META_START_REALTIME, start_realtime), "start");
    tg_check(mt_writer_put_meta_u64(tg_w, MT_META_DURATION, duration), "duration");
}

static inline void tg_close(int complete)
{
    if (complete)
        tg_check(mt_writer_put_meta_u64(tg_w, MT_META_COMPLETE, 1), "complete");
    tg_check(mt_writer_commit(tg_w), "commit");
    mt_writer_close(tg_w);
    tg_w = NULL;
}

#endif
