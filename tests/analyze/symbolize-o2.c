/* symbolize-o2.c - code for test-symbolize.c built as optimised code is:
 * -O2 with a three-level chain of inlined functions, and a function written
 * in assembly (no debug information) placed right after a C function, inside
 * the range of this unit's line table. Each o2_*_line variable holds the
 * line of the call it names (the next line). */
#include <stdint.h>

#include "symbolize-o2.h"

volatile uint64_t o2_sink;

__attribute__((noinline)) uint64_t o2_return_address(void)
{
    __asm__ volatile("" ::: "memory");
    return (uint64_t)(uintptr_t)__builtin_return_address(0);
}

const int o2_level3_line = __LINE__ + 3;
static inline __attribute__((always_inline)) uint64_t o2_level3(uint64_t n)
{
    uint64_t pc = o2_return_address();
    o2_sink = n;
    return pc;
}

const int o2_level2_line = __LINE__ + 3;
static inline __attribute__((always_inline)) uint64_t o2_level2(uint64_t n)
{
    uint64_t pc = o2_level3(n * 2);
    o2_sink = n;
    return pc;
}

const int o2_level1_line = __LINE__ + 3;
static inline __attribute__((always_inline)) uint64_t o2_level1(uint64_t n)
{
    uint64_t pc = o2_level2(n + 1);
    o2_sink = n;
    return pc;
}

const int o2_chain_line = __LINE__ + 3;
__attribute__((noinline)) uint64_t o2_chain(uint64_t n)
{
    uint64_t pc = o2_level1(n);
    o2_sink = n;
    return pc;
}

/* With -fno-toplevel-reorder this lands right after o2_chain in .text, so
 * libdwfl's unit for its addresses is this one, and the nearest line is one
 * of o2_chain's. */
#if defined(__x86_64__)
__asm__(".text\n"
        ".globl o2_no_debug\n"
        ".type o2_no_debug, @function\n"
        "o2_no_debug:\n"
        "  sub $8, %rsp\n"                  /* 4 bytes */
        "  call o2_return_address@PLT\n"    /* 5 bytes: returns to +9 */
        "  add $8, %rsp\n"
        "  ret\n"
        ".size o2_no_debug, .-o2_no_debug\n");
#elif defined(__aarch64__)
__asm__(".text\n"
        ".globl o2_no_debug\n"
        ".type o2_no_debug, %function\n"
        "o2_no_debug:\n"
        "  stp x29, x30, [sp, #-16]!\n"     /* 4 bytes */
        "  bl o2_return_address\n"          /* 4 bytes: returns to +8 */
        "  ldp x29, x30, [sp], #16\n"
        "  ret\n"
        ".size o2_no_debug, .-o2_no_debug\n");
#else
#error "symbolize-o2.c: no assembly fixture for this architecture"
#endif
