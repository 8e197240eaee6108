/* kvstore.c - a small Redis-like key-value store run in timed phases, the
 * fixture of `mtrace-analyze summary` (tests/e2e/test-summary.c) and of
 * examples/demo. Values are 1000-byte blocks (malloc; 4000 in healthy and
 * leak); each phase step
 * sleeps STEP_MS so that the shim's RSS samples (one per tick) see it, and
 * so does a first step that does nothing.
 *
 *   kvstore healthy   4000-byte values: fill 12 Ki, then 32 steps that
 *                     overwrite 1024 each: RSS levels off, nothing fragments
 *                     (the steps make most of the run: the fill's stack
 *                     grows in few of leaks' 15 intervals)
 *   kvstore fragment  fill 64 Ki values, delete 2 of every 3 (the heap
 *                     keeps its pages: RSS ~3x the 21,846 values live),
 *                     32 steps of overwrites
 *   kvstore leak      4000-byte values: 512, then 32 steps that each
 *                     overwrite 256 values and add 256 that are never
 *                     deleted (8,704 values, 34,816,000 bytes): RSS keeps
 *                     growing
 *   kvstore demo      grow to 60 Ki values in 8 steps, level off 8 steps,
 *                     delete 2 of every 3 (fragment), 8 steps
 *
 * Every value of a phase is set at one call site (set_value from run_step),
 * so a stack's live bytes grow only when values are added, never when they
 * are overwritten.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "example.h"

#define VALUE 1000
#define BIG_VALUE 4000 /* healthy's and leak's: a quarter of the events for the
                          same bytes, so the shim's backlog under load stays
                          small next to the heap */
#define STEP_MS 30
#define MAX_KEYS (72 * 1024)

static char *table[MAX_KEYS];
static size_t nkeys;
static size_t value_size = VALUE;

static void pause_step(void)
{
    struct timespec ts = {0, STEP_MS * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Sets key K to a fresh value (freeing the old one). */
__attribute__((noinline)) static void set_value(size_t k)
{
    char *v = malloc(value_size);
    if (!v)
        abort();
    memset(v, (int)(k & 0x7f), value_size);
    free(table[k]);
    table[k] = v;
}

/* Overwrites N existing values starting at *CUR and adds NEW keys. */
__attribute__((noinline)) static void run_step(size_t n, size_t *cur, size_t add)
{
    if (!nkeys)
        n = 0;
    for (size_t i = 0; i < n + add; i++) {
        size_t k = i < n ? (*cur)++ % nkeys : nkeys < MAX_KEYS ? nkeys++ : i % nkeys;
        set_value(k); /* the one call site */
    }
}

/* Deletes 2 of every 3 keys, keeping the 3rd (and the last). */
__attribute__((noinline)) static void delete_most(void)
{
    size_t kept = 0;
    for (size_t k = 0; k < nkeys; k++) {
        if (k % 3 == 2 || k == nkeys - 1)
            table[kept++] = table[k];
        else
            free(table[k]);
    }
    nkeys = kept;
}

static void steps(int n, size_t overwrite, size_t add)
{
    static size_t cur;
    for (int i = 0; i < n; i++) {
        run_step(overwrite, &cur, add);
        pause_step();
    }
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "demo";
    size_t cur = 0;
    pause_step(); /* the first RSS sample: the process before its data */
    if (strcmp(mode, "healthy") == 0) {
        value_size = BIG_VALUE;
        run_step(0, &cur, 12 * 1024);
        pause_step();
        steps(32, 1024, 0);
    } else if (strcmp(mode, "fragment") == 0) {
        run_step(0, &cur, 64 * 1024);
        pause_step();
        delete_most();
        steps(32, 4096, 0);
    } else if (strcmp(mode, "leak") == 0) {
        value_size = BIG_VALUE;
        run_step(0, &cur, 512);
        steps(32, 256, 256);
    } else if (strcmp(mode, "demo") == 0) {
        steps(8, 1024, 7680);
        steps(8, 8192, 0);
        delete_most();
        steps(8, 2048, 0);
    } else {
        mt_example_say("usage: kvstore healthy|fragment|leak|demo\n");
        return 2;
    }
    mt_example_keep(table);
    mt_example_say("kvstore: done\n");
    return 0;
}
