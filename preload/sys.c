/* sys.c - raw system calls for the shim's own memory, its futexes and its
 * placement queries, and for the wrapped calls. mtrace exports mmap, munmap
 * and move_pages itself, so its own calls must not go through the symbols
 * (that would record mtrace's own memory and queries). */
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

void *mt__sys_reserve(size_t len)
{
    void *p = mt__sys_mmap(NULL, len, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}
