/* test-varint.c - LEB128 encodings, bounds and overflow rejection (format/varint.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "format.h"

Test(varint, exact_encodings)
{
    static const struct {
        uint64_t v;
        size_t len;
        uint8_t bytes[10];
    } cases[] = {
        {0, 1, {0x00}},
        {1, 1, {0x01}},
        {127, 1, {0x7f}},
        {128, 2, {0x80, 0x01}},
        {300, 2, {0xac, 0x02}},
        {16383, 2, {0xff, 0x7f}},
        {16384, 3, {0x80, 0x80, 0x01}},
        {UINT32_MAX, 5, {0xff, 0xff, 0xff, 0xff, 0x0f}},
        {UINT64_MAX, 10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[16];
        uint64_t back = 12345;
        cr_assert_eq(mt_varint_put(buf, cases[i].v), cases[i].len, "put %zu", i);
        cr_assert_arr_eq(buf, cases[i].bytes, cases[i].len, "bytes %zu", i);
        cr_assert_eq(mt_varint_get(buf, buf + cases[i].len, &back), cases[i].len);
        cr_assert_eq(back, cases[i].v);
    }
}

Test(varint, round_trip_at_every_length_boundary)
{
    for (unsigned bits = 0; bits < 64; bits++) {
        uint64_t vals[3] = {(1ull << bits) - 1, 1ull << bits, (1ull << bits) + 1};
        for (int j = 0; j < 3; j++) {
            uint8_t buf[10];
            uint64_t back;
            size_t n = mt_varint_put(buf, vals[j]);
            size_t expect = 1;
            for (uint64_t x = vals[j]; x >= 0x80; x >>= 7)
                expect++;
            cr_assert_eq(n, expect);
            cr_assert_eq(mt_varint_get(buf, buf + n, &back), n);
            cr_assert_eq(back, vals[j]);
            /* Every shorter input is truncated. */
            for (size_t k = 0; k < n; k++)
                cr_assert_eq(mt_varint_get(buf, buf + k, &back), 0);
        }
    }
}

Test(varint, rejects_overflow_and_overlong)
{
    uint64_t v = 7;
    /* 10th byte 0x02 sets bit 64. */
    uint8_t over[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    cr_assert_eq(mt_varint_get(over, over + 10, &v), 0);
    /* An 11th byte is announced. */
    uint8_t eleven[11] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    cr_assert_eq(mt_varint_get(eleven, eleven + 11, &v), 0);
    /* Continuation bit on the last available byte. */
    uint8_t cont[1] = {0x80};
    cr_assert_eq(mt_varint_get(cont, cont + 1, &v), 0);
    /* Empty and inverted ranges. */
    cr_assert_eq(mt_varint_get(cont, cont, &v), 0);
    cr_assert_eq(mt_varint_get(cont + 1, cont, &v), 0);
    cr_assert_eq(v, 7, "failed decodes leave the output alone");
}

Test(varint, accepts_non_minimal)
{
    uint8_t pad[5] = {0x85, 0x80, 0x80, 0x80, 0x00};
    uint64_t v;
    cr_assert_eq(mt_varint_get(pad, pad + 5, &v), 5);
    cr_assert_eq(v, 5);
}

Test(varint, zigzag)
{
    cr_assert_eq(mt_zigzag(0), 0);
    cr_assert_eq(mt_zigzag(-1), 1);
    cr_assert_eq(mt_zigzag(1), 2);
    cr_assert_eq(mt_zigzag(-32), 63);
    cr_assert_eq(mt_zigzag(INT64_MAX), UINT64_MAX - 1);
    cr_assert_eq(mt_zigzag(INT64_MIN), UINT64_MAX);
    int64_t vals[] = {0, -1, 1, 12345, -12345, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        cr_assert_eq(mt_unzigzag(mt_zigzag(vals[i])), vals[i]);
}
