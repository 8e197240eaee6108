/* test-size.c - the one size grammar (common/size.c) that MTRACE_* options
 * and the analyzer's options share. */
#include <criterion/criterion.h>

#include "common.h"

Test(size, accepted)
{
    static const struct {
        const char *s;
        uint64_t v;
    } ok[] = {
        {"0", 0},           {"512", 512},          {"100B", 100},
        {"64K", 65536},     {"64k", 65536},        {"64KB", 65536},
        {"64KiB", 65536},   {"64kib", 65536},      {"3M", 3145728},
        {"2G", 2147483648}, {"16T", 17592186044416ull}, {"1TiB", 1099511627776ull},
        {"16777215T", 18446742974197923840ull},
        {"18446744073709551615", UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 1;
        cr_assert_eq(mt_size_parse(ok[i].s, &v), 0, "%s", ok[i].s);
        cr_assert_eq(v, ok[i].v, "%s", ok[i].s);
    }
}

Test(size, rejected)
{
    static const char *const bad[] = {
        "", "-1", "+1", " 1", "K", "1X", "1KX", "1 K", "1Ki B", "1i", "1KBB",
        "16777216T", "18446744073709551616", "1.5M", NULL,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 7;
        cr_assert_eq(mt_size_parse(bad[i], &v), -1, "%s", bad[i] ? bad[i] : "(null)");
        cr_assert_eq(v, 7, "untouched on error");
    }
}
