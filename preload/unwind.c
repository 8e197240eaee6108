/* unwind.c - stack capture: cached unwind rules and a per-thread shadow stack.
 *
 * For each return address the unwinder needs one rule: where the canonical
 * frame address (CFA) is (rsp or rbp plus an offset), where the caller's rbp
 * was saved, and that the return address sits at CFA - 8. The rule comes
 * from the function's .eh_frame FDE (found through libgcc's _Unwind_Find_FDE,
 * which uses glibc's lock-free _dl_find_object) and is cached per thread, so
 * a stack of known frames costs a few loads per frame. Frames whose CFI the
 * small interpreter in cfi.c does not model (signal frames, DWARF
 * expressions, realigned stacks) make the whole capture fall back to
 * libgcc's _Unwind_Backtrace, which handles everything.
 *
 * Each thread also keeps its last walks (the shadow stack), one for each of
 * up to 32 first frames outside mtrace. A capture whose first frame is a
 * kept walk's re-reads the words that walk read; when all still hold what
 * they held, the walk is the kept one, whole. Otherwise it steps frames
 * until one frame's state (pc, sp, and rbp when the rest of the walk uses
 * it) equals a kept frame's and the words from there outwards verify, and
 * takes the rest from the kept walk. UNWIND.md argues why that is exact
 * under exceptions, longjmp, signals, coroutines and fork, and gives the
 * measured costs.
 *
 * Why not libunwind: when its DWARF step fails it validates addresses by
 * writing to a pipe opened at init, and after a daemon has closed all fds and
 * reused those numbers, libunwind "re-opens" the pipe by closing the
 * program's own files. Frames inside libmtrace.so are cut from the top.
 */
#include <unwind.h>

#include "internal.h"

/* PCS is the caller's buffer, or for the general unwinder the thread's
 * scratch: a stack on the stack would take 1 KiB of it. */
typedef struct capture {
    uint64_t *pcs;
    uint32_t n, max;
} capture_t;

static void keep(capture_t *c, uintptr_t pc)
{
    if (c->n == 0 && pc >= mt__self_lo && pc < mt__self_hi)
        return; /* still inside mtrace */
    c->pcs[c->n++] = pc;
}

static _Unwind_Reason_Code collect(struct _Unwind_Context *ctx, void *arg)
{
    capture_t *c = arg;
    uintptr_t pc = (uintptr_t)_Unwind_GetIP(ctx);
    if (pc == 0)
        return _URC_END_OF_STACK;
    keep(c, pc);
    return c->n < c->max ? _URC_NO_REASON : _URC_END_OF_STACK;
}

static void capture_slow(capture_t *c)
{
    c->n = 0;
    _Unwind_Backtrace(collect, c);
}

uint32_t mt__unwind_slow(uint64_t *pcs, uint32_t max)
{
    capture_t c = {pcs, 0, max < MT_MAX_FRAMES ? max : MT_MAX_FRAMES};
    capture_slow(&c);
    return c.n;
}

/* One frame of a walk. SP and FP are rsp and rbp while the frame runs (SP
 * is the CFA of the frame inside it); PC its return address. */
typedef struct frame {
    uint64_t pc, sp, fp;
    uint64_t h;      /* the stack hash of this frame and all outside it */
    int32_t rbp_off; /* F_SAVED: the caller's rbp is at CFA + rbp_off */
    uint32_t flags;
} frame_t;

enum {
    F_SAVED = 1,   /* the step restores rbp from memory */
    F_RBPCFA = 2,  /* the step computes the CFA from rbp */
    F_NEEDFP = 4,  /* the walk from this frame outwards depends on its rbp */
    F_CHECKFP = 8, /* reusing this frame's step re-reads the saved-rbp word */
};

#define SHADOW_MAX (MT_MAX_FRAMES + 32) /* frames a shadow holds */
#define LEAD_MAX 32                       /* mtrace's own frames stepped before giving up */
#define SLOT_BITS 5                       /* walks kept: 2^SLOT_BITS, in pairs */
#define SLOTS (1u << SLOT_BITS)

