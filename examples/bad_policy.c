/* bad_policy.c - the NUMA policy calls with unreadable pointers: the kernel
 * answers EFAULT, and through the shim's wrappers the program must get the
 * same answer, not a crash.
 *
 * Calls mbind, set_mempolicy, move_pages and migrate_pages (one each, as
 * weak references: glibc has none of them, LD_PRELOAD=libmtrace.so brings
 * them) with a mask, page list or node list at address 16, and the same
 * system calls directly. Prints "bad_policy: 4 of 4 as the kernel" when
 * every wrapper returned what the system call did, with the same errno;
 * "bad_policy: no wrappers" when run bare. Exact totals under the shim:
 * mbind 1 call 4096 bytes, set_mempolicy 1, move_pages 1 call 1 byte (one
 * page), migrate_pages 1.
 */
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "example.h"

long mbind(void *addr, unsigned long len, int mode, const unsigned long *mask,
           unsigned long maxnode, unsigned flags) __attribute__((weak));
long set_mempolicy(int mode, const unsigned long *mask, unsigned long maxnode)
    __attribute__((weak));
long move_pages(int pid, unsigned long count, void **pages, const int *nodes, int *status,
                int flags) __attribute__((weak));
long migrate_pages(int pid, unsigned long maxnode, const unsigned long *from,
                   const unsigned long *to) __attribute__((weak));

#define MPOL_BIND 2
static void *const bad = (void *)16;

/* 1 when the wrapper's result and errno equal the system call's. */
static int same(long got, int got_errno, long want, int want_errno)
{
    return got == want && (got != -1 || got_errno == want_errno);
}

int main(void)
{
    if (!mbind || !set_mempolicy || !move_pages || !migrate_pages)
        return mt_example_say("bad_policy: no wrappers\n");
    static char page[4096] __attribute__((aligned(4096)));
    int status = 0, agree = 0;
    long got, want;
    int got_errno, want_errno;

    got = mbind(page, sizeof page, MPOL_BIND, bad, 64, 0), got_errno = errno;
    want = syscall(SYS_mbind, page, sizeof page, MPOL_BIND, bad, 64, 0), want_errno = errno;
    agree += same(got, got_errno, want, want_errno);
    got = set_mempolicy(MPOL_BIND, bad, 64), got_errno = errno;
    want = syscall(SYS_set_mempolicy, MPOL_BIND, bad, 64), want_errno = errno;
    agree += same(got, got_errno, want, want_errno);
    got = move_pages(0, 1, bad, bad, &status, 0), got_errno = errno;
    want = syscall(SYS_move_pages, 0, 1, bad, bad, &status, 0), want_errno = errno;
    agree += same(got, got_errno, want, want_errno);
    got = migrate_pages(0, 64, bad, bad), got_errno = errno;
    want = syscall(SYS_migrate_pages, 0, 64, bad, bad), want_errno = errno;
    agree += same(got, got_errno, want, want_errno);

    char line[] = "bad_policy: 0 of 4 as the kernel\n";
    line[12] = (char)('0' + agree);
    return mt_example_say(line);
}
