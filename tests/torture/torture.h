/* torture.h - small helpers shared by the torture programs: a check that
 * exits with a message, and an allocation workload with a checksum that
 * does not depend on addresses, so the output is the same traced or not. */
#ifndef MT_TORTURE_H
#define MT_TORTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                  \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
            exit(3);                                                         \
        }                                                                    \
    } while (0)

/* N malloc/calloc/realloc/free rounds seeded by SEED; returns a checksum of
 * the contents written (not of addresses). */
static inline uint64_t churn(uint64_t seed, int n)
{
    uint64_t sum = 0, x = seed * 6364136223846793005ull + 1442695040888963407ull;
    void *keep[8] = {0};
    for (int i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        size_t size = 1 + (size_t)(x >> 33) % 700;
        unsigned char *p = (i & 3) == 1 ? calloc(1, size) : malloc(size);
        CHECK(p, "malloc %zu failed", size);
        p[0] = (unsigned char)x;
        p[size - 1] = (unsigned char)(x >> 8);
        if ((i & 7) == 2) {
            p = realloc(p, size * 2);
            CHECK(p, "realloc failed");
            p[2 * size - 1] = 7;
        }
        sum += p[0] + p[size - 1];
        int k = (int)((x >> 20) & 7);
        free(keep[k]);
        keep[k] = p;
    }
    for (int k = 0; k < 8; k++)
        free(keep[k]);
    return sum;
}

#endif
