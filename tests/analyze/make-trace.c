/* make-trace.c - writes a fixture trace with known meta, counters, threads
 * and a few event blocks through the format/ writer API, so the analyzer
 * tests can assert exact numbers (see fixture.h).
 *
 * usage: make-trace DIR [basic|incomplete|every-call|newer|older|bad-format|replay|corrupt|sampled]
 *   basic       clean exit, sampled every 512 KiB, the counters of fixture.h
 *   incomplete  no clean end (killed), truncated, same counters
 *   every-call  like basic, sample_interval 0
 *   newer       format record claims MT_FORMAT_VERSION + 1
 *   older       format record claims version 0
 *   bad-format  format record with a wrong magic
 *   title       like basic, argv padded with empty strings (rewritten title)
 *   replay      events, stacks and a module map with the exact numbers of
 *               fixture.h (FX_R_*), every call recorded, for top and leaks
 *   corrupt     replay plus a last block that does not decode
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "format.h"
#include "tracegen.h"

static int check(int err, const char *what)
{
    if (err != 0) {
        fprintf(stderr, "make-trace: %s: %s\n", what, mt_strerror(err));
        exit(1);
    }
    return 0;
}

static void counter(mt_writer_t *w, const char *name, uint64_t calls, uint64_t bytes)
{
    mt_counter_t c;
    memset(&c, 0, sizeof(c));
    snprintf(c.name, sizeof(c.name), "%s", name);
    c.calls = calls;
    c.bytes = bytes;
    check(mt_writer_put_counter(w, &c), name);
}

static void thread(mt_writer_t *w, uint32_t seq, uint32_t tid, const char *name,
                   uint64_t first, uint64_t last, int exited)
{
    mt_thread_t t;
    memset(&t, 0, sizeof(t));
    t.seq = seq;
    t.tid = tid;
    t.first_ts = first;
    t.last_ts = last;
    t.exited = (uint8_t)exited;
    snprintf(t.name, sizeof(t.name), "%s", name);
    check(mt_writer_put_thread(w, &t), "put thread");
}

static void format_record(mt_writer_t *w, const char *magic, uint32_t version)
{
    unsigned char rec[16];
    uint32_t evsize = (uint32_t)sizeof(mt_event_t);
    memcpy(rec, magic, 8);
    memcpy(rec + 8, &version, 4); /* little-endian hosts only, like the format */
    memcpy(rec + 12, &evsize, 4);
    check(mt_writer_put_meta(w, MT_META_FORMAT, rec, sizeof(rec)), "put format");
}

/* The events of the replay fixture; see FX_R_* in fixture.h. */
static void replay_events(mt_writer_t *w, int corrupt)
{
    tg_w = w;
    tg_module(1, FX_R_MODULE, 0x400000, 0x400000, 0x500000);
    uint64_t s1[] = {0x401000, 0x402000}, s2[] = {0x403000, 0x402000}, s3[] = {0x7f0000000010};
    tg_stack(1, s1, 2);
    tg_stack(2, s2, 2);
    tg_stack(3, s3, 1);
    mt_event_t t1[] = {
        tg_alloc(10, 0x1000, 4096, 1), tg_alloc(20, 0x2000, 4096, 1),
        tg_alloc(30, 0x3000, 4096, 1), tg_alloc(40, 0x4000, 100, 2),
        tg_free(50, 0x4000),           tg_alloc(60, 0x5000, 100, 2),
        tg_alloc(70, 0x6000, 16, 3),
    };
    tg_block(1, t1, sizeof(t1) / sizeof(t1[0]));
    mt_event_t t2[] = {tg_free(80, 0x5000), tg_free(90, 0x9999)};
    tg_block(2, t2, 2);
    tg_counter("malloc", FX_R_CALLS, FX_R_BYTES);
    tg_counter("free", 3, 0);
    if (corrupt) {
        static const uint8_t bad[] = {1, 2, 0, 0, 0, 1, 5, 0xee, 0, 0, 0};
        tg_raw_block(bad, sizeof(bad));
    }
}

/* The sampled fixture: stack 1 has two samples of 1000 bytes, each of
 * weight 2 (p = 1/2), the second freed; a 64 KiB sample of weight 1 (stack
 * 2) is exact. Bounds (estimate.c, 95%): allocated 4000 B +- 3920 B in
 * 4 +- 4 calls; live 2000 B +- 2772 B in 2 +- 3 objects. */
