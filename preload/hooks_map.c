/* hooks_map.c - mmap, munmap, mremap and the NUMA policy calls.
 *
 * These wrappers make the system call themselves (glibc has no mbind, and
 * libnuma's calls reach us through its PLT), so they work without libnuma
 * and before init. Every call is counted and recorded with its stack; the
 * mapping calls are rare next to malloc. glibc's malloc maps memory through
 * internal calls that never come here, which is correct: its heap is seen
 * as malloc events.
 */
/* Both mmap and mmap64 are defined here: keep the headers from renaming one
 * to the other. off_t is 64 bits on the only ABI this targets (LP64). */
#undef _FILE_OFFSET_BITS
#include <errno.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

static mt__thread_t *tracer(void)
{
    mt__thread_t *t = mt__tls_thread;
    return t ? t : mt__hook_slow();
}

static void record(mt__thread_t *t, int type, uint64_t ts, uint64_t ptr, uint64_t size, int with_stack,
                   uint64_t a0, uint64_t a1, uint64_t a2, int kind)
{
    mt_event_t e = {0};
    e.ts = ts;
    e.type = (uint8_t)type;
    e.kind = (uint8_t)kind;
    e.ptr = ptr;
    e.size = size;
    e.arg[0] = a0;
    e.arg[1] = a1;
    e.arg[2] = a2;
    mt__record_map(t, &e, with_stack);
}

MT__EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    mt__thread_t *t = tracer();
    void *p = mt__sys_mmap(addr, len, prot, flags, fd, off);
    if (!t) {
        mt__count_late(MT_EP_MMAP, len);
        return p;
    }
    MT__BUMP(t, MT_EP_MMAP, len);
    if (p != MAP_FAILED)
        record(t, MT_EV_MMAP, mt__now(), (uintptr_t)p, len, 1,
               (uint32_t)prot | ((uint64_t)(uint32_t)flags << 32), (uint64_t)(int64_t)fd, 0, 0);
    return p;
}

MT__EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return mmap(addr, len, prot, flags, fd, off);
}

/* Recorded with a time taken before the call, like free. */
MT__EXPORT int munmap(void *addr, size_t len)
{
    mt__thread_t *t = tracer();
    uint64_t ts = t ? mt__now() : 0;
    int rc = mt__sys_munmap(addr, len);
    if (!t) {
        mt__count_late(MT_EP_MUNMAP, len);
        return rc;
    }
    MT__BUMP(t, MT_EP_MUNMAP, len);
    if (rc == 0)
        record(t, MT_EV_MUNMAP, ts, (uintptr_t)addr, len, 0, 0, 0, 0, 0);
    return rc;
}

MT__EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
    void *target = NULL;
    if (flags & MREMAP_FIXED) {
        va_list ap;
        va_start(ap, flags);
        target = va_arg(ap, void *);
        va_end(ap);
    }
    mt__thread_t *t = tracer();
    uint64_t ts = t ? mt__now() : 0;
    void *p = (void *)syscall(SYS_mremap, old, old_len, new_len, flags, target);
    if (!t) {
        mt__count_late(MT_EP_MREMAP, new_len);
        return p;
    }
    MT__BUMP(t, MT_EP_MREMAP, new_len);
    if (p != MAP_FAILED)
        record(t, MT_EV_MREMAP, ts, (uintptr_t)p, new_len, 1, (uintptr_t)old, old_len, 0,
               flags & 0xff);
    return p;
}

/* ---- NUMA policy: arguments as in the kernel's system calls ---------- */

static uint64_t first_mask_word(const unsigned long *mask, unsigned long maxnode)
{
    return mask && maxnode ? (uint64_t)mask[0] : 0;
}

static long policy_result(long rc)
{
    return rc < 0 ? -(long)errno : rc;
}

MT__EXPORT long mbind(void *addr, unsigned long len, int mode, const unsigned long *mask,
                      unsigned long maxnode, unsigned flags)
{
    mt__thread_t *t = tracer();
    long rc = syscall(SYS_mbind, addr, len, mode, mask, maxnode, flags);
    if (t) {
        MT__BUMP(t, MT_EP_MBIND, len);
        record(t, MT_EV_POLICY, mt__now(), (uintptr_t)addr, len, 1, first_mask_word(mask, maxnode),
               (uint32_t)mode | ((uint64_t)flags << 32), (uint64_t)policy_result(rc), MT_PK_MBIND);
    } else {
        mt__count_late(MT_EP_MBIND, len);
    }
    return rc;
}

MT__EXPORT long set_mempolicy(int mode, const unsigned long *mask, unsigned long maxnode)
{
    mt__thread_t *t = tracer();
    long rc = syscall(SYS_set_mempolicy, mode, mask, maxnode);
    if (t) {
        MT__BUMP(t, MT_EP_SET_MEMPOLICY, 0);
        record(t, MT_EV_POLICY, mt__now(), 0, 0, 1, first_mask_word(mask, maxnode), (uint32_t)mode,
               (uint64_t)policy_result(rc), MT_PK_SET_MEMPOLICY);
    } else {
        mt__count_late(MT_EP_SET_MEMPOLICY, 0);
    }
    return rc;
}

MT__EXPORT long move_pages(int pid, unsigned long count, void **pages, const int *nodes,
                           int *status, int flags)
{
    mt__thread_t *t = tracer();
    long rc = mt__sys_move_pages(pid, count, pages, nodes, status, flags);
    if (t) {
        MT__BUMP(t, MT_EP_MOVE_PAGES, count);
        uint64_t first = count && pages ? (uintptr_t)pages[0] : 0;
        uint64_t target = count && nodes ? (uint64_t)(int64_t)nodes[0] : (uint64_t)-1;
        record(t, MT_EV_POLICY, mt__now(), first, count, 1, target,
               (uint32_t)pid | ((uint64_t)(uint32_t)flags << 32), (uint64_t)policy_result(rc),
               MT_PK_MOVE_PAGES);
    } else {
        mt__count_late(MT_EP_MOVE_PAGES, count);
    }
    return rc;
}

MT__EXPORT long migrate_pages(int pid, unsigned long maxnode, const unsigned long *from,
                              const unsigned long *to)
{
    mt__thread_t *t = tracer();
    long rc = syscall(SYS_migrate_pages, pid, maxnode, from, to);
    if (t) {
        MT__BUMP(t, MT_EP_MIGRATE_PAGES, 0);
        record(t, MT_EV_POLICY, mt__now(), first_mask_word(from, maxnode), 0, 1,
               first_mask_word(to, maxnode), (uint32_t)pid, (uint64_t)policy_result(rc),
               MT_PK_MIGRATE_PAGES);
    } else {
        mt__count_late(MT_EP_MIGRATE_PAGES, 0);
    }
    return rc;
}
