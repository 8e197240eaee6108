/* unwind.c - stack capture with a per-thread cache of unwind rules.
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
 * Why not libunwind: when its DWARF step fails it validates addresses by
 * writing to a pipe opened at init, and after a daemon has closed all fds and
 * reused those numbers, libunwind "re-opens" the pipe by closing the
 * program's own files. Frames inside libmtrace.so are cut from the top.
 */
#include <unwind.h>

#include "internal.h"

/* PCS is the caller's buffer, or for mt__unwind_stack the thread's region
 * (after its rule cache): a stack on the stack would take 1 KiB of it. */
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

#if defined(__x86_64__)

#define CACHE_BITS MT__CFI_CACHE_BITS
/* The rule for the frame executing at PC (LOOKUP is PC, or PC - 1 for a
 * return address, which may be the last byte of a noreturn call's function). */
static const mt__cfi_rule_t *rule_for(mt__cfi_rule_t *cache, uintptr_t pc, uintptr_t lookup)
{
    mt__cfi_rule_t *slot = &cache[(pc >> 2 ^ pc >> 14) & ((1u << CACHE_BITS) - 1)];
    if (slot->pc != pc) {
        mt__cfi_find(lookup, slot);
        slot->pc = pc;
    }
    return slot;
}

/* Walks rsp/rbp/rip frame by frame with cached rules. Returns 0, or -1 when
 * a frame needs the full unwinder. */
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
        if (r->rbp_saved)
            fp = *(const uintptr_t *)(cfa + (intptr_t)r->rbp_offset);
        sp = cfa;
        if (ra == 0)
            return 0;
        pc = ra;
    }
    return 0;
}

#else

static int capture_fast(capture_t *c)
{
    (void)c;
    return -1;
}

#endif

int mt__unwind_fast(uint64_t *pcs, uint32_t max)
{
    capture_t c = {pcs, 0, max < MT_MAX_FRAMES ? max : MT_MAX_FRAMES};
    return capture_fast(&c) < 0 ? -1 : (int)c.n;
}

uint32_t mt__unwind_stack(void)
{
    mt__cfi_rule_t *cache = mt__tls_cfi_cache;
    if (!cache)
        return 0; /* past the thread's exit destructor */
    capture_t c = {(uint64_t *)(cache + (1u << MT__CFI_CACHE_BITS)), 0, (uint32_t)mt__opt.depth};
    if (capture_fast(&c) < 0)
        capture_slow(&c);
    return c.n ? mt__stack_intern(c.pcs, c.n) : 0;
}

void mt__unwind_warm(void)
{
    uint64_t pc;
    mt__cfi_rule_t rule;
    mt__cfi_find((uintptr_t)&mt__unwind_warm, &rule);
    mt__unwind_slow(&pc, 1);
}
