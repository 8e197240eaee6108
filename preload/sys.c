/* sys.c - raw system calls for the shim's own memory, its futexes and its
 * placement queries, and for the wrapped calls. mtrace exports mmap, munmap
 * and move_pages itself, so its own calls must not go through the symbols
 * (that would record mtrace's own memory and queries); the hooks of calls
 * glibc has no wrapper for, or whose wrapper mtrace replaces (mremap, mbind,
 * set_mempolicy, migrate_pages), make them here. The only file that calls
 * syscall() (tests/preload/test-sys.c checks). */
#include <linux/futex.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

void *mt__sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int mt__sys_munmap(void *addr, size_t len)
{
    return (int)syscall(SYS_munmap, addr, len);
}

void mt__sys_futex_wait(uint32_t *word, uint32_t val, const struct timespec *timeout)
{
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, timeout, NULL, 0);
}

void mt__sys_futex_wake(uint32_t *word, int n)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

long mt__sys_move_pages(int pid, unsigned long count, void **pages, const int *nodes,
                        int *status, int flags)
{
    return syscall(SYS_move_pages, pid, count, pages, nodes, status, flags);
}

void *mt__sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *target)
{
    return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, target);
}

long mt__sys_mbind(void *addr, unsigned long len, int mode, const unsigned long *mask,
                   unsigned long maxnode, unsigned flags)
{
    return syscall(SYS_mbind, addr, len, mode, mask, maxnode, flags);
}

long mt__sys_set_mempolicy(int mode, const unsigned long *mask, unsigned long maxnode)
{
    return syscall(SYS_set_mempolicy, mode, mask, maxnode);
}

long mt__sys_migrate_pages(int pid, unsigned long maxnode, const unsigned long *from,
                           const unsigned long *to)
{
    return syscall(SYS_migrate_pages, pid, maxnode, from, to);
}

void *mt__sys_reserve(size_t len)
{
    void *p = mt__sys_mmap(NULL, len, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}
