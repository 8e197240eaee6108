/* t-heavy - many allocations, to fill a small trace.
 * usage: t-heavy [ROUNDS]   Prints "heavy: sum S"; exits 0. */
#include "torture.h"

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200000;
    uint64_t sum = 0;
    for (int i = 0; i < n; i += 1000)
        sum += churn((uint64_t)i, 1000);
    printf("heavy: sum %llu\n", (unsigned long long)sum);
    return 0;
}
