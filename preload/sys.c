/* sys.c - raw system calls for the shim's own memory and for the wrapped
 * mapping calls. mtrace exports mmap/munmap itself, so internal mappings must
 * not go through the symbol (that would record mtrace's own memory). */
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

void *mt__sys_reserve(size_t len)
{
    void *p = mt__sys_mmap(NULL, len, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}
