/* test-numa.c - analyze/numa.c (and `mtrace-analyze numa`) on traces with
 * two- and four-node topologies and events built here: exact resident,
 * untouched, local/remote, mismatch and migration numbers, heap weights,
 * heap inside a region counted once, and the topology record's codec. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "numa.h"
#include "run.h"
#include "tracegen.h"

static char *tmp;
static char dir[4200];
static mt_reader_t *rd;
static mt_replay_t rp;
static mt_numa_t nu;

static void setup(void)
{
    tmp = mt_test_tmpdir();
    snprintf(dir, sizeof(dir), "%s/mtrace.gen.1", tmp);
    rd = NULL;
    memset(&rp, 0, sizeof(rp));
    memset(&nu, 0, sizeof(nu));
}

static void teardown(void)
{
    mt_numa_free(&nu);
    if (rp.priv)
        mt_replay_free(&rp);
    if (rd)
        mt_reader_close(rd);
    mt_test_rmtree(tmp);
    free(tmp);
}

TestSuite(numa, .init = setup, .fini = teardown);

#define B(bw) mt_bw_bytes(bw)
#define PAGE 4096u

/* ---- events ------------------------------------------------------------------ */

static mt_event_t ev(int type, uint64_t ts, uint64_t ptr, uint64_t size)
{
    mt_event_t e;
    memset(&e, 0, sizeof(e));
    e.type = (uint8_t)type;
    e.ts = ts;
    e.ptr = ptr;
    e.size = size;
    return e;
}

static mt_event_t on(mt_event_t e, int node, uint32_t stack)
{
    e.node = (int16_t)node;
    e.cpu = (uint16_t)(node < 0 ? 0 : node);
    e.stack = stack;
    return e;
}

static mt_event_t mmap_ev(uint64_t ts, uint64_t ptr, uint64_t size, uint32_t stack, int node)
{
    return on(ev(MT_EV_MMAP, ts, ptr, size), node, stack);
}

static mt_event_t alloc_ev(uint64_t ts, uint64_t ptr, uint64_t size, uint32_t stack, int node,
                           uint64_t weight)
{
    mt_event_t e = on(tg_alloc_w(ts, ptr, size, stack, weight), node, stack);
    return e;
}

static mt_event_t policy_ev(uint64_t ts, int kind, uint64_t ptr, uint64_t size, uint32_t mode,
                            uint64_t mask, uint32_t stack)
{
    mt_event_t e = on(ev(MT_EV_POLICY, ts, ptr, size), 0, stack);
    e.kind = (uint8_t)kind;
    e.arg[0] = mask;
    e.arg[1] = mode;
    e.arg[2] = 0; /* success */
    return e;
}

static mt_event_t place(uint64_t ts, uint64_t ptr, uint64_t bytes, int node)
{
    mt_event_t e = ev(MT_EV_PLACEMENT, ts, ptr, bytes);
    e.node = (int16_t)node;
    return e;
}

/* ---- topology ---------------------------------------------------------------- */

/* N nodes of CPN CPUs each; distance 10 local, 20 + 10 * |i - j| remote. */
static void make_topology(mt_topology_t *t, uint32_t n, uint32_t cpn)
{
    memset(t, 0, sizeof(*t));
    t->nnodes = n;
    for (uint32_t i = 0; i < n; i++) {
        t->node[i] = (uint16_t)i;
        t->memory[i] = (uint64_t)(i + 1) << 30;
        for (uint32_t c = 0; c < cpn; c++)
            t->cpu[i * cpn + c] = (uint16_t)(i * cpn + c);
        t->cpu_start[i + 1] = (i + 1) * cpn;
        for (uint32_t j = 0; j < n; j++)
            t->distance[i][j] = (uint8_t)(i == j ? 10 : 20 + 10 * (i > j ? i - j : j - i));
    }
}

