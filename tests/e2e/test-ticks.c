/* test-ticks.c - what each tick of the writer thread (preload/writer.c)
 * puts into the trace: a counter only when its value changed since the
 * last committed tick. Counts LMDB puts with tests/e2e/putcount.c, a
 * preload that wraps mdb_put. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void setup(void)
{
    e2e_tmpdir();
}

TestSuite(ticks, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 60);

/* How many lines of FILE are KEY. */
static int count_key(const char *file, const char *key)
{
    FILE *f = fopen(file, "r");
    cr_assert_not_null(f, "%s: no puts recorded", file);
    char line[64];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        n += strcmp(line, key) == 0;
    }
    fclose(f);
    return n;
}

/* phases (examples/phases.c) allocates in two bursts 300 ms apart and frees
 * at the end; with a commit every 5 ms that is over a hundred ticks (each
 * puts the duration), but malloc's counter changes in at most a few of them
 * (the start, each burst, libc's own first allocations): it must be put
 * only then. A counter of 0 (pvalloc: never called) is not stored at all. */
Test(ticks, unchanged_counters_are_not_put_again)
{
    char preload[8400], file[4200], putcount_file[4300];
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s:%s", getenv("MTRACE_PUTCOUNT"), e2e_lib());
    snprintf(file, sizeof file, "%s/puts", e2e_tmpdir());
    snprintf(putcount_file, sizeof putcount_file, "PUTCOUNT_FILE=%s", file);
    const char *argv[] = {"phases", NULL};
    const char *env[] = {preload, putcount_file, "MTRACE_FLUSH_MS=5", "MTRACE_SAMPLE=all", NULL};
    char *info = e2e_traced_info("ticks", argv, env, NULL);
    cr_assert_eq(e2e_entry(info, "pvalloc", "calls"), 0);
    cr_assert_eq(e2e_entry(info, "malloc", "calls"), 12);
    int ticks = count_key(file, "duration_ns");
    cr_assert_geq(ticks, 40, "%d ticks: the test needs dozens", ticks);
    cr_expect_eq(count_key(file, "pvalloc"), 0, "pvalloc's counter put %d times in %d ticks",
                 count_key(file, "pvalloc"), ticks);
    int mallocs = count_key(file, "malloc");
    cr_expect(mallocs >= 1 && mallocs <= 6, "malloc's counter put %d times in %d ticks",
              mallocs, ticks);
    free(info);
}
