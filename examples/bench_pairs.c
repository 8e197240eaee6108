/* bench_pairs.c - N malloc(32)+free pairs and nothing else: the program
 * tools/bench counts instructions of under callgrind, with and without the
 * shim, to get the cost of one unsampled pair.
 *   bench_pairs [N]      (default 100000)
 */
#include <stdlib.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    for (long i = 0; i < n; i++) {
        void *volatile p = malloc(32); /* volatile: the pair must not be optimised out */
        free(p);
    }
    return 0;
}