static void put_topology(uint32_t n, uint32_t cpn)
{
    static mt_topology_t t;
    static uint8_t buf[MT_TOPOLOGY_MAX_ENCODED];
    make_topology(&t, n, cpn);
    size_t len = mt_topology_encode(&t, buf, sizeof(buf));
    cr_assert_gt(len, 0);
    tg_check(mt_writer_put_meta(tg_w, MT_META_TOPOLOGY, buf, len), "topology");
}

/* Stacks 1..9, one distinct frame each (no module: symbolized as addresses). */
static void put_stacks(void)
{
    for (uint32_t id = 1; id <= 9; id++) {
        uint64_t pc = 0x1000 + 0x10 * id;
        tg_stack(id, &pc, 1);
    }
}

/* Replays DIR with the numa hook, in the window from FROM ns (0: none). */
static void analyze_from(uint64_t from)
{
    mt_replay_options_t opt;
    memset(&opt, 0, sizeof(opt));
    opt.pool = MT_POOL_NONE;
    opt.from = (mt_time_arg_t){from, false, from != 0};
    cr_assert_eq(mt_numa_init(&nu, &opt), 0);
    cr_assert_eq(mt_reader_open(&rd, dir), 0);
    cr_assert_eq(mt_replay_init(&rp, &opt), 0);
    cr_assert_eq(mt_replay_add(&rp, dir, rd), 0);
    cr_assert_eq(mt_replay_run(&rp), 0);
    cr_assert_eq(mt_numa_finish(&nu, &rp), 0);
}

static void analyze(void)
{
    analyze_from(0);
}

static const mt_numa_stack_t *stack(uint32_t id)
{
    for (size_t i = 0; i < rp.nstacks; i++)
        if (rp.stacks[i].id == id) {
            cr_assert_lt(i, nu.nstacks);
            return &nu.stacks[i];
        }
    cr_assert_fail("no stack %u", id);
    return NULL;
}

static uint64_t node_bytes(const mt_numa_stack_t *s, int n)
{
    return s->node_bw ? B(s->node_bw[n]) : 0;
}

/* ---- two nodes ------------------------------------------------------------------
 * Thread 1 runs on node 0, thread 2 on node 1; thread 0 is the shim's writer.
 *  R  region, 8 pages, mmap'd by thread 1 (stack 1), mbind BIND {1} (stack 2):
 *     answer: 2 pages on node 0, 4 on node 1, 2 untouched.
 *     -> mismatch 2 pages (node 0 not in {1}), remote 4 pages, local 2 pages.
 *  A  heap, 4096 B, weight 2 (stands for 8192 B), thread 2 (stack 3): answer node 0,
 *     freed later -> remote 8192.
 *  M  heap, 8192 B, thread 1 (stack 4): node 0, then node 1 five seconds later
 *     -> migrated 8192, remote 8192 (last seen on node 1).
 *  C  heap, 100 B, thread 2 after its set_mempolicy(BIND, {0}) (stack 5, the
 *     call stack 6): answer node 1 -> mismatch 100, local.
 *  An answer for a pointer freed before it (orphan) changes nothing. */
