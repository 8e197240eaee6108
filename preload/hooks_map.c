/* hooks_map.c - mmap, munmap, mremap and the NUMA policy calls.
 *
 * These wrappers make the system call themselves (glibc has no mbind, and
 * libnuma's calls reach us through its PLT), so they work without libnuma
 * and before init. Every call is counted and recorded with its stack; the
 * mapping calls are rare next to malloc. glibc's malloc maps memory through
 * internal calls that never come here, which is correct: its heap is seen
 * as malloc events. jemalloc and tcmalloc call mmap through the PLT: a
 * mapping call whose caller lies in the next allocator's image is its own
 * (extents, spans, metadata), counted as "allocator mmap/munmap/mremap" and
 * not recorded, so that the program's mmap totals and NUMA regions hold only
 * what the program mapped. The caller's address decides it, not a
 * thread-local "inside malloc" mark: nothing to reset when a signal handler
 * longjmps out of an allocator, no extra work on the malloc fast path, and
 * the allocator's background threads are covered too. The image is the one
 * defining the next malloc; a library that embeds its allocator with other
 * code would have that code's mappings counted as the allocator's.
 */
/* Both mmap and mmap64 are defined here: keep the headers from renaming one
 * to the other. off_t is 64 bits on the only ABI this targets (LP64). */
#undef _FILE_OFFSET_BITS
#include <errno.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/uio.h>
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

/* A mapping call from the next allocator's own code: counted under EP, not recorded. */
static void allocator_call(int ep, uint64_t len)
{
    mt__thread_t *t = tracer();
    if (t)
        MT__BUMP(t, ep, len);
    else
        mt__count_late(ep, len);
}

static void *map(const void *caller, void *addr, size_t len, int prot, int flags, int fd,
                 off_t off)
{
    if (mt__unlikely(mt__from_allocator(caller))) {
        void *p = mt__sys_mmap(addr, len, prot, flags, fd, off);
        allocator_call(MT_EP_ALLOCATOR_MMAP, len);
        return p;
    }
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

MT__EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return map(__builtin_return_address(0), addr, len, prot, flags, fd, off);
}

MT__EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return map(__builtin_return_address(0), addr, len, prot, flags, fd, off);
}

/* Recorded with a time taken before the call, like free. */
MT__EXPORT int munmap(void *addr, size_t len)
{
    if (mt__unlikely(mt__from_allocator(__builtin_return_address(0)))) {
        int rc = mt__sys_munmap(addr, len);
        allocator_call(MT_EP_ALLOCATOR_MUNMAP, len);
        return rc;
    }
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
    if (mt__unlikely(mt__from_allocator(__builtin_return_address(0)))) {
        void *p = mt__sys_mremap(old, old_len, new_len, flags, target);
        allocator_call(MT_EP_ALLOCATOR_MREMAP, new_len);
        return p;
    }
    mt__thread_t *t = tracer();
    uint64_t ts = t ? mt__now() : 0;
    void *p = mt__sys_mremap(old, old_len, new_len, flags, target);
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

/* Reads LEN (4 or 8) bytes at P without faulting, keeping errno: P is the
 * program's and may be bad, in which case the call failed with EFAULT, and
 * so must the hook rather than crash. 0 when P cannot be read. */
static uint64_t peek(const void *p, size_t len)
{
    uint64_t v = 0;
    if (!p)
        return 0;
    int saved = errno;
    struct iovec local = {&v, len}, remote = {(void *)p, len};
    if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)len)
        v = 0;
    errno = saved;
    return len == 4 ? (uint64_t)(int64_t)(int32_t)v : v;
}

static uint64_t first_mask_word(const unsigned long *mask, unsigned long maxnode)
{
    return maxnode ? peek(mask, sizeof *mask) : 0;
}

static long policy_result(long rc)
{
    return rc < 0 ? -(long)errno : rc;
}

MT__EXPORT long mbind(void *addr, unsigned long len, int mode, const unsigned long *mask,
                      unsigned long maxnode, unsigned flags)
{
    mt__thread_t *t = tracer();
    long rc = mt__sys_mbind(addr, len, mode, mask, maxnode, flags);
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
    long rc = mt__sys_set_mempolicy(mode, mask, maxnode);
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
        uint64_t first = count ? peek(pages, sizeof *pages) : 0;
        uint64_t target = count && nodes ? peek(nodes, sizeof *nodes) : (uint64_t)-1;
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
    long rc = mt__sys_migrate_pages(pid, maxnode, from, to);
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
