/* placement.c - which NUMA node the pages of live sampled allocations and of
 * recorded mmap regions are on, asked by the writer thread, never in a hook.
 *
 * The writer shows every event it drains to mt__placement_observe, which
 * keeps a writer-private table: live sampled allocations (ALLOC/FREE) and
 * mmap regions (MMAP/MUNMAP/MREMAP). Each tick mt__placement_poll asks the
 * kernel where the pages of the objects that are due are, with one batched
 * move_pages(0, n, pages, NULL, status, 0), made as a raw system call (the
 * shim's own move_pages symbol would record it as the program's):
 *   - once FIRST_DELAY_NS after the object was first seen: a page's node is
 *     fixed when it is first touched, so one early answer says where it landed;
 *   - again every REQUERY_NS, so that migrations show;
 *   - in the last tick, every object not asked yet, without the delay, so
 *     that short programs get answers too.
 * Cost bound: an object spanning more than OBJECT_PAGES pages is sampled at
 * OBJECT_PAGES evenly spaced pages, each standing for an equal share of its
 * bytes; at most TICK_PAGES pages are asked per tick (FINAL_PAGES in the last
 * one); what does not fit waits for the next tick, first answers before
 * repeats. docs/NUMA.md states the measured cost.
 * Each answer becomes PLACEMENT events, one per (object, node), stamped with
 * the time of the query: size = bytes those pages stand for, node = the
 * page's node, MT_NODE_UNTOUCHED for pages not faulted in yet (-ENOENT),
 * MT_NODE_UNKNOWN for other per-page errors. Pages that are no longer mapped
 * (-EFAULT: unmapped behind our back, or a freed large block) are left out;
 * an object none of whose pages is mapped is dropped.
 * Which objects the events start and end (a heap block at a region's start
 * is the region, munmap of a region's head trims it, mremap moves it) is
 * format/objects.h's, shared with the analyzer. The writer shows it every
 * event (MTRACE_SAMPLE=all: millions a second), so an ALLOC or FREE costs
 * one probe of the heap table and, when the address was used before, no
 * change to it (DEAD entries below); tests/preload/test-placement.c checks
 * the table against the rules applied plainly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "internal.h"

#define FIRST_DELAY_NS 200000000ull /* first query: 200 ms after first sight */
#define REQUERY_NS 5000000000ull    /* then every 5 s */
#define TICK_PAGES 4096             /* pages asked per tick, at most */
#define FINAL_PAGES 16384           /* in the last tick */
#define OBJECT_PAGES 512            /* sampled pages per object, at most */
#define MAX_OBJECTS (1u << 20)      /* tracked objects; more are not asked about */
#define MAX_AGG (MT_TOPOLOGY_MAX_NODES + 2)

#define NIL UINT32_MAX

enum { LIST_FIRST, LIST_AGAIN, NLISTS, DEAD = NLISTS };

/* Most allocators hand a freed address out again soon (glibc: 9 allocations
 * in 10 on bench_alloc reuse one), so a heap block that ends keeps its table
 * entry, marked DEAD, and the next block at its address takes it over
 * without touching the table. Dead entries are purged (purge) when there
 * are too many. */
#define DEAD_SLACK 1024

/* An entry: what a query needs, and apart from it (in a small array that
 * stays in the cache) what every ALLOC and FREE touches. */
typedef struct obj {
    uint64_t key;  /* address | MT_OBJ_REGION; 0 = unused entry */
    uint64_t size; /* bytes */
    uint64_t due;  /* next query, trace clock */
} obj_t;
typedef struct link {
    uint32_t prev, next; /* in its list, or next on the free list */
    uint8_t list;        /* LIST_*, or DEAD: ended, in the table but not live */
} link_t;

/* The poller's process state, in one struct so that a fork child starts
 * from POLLER_FRESH in one statement (mt__placement_reset). */