/* A walk from the first frame outside mtrace, innermost first, followed by
 * a frame whose sp is the highest address (the end mark of a scan). */
typedef struct walk {
    uint32_t n;        /* frames; 0: none */
    uint32_t complete; /* the last frame ended the walk (END rule, or a zero return address) */
    uint64_t end_slot; /* complete by a zero return address read here; 0: by an END rule */
    uint64_t hash;     /* the stack hash of all N frames */
    uint32_t id;       /* their stack id once known (0: not yet), in stack table EPOCH */
    uint32_t epoch;
    frame_t f[SHADOW_MAX + 1];
} walk_t;

/* The thread's scratch, after its rule cache (thread.c sizes the region):
 * its last walks, one per slot, the pair of slots chosen by the first
 * frame's pc and sp, so that the stacks of a few dozen allocation sites are
 * each found whole; a capture builds its walk in the spare buffer. */
typedef struct shadow {
    uint32_t busy;   /* a capture is running (a nested one leaves the shadow alone) */
    uint32_t walked; /* the last capture: frames stepped with rules (mtrace's not counted) */
    uint32_t reused; /* the last capture: frames taken from a kept walk */
    uint8_t slot[SLOTS]; /* slot -> buffer */
    uint8_t recent[SLOTS / 2]; /* the slot of each pair used last (0 or 1) */
    walk_t *result;      /* the walk the last result came from */
    uint8_t spare;       /* the buffer no slot uses */
    uint8_t last;        /* the slot of the last capture */
    uint8_t ready;       /* slot[] and spare are set */
    uint32_t code_epoch; /* code_epoch when the rules and walks were last forgotten */
    walk_t buf[SLOTS + 1];
    uint64_t pcs[MT_MAX_FRAMES]; /* a capture's frames, innermost first */
} shadow_t;

size_t mt__unwind_scratch_size(void)
{
    return (sizeof(shadow_t) + MT__CACHE_LINE - 1) & ~(size_t)(MT__CACHE_LINE - 1);
}

/* Bumped by mt__unwind_code_changed: code may have been unmapped, and other
 * code mapped where it was, with other rules for the same addresses. */
static uint32_t code_epoch;

/* The thread's scratch. The region starts zero-filled: slot k then gets
 * buffer k, the spare is the last. After code was unmapped, the rules and
 * the walks are forgotten (a rule slot keyed 0 matches no pc). */
static shadow_t *shadow_of(mt__cfi_rule_t *cache)
{
    shadow_t *s = (shadow_t *)(cache + (1u << MT__CFI_CACHE_BITS));
    if (mt__unlikely(!s->ready)) {
        for (uint32_t k = 0; k < SLOTS; k++)
            s->slot[k] = (uint8_t)k;
        s->spare = SLOTS;
        s->ready = 1;
    }
    uint32_t epoch = __atomic_load_n(&code_epoch, __ATOMIC_ACQUIRE);
    if (mt__unlikely(s->code_epoch != epoch)) {
        for (uint32_t k = 0; k < (1u << MT__CFI_CACHE_BITS); k++)
            cache[k].pc = 0;
        for (uint32_t k = 0; k <= SLOTS; k++)
            s->buf[k].n = 0;
        s->code_epoch = epoch;
    }
    return s;
}

/* The frames a capture yields, innermost first, and their stack hash. */
typedef struct result {
    const frame_t *frames;
    uint32_t n;
    uint64_t hash;
} result_t;

#if defined(__x86_64__)

/* The entry points take the state of their caller's frame as it will be
 * after they return, and jump to the C function: its own frame and the
 * entry's are never walked. PC: the return address; SP: rsp after the
 * return; FP: rbp (the callee-saved register is the caller's here). */
