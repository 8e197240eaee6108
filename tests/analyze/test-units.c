/* test-units.c - analyze/units.c: exact strings at and around every boundary. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

Test(units, count)
{
    char b[MT_FMT_MAX];
    cr_assert_str_eq(mt_fmt_count(b, 0), "0");
    cr_assert_str_eq(mt_fmt_count(b, 999), "999");
    cr_assert_str_eq(mt_fmt_count(b, 1000), "1,000");
    cr_assert_str_eq(mt_fmt_count(b, 45678), "45,678");
    cr_assert_str_eq(mt_fmt_count(b, 123456), "123,456");
    cr_assert_str_eq(mt_fmt_count(b, 1234567), "1,234,567");
    cr_assert_str_eq(mt_fmt_count(b, UINT64_MAX), "18,446,744,073,709,551,615");
}

Test(units, plural)
{
    cr_expect_str_eq(mt_plural(0, "object", "objects"), "objects");
    cr_expect_str_eq(mt_plural(1, "object", "objects"), "object");
    cr_expect_str_eq(mt_plural(2, "entry", "entries"), "entries");
    cr_expect_str_eq(mt_plural(UINT64_MAX, "class", "classes"), "classes");
}

Test(units, bytes)
{
    char b[MT_FMT_MAX];
    cr_assert_str_eq(mt_fmt_bytes(b, 0), "0 B");
    cr_assert_str_eq(mt_fmt_bytes(b, 1), "1 B");
    cr_assert_str_eq(mt_fmt_bytes(b, 1023), "1023 B");
    cr_assert_str_eq(mt_fmt_bytes(b, 1024), "1 KiB");
    cr_assert_str_eq(mt_fmt_bytes(b, 1536), "1.5 KiB");
    cr_assert_str_eq(mt_fmt_bytes(b, 512 * KiB), "512 KiB");
    cr_assert_str_eq(mt_fmt_bytes(b, 12897485), "12.3 MiB");
    cr_assert_str_eq(mt_fmt_bytes(b, 3 * MiB), "3 MiB");
    cr_assert_str_eq(mt_fmt_bytes(b, MiB - 1), "1.0 MiB"); /* never "1024.0 KiB" */
    cr_assert_str_eq(mt_fmt_bytes(b, 1023 * KiB + 900), "1023.9 KiB");
    cr_assert_str_eq(mt_fmt_bytes(b, 64 * GiB), "64 GiB");
    cr_assert_str_eq(mt_fmt_bytes(b, UINT64_MAX), "16.0 EiB");
}

Test(units, duration)
{
    char b[MT_FMT_MAX];
    cr_assert_str_eq(mt_fmt_duration(b, 0), "0 ns");
    cr_assert_str_eq(mt_fmt_duration(b, 999), "999 ns");
    cr_assert_str_eq(mt_fmt_duration(b, 1000), "1.0 us");
    cr_assert_str_eq(mt_fmt_duration(b, 12500), "12.5 us");
    cr_assert_str_eq(mt_fmt_duration(b, 999960), "1.0 ms"); /* not "1000.0 us" */
    cr_assert_str_eq(mt_fmt_duration(b, 3200000), "3.2 ms");
    cr_assert_str_eq(mt_fmt_duration(b, 1500000000ull), "1.5 s");
    cr_assert_str_eq(mt_fmt_duration(b, 12300000000ull), "12.3 s");
    cr_assert_str_eq(mt_fmt_duration(b, 59960000000ull), "1 min 00 s"); /* not "60.0 s" */
    cr_assert_str_eq(mt_fmt_duration(b, 125000000000ull), "2 min 05 s");
    cr_assert_str_eq(mt_fmt_duration(b, 3599600000000ull), "1 h 00 min");
    cr_assert_str_eq(mt_fmt_duration(b, 3720000000000ull), "1 h 02 min");
    cr_assert_str_eq(mt_fmt_duration(b, 90000ull * 1000000000ull), "25 h 00 min");
}

Test(units, percent)
{
    char b[MT_FMT_MAX];
    cr_assert_str_eq(mt_fmt_percent(b, 0, 0), "-");
    cr_assert_str_eq(mt_fmt_percent(b, 0, 10), "0.0%");
    cr_assert_str_eq(mt_fmt_percent(b, 439, 1000), "43.9%");
    cr_assert_str_eq(mt_fmt_percent(b, 1, 1), "100.0%");
}

Test(units, printable)
{
    char b[8];
    cr_assert_str_eq(mt_printable(b, sizeof(b), "ok name"), "ok name");
    cr_assert_str_eq(mt_printable(b, sizeof(b), "a\x1b[2J"), "a?[2J");
    cr_assert_str_eq(mt_printable(b, sizeof(b), "t\tn\x7f\xc3\xa9"), "t?n?\xc3\xa9");
    cr_assert_str_eq(mt_printable(b, sizeof(b), "w\xff\x01"), "w??");
    cr_assert_str_eq(mt_printable(b, sizeof(b), "abcde\xe2\x82\xac"), "abcde"); /* no half euro */
    cr_assert_str_eq(mt_printable(b, sizeof(b), "truncated here"), "truncat");
    cr_assert_str_eq(mt_printable(b, 1, "x"), "");
}

Test(units, put_xml)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    mt_put_xml(f, "std::map<int, T&>::at(\"k\", 'v') \xc3\xa9");
    fclose(f);
    cr_assert_str_eq(buf, "std::map&lt;int, T&amp;&gt;::at(&quot;k&quot;, &apos;v&apos;) \xc3\xa9");
    free(buf);
}