typedef struct poller {
    obj_t *objs;          /* entries, linked into lists or the free list */
    link_t *links;        /* ... by links[] */
    size_t objs_cap, links_cap, objs_used;
    uint32_t free_head;
    size_t nlive, ndead;  /* entries in the tables, live and DEAD */
    mt_table_t heap;      /* heap block address -> entry */
    mt_table_t regions;   /* region address | MT_OBJ_REGION -> entry; apart, so that the
                           * region check of every ALLOC is free in a program with none */
    struct {              /* the last lookup: the insertion that follows it uses
                           * its answer instead of probing again */
        const mt_table_t *table; /* NULL: none, or the table changed since */
        uint64_t key;
        size_t slot;      /* KEY's entry (FOUND), or where it would go */
        bool found;
    } last;
    struct {
        uint32_t head, tail;
    } lists[NLISTS];
    size_t nevents;       /* answers of the open tick in events[] */
    int held;             /* ... kept until mt__placement_done (a redone tick) */
    /* Cost, for MTRACE_VERBOSE and docs/NUMA.md. */
    uint64_t stat_ticks, stat_pages, stat_ns, stat_max_ns, stat_skipped;
} poller_t;
#define POLLER_FRESH {.free_head = NIL, .lists = {{NIL, NIL}, {NIL, NIL}}}
static poller_t P = POLLER_FRESH;

/* Facts of the process that a fork child keeps. */
static int disabled;          /* move_pages unusable: placement is off */
static uint64_t page_size;

/* Scratch of one tick (events[] holds its answers until mt__placement_done,
 * so that a tick redone after the map grew writes them again). */
static mt_event_t events[FINAL_PAGES];
static void *pages[FINAL_PAGES];
static int status[FINAL_PAGES];
static uint64_t bytes_of[FINAL_PAGES];

/* ---- the table ------------------------------------------------------------ */

/* Heap blocks: an ALLOC ends a live block at its address before it begins
 * one, so a key is in the heap table once, and may stay there DEAD, with
 * the last probe remembered. Regions: a trimmed or moved region may begin
 * where another still is (MAP_FIXED over part of it), so a key can be in
 * the region table twice; those entries come and go as they always did
 * (plain lookups find the oldest one), and are few. */

static mt_table_t *table_of(uint64_t key)
{
    return key & MT_OBJ_REGION ? &P.regions : &P.heap;
}

static void forget_last(void)
{
    P.last.table = NULL;
}

/* Probes the heap table for KEY (remembered in P.last); its entry, live or
 * DEAD, or NIL. */
static uint32_t probe(uint64_t key)
{
    P.last.table = &P.heap;
    P.last.key = key;
    P.last.found = mt_table_probe(&P.heap, key, &P.last.slot);
    return P.last.found ? mt_table_at(&P.heap, P.last.slot) : NIL;
}

/* Whether P.last is a probe for heap KEY (the table unchanged since). */
static bool probed(uint64_t key)
{
    return P.last.table == &P.heap && P.last.key == key;
}

/* The live entry of KEY (the oldest, for a region), or NIL. */
static inline __attribute__((always_inline)) uint32_t find(uint64_t key)
{
    mt_table_t *t = table_of(key);
    if (!t->n)
        return NIL; /* no probe: most programs have no region at all */
    if (t == &P.regions)
        return mt_table_get(t, key);
    uint32_t idx = !probed(key) ? probe(key) : P.last.found ? mt_table_at(t, P.last.slot) : NIL;
    return idx != NIL && P.links[idx].list != DEAD ? idx : NIL;
}

static inline __attribute__((always_inline)) void unlink_obj(uint32_t idx)
{
    link_t *o = &P.links[idx];
    if (o->prev != NIL)
        P.links[o->prev].next = o->next;
    else
        P.lists[o->list].head = o->next;
    if (o->next != NIL)
        P.links[o->next].prev = o->prev;
    else
        P.lists[o->list].tail = o->prev;
}

static void append(uint32_t idx, int list)
{
    link_t *o = &P.links[idx];
    o->list = (uint8_t)list;
    o->next = NIL;
    o->prev = P.lists[list].tail;
    if (o->prev != NIL)
        P.links[o->prev].next = idx;
    else
        P.lists[list].head = idx;
    P.lists[list].tail = idx;
}

/* A new entry for KEY, DEAD (for a heap key not in the table, P.last is
 * its probe); or NIL when out of memory. */
