/* test-time.c - the one time grammar (common/time.c) of the analyzer's
 * --from / --to window bounds. */
#include <criterion/criterion.h>

#include "common.h"

Test(time, durations)
{
    static const struct {
        const char *s;
        uint64_t ns;
    } ok[] = {
        {"0", 0},
        {"2", 2000000000ull},          /* no unit: seconds */
        {"1.5", 1500000000ull},
        {"1.5s", 1500000000ull},
        {"0.3s", 300000000ull},        /* exact, no binary rounding */
        {"200ms", 200000000ull},
        {"0.25ms", 250000ull},
        {"750us", 750000ull},
        {"42ns", 42},
        {"3m", 180000000000ull},
        {"3min", 180000000000ull},
        {"0.5m", 30000000000ull},
        {"1h", 3600000000000ull},
        {"0.000000001", 1},
        {"0.0000000019", 1},           /* past ns: truncated */
        {"1.1234567891234567891234s", 1123456789ull},
        {"18446744073709551615ns", UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 7;
        bool pct = true;
        cr_assert_eq(mt_time_parse(ok[i].s, &v, &pct), 0, "%s", ok[i].s);
        cr_expect_eq(v, ok[i].ns, "%s: %llu", ok[i].s, (unsigned long long)v);
        cr_expect(!pct, "%s", ok[i].s);
    }
}

Test(time, percentages)
{
    static const struct {
        const char *s;
        uint64_t ppm;
    } ok[] = {
        {"0%", 0}, {"25%", 250000}, {"12.5%", 125000}, {"100%", 1000000}, {"33.3333%", 333333},
        {"100.0%", 1000000},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 7;
        bool pct = false;
        cr_assert_eq(mt_time_parse(ok[i].s, &v, &pct), 0, "%s", ok[i].s);
        cr_expect_eq(v, ok[i].ppm, "%s: %llu", ok[i].s, (unsigned long long)v);
        cr_expect(pct, "%s", ok[i].s);
    }
}

Test(time, rejected)
{
    static const char *const bad[] = {
        "", "-1", "+1", " 1", "1 ", "s", ".5", "1.", "1.s", "1e3", "1x", "1sec", "1S", "1 s",
        "2ms5", "100.01%", "101%", "%", "1%%", "18446744073709551616ns", "18446744073709552s",
        "1..2",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 7;
        bool pct = false;
        cr_expect_eq(mt_time_parse(bad[i], &v, &pct), -1, "%s accepted", bad[i]);
        cr_expect_eq(v, 7, "%s changed the output", bad[i]);
    }
    cr_expect_eq(mt_time_parse(NULL, NULL, NULL), -1);
}
