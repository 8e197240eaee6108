/* cxx_throw.cpp - operator new[] that throws std::bad_alloc, then more
 * allocations: the hook's guard must be dropped while the exception unwinds.
 *
 * Exact totals: operator new[] 8 calls, 3 x 2^60 + 5 x 40 bytes (3 requests
 * of 1 EiB that fail and throw, then 5 x int[10]); operator delete[] 5.
 * Prints "caught 3". (Throwing allocates the exception object with malloc,
 * which the totals do not cover.)
 */
#include <cstdio>
#include <new>

#include "example.h"

int main()
{
    int caught = 0;
    for (int i = 0; i < 3; i++) {
        try {
            char *p = new char[(size_t)1 << 60];
            mt_example_keep(p);
            delete[] p;
        } catch (const std::bad_alloc &) {
            caught++;
        }
    }
    for (int i = 0; i < 5; i++) {
        int *q = new int[10];
        mt_example_keep(q);
        delete[] q;
    }
    std::printf("caught %d\n", caught);
    return 0;
}
