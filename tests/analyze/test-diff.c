/* test-diff.c - the comparison behind `mtrace-analyze diff` (analyze/diff.c)
 * with exact numbers: the change and its error bound (the variances of the
 * two sides add), the noise verdict, the ranking; and the command on
 * sampled traces written with known weights, where the verdict is certain. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "run.h"
#include "tracegen.h"

#define ONE MT_WEIGHT_ONE

/* An entry whose bytes are A and B, each an estimate from samples of SIZE
 * bytes and weight W (in objects): A / SIZE / W samples on the BASE side. */
static mt_diff_entry_t entry(uint64_t na, uint64_t nb, uint64_t size, uint64_t w)
{
    mt_diff_entry_t e;
    memset(&e, 0, sizeof(e));
    for (uint64_t i = 0; i < na; i++) {
        e.a.v[MT_DIFF_BYTES] += size * w;
        e.a.v[MT_DIFF_COUNT] += w;
        e.a.var[MT_DIFF_BYTES] += mt_est_var_bytes(size, w * ONE);
        e.a.var[MT_DIFF_COUNT] += mt_est_var_objects(w * ONE);
    }
    for (uint64_t i = 0; i < nb; i++) {
        e.b.v[MT_DIFF_BYTES] += size * w;
        e.b.v[MT_DIFF_COUNT] += w;
        e.b.var[MT_DIFF_BYTES] += mt_est_var_bytes(size, w * ONE);
        e.b.var[MT_DIFF_COUNT] += mt_est_var_objects(w * ONE);
    }
    mt_diff_compare(&e);
    return e;
}

Test(diff, change_and_error_of_a_difference)
{
    /* One sample of 100 bytes at weight 4 against two: 400 -> 800 bytes.
     * Var = 100^2 * 4 * 3 per sample, 3 samples: 360000 = 600^2, so the
     * bound is ceil(1.959964 * 600) = 1176; the change (400) is within it. */
    mt_diff_entry_t e = entry(1, 2, 100, 4);
    cr_expect_eq(e.change[MT_DIFF_BYTES], 400);
    cr_expect_eq(e.error[MT_DIFF_BYTES], 1176);
    cr_expect(e.noise[MT_DIFF_BYTES]);
    /* Objects: 4 -> 8, Var = 3 * 4 * 3 = 36, bound ceil(1.959964 * 6) = 12. */
    cr_expect_eq(e.change[MT_DIFF_COUNT], 4);
    cr_expect_eq(e.error[MT_DIFF_COUNT], 12);
    cr_expect(e.noise[MT_DIFF_COUNT]);

    /* 1 -> 40 samples: change 15600, Var 41 * 120000 = 4920000, bound
     * ceil(1.959964 * 2218.108) = 4348: outside, not noise. */
    e = entry(1, 40, 100, 4);
    cr_expect_eq(e.change[MT_DIFF_BYTES], 15600);
    cr_expect_eq(e.error[MT_DIFF_BYTES], 4348);
    cr_expect(!e.noise[MT_DIFF_BYTES]);

    /* A decrease is negative and has the same bound. */
    e = entry(2, 1, 100, 4);
    cr_expect_eq(e.change[MT_DIFF_BYTES], -400);
    cr_expect_eq(e.error[MT_DIFF_BYTES], 1176);
    cr_expect(e.noise[MT_DIFF_BYTES]);

    /* Exact (weight 1, MTRACE_SAMPLE=all): no error, never noise, even for 1 byte. */
    e = entry(3, 4, 1, 1);
    cr_expect_eq(e.change[MT_DIFF_BYTES], 1);
    cr_expect_eq(e.error[MT_DIFF_BYTES], 0);
    cr_expect(!e.noise[MT_DIFF_BYTES]);
    e = entry(3, 3, 1, 1);
    cr_expect(mt_diff_unchanged(&e));
    cr_expect(!e.noise[MT_DIFF_BYTES]);
}

Test(diff, ranked_by_absolute_change)
{
    mt_diff_entry_t e[4];
    e[0] = entry(1, 2, 100, 1);   /* +100 */
    e[1] = entry(10, 2, 100, 1);  /* -800 */
    e[2] = entry(0, 3, 100, 1);   /* +300 */
    e[3] = entry(5, 6, 100, 1);   /* +100, larger values than e[0] */
    for (size_t i = 0; i < 4; i++)
        e[i].order = i;
    mt_diff_sort(e, 4, MT_DIFF_BYTES);
    cr_expect_eq(e[0].change[MT_DIFF_BYTES], -800);
    cr_expect_eq(e[1].change[MT_DIFF_BYTES], 300);
    cr_expect_eq(e[2].order, 3, "ties: the larger entry first");
    cr_expect_eq(e[3].order, 0);
    /* By calls: -8, +3, then +1 and +1. */
    mt_diff_sort(e, 4, MT_DIFF_COUNT);
    cr_expect_eq(e[0].change[MT_DIFF_COUNT], -8);
    cr_expect_eq(e[1].change[MT_DIFF_COUNT], 3);
}

Test(diff, saturating_change)
{
    mt_diff_entry_t e;
    memset(&e, 0, sizeof(e));
    e.b.v[MT_DIFF_BYTES] = UINT64_MAX;
    mt_diff_compare(&e);
    cr_expect_eq(e.change[MT_DIFF_BYTES], INT64_MAX);
    memset(&e, 0, sizeof(e));
    e.a.v[MT_DIFF_BYTES] = UINT64_MAX;
    mt_diff_compare(&e);
    cr_expect_eq(e.change[MT_DIFF_BYTES], -INT64_MAX);
}

