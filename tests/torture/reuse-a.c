/* reuse-a.c - library A of t-reuse: leaks from reuse_leak_a, then is
 * dlclose'd and library B (reuse-b.c, the same code and size) is loaded at
 * its address. tests/torture/test-modules.c checks the line of the malloc. */
#include <stdlib.h>

void *leaked_a;

__attribute__((visibility("default"), noinline)) int reuse_leak_a(size_t n)
{
    leaked_a = malloc(n); /* line 10 */
    return leaked_a != NULL;
}
