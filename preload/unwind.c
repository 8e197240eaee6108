/* unwind.c - stack capture, without mtrace's own frames.
 *
 * Uses the unwinder of the compiler runtime (libgcc's _Unwind_Backtrace),
 * which finds unwind tables through glibc's lock-free _dl_find_object. It
 * replaced libunwind: when DWARF unwinding fails (the outermost frames)
 * libunwind validates addresses by writing to a pipe it opened at init, and
 * when a daemon has closed every fd and reused those numbers, libunwind
 * "re-opens" the pipe by closing the program's own files. Frames inside
 * libmtrace.so (the hook and this file) are cut from the top.
 */
#include <unwind.h>

#include "internal.h"

typedef struct capture {
    uint64_t pcs[MT_MAX_FRAMES];
    uint32_t n, max;
} capture_t;

static _Unwind_Reason_Code collect(struct _Unwind_Context *ctx, void *arg)
{
    capture_t *c = arg;
    uintptr_t pc = (uintptr_t)_Unwind_GetIP(ctx);
    if (pc == 0)
        return _URC_END_OF_STACK;
    if (c->n == 0 && pc >= mt__self_lo && pc < mt__self_hi)
        return _URC_NO_REASON; /* still inside mtrace */
    c->pcs[c->n++] = pc;
    return c->n < c->max ? _URC_NO_REASON : _URC_END_OF_STACK;
}

uint32_t mt__unwind_stack(void)
{
    capture_t c;
    c.n = 0;
    c.max = (uint32_t)mt__opt.depth;
    _Unwind_Backtrace(collect, &c);
    return c.n ? mt__stack_intern(c.pcs, c.n) : 0;
}