/* ---- the command on generated sampled traces ------------------------------ */

static char *tmp;
static char base[4200], newer[4200];

static void setup(void)
{
    tmp = mt_test_tmpdir();
    snprintf(base, sizeof(base), "%s/mtrace.base.1", tmp);
    snprintf(newer, sizeof(newer), "%s/mtrace.new.2", tmp);
}

static void teardown(void)
{
    mt_test_rmtree(tmp);
    free(tmp);
}

/* A sampled trace (interval 512 KiB): stack 1 (pc 0x1111) has NNOISE
 * samples of 100 bytes at weight 4; stack 2 (pc 0x2222) NBIG samples of
 * 1000 bytes at weight 1, recorded with certainty (as for s >> T). */
static void sampled_trace(const char *dir, int nnoise, int nbig)
{
    tg_open(dir, 512 * 1024, 1000000, 1000);
    uint64_t pc1 = 0x1111, pc2 = 0x2222;
    tg_stack(1, &pc1, 1);
    tg_stack(2, &pc2, 1);
    mt_event_t ev[64];
    size_t n = 0;
    for (int i = 0; i < nnoise; i++)
        ev[n] = tg_alloc_w(10 + n, 0x10000 + 0x100 * n, 100, 1, 4 * ONE), n++;
    for (int i = 0; i < nbig; i++)
        ev[n] = tg_alloc_w(10 + n, 0x10000 + 0x100 * n, 1000, 2, ONE), n++;
    tg_block(1, ev, n);
    tg_close(1);
}

TestSuite(diff_cmd, .init = setup, .fini = teardown);

Test(diff_cmd, sampled_changes_within_and_beyond_noise)
{
    sampled_trace(base, 1, 1);
    sampled_trace(newer, 2, 11);
    mt_run_t r;
    mt_analyze(&r, "diff", "--json=compact", base, newer);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "{\"sort\":\"bytes\",\"by\":\"stack\",\"confidence\":0.95,"
                      "\"estimated\":true,\"entries\":2,\"unchanged\":0,");
    /* #1: stack 2, +10000 bytes, exact. #2: stack 1, +400 +- 1176: noise. */
    expect_has(r.out, "\"stacks\":[{\"bytes\":{\"base\":1000,\"new\":11000,\"change\":10000,"
                      "\"error\":0,\"noise\":false},\"count\":{\"base\":1,\"new\":11,"
                      "\"change\":10,\"error\":0,\"noise\":false},");
    expect_has(r.out, "\"address\":\"0x2222\"");
    expect_has(r.out, "},{\"bytes\":{\"base\":400,\"new\":800,\"change\":400,\"error\":1176,"
                      "\"noise\":true},\"count\":{\"base\":4,\"new\":8,\"change\":4,"
                      "\"error\":12,\"noise\":true},\"live_bytes\":{\"base\":400,\"new\":800,"
                      "\"change\":400,\"error\":1176,\"noise\":true},");
    cr_expect(strstr(r.out, "0x2222") < strstr(r.out, "0x1111"), "ranked by |change|");
    mt_run_free(&r);

    mt_analyze(&r, "diff", base, newer);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "#1   bytes +9.8 KiB (1000 B -> 10.7 KiB)\n");
    expect_has(r.out, "#2   bytes +400 B \u00b1 1.1 KiB, within noise (400 B -> 800 B)\n");
    mt_run_free(&r);

    /* Reversed: the same changes, negative; -n 1 shows the largest. */
    mt_analyze(&r, "diff", "-n", "1", "--json=compact", newer, base);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "\"entries\":2,");
    expect_has(r.out, "\"stacks\":[{\"bytes\":{\"base\":11000,\"new\":1000,\"change\":-10000,");
    cr_expect(!strstr(r.out, "0x1111"), "-n 1: one entry");
    mt_run_free(&r);
}

Test(diff_cmd, several_traces_per_side_and_usage)
{
    sampled_trace(base, 1, 1);
    sampled_trace(newer, 2, 11);
    char both[8500];
    snprintf(both, sizeof(both), "%s,%s", base, newer);
    mt_run_t r;
    /* BASE = base + new merged; NEW = new: stack 2 goes 12 -> 11. */
    mt_analyze(&r, "diff", "--json=compact", both, newer);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "\"stacks\":[{\"bytes\":{\"base\":12000,\"new\":11000,\"change\":-1000,");
    mt_run_free(&r);

    mt_analyze(&r, "diff", base);
    cr_expect_eq(r.status, 2);
    expect_has(r.err, "expected two runs, BASE and NEW (1 given)");
    mt_run_free(&r);
    char bad[4300];
    snprintf(bad, sizeof(bad), "%s,,%s", base, base);
    mt_analyze(&r, "diff", bad, newer);
    cr_expect_eq(r.status, 2);
    expect_has(r.err, "an empty trace name between commas");
    mt_run_free(&r);
    mt_analyze(&r, "diff", "--sort", "size", base, newer);
    cr_expect_eq(r.status, 2);
    mt_run_free(&r);
    mt_analyze(&r, "diff", base, "/nonexistent/mtrace.x.1");
    cr_expect_eq(r.status, 1);
    mt_run_free(&r);
}
