/* longjmp_hooks.cpp - siglongjmp out of the allocator, then allocate again:
 * every later call must still be counted and recorded.
 *
 * Each step makes the allocator behind a hook fault or call back, and jumps
 * out of it from the SIGSEGV handler or from a new_handler:
 *   1 free((void*)16)                    glibc's free reads the chunk header: SIGSEGV
 *   2 realloc((void*)16, 64)             the same in realloc
 *   3 operator delete((void*)16)         libstdc++'s delete calls free: SIGSEGV
 *   4 operator delete((void*)16, 8)      sized delete -> delete -> free
 *   5 operator delete[]((void*)16)       delete[] -> delete -> free
 *   6 operator new(2^60)                 malloc fails, the new_handler jumps
 *   7 operator new[](2^60)               new[] -> new -> malloc, the same
 *   8 operator new(2^60, align 64)       aligned_alloc fails, the same
 * and after each, malloc(1000 + step) and free of it. Then a leak of 777.
 * Exact totals under the shim, beyond "longjmp_hooks baseline":
 *   malloc 9 calls 8813 bytes (1001..1008 + 777), free 9 (step 1 + 8),
 *   realloc 1 call 64 bytes, operator delete 2, operator delete[] 1,
 *   operator new 2 calls 2^61 bytes, operator new[] 1 call 2^60 bytes;
 *   leaked 1 block of 777 bytes. Prints "jumped 8".
 */
#include <csetjmp>
#include <csignal>
#include <cstdlib>
#include <new>

#include "example.h"

static sigjmp_buf env;

static void on_segv(int sig)
{
    (void)sig;
    siglongjmp(env, 1);
}

static void on_no_memory()
{
    siglongjmp(env, 1);
}

/* Read through a volatile so the compiler cannot see the bad free coming. */
static void *volatile bad_ptr = (void *)16;
static const size_t huge = (size_t)1 << 60;

/* Runs step I; returns 1 when it jumped out. */
static int step(int i)
{
    if (sigsetjmp(env, 1))
        return 1;
    switch (i) {
    case 1:
        free(bad_ptr);
        break;
    case 2:
        mt_example_keep(realloc(bad_ptr, 64));
        break;
    case 3:
        ::operator delete(bad_ptr);
        break;
    case 4:
        ::operator delete(bad_ptr, (size_t)8);
        break;
    case 5:
        ::operator delete[](bad_ptr);
        break;
    case 6:
        mt_example_keep(::operator new(huge));
        break;
    case 7:
        mt_example_keep(::operator new[](huge));
        break;
    case 8:
        mt_example_keep(::operator new(huge, std::align_val_t{64}));
        break;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (mt_example_baseline(argc, argv))
        return 0;
    struct sigaction sa = {};
    sa.sa_handler = on_segv;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    std::set_new_handler(on_no_memory);
    int jumped = 0;
    for (int i = 1; i <= 8; i++) {
        jumped += step(i);
        void *p = malloc((size_t)(1000 + i));
        mt_example_keep(p);
        free(p);
    }
    mt_example_keep(malloc(777));
    char line[] = "jumped 0\n";
    line[7] = (char)('0' + jumped);
    return mt_example_say(line);
}