static void two_node_trace(void)
{
    tg_open(dir, 0, 1000000000ull, 10000000);
    put_topology(2, 2);
    put_stacks();
    const uint64_t R = 0x10000000, A = 0x5000, M = 0x9000, C = 0xA000;
    mt_event_t t1[] = {
        mmap_ev(100, R, 8 * PAGE, 1, 0),
        policy_ev(110, MT_PK_MBIND, R, 8 * PAGE, MT_MPOL_BIND, 0x2, 2),
        alloc_ev(120, M, 8192, 4, 0, MT_WEIGHT_ONE),
        alloc_ev(130, 0xF000, 64, 7, 0, MT_WEIGHT_ONE),
        tg_free(140, 0xF000),
    };
    mt_event_t t2[] = {
        alloc_ev(105, A, 4096, 3, 1, 2 * MT_WEIGHT_ONE),
        policy_ev(115, MT_PK_SET_MEMPOLICY, 0, 0, MT_MPOL_BIND, 0x1, 6),
        alloc_ev(125, C, 100, 5, 1, MT_WEIGHT_ONE),
        tg_free(9000, A),
    };
    mt_event_t t0[] = {
        place(1000, R, 2 * PAGE, 0),
        place(1000, R, 4 * PAGE, 1),
        place(1000, R, 2 * PAGE, MT_NODE_UNTOUCHED),
        place(1000, A, 4096, 0),
        place(1000, M, 8192, 0),
        place(1000, C, 100, 1),
        place(1000, 0xF000, 64, 0), /* freed at 140: orphan */
        place(6000, M, 8192, 1),
        place(6000, R, 2 * PAGE, 0),
        place(6000, R, 4 * PAGE, 1),
        place(6000, R, 2 * PAGE, MT_NODE_UNTOUCHED),
    };
    tg_block(1, t1, sizeof(t1) / sizeof(t1[0]));
    tg_block(2, t2, sizeof(t2) / sizeof(t2[0]));
    tg_block(0, t0, sizeof(t0) / sizeof(t0[0]));
    tg_close(1);
}

Test(numa, two_nodes_mismatch_remote_migration)
{
    two_node_trace();
    analyze();

    cr_assert(nu.has_topo);
    cr_expect_eq(nu.topo.nnodes, 2);
    cr_expect_eq(nu.topo.distance[0][1], 30);
    cr_expect_eq(nu.topo.cpu_start[2], 4);

    cr_expect_eq(B(nu.resident_bw[0]), 2 * PAGE + 8192);
    cr_expect_eq(B(nu.resident_bw[1]), 4 * PAGE + 8192 + 100);
    cr_expect_eq(B(nu.region_bw[0]), 2 * PAGE);
    cr_expect_eq(B(nu.region_bw[1]), 4 * PAGE);
    cr_expect_eq(B(nu.heap_bw[0]), 8192);
    cr_expect_eq(B(nu.heap_bw[1]), 8192 + 100);
    cr_expect_eq(B(nu.untouched_bw), 2 * PAGE);
    cr_expect_eq(B(nu.local_bw), 2 * PAGE + 100);
    cr_expect_eq(B(nu.remote_bw), 4 * PAGE + 8192 + 8192);
    cr_expect_eq(nu.remote_objects, 3);
    cr_expect_eq(B(nu.mismatch_bw), 2 * PAGE + 100);
    cr_expect_eq(nu.mismatched_objects, 2);
    cr_expect_eq(B(nu.migrated_bw), 8192);
    cr_expect_eq(nu.migrations, 1);
    /* Live at the end: R, M, C (A was freed). */
    cr_expect_eq(B(nu.live_resident_bw[0]), 2 * PAGE);
    cr_expect_eq(B(nu.live_resident_bw[1]), 4 * PAGE + 8192 + 100);
    cr_expect_eq(nu.regions, 1);
    cr_expect_eq(nu.regions_placed, 1);
    cr_expect_eq(nu.heap_objects, 4);
    cr_expect_eq(nu.heap_placed, 3);
    cr_expect_eq(B(nu.unplaced_bw), 64);
    cr_expect_eq(nu.placements, 11);
    cr_expect_eq(nu.orphan_placements, 1);
    cr_expect_eq(nu.calls[MT_PK_MBIND], 1);
    cr_expect_eq(nu.calls[MT_PK_SET_MEMPOLICY], 1);
    cr_expect_eq(nu.calls[MT_PK_MOVE_PAGES], 0);

    const mt_numa_stack_t *r = stack(1);
    cr_expect_eq(node_bytes(r, 0), 2 * PAGE);
    cr_expect_eq(node_bytes(r, 1), 4 * PAGE);
    cr_expect_eq(B(r->untouched_bw), 2 * PAGE);
    cr_expect_eq(B(r->mismatch_bw), 2 * PAGE);
    cr_expect_eq(B(r->remote_bw), 4 * PAGE);
    cr_expect_eq(B(r->migrated_bw), 0); /* the same answer twice */
    cr_expect_eq(r->req_source, MT_NUMA_REQ_MBIND);
    cr_expect_eq(r->req_mode, MT_MPOL_BIND);
    cr_expect_eq(r->req_mask, 0x2);
    cr_expect_eq(r->regions, 1);
    cr_expect_eq(stack(2)->calls[MT_PK_MBIND], 1);
    cr_expect_eq(stack(6)->calls[MT_PK_SET_MEMPOLICY], 1);

    const mt_numa_stack_t *a = stack(3);
    cr_expect_eq(node_bytes(a, 0), 8192); /* 4096 B standing for two objects */
    cr_expect_eq(B(a->remote_bw), 8192);
    cr_expect_eq(B(a->mismatch_bw), 0);

    const mt_numa_stack_t *m = stack(4);
    cr_expect_eq(node_bytes(m, 0), 0);
    cr_expect_eq(node_bytes(m, 1), 8192);
    cr_expect_eq(B(m->migrated_bw), 8192);
    cr_expect_eq(m->migrations, 1);

    const mt_numa_stack_t *c = stack(5);
    cr_expect_eq(B(c->mismatch_bw), 100);
    cr_expect_eq(B(c->local_bw), 100);
    cr_expect_eq(c->req_source, MT_NUMA_REQ_TASK);
    cr_expect_eq(c->req_mask, 0x1);
}