#if defined(__CET__) && (__CET__ & 1)
#define MT__UNWIND_ENDBR "\tendbr64\n" /* built for indirect branch tracking */
#else
#define MT__UNWIND_ENDBR ""
#endif
#define MT__UNWIND_ENTRY(name, shuffle)                                                \
    __asm__(".text\n.p2align 4\n.globl " #name "\n.hidden " #name "\n.type " #name    \
            ", @function\n" #name ":\n" MT__UNWIND_ENDBR shuffle "\tmov (%rsp), %rdi\n"  \
            "\tlea 8(%rsp), %rsi\n\tmov %rbp, %rdx\n\tjmp " #name "_at\n.size " #name     \
            ", .-" #name "\n")
MT__UNWIND_ENTRY(mt__unwind_stack, "");
MT__UNWIND_ENTRY(mt__unwind_cached, "\tmov %rdi, %rcx\n\tmov %esi, %r8d\n");
uint32_t mt__unwind_stack_at(uintptr_t pc, uintptr_t sp, uintptr_t fp)
    __attribute__((used, visibility("hidden")));
int mt__unwind_cached_at(uintptr_t pc, uintptr_t sp, uintptr_t fp, uint64_t *pcs, uint32_t max)
    __attribute__((used, visibility("hidden")));

#define CACHE_BITS MT__CFI_CACHE_BITS
/* The rule for the frame executing at PC (LOOKUP is PC, or PC - 1 for a
 * return address, which may be the last byte of a noreturn call's function). */
static inline const mt__cfi_rule_t *rule_for(mt__cfi_rule_t *cache, uintptr_t pc,
                                             uintptr_t lookup)
{
    mt__cfi_rule_t *slot = &cache[(pc * 0x9E3779B97F4A7C15ull) >> (64 - CACHE_BITS)];
    if (mt__unlikely(slot->pc != pc)) {
        mt__cfi_find(lookup, slot);
        slot->pc = pc;
    }
    return slot;
}

/* Walks rsp/rbp/rip frame by frame with cached rules, without the shadow
 * (the reference the shadow is tested against). Returns 0, or -1 when a
 * frame needs the full unwinder. */
static __attribute__((noinline)) int capture_fast(capture_t *c)
{
    mt__cfi_rule_t *cache = mt__tls_cfi_cache;
    if (!cache)
        return -1;
    uintptr_t pc, sp, fp;
    __asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
                     : "=r"(pc), "=r"(sp), "=r"(fp));
    c->n = 0;
    for (int frame = 0; frame < MT_MAX_FRAMES + 16; frame++) {
        keep(c, pc);
        if (c->n >= c->max)
            return 0;
        const mt__cfi_rule_t *r = rule_for(cache, pc, frame ? pc - 1 : pc);
        if (r->kind == MT__CFI_END)
            return 0;
        if (r->kind != MT__CFI_OK)
            return -1;
        uintptr_t cfa = (r->cfa_reg == MT__CFI_RBP ? fp : sp) + (intptr_t)r->cfa_offset;
        if (cfa <= sp)
            return -1; /* the stack must grow towards the caller */
        uintptr_t ra = *(const uintptr_t *)(cfa - 8);
        if (r->rbp_offset)
            fp = *(const uintptr_t *)(cfa + r->rbp_offset);
        sp = cfa;
        if (ra == 0)
            return 0;
        pc = ra;
    }
    return 0;
}

/* Re-reads, from frame J of walk W outwards, every word the walk read when
 * it stepped from there: the return address at each CFA - 8, the saved rbp
 * where the rest of the walk uses it, the final zero return address. These
 * are the reads a walk from J's state would make now, in its order, so none
 * reaches memory a fresh walk would not. Returns -1 when all hold their
 * values, else the frame whose step read a changed word. */
static int walk_verify(const walk_t *w, uint32_t j)
{
    const frame_t *f = w->f, *o = f + j + 1, *end = f + w->n;
    for (; o < end; o++) {
        if (*(const uint64_t *)(o->sp - 8) != o->pc ||
            ((o[-1].flags & F_CHECKFP) &&
             *(const uint64_t *)(o->sp + (intptr_t)o[-1].rbp_off) != o->fp))
            return (int)(o - f) - 1;
    }
    if (w->end_slot && *(const uint64_t *)w->end_slot != 0)
        return (int)w->n - 1;
    return -1;
}