static uint32_t new_entry(uint64_t key)
{
    uint32_t idx = P.free_head;
    if (idx == NIL) {
        if (mt_vec_reserve(NULL, &P.objs, &P.objs_cap, P.objs_used + 1, sizeof *P.objs) ||
            mt_vec_reserve(NULL, &P.links, &P.links_cap, P.objs_used + 1, sizeof *P.links))
            return NIL;
        idx = (uint32_t)P.objs_used;
    }
    mt_table_t *t = table_of(key);
    int rc = t == &P.heap ? mt_table_put_at(t, P.last.slot, key, idx) : mt_table_put(t, key, idx);
    forget_last();
    if (rc)
        return NIL;
    if (idx == P.free_head)
        P.free_head = P.links[idx].next;
    else
        P.objs_used++;
    P.objs[idx].key = key;
    P.links[idx].list = DEAD;
    P.ndead++;
    return idx;
}

/* Takes entry IDX out of its table and frees it. */
static void remove_obj(uint32_t idx)
{
    obj_t *o = &P.objs[idx];
    forget_last();
    mt_table_del(table_of(o->key), o->key, idx);
    if (P.links[idx].list == DEAD) {
        P.ndead--;
    } else {
        unlink_obj(idx);
        P.nlive--;
    }
    o->key = 0;
    P.links[idx].next = P.free_head;
    P.free_head = idx;
}

/* Starts the object KEY of SIZE bytes in entry IDX (DEAD), or in a new
 * entry when IDX is NIL (for a heap key, P.last is then its probe). */
static inline __attribute__((always_inline)) void begin(uint32_t idx, uint64_t key, uint64_t size,
                                                       uint64_t now)
{
    if (P.nlive >= MAX_OBJECTS) {
        P.stat_skipped++;
        return;
    }
    if (idx == NIL && (idx = new_entry(key)) == NIL)
        return;
    obj_t *o = &P.objs[idx];
    P.ndead--;
    P.nlive++;
    o->size = size;
    o->due = now + FIRST_DELAY_NS;
    append(idx, LIST_FIRST);
}

/* Starts the object KEY of SIZE bytes (no live heap block KEY), first asked
 * about at NOW + FIRST_DELAY_NS, after every other object not asked yet. */
static void add(uint64_t key, uint64_t size, uint64_t now)
{
    uint32_t idx = NIL;
    if (table_of(key) == &P.heap) { /* a DEAD entry of KEY is taken over */
        if (!probed(key))
            probe(key);
        if (P.last.found)
            idx = mt_table_at(&P.heap, P.last.slot);
    }
    begin(idx, key, size, now);
}

/* Ends the live heap block in entry IDX: the entry stays, DEAD. */
static inline __attribute__((always_inline)) void end_heap(uint32_t idx)
{
    unlink_obj(idx);
    P.links[idx].list = DEAD;
    P.nlive--;
    P.ndead++;
}

/* Ends the live object KEY (the oldest, for a region), if any. A heap
 * block's entry stays, DEAD, for the next block at its address. */
static void remove_key(uint64_t key)
{
    uint32_t idx = find(key);
    if (idx == NIL)
        return;
    if (key & MT_OBJ_REGION) {
        remove_obj(idx);
        return;
    }
    end_heap(idx);
}

/* Takes the DEAD entries out of the heap table when there are more than
 * DEAD_SLACK + half the live ones (a table at most about half full then
 * probes about once per lookup). */
static void purge(void)
{
    if (P.ndead <= DEAD_SLACK + P.nlive / 4)
        return;
    for (uint32_t idx = 0; idx < P.objs_used; idx++)
        if (P.objs[idx].key && P.links[idx].list == DEAD)
            remove_obj(idx);
}

/* ---- observing the drained events ----------------------------------------- */

/* (Inlined into the rules, where they only ask whether KEY is live, it does
 * not load the size.) */
static inline __attribute__((always_inline)) bool live(void *ctx, uint64_t key, uint64_t *size)
{
    (void)ctx;
    uint32_t idx = find(key);
    if (idx == NIL)
        return false;
    *size = P.objs[idx].size;
    return true;
}

/* Applies the object steps of E (format/objects.h has the rules).
 * Idempotent: a tick redone after the map grew shows the same events again,
 * so an object ended and begun again with the same key and size is left as
 * it was (its query times unchanged). A block of 0 bytes has no page to ask
 * about and is not tracked. */