/* ---- four nodes -----------------------------------------------------------------
 *  R  region, 16 pages, thread on node 3 (stack 1), mbind INTERLEAVE {0,1}:
 *     answer 4 pages on each of nodes 0..3 -> mismatch 8 pages (nodes 2, 3),
 *     local 4 pages (node 3), remote 12 pages.
 *  H  heap 8192 B on node 3 (stack 2): answers {2: 4096, 3: 4096}, then
 *     {3: 8192}, then {0: 8192} -> migrated 4096 + 8192, 2 migrations,
 *     remote 8192 (last seen on node 0).
 *  D  heap 64 B inside R (stack 3), answer node 1: counted for its stack, not
 *     again in the totals (R's pages hold it); inside R's mbind -> mismatch 0.
 *  After set_mempolicy(PREFERRED, {2}) then set_mempolicy(DEFAULT) by the
 *  same thread, E (stack 4) has no requested policy. */
/* --from 122 ns: the heap objects are the window's (C at 125 and the one at
 * 130), not A (105) or M (120); the region made at 100 is still there. */
Test(numa, window_keeps_the_windows_heap_objects)
{
    two_node_trace();
    analyze_from(122);
    cr_expect_eq(nu.heap_objects, 2);
    cr_expect_eq(nu.heap_placed, 1, "C placed; the one at 130 was freed first");
    cr_expect_eq(nu.regions, 1);
    cr_expect_eq(B(rp.alloc_bw), 164);
}

