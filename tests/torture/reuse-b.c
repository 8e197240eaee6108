/* reuse-b.c - library B of t-reuse: the same code as reuse-a.c, so that it
 * is the same size and dlopen maps it where A was; its malloc is on another
 * line, which tests/torture/test-modules.c checks.
 *
 * (These lines only move the malloc below A's.)
 */
#include <stdlib.h>

void *leaked_b;

__attribute__((visibility("default"), noinline)) int reuse_leak_b(size_t n)
{
    leaked_b = malloc(n); /* line 13 */
    return leaked_b != NULL;
}
