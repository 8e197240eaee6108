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

/* bench_alloc never calls pvalloc: its counter (0 calls) is put in the first
 * tick and never again, though a commit every millisecond makes dozens of
 * ticks (each puts the duration); malloc's, which changes, is put in most. */
Test(ticks, unchanged_counters_are_not_put_again)
{
    char preload[8400], file[4200], putcount_file[4300];
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s:%s", getenv("MTRACE_PUTCOUNT"), e2e_lib());
    snprintf(file, sizeof file, "%s/puts", e2e_tmpdir());
    snprintf(putcount_file, sizeof putcount_file, "PUTCOUNT_FILE=%s", file);
    const char *argv[] = {"bench_alloc", "2", "200000", NULL};
    const char *env[] = {preload, putcount_file, "MTRACE_FLUSH_MS=1", "MTRACE_SAMPLE=512K", NULL};
    char *info = e2e_traced_info("ticks", argv, env, NULL);
    cr_assert_eq(e2e_entry(info, "pvalloc", "calls"), 0);
    int ticks = count_key(file, "duration_ns");
    cr_assert_geq(ticks, 10, "%d ticks: the test needs dozens", ticks);
    cr_expect_eq(count_key(file, "pvalloc"), 1, "pvalloc's counter put %d times in %d ticks",
                 count_key(file, "pvalloc"), ticks);
    int mallocs = count_key(file, "malloc");
    cr_expect(mallocs >= 2 && mallocs <= ticks, "malloc's counter put %d times in %d ticks",
              mallocs, ticks);
    free(info);
}