Test(numa, four_nodes_interleave_and_migrations)
{
    tg_open(dir, 0, 1000000000ull, 20000000);
    put_topology(4, 1);
    put_stacks();
    const uint64_t R = 0x20000000, H = 0x7000, D = R + 100, E = 0x8000;
    mt_event_t t1[] = {
        mmap_ev(100, R, 16 * PAGE, 1, 3),
        policy_ev(110, MT_PK_MBIND, R, 16 * PAGE, MT_MPOL_INTERLEAVE, 0x3, 9),
        alloc_ev(120, H, 8192, 2, 3, MT_WEIGHT_ONE),
        alloc_ev(130, D, 64, 3, 3, MT_WEIGHT_ONE),
        policy_ev(140, MT_PK_SET_MEMPOLICY, 0, 0, MT_MPOL_PREFERRED, 0x4, 8),
        policy_ev(150, MT_PK_SET_MEMPOLICY, 0, 0, MT_MPOL_DEFAULT, 0, 8),
        alloc_ev(160, E, 32, 4, 3, MT_WEIGHT_ONE),
    };
    mt_event_t t0[] = {
        place(1000, R, 4 * PAGE, 0), place(1000, R, 4 * PAGE, 1),
        place(1000, R, 4 * PAGE, 2), place(1000, R, 4 * PAGE, 3),
        place(1000, H, 4096, 2),     place(1000, H, 4096, 3),
        place(1000, D, 64, 1),       place(1000, E, 32, 3),
        place(6000, H, 8192, 3),
        place(11000, H, 8192, 0),
    };
    tg_block(1, t1, sizeof(t1) / sizeof(t1[0]));
    tg_block(0, t0, sizeof(t0) / sizeof(t0[0]));
    tg_close(1);
    analyze();

    cr_expect_eq(nu.topo.nnodes, 4);
    cr_expect_eq(nu.topo.distance[0][3], 50);
    cr_expect_eq(nu.topo.memory[3], 4ull << 30);
    for (int n = 0; n < 4; n++)
        cr_expect_eq(B(nu.region_bw[n]), 4 * PAGE, "node %d", n);
    cr_expect_eq(B(nu.resident_bw[0]), 4 * PAGE + 8192);
    cr_expect_eq(B(nu.resident_bw[1]), 4 * PAGE); /* D is inside R: not counted twice */
    cr_expect_eq(B(nu.heap_bw[1]), 64);
    cr_expect_eq(B(nu.resident_bw[2]), 4 * PAGE);
    cr_expect_eq(B(nu.resident_bw[3]), 4 * PAGE + 32);
    cr_expect_eq(B(nu.mismatch_bw), 8 * PAGE);
    cr_expect_eq(nu.mismatched_objects, 1);
    cr_expect_eq(B(nu.local_bw), 4 * PAGE + 32);
    cr_expect_eq(B(nu.remote_bw), 12 * PAGE + 8192);
    cr_expect_eq(B(nu.migrated_bw), 4096 + 8192);
    cr_expect_eq(nu.migrations, 2);
    cr_expect_eq(nu.nodes_seen, 0xf);

    const mt_numa_stack_t *r = stack(1);
    cr_expect_eq(B(r->mismatch_bw), 8 * PAGE);
    cr_expect_eq(B(r->local_bw), 4 * PAGE);
    cr_expect_eq(r->req_mode, MT_MPOL_INTERLEAVE);
    const mt_numa_stack_t *h = stack(2);
    cr_expect_eq(B(h->migrated_bw), 4096 + 8192);
    cr_expect_eq(h->migrations, 2);
    cr_expect_eq(node_bytes(h, 0), 8192);
    cr_expect_eq(B(h->remote_bw), 8192);
    const mt_numa_stack_t *d = stack(3);
    cr_expect_eq(node_bytes(d, 1), 64);
    cr_expect_eq(B(d->mismatch_bw), 0);
    cr_expect_eq(B(d->remote_bw), 64);
    const mt_numa_stack_t *e = stack(4);
    cr_expect_eq(e->req_source, MT_NUMA_REQ_NONE);
    cr_expect_eq(B(e->mismatch_bw), 0);
    cr_expect_eq(stack(8)->calls[MT_PK_SET_MEMPOLICY], 2);
}

