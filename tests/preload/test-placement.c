/* test-placement.c - preload/placement.c, the writer's NUMA placement table,
 * driven with fake drained events over pages of a real, never-touched
 * mapping (move_pages answers "not faulted in" for each). The table must
 * hold exactly the objects the rules of format/objects.h leave live, with
 * their sizes, first-query times and query order, whatever shortcuts it
 * takes (dead entries reused by the next object at an address, purges,
 * remembered probes): checked against a plain list that applies the same
 * rules, event by event.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

mt__options_t mt__opt;
static uint64_t fake_now;
uint64_t mt__now(void)
{
    return fake_now;
}
void mt__warn_once(int key, const char *fmt, ...)
{
    (void)key;
    (void)fmt;
}
void mt__say(const char *fmt, ...)
{
    (void)fmt;
}

#define MS 1000000ull
#define PAGE 4096ull

/* A mapping whose pages are never touched: every page "not faulted in". */
static uint64_t arena(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(p, MAP_FAILED);
    return (uint64_t)(uintptr_t)p;
}

static mt_event_t ev(uint8_t type, uint64_t ptr, uint64_t size, uint64_t old)
{
    mt_event_t e = {0};
    e.type = type;
    e.ptr = ptr;
    e.size = size;
    e.arg[0] = old;
    return e;
}

/* ---- the reference: a list in query order, the rules applied plainly ---- */

#define REF_MAX 8192
static struct {
    uint64_t key[REF_MAX], size[REF_MAX];
    size_t n;
} ref;

static bool ref_live(void *ctx, uint64_t key, uint64_t *size)
{
    (void)ctx;
    for (size_t i = 0; i < ref.n; i++)
        if (ref.key[i] == key) {
            *size = ref.size[i];
            return true;
        }
    return false;
}

static void ref_end(uint64_t key)
{
    for (size_t i = 0; i < ref.n; i++)
        if (ref.key[i] == key) {
            memmove(&ref.key[i], &ref.key[i + 1], (ref.n - i - 1) * sizeof ref.key[0]);
            memmove(&ref.size[i], &ref.size[i + 1], (ref.n - i - 1) * sizeof ref.size[0]);
            ref.n--;
            return;
        }
}

/* What placement.c promises: an object ended and begun again with the same
 * key and size (a redone tick) is left as it was; 0 bytes are not tracked. */