/* The first MAX frames of walk W as the result, with their hash. */
static void walk_result(const walk_t *w, uint32_t max, result_t *res)
{
    const frame_t *f = w->f;
    res->frames = f;
    if (w->n <= max) {
        res->n = w->n;
        res->hash = w->hash;
        return;
    }
    uint64_t h = MT__STACK_HASH_SEED;
    for (uint32_t k = max; k-- > 0;)
        h = mt__stack_hash_step(h, f[k].pc);
    res->n = max;
    res->hash = mt__stack_hash_final(h, max);
}

/* Completes walk W of N frames whose first FIX are new (the rest, if any,
 * copied from a verified walk): their flags and hashes, from the outside in. */
static void walk_link(walk_t *w, uint32_t fix, uint32_t n)
{
    frame_t *f = w->f;
    uint32_t outer_flags = fix < n ? f[fix].flags : 0;
    uint64_t h = fix < n ? f[fix].h : MT__STACK_HASH_SEED;
    for (uint32_t k = fix; k-- > 0;) {
        uint32_t fl = f[k].flags;
        if (outer_flags & F_NEEDFP)
            fl |= fl & F_SAVED ? F_CHECKFP : F_NEEDFP;
        if (fl & F_RBPCFA)
            fl |= F_NEEDFP;
        f[k].flags = outer_flags = fl;
        f[k].h = h = mt__stack_hash_step(h, f[k].pc);
    }
    f[n].sp = UINTPTR_MAX;
    w->n = n;
    w->hash = n ? mt__stack_hash_final(f[0].h, n) : 0;
    w->id = 0;
}

static const frame_t no_frames = {.sp = UINTPTR_MAX};

/* The capture from the frame executing at the return address PC (SP, FP):
 * steps mtrace's own frames; takes a kept walk whole when it starts at the
 * same frame and verifies; else steps frames until one matches a frame of
 * the kept walk for that start (or the last one) and its rest verifies, or
 * the walk ends, and keeps the new walk. Returns 0, or -1 when a frame
 * needs the general unwinder (nothing kept changes). */