/* munmap of a region's head ends it; the rest is a new region, answered anew. */
Test(numa, munmap_head_and_mremap)
{
    tg_open(dir, 0, 1000000000ull, 20000000);
    const uint64_t R = 0x30000000, S = 0x40000000, S2 = 0x50000000;
    mt_event_t t1[] = {
        mmap_ev(100, R, 4 * PAGE, 1, 0),
        mmap_ev(110, S, 2 * PAGE, 2, 0),
        ev(MT_EV_MUNMAP, 2000, R, PAGE),
        ev(MT_EV_MREMAP, 2100, S2, 4 * PAGE),
    };
    t1[3].arg[0] = S;
    t1[3].arg[1] = 2 * PAGE;
    mt_event_t t0[] = {
        place(1000, R, 4 * PAGE, 0),
        place(1000, S, 2 * PAGE, MT_NODE_UNTOUCHED),
        place(3000, R + PAGE, 3 * PAGE, 1),
        place(3000, S2, 4 * PAGE, 0),
    };
    tg_block(1, t1, sizeof(t1) / sizeof(t1[0]));
    tg_block(0, t0, sizeof(t0) / sizeof(t0[0]));
    tg_close(1);
    analyze();

    cr_expect_eq(nu.regions, 4); /* R, R's tail, S, S moved */
    cr_expect_eq(nu.regions_placed, 4);
    cr_expect_eq(B(nu.region_bw[0]), 4 * PAGE + 4 * PAGE);
    cr_expect_eq(B(nu.region_bw[1]), 3 * PAGE);
    cr_expect_eq(B(nu.untouched_bw), 2 * PAGE);
    cr_expect_eq(B(nu.migrated_bw), 0); /* the tail is a new region, not a move */
    cr_expect_eq(node_bytes(stack(1), 1), 3 * PAGE); /* the tail keeps its stack */
    cr_expect_eq(node_bytes(stack(2), 0), 4 * PAGE); /* so does the moved mapping */
}

/* ---- the CLI on the two-node trace ------------------------------------------ */

Test(numa, cli_json_and_text)
{
    two_node_trace();
    const char *analyze_bin = mt_test_program("MTRACE_ANALYZE");
    const char *argv[] = {analyze_bin, "numa", "--json=compact", dir, NULL};
    mt_run_t r;
    mt_run(&r, NULL, argv);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "\"nodes\":[{\"node\":0,\"resident_bytes\":16384,") != NULL, "%s",
              r.out);
    cr_expect(strstr(r.out, "{\"node\":1,\"resident_bytes\":24676,") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"untouched_bytes\":8192,") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"mismatch_bytes\":8292,") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"remote_bytes\":32768,") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"migrated_bytes\":8192,") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"calls\":{\"mbind\":1,\"set_mempolicy\":1,\"move_pages\":0,"
                            "\"migrate_pages\":0}") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"stacks\":[{\"kind\":\"region\",\"bytes\":32768,") != NULL, "%s",
              r.out);
    mt_run_free(&r);

    const char *text[] = {analyze_bin, "numa", dir, NULL};
    mt_run(&r, NULL, text);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "MISMATCH: 8 KiB landed on other nodes") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "numa: 2 nodes;") != NULL, "%s", r.out);
    mt_run_free(&r);

    const char *bad[] = {analyze_bin, "numa", "--by", "line", dir, NULL};
    mt_run(&r, NULL, bad);
    cr_expect_eq(r.status, 2);
    mt_run_free(&r);
}

/* ---- the topology record ------------------------------------------------------- */

Test(numa, topology_codec)
{
    static mt_topology_t t, back;
    static uint8_t buf[MT_TOPOLOGY_MAX_ENCODED];
    make_topology(&t, 4, 3);
    size_t len = mt_topology_encode(&t, buf, sizeof(buf));
    cr_assert_eq(len, 3 + 4 * (12 + 3 * 2) + 16);
    cr_assert_eq(mt_topology_decode(buf, len, &back), 0);
    cr_expect_eq(memcmp(&t, &back, sizeof(t)), 0);
    /* Every truncation and one trailing byte are refused. */
    for (size_t n = 0; n < len; n++)
        cr_expect_eq(mt_topology_decode(buf, n, &back), MT_ECORRUPT, "length %zu", n);
    cr_expect_eq(mt_topology_decode(buf, len + 1, &back), MT_ECORRUPT);
    buf[0] = 2;
    cr_expect_eq(mt_topology_decode(buf, len, &back), MT_ECORRUPT);
    buf[0] = 1;
    buf[1] = 200; /* more nodes than MT_TOPOLOGY_MAX_NODES */
    cr_expect_eq(mt_topology_decode(buf, len, &back), MT_ECORRUPT);
    cr_expect_eq(mt_topology_encode(&t, buf, len - 1), 0);
}
