/* test-stackstore.c - format/stackstore.c: stack values of format 3 share the
 * outer frames of an earlier stack; exact value bytes, round trips through
 * the writer and reader, rollback of aborted ticks, hostile values; format
 * 4's compressed groups of stacks, their seek and their hostile values. */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "internal.h"

static char tmp[64];
static char trace[128];

static void setup(void)
{
    strcpy(tmp, "/tmp/mt-stackstore-test-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(trace, sizeof trace, "%s/trace", tmp);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(stackstore, .init = setup, .fini = teardown);

/* Values by id for mt__stack_resolve, as the reader would fetch them. */
typedef struct values {
    uint8_t val[8][MT__STACK_VALUE_MAX];
    size_t len[8];
} values_t;

static int get_value(void *ctx, uint32_t id, const void **val, size_t *len)
{
    values_t *v = ctx;
    if (id >= 8 || v->len[id] == 0)
        return MT_ENOTFOUND;
    *val = v->val[id];
    *len = v->len[id];
    return 0;
}

Test(stackstore, shared_outer_frames_are_stored_once)
{
    mt__stackstore_t s;
    values_t v;
    memset(&s, 0, sizeof s);
    memset(&v, 0, sizeof v);
    /* Innermost first: two stacks that differ only in their innermost frame. */
    uint64_t a[4] = {0x401010, 0x401200, 0x401300, 0x7f0000001000};
    uint64_t b[4] = {0x401020, 0x401200, 0x401300, 0x7f0000001000};
    cr_assert_eq(mt__stackstore_put(&s, 1, a, 4, v.val[1], &v.len[1]), 0);
    cr_assert_eq(mt__stackstore_put(&s, 2, b, 4, v.val[2], &v.len[2]), 0);
    /* Stack 1 whole: parent 0, shared 0, 4 frames: 0x401010 (4 bytes), then
     * +0x1f0 (2 bytes), +0x100 (2 bytes), +0x7effffbffd00 (7 bytes): 18
     * bytes where format 2 took 32. */
    cr_assert_eq(v.len[1], 3 + 4 + 2 + 2 + 7, "stack 1 is %zu bytes", v.len[1]);
    /* Stack 2: parent 1, shared 3, 1 frame of 4 bytes: 7 bytes. */
    static const uint8_t want2[7] = {1, 3, 1, 0xa0, 0xa0, 0x80, 0x02};
    cr_assert_eq(v.len[2], 7);
    cr_assert_arr_eq(v.val[2], want2, 7);
    uint64_t pcs[MT_MAX_FRAMES];
    uint32_t n = 0;
    cr_assert_eq(mt__stack_resolve(3, 2, v.val[2], v.len[2], get_value, &v, pcs, &n), 0);
    cr_assert_eq(n, 4);
    cr_assert_arr_eq(pcs, b, sizeof b);
    /* A stack that is the outer part of another refers to it for all frames. */
    cr_assert_eq(mt__stackstore_put(&s, 3, b + 1, 3, v.val[3], &v.len[3]), 0);
    static const uint8_t want3[3] = {1, 3, 0};
    cr_assert_eq(v.len[3], 3);
    cr_assert_arr_eq(v.val[3], want3, 3);
    cr_assert_eq(mt__stack_resolve(3, 3, v.val[3], v.len[3], get_value, &v, pcs, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_arr_eq(pcs, b + 1, 3 * sizeof *pcs);
    mt__stackstore_free(&s);
}

Test(stackstore, format_2_values_are_whole_arrays)
{
    uint8_t val[16];
    uint64_t in[2] = {0x401000, 0x7f0000001000}, pcs[MT_MAX_FRAMES];
    uint32_t n = 0;
    mt__stack_encode(in, 2, val);
    cr_assert_eq(mt__stack_resolve(2, 1, val, 16, get_value, NULL, pcs, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_arr_eq(pcs, in, sizeof in);
}

Test(stackstore, hostile_values_are_corrupt)
{
    values_t v;
    uint64_t pcs[MT_MAX_FRAMES];
    uint32_t n;
    memset(&v, 0, sizeof v);
    static const uint8_t whole[4] = {0, 0, 1, 5};  /* one frame, 0x5 */
    static const uint8_t self[3] = {2, 1, 0};      /* refers to itself */
    static const uint8_t later[3] = {3, 1, 0};     /* refers to a later id */
    static const uint8_t toomuch[3] = {1, 2, 0};   /* shares 2 of a 1-frame stack */
    static const uint8_t missing[3] = {1, 1, 0};   /* parent not stored */
    static const uint8_t orphan[3] = {0, 1, 0};    /* shares without a parent */
    static const uint8_t trailing[5] = {0, 0, 1, 5, 0};
    static const uint8_t shortv[3] = {0, 0, 2};    /* 2 frames announced, none there */
    static const uint8_t big[4] = {0, 0x81, 0x01, 0}; /* 129 frames shared */
    cr_assert_eq(mt__stack_resolve(3, 2, missing, 3, get_value, &v, pcs, &n), MT_ECORRUPT);
    memcpy(v.val[1], whole, 4);
    v.len[1] = 4;
    cr_assert_eq(mt__stack_resolve(3, 1, whole, 4, get_value, &v, pcs, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(pcs[0], 5);
    cr_assert_eq(mt__stack_resolve(3, 2, self, 3, get_value, &v, pcs, &n), MT_ECORRUPT);
    cr_assert_eq(mt__stack_resolve(3, 2, later, 3, get_value, &v, pcs, &n), MT_ECORRUPT);
    cr_assert_eq(mt__stack_resolve(3, 2, toomuch, 3, get_value, &v, pcs, &n), MT_ECORRUPT);
    cr_assert_eq(mt__stack_resolve(3, 2, orphan, 3, get_value, &v, pcs, &n), MT_ECORRUPT);
    cr_assert_eq(mt__stack_resolve(3, 2, trailing, 5, get_value, &v, pcs, &n), MT_ECORRUPT);
    cr_assert_eq(mt__stack_resolve(3, 2, shortv, 3, get_value, &v, pcs, &n), MT_ECORRUPT);
    cr_assert_eq(mt__stack_resolve(3, 2, big, 4, get_value, &v, pcs, &n), MT_ECORRUPT);
    uint8_t one[1] = {1};
    cr_assert_eq(mt__stack_resolve(3, 1, self, 3, get_value, &v, pcs, &n), MT_ECORRUPT,
                 "id 1 cannot refer to 2");
    cr_assert_eq(mt__stack_resolve(3, 1, one, 1, get_value, &v, pcs, &n), MT_ECORRUPT);
}

/* Deterministic stacks with shared outer parts: frame i of stack k. */
static uint32_t gen_stack(uint32_t k, uint64_t *pcs)
{
    uint64_t x = k * 0x9E3779B97F4A7C15ull + 1;
    uint32_t n = 1 + (uint32_t)(x % MT_MAX_FRAMES);
    for (uint32_t i = 0; i < n; i++) {
        /* Outer frames (high i) come from few choices; inner ones vary more. */
        uint32_t outer = n - 1 - i;
        uint64_t choice = (x >> (outer % 50)) % (outer < 20 ? 2 : outer < 60 ? 3 : 5);
        pcs[i] = 0x400000 + (uint64_t)outer * 0x100 + choice * 0x10 + (outer & 1) * 0x7f0000000000;
    }
    return n;
}

Test(stackstore, round_trip_through_writer_and_reader)
{
    enum { N = 3000 };
    mt_writer_t *w;
    cr_assert_eq(mt_writer_open(&w, trace, NULL), 0);
    uint64_t pcs[MT_MAX_FRAMES], back[MT_MAX_FRAMES];
    uint64_t frames = 0;
    /* Ten ticks; the fourth aborted and redone, as the shim redoes a tick
     * whose map was full. */
    for (uint32_t tick = 0; tick < 10; tick++) {
        for (int again = 0; again < (tick == 3 ? 2 : 1); again++) {
            cr_assert_eq(mt_writer_begin(w), 0);
            for (uint32_t id = tick * N / 10 + 1; id <= (tick + 1) * N / 10; id++) {
                uint32_t n = gen_stack(id, pcs);
                cr_assert_eq(mt_writer_put_stack(w, id, pcs, n), 0);
                frames += again || tick != 3 ? n : 0;
            }
            if (tick == 3 && !again)
                mt_writer_abort(w);
            else
                cr_assert_eq(mt_writer_commit(w), 0);
        }
    }
    /* A stack put in an aborted tick and never again: not a parent. */
    cr_assert_eq(mt_writer_begin(w), 0);
    uint64_t lone[3] = {0x900000, 0x900100, 0x900200}, lone2[3] = {0x900010, 0x900100, 0x900200};
    cr_assert_eq(mt_writer_put_stack(w, N + 1, lone, 3), 0);
    mt_writer_abort(w);
    cr_assert_eq(mt_writer_begin(w), 0);
    cr_assert_eq(mt_writer_put_stack(w, N + 2, lone2, 3), 0);
    cr_assert_eq(mt_writer_commit(w), 0);
    mt_writer_close(w);

    mt_reader_t *r;
    uint32_t n;
    cr_assert_eq(mt_reader_open(&r, trace), 0);
    for (uint32_t id = 1; id <= N; id++) {
        uint32_t want = gen_stack(id, pcs);
        cr_assert_eq(mt_reader_stack(r, id, back, &n), 0, "stack %u", id);
        cr_assert_eq(n, want, "stack %u", id);
        cr_assert_arr_eq(back, pcs, n * sizeof *pcs, "stack %u", id);
    }
    cr_assert_eq(mt_reader_stack(r, N + 1, back, &n), MT_ENOTFOUND);
    cr_assert_eq(mt_reader_stack(r, N + 2, back, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_arr_eq(back, lone2, sizeof lone2);
    uint64_t cur = 0;
    uint32_t id, count = 0;
    while (mt_reader_next_stack(r, &cur, &id, back, &n) == 1) {
        count++;
        if (id <= N) {
            cr_assert_eq(n, gen_stack(id, pcs));
            cr_assert_arr_eq(back, pcs, n * sizeof *pcs, "next_stack %u", id);
        }
    }
    cr_assert_eq(count, N + 1);
    mt_reader_close(r);
    (void)frames;
}

/* Values of many stacks, by id, for mt__stack_resolve. */
typedef struct many {
    uint8_t (*val)[MT__STACK_VALUE_MAX];
    size_t *len;
    uint32_t n;
} many_t;

static int get_many(void *ctx, uint32_t id, const void **val, size_t *len)
{
    many_t *m = ctx;
    if (id == 0 || id > m->n || m->len[id] == 0)
        return MT_ENOTFOUND;
    *val = m->val[id];
    *len = m->len[id];
    return 0;
}

/* Past 2^20 trie nodes the writer adds no more: 8200 stacks of 128 frames of
 * their own fill it; a stack sharing the outer frames of the first still
 * refers to it, one sharing those of the last (not in the trie) is stored
 * whole, and both read back. */
Test(stackstore, the_trie_stops_growing_and_stacks_stay_exact)
{
    enum { N = 8200 };
    many_t m = {calloc(N + 3, MT__STACK_VALUE_MAX), calloc(N + 3, sizeof(size_t)), N + 2};
    cr_assert(m.val && m.len);
    mt__stackstore_t s;
    memset(&s, 0, sizeof s);
    uint64_t pcs[MT_MAX_FRAMES], back[MT_MAX_FRAMES];
    uint32_t n;
    for (uint32_t id = 1; id <= N; id++) {
        for (int i = 0; i < MT_MAX_FRAMES; i++)
            pcs[i] = ((uint64_t)id << 20) + (uint64_t)i * 16;
        cr_assert_eq(mt__stackstore_put(&s, id, pcs, MT_MAX_FRAMES, m.val[id], &m.len[id]), 0);
    }
    cr_assert_eq(s.nnodes, 1u << 20);
    for (uint32_t k = 0; k < 2; k++) {
        uint32_t base = k ? N : 1, id = N + 1 + k;
        for (int i = 0; i < MT_MAX_FRAMES; i++)
            pcs[i] = ((uint64_t)base << 20) + (uint64_t)i * 16;
        pcs[0] = 0x99;
        cr_assert_eq(mt__stackstore_put(&s, id, pcs, MT_MAX_FRAMES, m.val[id], &m.len[id]), 0);
        cr_assert_eq(m.val[id][0], k ? 0 : 1, "stack %u's parent", id);
        cr_assert_eq(mt__stack_resolve(3, id, m.val[id], m.len[id], get_many, &m, back, &n), 0);
        cr_assert_eq(n, MT_MAX_FRAMES);
        cr_assert_arr_eq(back, pcs, sizeof pcs);
    }
    mt__stackstore_free(&s);
    free(m.val);
    free(m.len);
}

static unsigned many_gets;
static int get_many_counted(void *ctx, uint32_t id, const void **val, size_t *len)
{
    many_gets++;
    return get_many(ctx, id, val, len);
}

/* A reader resolves every stack of a trace, in id order; with the memo a
 * stack whose parent was resolved takes the parent's outer frames from it:
 * no value fetched, where following references fetched one per reference
 * (each stack adds one frame to the one before; chains of at most 16). */
Test(stackstore, the_memo_resolves_a_stack_from_its_resolved_parent)
{
    enum { N = 100 };
    many_t m = {calloc(N + 1, MT__STACK_VALUE_MAX), calloc(N + 1, sizeof(size_t)), N};
    cr_assert(m.val && m.len);
    mt__stackstore_t s;
    memset(&s, 0, sizeof s);
    uint64_t pcs[N], back[MT_MAX_FRAMES], viamemo[MT_MAX_FRAMES];
    for (uint32_t id = 1; id <= N; id++) { /* stack id: frames id..1, innermost first */
        for (uint32_t i = 0; i < id; i++)
            pcs[i] = 0x401000 + (uint64_t)(id - i) * 16;
        cr_assert_eq(mt__stackstore_put(&s, id, pcs, id, m.val[id], &m.len[id]), 0);
    }
    mt__stack_memo_t memo = {0};
    unsigned plain = 0, memoized = 0;
    for (uint32_t id = 1; id <= N; id++) {
        uint32_t n, nm;
        many_gets = 0;
        cr_assert_eq(mt__stack_resolve(3, id, m.val[id], m.len[id], get_many_counted, &m, back, &n), 0);
        plain += many_gets;
        many_gets = 0;
        cr_assert_eq(mt__stack_resolve_memo(3, id, m.val[id], m.len[id], get_many_counted, &m, &memo,
                                            viamemo, &nm), 0);
        memoized += many_gets;
        cr_assert_eq(n, id);
        cr_assert_eq(nm, id);
        cr_assert_arr_eq(viamemo, back, id * sizeof(*back), "stack %u", id);
        cr_assert_eq(back[id - 1], 0x401010);
    }
    /* Chains of 0..16 references, every 17 stacks: 5 x 136 + (0 + ... + 14). */
    cr_assert_eq(plain, 785);
    cr_assert_eq(memoized, 0);
    /* A damaged child that needs more frames than its resolved parent has is
     * damaged with the memo too. */
    uint8_t toomuch[4] = {5, 6, 1, 0x10}; /* parent 5 (5 frames), shared 6 */
    uint32_t n;
    cr_assert_eq(mt__stack_resolve(3, 50, toomuch, 4, get_many, &m, back, &n), MT_ECORRUPT);
    cr_assert_eq(mt__stack_resolve_memo(3, 50, toomuch, 4, get_many, &m, &memo, back, &n),
                 MT_ECORRUPT);
    mt__stack_memo_free(&memo);
    mt__stackstore_free(&s);
    free(m.val);
    free(m.len);
}

/* ---- stack groups (format 4) ------------------------------------------- */

static off_t trace_bytes(void)
{
    char path[160];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", trace);
    cr_assert_eq(stat(path, &st), 0);
    return st.st_size;
}

/* An interpreter's stacks: 12 outer frames shared by all, 20 to 60 frames
 * of an eval loop calling a few functions, a leaf of 40 allocating ones. */
static uint32_t py_stack(uint32_t k, uint64_t *pcs)
{
    uint64_t x = k * 0x9E3779B97F4A7C15ull + 7;
    uint32_t depth = 20 + (uint32_t)(x % 41), n = 0;
    pcs[n++] = 0x7f1200000000ull + 0x40 * (x >> 8 & 31) + 0x3000;
    for (uint32_t i = 0; i < depth; i++) /* eval frame, then the function it ran */
        pcs[n++] = i & 1 ? 0x5a0000 + 0x120 * ((x >> (i % 40)) & 7) : 0x4c3210 + 8 * (i % 3);
    for (uint32_t i = 0; i < 12; i++)
        pcs[n++] = 0x401000 + 0x210 * i;
    return n;
}

/* 1,500 such stacks written in 5 ticks take 11 pages of stacks (33 KB in
 * 5 values): each tick's stacks are one zstd-compressed value. Stored one
 * value per stack (format 3's layout) they took 53 pages (182 KB). */
Test(stackstore, a_ticks_stacks_are_one_compressed_value)
{
    if (sysconf(_SC_PAGESIZE) != 4096)
        cr_skip_test("LMDB pages are not 4 KiB here");
    mt_writer_t *w;
    uint64_t pcs[MT_MAX_FRAMES], back[MT_MAX_FRAMES];
    cr_assert_eq(mt_writer_open(&w, trace, NULL), 0);
    for (uint32_t tick = 0; tick < 5; tick++) {
        cr_assert_eq(mt_writer_begin(w), 0);
        for (uint32_t id = tick * 300 + 1; id <= tick * 300 + 300; id++)
            cr_assert_eq(mt_writer_put_stack(w, id, pcs, py_stack(id, pcs)), 0);
        cr_assert_eq(mt_writer_commit(w), 0);
    }
    mt_writer_close(w);
    /* 2 meta pages, the main db's leaf, the meta db's leaf, the stacks. */
    off_t bytes = trace_bytes();
    cr_expect_leq(bytes, (4 + 11) * 4096, "data.mdb is %lld bytes", (long long)bytes);
    mt_reader_t *r;
    uint32_t n;
    cr_assert_eq(mt_reader_open(&r, trace), 0);
    for (uint32_t id = 1; id <= 1500; id++) {
        uint32_t want = py_stack(id, pcs);
        cr_assert_eq(mt_reader_stack(r, id, back, &n), 0, "stack %u", id);
        cr_assert_eq(n, want, "stack %u", id);
        cr_assert_arr_eq(back, pcs, n * sizeof *pcs, "stack %u", id);
    }
    mt_reader_close(r);
}

/* A reader finds a stack by seeking to the group at or before its id: ids
 * with gaps, in three ticks, one of them split into groups of at most
 * MT__STACK_GROUP_RAW_MAX bytes; ids only grow. */
Test(stackstore, groups_are_found_by_seek)
{
    static const uint32_t ids[] = {1, 2, 5, 7, 100, 101};
    uint64_t pcs[MT_MAX_FRAMES], back[MT_MAX_FRAMES];
    uint32_t n, id;
    mt_writer_t *w;
    cr_assert_eq(mt_writer_open(&w, trace, NULL), 0);
    for (int i = 0; i < 6; i++) {
        if (i == 0 || i == 3 || i == 5)
            cr_assert_eq(mt_writer_begin(w), 0);
        cr_assert_eq(mt_writer_put_stack(w, ids[i], pcs, gen_stack(ids[i], pcs)), 0);
        if (i == 2 || i == 4)
            cr_assert_eq(mt_writer_commit(w), 0);
    }
    cr_assert_eq(mt_writer_put_stack(w, 101, pcs, 1), MT_EINVAL, "written already");
    cr_assert_eq(mt_writer_put_stack(w, 50, pcs, 1), MT_EINVAL, "ids only grow");
    /* 2,000 stacks of 128 frames of their own (about 1 MiB): 5 groups. */
    for (id = 200; id < 2200; id++) {
        for (uint32_t i = 0; i < MT_MAX_FRAMES; i++)
            pcs[i] = 0x7f0000000000ull + (uint64_t)id * 0x100000 + i * 0x1234;
        cr_assert_eq(mt_writer_put_stack(w, id, pcs, MT_MAX_FRAMES), 0);
    }
    cr_assert_eq(mt_writer_commit(w), 0);
    mt_writer_close(w);

    mt_reader_t *r;
    cr_assert_eq(mt_reader_open(&r, trace), 0);
    for (int i = 0; i < 6; i++) {
        uint32_t want = gen_stack(ids[i], pcs);
        cr_assert_eq(mt_reader_stack(r, ids[i], back, &n), 0, "stack %u", ids[i]);
        cr_assert_eq(n, want);
        cr_assert_arr_eq(back, pcs, n * sizeof *pcs);
    }
    static const uint32_t absent[] = {3, 4, 6, 8, 99, 102, 199, 2200, UINT32_MAX};
    for (size_t i = 0; i < sizeof absent / sizeof *absent; i++)
        cr_assert_eq(mt_reader_stack(r, absent[i], back, &n), MT_ENOTFOUND, "%u", absent[i]);
    for (id = 2199; id >= 200; id--) { /* backwards: every group is sought again */
        cr_assert_eq(mt_reader_stack(r, id, back, &n), 0, "stack %u", id);
        cr_assert_eq(n, MT_MAX_FRAMES);
        cr_assert_eq(back[5], 0x7f0000000000ull + (uint64_t)id * 0x100000 + 5 * 0x1234);
    }
    uint64_t cur = 0;
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(mt_reader_next_stack(r, &cur, &id, back, &n), 1);
        cr_assert_eq(id, ids[i]);
        cr_assert_eq(cur, ids[i] + 1);
    }
    uint32_t count = 0;
    while (mt_reader_next_stack(r, &cur, &id, back, &n) == 1)
        cr_assert_eq(id, 200 + count++);
    cr_assert_eq(count, 2000);
    cur = 3;
    cr_assert_eq(mt_reader_next_stack(r, &cur, &id, back, &n), 1);
    cr_assert_eq(id, 5);
    cur = 8;
    cr_assert_eq(mt_reader_next_stack(r, &cur, &id, back, &n), 1);
    cr_assert_eq(id, 100);
    cur = 2200;
    cr_assert_eq(mt_reader_next_stack(r, &cur, &id, back, &n), 0);
    mt_reader_close(r);
}

static int decode(const uint8_t *v, size_t len, uint32_t first)
{
    mt__stackgroup_index_t ix;
    void *dctx = NULL;
    int rc = mt__stackgroup_decode(first, v, len, &dctx, &ix);
    mt__stackgroup_index_free(&ix);
    mt__stackgroup_dctx_free(dctx);
    return rc;
}

/* A hostile group is MT_ECORRUPT before anything is allocated for it
 * beyond its bounds. */
Test(stackstore, hostile_groups_are_corrupt)
{
    /* count 2, stored, raw 9: stack 9 (one frame 5), stack 11 (whole, none). */
    static const uint8_t good[] = {2, 0, 9, 0, 0, 0, 1, 5, 1, 0, 0, 0};
    mt__stackgroup_index_t ix;
    void *dctx = NULL;
    size_t len;
    cr_assert_eq(mt__stackgroup_decode(9, good, sizeof good, &dctx, &ix), 0);
    cr_assert_eq(ix.count, 2);
    cr_assert_eq(ix.ids[0], 9);
    cr_assert_eq(ix.ids[1], 11);
    cr_assert_eq(ix.last, 11);
    const uint8_t *v = mt__stackgroup_value(&ix, 0, &len);
    cr_assert_eq(len, 4);
    cr_assert_arr_eq(v, good + 4, 4);
    v = mt__stackgroup_value(&ix, 1, &len);
    cr_assert_eq(len, 3);
    cr_assert_eq(mt__stackgroup_lower(&ix, 10), 1);
    cr_assert_eq(mt__stackgroup_lower(&ix, 12), 2);
    mt__stackgroup_index_free(&ix);
    mt__stackgroup_dctx_free(dctx);

    uint8_t b[64];
    cr_assert_eq(decode(good, 0, 9), MT_ECORRUPT, "empty");
    cr_assert_eq(decode(good, sizeof good, 0), MT_ECORRUPT, "key 0");
    cr_assert_eq(decode(good, sizeof good - 1, 9), MT_ECORRUPT, "truncated");
    memcpy(b, good, sizeof good);
    b[sizeof good] = 0;
    cr_assert_eq(decode(b, sizeof good + 1, 9), MT_ECORRUPT, "a byte more");
    b[0] = 0;
    cr_assert_eq(decode(b, sizeof good, 9), MT_ECORRUPT, "count 0");
    b[0] = 3;
    cr_assert_eq(decode(b, sizeof good, 9), MT_ECORRUPT, "count 3, 2 records");
    b[0] = 2, b[1] = 2;
    cr_assert_eq(decode(b, sizeof good, 9), MT_ECORRUPT, "unknown flag");
    b[1] = 0, b[3] = 1;
    cr_assert_eq(decode(b, sizeof good, 9), MT_ECORRUPT, "first record with a gap");
    b[3] = 0, b[8] = 0xff;
    cr_assert_eq(decode(b, sizeof good, 9), MT_ECORRUPT, "a gap that eats the record");
    static const uint8_t gapbig[] = {2, 0, 12, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0};
    cr_assert_eq(decode(gapbig, sizeof gapbig, 9), MT_ECORRUPT, "id above 2^32-1");
    static const uint8_t frames[] = {1, 0, 5, 0, 0, 0, 0x81, 0x01};
    cr_assert_eq(decode(frames, sizeof frames, 9), MT_ECORRUPT, "129 frames");
    static const uint8_t many[] = {3, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0};
    cr_assert_eq(decode(many, sizeof many, 9), MT_ECORRUPT, "3 records in 8 bytes");
    /* A zstd frame: raw above the bound, then a frame whose content size
     * is not the raw length, one with bytes after it. */
    static const uint8_t huge[] = {1, 1, 0x81, 0x80, 0x10, 0x28, 0xb5, 0x2f, 0xfd};
    cr_assert_eq(decode(huge, sizeof huge, 9), MT_ECORRUPT, "raw 256 KiB + 1");
    uint8_t raw[5] = {0, 0, 0, 1, 5}, z[64];
    size_t zl = ZSTD_compress(z, sizeof z, raw, sizeof raw, 1);
    cr_assert(!ZSTD_isError(zl));
    size_t at = 0;
    b[at++] = 1, b[at++] = 1, b[at++] = 6; /* claims 6 raw bytes */
    memcpy(b + at, z, zl);
    cr_assert_eq(decode(b, at + zl, 9), MT_ECORRUPT, "content size 5, not 6");
    b[2] = 5;
    cr_assert_eq(decode(b, at + zl, 9), 0, "the same frame, raw 5");
    b[at + zl] = 0;
    cr_assert_eq(decode(b, at + zl + 1, 9), MT_ECORRUPT, "a byte after the frame");
}