static inline __attribute__((always_inline)) int
capture_shadow(mt__cfi_rule_t *cache, shadow_t *s, uint32_t max, result_t *res, uintptr_t pc,
               uintptr_t sp, uintptr_t fp)
{
    const mt__cfi_rule_t *r;
    uintptr_t cfa, ra;
    const uintptr_t self_lo = mt__self_lo, self_len = mt__self_hi - mt__self_lo;
    for (uint32_t lead = 0; pc - self_lo < self_len; lead++) {
        r = rule_for(cache, pc, pc - 1);
        if (mt__unlikely(r->kind != MT__CFI_OK || lead == LEAD_MAX)) {
            res->n = 0; /* a walk that ends inside mtrace has no frames */
            return r->kind == MT__CFI_END ? 0 : -1;
        }
        cfa = (r->cfa_reg == MT__CFI_RBP ? fp : sp) + (intptr_t)r->cfa_offset;
        if (mt__unlikely(cfa <= sp))
            return -1;
        ra = *(const uintptr_t *)(cfa - 8);
        if (r->rbp_offset)
            fp = *(const uintptr_t *)(cfa + r->rbp_offset);
        sp = cfa;
        if (mt__unlikely(ra == 0)) {
            res->n = 0;
            return 0;
        }
        pc = ra;
    }
    /* Two slots per start frame hash; the one whose walk starts here. */
    uint32_t key = (uint32_t)(((pc ^ sp) * 0x9E3779B97F4A7C15ull) >> (64 - SLOT_BITS)) & ~1u;
    const walk_t *old = &s->buf[s->slot[key]];
    if (old->f[0].sp != sp || old->f[0].pc != pc) {
        const walk_t *other = &s->buf[s->slot[key | 1]];
        if (other->f[0].sp == sp && other->f[0].pc == pc)
            old = other, key |= 1;
        else /* else the pair's slot used less recently takes the new walk */
            key |= s->recent[key / 2] ^ 1;
    }
    s->recent[key / 2] = (uint8_t)(key & 1);
    if (old->n && old->f[0].sp == sp && old->f[0].pc == pc &&
        (old->f[0].fp == fp || !(old->f[0].flags & F_NEEDFP)) &&
        (old->complete || old->n >= max) && walk_verify(old, 0) < 0) {
        s->walked = 0; /* the same stack as this site's last one */
        s->reused = old->n;
        s->last = (uint8_t)key;
        s->result = (walk_t *)old;
        walk_result(old, max, res);
        return 0;
    }
    if (!old->n || old->f[0].sp != sp || old->f[0].pc != pc)
        old = &s->buf[s->slot[s->last]];
    walk_t *w = &s->buf[s->spare];
    frame_t *f = w->f;
    const frame_t *of = old->n ? old->f : &no_frames;
    uint32_t n_old = old->n, j = 0, i = 0, n = 0;
    for (;;) {
        while (of[j].sp < sp) /* the end mark stops it */
            j++;
        if (of[j].sp == sp && of[j].pc == pc && (of[j].fp == fp || !(of[j].flags & F_NEEDFP))) {
            n = i + n_old - j;
            if (n <= SHADOW_MAX && (old->complete || n >= max)) {
                int bad = walk_verify(old, j);
                if (bad < 0) {
                    __builtin_memcpy(f + i, of + j, (n_old - j) * sizeof *f);
                    w->complete = old->complete;
                    w->end_slot = old->end_slot;
                    break;
                }
                j = (uint32_t)bad + 1; /* a frame outside the changed word may match */
            }
            n = 0;
        }
        frame_t *fr = &f[i++];
        fr->pc = pc;
        fr->sp = sp;
        fr->fp = fp;
        fr->flags = 0;
        if (i >= max) {
            w->complete = 0; /* enough frames: cut here, as the general unwinder does */
            w->end_slot = 0;
            break;
        }
        r = rule_for(cache, pc, pc - 1);
        if (mt__unlikely(r->kind != MT__CFI_OK)) {
            if (r->kind != MT__CFI_END)
                return -1;
            w->complete = 1;
            w->end_slot = 0;
            break;
        }
        cfa = (r->cfa_reg == MT__CFI_RBP ? fp : sp) + (intptr_t)r->cfa_offset;
        if (mt__unlikely(cfa <= sp))
            return -1; /* the stack must grow towards the caller */
        ra = *(const uintptr_t *)(cfa - 8);
        fr->flags = r->cfa_reg == MT__CFI_RBP ? F_RBPCFA : 0;
        if (r->rbp_offset) {
            fr->flags |= F_SAVED;
            fr->rbp_off = r->rbp_offset;
            fp = *(const uintptr_t *)(cfa + r->rbp_offset);
        }
        sp = cfa;
        if (mt__unlikely(ra == 0)) {
            w->complete = 1;
            w->end_slot = cfa - 8;
            break;
        }
        pc = ra;
    }
    s->walked = i;
    s->reused = n ? n - i : 0;
    walk_link(w, i, n ? n : i);
    /* The new walk takes the slot of its first frame; the walk it replaces
     * is the next spare. */
    uint8_t freed = s->slot[key];
    s->slot[key] = s->spare;
    s->spare = freed;
    s->last = (uint8_t)key;
    s->result = w;
    walk_result(w, max, res);
    return 0;
}

#else

static int capture_fast(capture_t *c)
{
    (void)c;
    return -1;
}

static int capture_shadow(mt__cfi_rule_t *cache, shadow_t *s, uint32_t max, result_t *res,
                          uintptr_t pc, uintptr_t sp, uintptr_t fp)
{
    (void)cache, (void)s, (void)max, (void)res, (void)pc, (void)sp, (void)fp;
    return -1;
}

uint32_t mt__unwind_stack_at(uintptr_t pc, uintptr_t sp, uintptr_t fp);
int mt__unwind_cached_at(uintptr_t pc, uintptr_t sp, uintptr_t fp, uint64_t *pcs, uint32_t max);

uint32_t mt__unwind_stack(void)
{
    return mt__unwind_stack_at(0, 0, 0);
}

int mt__unwind_cached(uint64_t *pcs, uint32_t max)
{
    return mt__unwind_cached_at(0, 0, 0, pcs, max);
}