static void observe(const mt_event_t *e, uint64_t now)
{
    mt_obj_step_t steps[MT_OBJ_MAX_STEPS];
    size_t n = mt_obj_steps(e, live, NULL, steps);
    for (size_t i = 0; i < n; i++) {
        const mt_obj_step_t *st = &steps[i];
        uint64_t size;
        if (st->op == MT_OBJ_END && i + 1 < n && steps[i + 1].op == MT_OBJ_BEGIN &&
            steps[i + 1].key == st->key && live(NULL, st->key, &size) &&
            steps[i + 1].size == size) {
            i++; /* seen before: the same object */
            continue;
        }
        if (st->op == MT_OBJ_END)
            remove_key(st->key);
        else if (st->size)
            add(st->key, st->size, now);
    }
}

/* The rules for an ALLOC or FREE of a heap address while no region is
 * tracked (every event of most programs), with the one probe written out:
 * what observe does for it, without the steps. Returns false for any other
 * event, which observe takes. */
static inline __attribute__((always_inline)) bool observe_heap(const mt_event_t *e, uint64_t now)
{
    if ((e->type != MT_EV_ALLOC && e->type != MT_EV_FREE) || P.regions.n)
        return false;
    uint64_t key = e->ptr;
    if (!key || (key & MT_OBJ_REGION))
        return true; /* no object */
    uint32_t idx = probe(key);
    bool live = idx != NIL && P.links[idx].list != DEAD;
    if (e->type == MT_EV_FREE) {
        if (live)
            end_heap(idx);
        return true;
    }
    if (live) {
        if (P.objs[idx].size == e->size)
            return true; /* seen before: the same object */
        end_heap(idx);
    }
    if (e->size)
        begin(idx, key, e->size, now);
    return true;
}

void mt__placement_observe(const mt_event_t *e, size_t n, uint64_t now)
{
    if (disabled)
        return;
    purge();
    for (size_t i = 0; i < n; i++)
        if (!observe_heap(&e[i], now))
            observe(&e[i], now);
}

/* ---- asking the kernel ---------------------------------------------------- */

typedef struct pick {
    uint32_t idx;
    uint32_t first, count; /* its pages in the batch */
} pick_t;

static pick_t picks[FINAL_PAGES];

/* Lays out the sampled pages of object O at pages[AT..]; returns how many. */
static uint32_t lay_out(const obj_t *o, uint32_t at)
{
    uint64_t ptr = o->key & ~(uint64_t)MT_OBJ_REGION, end = ptr + o->size;
    uint64_t first = ptr & ~(page_size - 1);
    uint64_t np = (end - 1 - first) / page_size + 1;
    uint32_t s = np < OBJECT_PAGES ? (uint32_t)np : OBJECT_PAGES;
    for (uint32_t k = 0; k < s; k++) {
        uint64_t page = first + (uint64_t)((unsigned __int128)k * np / s) * page_size;
        pages[at + k] = (void *)(uintptr_t)page;
        if (s == np) { /* every page: exactly the object's bytes on it */
            uint64_t lo = page > ptr ? page : ptr, hi = page + page_size < end ? page + page_size : end;
            bytes_of[at + k] = hi - lo;
        } else { /* a sample: an equal share, the shares summing to the size */
            bytes_of[at + k] = (uint64_t)((unsigned __int128)(k + 1) * o->size / s -
                                          (unsigned __int128)k * o->size / s);
        }
    }
    return s;
}

static uint32_t pages_needed(const obj_t *o)
{
    uint64_t ptr = o->key & ~(uint64_t)MT_OBJ_REGION;
    uint64_t first = ptr & ~(page_size - 1);
    uint64_t np = (ptr + o->size - 1 - first) / page_size + 1;
    return np < OBJECT_PAGES ? (uint32_t)np : OBJECT_PAGES;
}

/* Picks due objects of LIST while they fit in BUDGET pages. */
static void pick_from(int list, uint64_t now, int ignore_due, uint32_t budget, uint32_t *npages,
                      uint32_t *npicks)
{
    for (uint32_t idx = P.lists[list].head; idx != NIL; idx = P.links[idx].next) {
        const obj_t *o = &P.objs[idx];
        if (!ignore_due && o->due > now)
            break; /* the lists are in due order */
        uint32_t need = pages_needed(o);
        if (*npages + need > budget)
            break;
        picks[*npicks].idx = idx;
        picks[*npicks].first = *npages;
        picks[*npicks].count = lay_out(o, *npages);
        *npages += need;
        (*npicks)++;
    }
}

