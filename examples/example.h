/* example.h - shared bits of the mtrace examples.
 *
 * The examples are the fixtures of tests/e2e: each one performs an exactly
 * known set of allocation calls, so its trace must report exact totals.
 * They print with write(2) only: stdio would allocate its buffer on first
 * use and change the totals. mt_example_keep() makes a pointer escape so the
 * compiler cannot elide a malloc/free or new/delete pair (GCC does at -O1).
 */
#ifndef MT_EXAMPLE_H
#define MT_EXAMPLE_H

#include <string.h>
#include <unistd.h>

/* Makes P observable to the compiler; costs nothing at run time. */
static inline void mt_example_keep(void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

/* Writes the NUL-terminated S to fd 1 without stdio; returns 0 or -1. */
static inline int mt_example_say(const char *s)
{
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t n = write(1, s, len);
        if (n < 0)
            return -1;
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

/* True when the example was asked to skip its work ("baseline" as argv[1]):
 * the run then shows what the C runtime and libraries allocate on their own,
 * and the test asserts the difference between the two runs. */
static inline int mt_example_baseline(int argc, char **argv)
{
    return argc > 1 && strcmp(argv[1], "baseline") == 0;
}

#endif