static void ref_observe(const mt_event_t *e)
{
    mt_obj_step_t st[MT_OBJ_MAX_STEPS];
    size_t n = mt_obj_steps(e, ref_live, NULL, st);
    for (size_t i = 0; i < n; i++) {
        uint64_t size;
        if (st[i].op == MT_OBJ_END && i + 1 < n && st[i + 1].op == MT_OBJ_BEGIN &&
            st[i + 1].key == st[i].key && ref_live(NULL, st[i].key, &size) &&
            st[i + 1].size == size) {
            i++;
            continue;
        }
        if (st[i].op == MT_OBJ_END) {
            ref_end(st[i].key);
        } else if (st[i].size) {
            cr_assert_lt(ref.n, REF_MAX);
            ref.key[ref.n] = st[i].key;
            ref.size[ref.n++] = st[i].size;
        }
    }
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

#define ADDRS 60000 /* heap addresses, 16 bytes apart: over 16384 end dead (a purge) */
#define REGION_PAGES 64
#define EVENTS 150000

/* Random events (WITH_REGIONS: mmap regions among them), drained in runs,
 * some redone; the final tick must report exactly the reference's objects. */
static void check_random(bool with_regions, uint64_t seed)
{
    mt__placement_reset();
    ref.n = 0;
    uint64_t heap = arena(ADDRS * 16 + 2 * PAGE), regions = arena(REGION_PAGES * PAGE);
    static mt_event_t evs[EVENTS];
    static uint64_t freed[ADDRS];
    static uint8_t used[ADDRS];
    size_t nfreed = 0, nlive = 0; /* of the heap addresses, roughly */
    memset(used, 0, sizeof used);
    for (size_t i = 0; i < EVENTS; i++) {
        uint64_t r = rnd(&seed), a;
        unsigned what = (unsigned)(r % (with_regions ? 100 : 86));
        r >>= 8;
        if (what < 40) { /* a new block: most often at an address freed lately */
            if (nfreed && r % 2 != 0)
                a = freed[--nfreed];
            else
                a = (r >> 2) % ADDRS;
            nlive += !used[a];
            used[a] = 1;
            evs[i] = ev(MT_EV_ALLOC, heap + a * 16, r % 50 == 0 ? 0 : 1 + (r >> 16) % 3000, 0);
        } else if (what < 84) { /* free a block, or (few live) most often one not live */
            a = (r >> 2) % ADDRS;
            if (nlive > 1000)
                for (; !used[a]; a = (a + 1) % ADDRS)
                    ;
            if (used[a] && nfreed < ADDRS)
                freed[nfreed++] = a;
            nlive -= used[a];
            used[a] = 0;
            evs[i] = ev(MT_EV_FREE, heap + a * 16, 0, 0);
        } else if (what < 86) { /* a block again without its free, same size or not */
            a = (r >> 2) % ADDRS;
            nlive += !used[a];
            used[a] = 1;
            evs[i] = ev(MT_EV_ALLOC, heap + a * 16, r % 2 ? 100 : 100 + (r >> 20) % 3, 0);
        } else if (what < 91) { /* a region; a block at its start is the region */
            uint64_t p = regions + (r % (REGION_PAGES - 4)) * PAGE;
            evs[i] = ev(MT_EV_MMAP, p, (1 + (r >> 8) % 4) * PAGE, 0);
        } else if (what < 93) {
            uint64_t p = regions + (r % (REGION_PAGES - 4)) * PAGE;
            evs[i] = ev(MT_EV_ALLOC, p, 64, 0);
        } else if (what < 97) { /* unmap a region's head, or all of it */
            uint64_t p = regions + (r % (REGION_PAGES - 4)) * PAGE;
            evs[i] = ev(MT_EV_MUNMAP, p, (1 + (r >> 8) % 2) * PAGE, 0);
        } else { /* move a region */
            uint64_t from = regions + (r % (REGION_PAGES - 4)) * PAGE;
            uint64_t to = regions + ((r >> 12) % (REGION_PAGES - 4)) * PAGE;
            evs[i] = ev(MT_EV_MREMAP, to, (1 + (r >> 24) % 4) * PAGE, from);
        }
    }
    /* Drains of uneven length, each at its own time, within the first
     * FIRST_DELAY_NS (nothing is due before the last tick); one in eight is
     * redone, as after the map grew. */
    size_t at = 0, drains = 0;
    while (at < EVENTS) {
        size_t len = 1 + rnd(&seed) % 3000;
        if (len > EVENTS - at)
            len = EVENTS - at;
        int times = rnd(&seed) % 8 == 0 ? 2 : 1;
        fake_now = drains * MS;
        for (int t = 0; t < times; t++) {
            mt__placement_observe(&evs[at], len, fake_now);
            for (size_t i = 0; i < len; i++)
                ref_observe(&evs[at + i]);
        }
        const mt_event_t *out;
        cr_assert_eq(mt__placement_poll(fake_now, 0, &out), 0, "nothing is due at %llu ms",
                     (unsigned long long)(fake_now / MS));
        mt__placement_done();
        at += len;
        drains++;
    }
    cr_assert_lt(drains, 190);
    cr_assert_gt(ref.n, 500, "a test of a few objects only: %zu", ref.n);

    const mt_event_t *out;
    fake_now = 199 * MS;
    size_t n = mt__placement_poll(fake_now, 1, &out);
    cr_assert_eq(n, ref.n, "final tick: %zu objects reported, %zu live", n, ref.n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(out[i].type, MT_EV_PLACEMENT);
        cr_assert_eq(out[i].ptr, ref.key[i] & ~(uint64_t)MT_OBJ_REGION,
                     "object %zu of %zu: %#llx, want %#llx", i, n,
                     (unsigned long long)out[i].ptr, (unsigned long long)ref.key[i]);
        cr_assert_eq(out[i].size, ref.size[i], "object %#llx: %llu bytes, want %llu",
                     (unsigned long long)out[i].ptr, (unsigned long long)out[i].size,
                     (unsigned long long)ref.size[i]);
        cr_assert_eq(out[i].node, MT_NODE_UNTOUCHED);
        cr_assert_eq(out[i].ts, 199 * MS);
    }
    mt__placement_done();
}

Test(placement, final_tick_reports_exactly_the_live_objects_in_order)
{
    check_random(true, 0x9E3779B97F4A7C15ull);
}

/* No region at all: every ALLOC and FREE takes the writer's heap-only path
 * (observe_heap), which must apply the same rules: a block allocated again
 * without its free, with the same size (left as it was) or not (a new
 * object), 0-byte blocks, frees of addresses never seen, redone drains. */
Test(placement, heap_events_alone_leave_exactly_the_live_blocks_in_order)
{
    check_random(false, 0x2545F4914F6CDD1Dull);
}

/* A block freed and allocated again at its address is a new object: first
 * asked FIRST_DELAY_NS (200 ms) after the second ALLOC; one allocated again
 * without a free keeps its time if its size is the same. */
Test(placement, a_new_object_at_a_reused_address_waits_its_own_delay)
{
    mt__placement_reset();
    uint64_t base = arena(4 * PAGE), a = base + 64, b = base + PAGE + 64, c = base + 2 * PAGE;
    const mt_event_t *out;

    mt_event_t first[] = {ev(MT_EV_ALLOC, a, 100, 0), ev(MT_EV_ALLOC, b, 100, 0),
                          ev(MT_EV_ALLOC, c, 100, 0)};
    mt__placement_observe(first, 3, 0);
    cr_assert_eq(mt__placement_poll(0, 0, &out), 0);
    mt__placement_done();

    mt_event_t second[] = {ev(MT_EV_FREE, a, 0, 0), ev(MT_EV_ALLOC, a, 100, 0),
                           ev(MT_EV_ALLOC, b, 100, 0), ev(MT_EV_ALLOC, c, 200, 0)};
    mt__placement_observe(second, 4, 150 * MS);
    cr_assert_eq(mt__placement_poll(150 * MS, 0, &out), 0);
    mt__placement_done();

    /* 250 ms: only b is due (200 ms); a and c began again at 150 ms. */
    fake_now = 250 * MS;
    size_t n = mt__placement_poll(250 * MS, 0, &out);
    cr_assert_eq(n, 1, "250 ms: %zu objects asked, want b alone", n);
    cr_assert_eq(out[0].ptr, b);
    cr_assert_eq(out[0].size, 100);
    mt__placement_done();

    /* 360 ms: a, then c (in the order they began), with c's new size. */
    n = mt__placement_poll(360 * MS, 0, &out);
    cr_assert_eq(n, 2, "360 ms: %zu objects asked, want a and c", n);
    cr_assert_eq(out[0].ptr, a);
    cr_assert_eq(out[0].size, 100);
    cr_assert_eq(out[1].ptr, c);
    cr_assert_eq(out[1].size, 200);
    mt__placement_done();

    /* The last tick: every object was asked already. */
    cr_assert_eq(mt__placement_poll(400 * MS, 1, &out), 0);
    mt__placement_done();

    /* Freed, then allocated again in the same drain as the last tick: asked. */
    mt_event_t last[] = {ev(MT_EV_FREE, a, 0, 0), ev(MT_EV_FREE, b, 0, 0),
                         ev(MT_EV_ALLOC, b, 300, 0)};
    mt__placement_observe(last, 3, 500 * MS);
    n = mt__placement_poll(500 * MS, 1, &out);
    cr_assert_eq(n, 1, "last tick: %zu objects asked, want b", n);
    cr_assert_eq(out[0].ptr, b);
    cr_assert_eq(out[0].size, 300);
    mt__placement_done();
}

/* The answers of one poll at NOW: exactly the objects base + k * 256 for
 * each k < K with WANT(k) true, in the order of k. */
static void expect_poll(uint64_t now, uint64_t base, int k_max, bool (*want)(int))
{
    const mt_event_t *out;
    fake_now = now;
    size_t n = mt__placement_poll(now, 0, &out), i = 0;
    for (int k = 0; k < k_max; k++) {
        if (!want(k))
            continue;
        cr_assert_lt(i, n, "%llu ms: %zu answers, object %d missing",
                     (unsigned long long)(now / MS), n, k);
        cr_assert_eq(out[i].ptr, base + (uint64_t)k * 256, "%llu ms: answer %zu is %#llx, want object %d",
                     (unsigned long long)(now / MS), i, (unsigned long long)out[i].ptr, k);
        cr_assert_eq(out[i].size, 100);
        i++;
    }
    cr_assert_eq(n, i, "%llu ms: %zu answers, want %zu", (unsigned long long)(now / MS), n, i);
    mt__placement_done();
}

static bool every(int k)
{
    (void)k;
    return true;
}
static bool none(int k)
{
    (void)k;
    return false;
}
static bool again(int k) /* allocated again 20 times at 300 ms */
{
    return k % 3 == 0;
}
static bool kept(int k) /* never freed */
{
    return k % 3 == 2;
}

/* Objects leave their query lists when freed and join them again when
 * allocated again, many times (the lists' queues fill with slots that left
 * and are squeezed): each object is asked once per due time, first answers
 * in the order the objects began, repeats in the order of the last answers,
 * without the freed ones. */
Test(placement, repeated_queries_keep_their_order_and_skip_freed_objects)
{
    enum { K = 3000, ROUNDS = 20 };
    mt__placement_reset();
    uint64_t base = arena(K * 256 + PAGE);
    static mt_event_t evs[2 * K];
    for (int k = 0; k < K; k++)
        evs[k] = ev(MT_EV_ALLOC, base + (uint64_t)k * 256, 100, 0);
    mt__placement_observe(evs, K, 0);
    expect_poll(0, base, K, none);
    expect_poll(200 * MS, base, K, every);
    for (int round = 0; round < ROUNDS; round++) {
        size_t n = 0;
        for (int k = 0; k < K; k++) {
            uint64_t p = base + (uint64_t)k * 256;
            if (k % 3 == 0 || (k % 3 == 1 && round == 0))
                evs[n++] = ev(MT_EV_FREE, p, 0, 0);
            if (k % 3 == 0)
                evs[n++] = ev(MT_EV_ALLOC, p, 100, 0);
        }
        mt__placement_observe(evs, n, 300 * MS);
    }
    expect_poll(400 * MS, base, K, none);
    expect_poll(500 * MS, base, K, again);        /* first answers, 200 ms after 300 ms */
    expect_poll(5200 * MS, base, K, kept);        /* repeats, 5 s after 200 ms */
    expect_poll(5300 * MS, base, K, none);
    expect_poll(5500 * MS, base, K, again);       /* repeats, 5 s after 500 ms */
    expect_poll(10200 * MS, base, K, kept);
}