static void emit(uint64_t ts, uint64_t ptr, uint64_t bytes, int node)
{
    mt_event_t *e = &events[P.nevents++];
    memset(e, 0, sizeof *e);
    e->ts = ts;
    e->type = MT_EV_PLACEMENT;
    e->ptr = ptr;
    e->size = bytes;
    e->node = (int16_t)node;
}

/* Turns the answers for pick P into events and reschedules (or drops) it. */
static void settle(const pick_t *p, uint64_t ts)
{
    struct {
        int node;
        uint64_t bytes;
    } agg[MAX_AGG];
    int nagg = 0;
    uint32_t mapped = 0;
    for (uint32_t k = p->first; k < p->first + p->count; k++) {
        int st = status[k], node;
        if (st == -EFAULT)
            continue;
        mapped++;
        node = st >= 0 && st <= INT16_MAX ? st : st == -ENOENT ? MT_NODE_UNTOUCHED : MT_NODE_UNKNOWN;
        int a = 0;
        while (a < nagg && agg[a].node != node)
            a++;
        if (a == nagg && nagg == MAX_AGG - 1 && node != MT_NODE_UNKNOWN) {
            node = MT_NODE_UNKNOWN; /* the last slot is kept for "unknown" */
            for (a = 0; a < nagg && agg[a].node != node; a++)
                ;
        }
        if (a == nagg)
            agg[nagg++] = (typeof(agg[0])){node, 0};
        agg[a].bytes += bytes_of[k];
    }
    if (!mapped) { /* gone: unmapped, or a freed block whose memory went back */
        remove_obj(p->idx);
        return;
    }
    uint64_t ptr = P.objs[p->idx].key & ~(uint64_t)MT_OBJ_REGION;
    for (int a = 0; a < nagg; a++)
        emit(ts, ptr, agg[a].bytes, agg[a].node);
    unlink_obj(p->idx);
    P.objs[p->idx].due = ts + REQUERY_NS;
    append(p->idx, LIST_AGAIN);
}

static uint64_t clock_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* One batched query of the objects that are due; fills events[]. */
static void query(uint64_t now, int final)
{
    if (disabled || !P.nlive)
        return;
    if (!page_size)
        page_size = (uint64_t)sysconf(_SC_PAGESIZE);
    uint32_t npages = 0, npicks = 0, budget = final ? FINAL_PAGES : TICK_PAGES;
    pick_from(LIST_FIRST, now, final, budget, &npages, &npicks);
    if (!final)
        pick_from(LIST_AGAIN, now, 0, budget, &npages, &npicks);
    if (!npages)
        return;
    uint64_t ts = mt__now(), t0 = clock_ns();
    long rc = mt__sys_move_pages(0, (unsigned long)npages, pages, NULL, status, 0);
    uint64_t spent = clock_ns() - t0;
    if (rc < 0) {
        mt__warn_once(MT__WARN_NUMA, "move_pages cannot report page placement (%s); the trace "
                      "has no NUMA placement", strerror(errno));
        mt__placement_reset();
        disabled = 1;
        return;
    }
    P.stat_ticks++;
    P.stat_pages += npages;
    P.stat_ns += spent;
    if (spent > P.stat_max_ns)
        P.stat_max_ns = spent;
    for (uint32_t i = 0; i < npicks; i++)
        settle(&picks[i], ts);
}

size_t mt__placement_poll(uint64_t now, int final, const mt_event_t **out)
{
    *out = events;
    if (P.held)
        return P.nevents; /* the tick is being redone: the same answers */
    P.nevents = 0;
    query(now, final);
    P.held = 1;
    if (final && mt__opt.verbose)
        mt__say("placement: %llu pages asked in %llu ticks, %llu us in all, at most %llu us "
                "in one tick; %llu objects not tracked (table full)",
                (unsigned long long)P.stat_pages, (unsigned long long)P.stat_ticks,
                (unsigned long long)(P.stat_ns / 1000), (unsigned long long)(P.stat_max_ns / 1000),
                (unsigned long long)P.stat_skipped);
    return P.nevents;
}

void mt__placement_done(void)
{
    P.held = 0;
    P.nevents = 0;
}

void mt__placement_reset(void)
{
    free(P.objs);
    free(P.links);
    mt_table_free(&P.heap);
    mt_table_free(&P.regions);
    P = (poller_t)POLLER_FRESH;
}