static void sampled_events(void)
{
    tg_module(1, FX_R_MODULE, 0x400000, 0x400000, 0x500000);
    uint64_t s1[] = {0x401000, 0x402000}, s2[] = {0x403000};
    tg_stack(1, s1, 2);
    tg_stack(2, s2, 1);
    mt_event_t t1[] = {
        tg_alloc_w(10, 0x1000, 1000, 1, 2 * MT_WEIGHT_ONE),
        tg_alloc_w(20, 0x2000, 1000, 1, 2 * MT_WEIGHT_ONE),
        tg_free(30, 0x2000),
        tg_alloc(40, 0x10000, 65536, 2),
    };
    tg_block(1, t1, sizeof(t1) / sizeof(t1[0]));
    tg_counter("malloc", 5, 68536);
    tg_counter("free", 3, 0);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: make-trace DIR [basic|incomplete|every-call|newer|older|bad-format|replay|corrupt|sampled]\n");
        return 2;
    }
    const char *dir = argv[1], *variant = argc > 2 ? argv[2] : "basic";
    int incomplete = strcmp(variant, "incomplete") == 0;
    int title = strcmp(variant, "title") == 0;
    int replay = strcmp(variant, "replay") == 0, corrupt = strcmp(variant, "corrupt") == 0;
    int sampled = strcmp(variant, "sampled") == 0;

    mt_writer_t *w;
    check(mt_writer_open(&w, dir, NULL), "open");
    check(mt_writer_begin(w), "begin");
    if (strcmp(variant, "newer") == 0)
        format_record(w, MT_FORMAT_MAGIC, MT_FORMAT_VERSION + 1);
    else if (strcmp(variant, "older") == 0)
        format_record(w, MT_FORMAT_MAGIC, 0);
    else if (strcmp(variant, "bad-format") == 0)
        format_record(w, "NOTMTRCE", MT_FORMAT_VERSION);
    else if (!incomplete && !title && !replay && !corrupt && !sampled &&
             strcmp(variant, "basic") != 0 &&
             strcmp(variant, "every-call") != 0) {
        fprintf(stderr, "make-trace: unknown variant '%s'\n", variant);
        return 2;
    }

    check(mt_writer_put_meta_u64(w, MT_META_PID, FX_PID), "pid");
    check(mt_writer_put_meta_u64(w, MT_META_PPID, FX_PPID), "ppid");
    check(mt_writer_put_meta(w, MT_META_COMMAND, FX_COMMAND, strlen(FX_COMMAND)), "command");
    check(mt_writer_put_meta(w, MT_META_EXE, FX_EXE, strlen(FX_EXE)), "exe");
    if (title)
        check(mt_writer_put_meta(w, MT_META_ARGV, FX_TITLE_ARGV, sizeof(FX_TITLE_ARGV) - 1),
              "argv");
    else
        check(mt_writer_put_meta(w, MT_META_ARGV, FX_ARGV, sizeof(FX_ARGV) - 1), "argv");
    check(mt_writer_put_meta_u64(w, MT_META_START_REALTIME, FX_START_REALTIME_NS), "start");
    check(mt_writer_put_meta_u64(w, MT_META_SAMPLE_INTERVAL,
                                 strcmp(variant, "every-call") == 0 || incomplete || replay ||
                                         corrupt
                                     ? 0 : FX_SAMPLE_INTERVAL),
          "sample interval");
    check(mt_writer_put_meta_u64(w, MT_META_PAGE_SIZE, FX_PAGE_SIZE), "page size");
    check(mt_writer_put_meta_u64(w, MT_META_DEPTH, 64), "depth");
    check(mt_writer_put_meta_u64(w, MT_META_DURATION, FX_DURATION_NS), "duration");

    thread(w, 0, FX_TID0, FX_COMMAND, 0, FX_DURATION_NS, 0);
    thread(w, 1, FX_TID1, "worker \"1\"", 1000, 500000000, 1);
    thread(w, 2, FX_TID2, "w\xff\x01", 2000, FX_DURATION_NS, 0);

    if (replay || corrupt || sampled) {
        tg_w = w;
        if (sampled)
            sampled_events();
        else
            replay_events(w, corrupt);
        check(mt_writer_put_meta_u64(w, MT_META_COMPLETE, 1), "complete");
        check(mt_writer_commit(w), "commit");
        mt_writer_close(w);
        return 0;
    }
    counter(w, "malloc", FX_MALLOC_CALLS, FX_MALLOC_BYTES);
    counter(w, "calloc", FX_CALLOC_CALLS, FX_CALLOC_BYTES);
    counter(w, "operator new", FX_NEW_CALLS, FX_NEW_BYTES);
    counter(w, "free", FX_FREE_CALLS, 0);
    counter(w, "operator delete", FX_DELETE_CALLS, 0);
    counter(w, "mmap", FX_MMAP_CALLS, FX_MMAP_BYTES);
    counter(w, "realloc", 0, 0); /* zero counters must not be listed */
    counter(w, MT_COUNTER_EVENTS, FX_EVENTS, 0);
    counter(w, MT_COUNTER_BLOCKS, FX_BLOCKS, FX_BLOCK_BYTES);
    counter(w, MT_COUNTER_DROPPED, FX_DROPPED, 0);
    counter(w, MT_COUNTER_STACKS, FX_STACKS, 0);

    /* One real block, so the trace is a plausible one (info does not decode it). */
    uint8_t buf[4096];
    mt_block_encoder_t enc;
    mt_block_begin(&enc, buf, sizeof(buf), 0);
    mt_event_t e;
    memset(&e, 0, sizeof(e));
    e.type = MT_EV_ALLOC;
    e.ts = 10;
    e.ptr = 0x1000;
    e.size = 64;
    e.arg[0] = MT_WEIGHT_ONE;
    e.stack = 1;
    check(mt_block_add(&enc, &e), "block add");
    size_t len = mt_block_finish(&enc);
    check(mt_writer_put_block(w, buf, len), "put block");
    uint64_t pcs[2] = {0x401000, 0x402000};
    check(mt_writer_put_stack(w, 1, pcs, 2), "put stack");

    if (incomplete) {
        check(mt_writer_put_meta(w, MT_META_TRUNCATED, FX_TRUNCATED, strlen(FX_TRUNCATED)),
              "truncated");
    } else {
        check(mt_writer_put_meta_u64(w, MT_META_COMPLETE, 1), "complete");
        check(mt_writer_put_meta(w, MT_META_END_REASON, "exit", 4), "end reason");
    }
    check(mt_writer_commit(w), "commit");
    mt_writer_close(w);
    return 0;
}