#endif

int mt__unwind_fast(uint64_t *pcs, uint32_t max)
{
    if (mt__tls_cfi_cache)
        shadow_of(mt__tls_cfi_cache); /* forgets rules of code that may be gone */
    capture_t c = {pcs, 0, max < MT_MAX_FRAMES ? max : MT_MAX_FRAMES};
    return capture_fast(&c) < 0 ? -1 : (int)c.n;
}

/* The shadow and the scratch buffers are the thread's: a capture inside a
 * capture (a signal handler's, which the recursion guard already prevents
 * for the hooks) must not touch them. */
static int enter(shadow_t *s)
{
    if (s->busy)
        return 0;
    s->busy = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    return 1;
}

static void leave(shadow_t *s)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    s->busy = 0;
}

int mt__unwind_cached_at(uintptr_t pc, uintptr_t sp, uintptr_t fp, uint64_t *pcs, uint32_t max)
{
    mt__cfi_rule_t *cache = mt__tls_cfi_cache;
    max = max < MT_MAX_FRAMES ? max : MT_MAX_FRAMES;
    if (!cache || max == 0 || !enter(shadow_of(cache)))
        return -1;
    shadow_t *s = shadow_of(cache);
    result_t res;
    int rc = capture_shadow(cache, s, max, &res, pc, sp, fp);
    for (uint32_t k = 0; rc == 0 && k < res.n; k++)
        pcs[k] = res.frames[k].pc;
    leave(s);
    return rc < 0 ? -1 : (int)res.n;
}

void mt__unwind_cached_stats(uint32_t *walked, uint32_t *reused)
{
    const shadow_t *s = shadow_of(mt__tls_cfi_cache);
    *walked = s->walked;
    *reused = s->reused;
}

/* The id of a result not seen whole before: from the table, interned when new. */
static __attribute__((noinline)) uint32_t result_id(shadow_t *s, const result_t *res, int whole,
                                                   uint32_t epoch)
{
    uint32_t id = mt__stack_lookup(res->hash);
    if (!id) {
        for (uint32_t k = 0; k < res->n; k++)
            s->pcs[k] = res->frames[k].pc;
        id = mt__stack_intern_hashed(res->hash, s->pcs, res->n);
    }
    if (whole) {
        s->result->id = id;
        s->result->epoch = epoch;
    }
    return id;
}

static __attribute__((noinline, cold)) uint32_t slow_id(shadow_t *s, uint32_t max)
{
    capture_t c = {s->pcs, 0, max};
    capture_slow(&c);
    return c.n ? mt__stack_intern(c.pcs, c.n) : 0;
}

uint32_t mt__unwind_stack_at(uintptr_t pc, uintptr_t sp, uintptr_t fp)
{
    mt__cfi_rule_t *cache = mt__tls_cfi_cache;
    if (!cache)
        return 0; /* past the thread's exit destructor */
    shadow_t *s = shadow_of(cache);
    if (!enter(s))
        return 0; /* no stack for a capture inside a capture */
    uint32_t max = (uint32_t)mt__opt.depth, id = 0;
    result_t res;
    if (capture_shadow(cache, s, max, &res, pc, sp, fp) == 0) {
        /* A walk's id holds for all of its frames, until the table starts
         * over (a fork child's trace). */
        uint32_t epoch = __atomic_load_n(&mt__stacks_epoch, __ATOMIC_RELAXED);
        if (res.n) {
            const walk_t *w = s->result;
            int whole = res.n == w->n;
            id = whole && w->id && w->epoch == epoch ? w->id : result_id(s, &res, whole, epoch);
        }
    } else {
        id = slow_id(s, max);
    }
    leave(s);
    return id;
}

void mt__unwind_code_changed(void)
{
    __atomic_add_fetch(&code_epoch, 1, __ATOMIC_RELEASE);
}

void mt__unwind_warm(void)
{
    uint64_t pc;
    mt__cfi_rule_t rule;
    mt__cfi_find((uintptr_t)&mt__unwind_warm, &rule);
    mt__unwind_slow(&pc, 1);
}
