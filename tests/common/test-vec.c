/* test-vec.c - the shared growable vector (common/vec.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "common.h"

Test(vec, push_doubles_from_sixteen)
{
    uint32_t *v = NULL;
    size_t n = 0, cap = 0;
    for (uint32_t i = 0; i < 100; i++) {
        uint32_t *x = MT_VEC_PUSH(NULL, v, n, cap);
        cr_assert_not_null(x);
        *x = i * 3;
        n++;
        if (i == 0)
            cr_assert_eq(cap, 16);
        if (i == 16)
            cr_assert_eq(cap, 32);
    }
    cr_assert_eq(cap, 128);
    for (uint32_t i = 0; i < 100; i++)
        cr_assert_eq(v[i], i * 3);
    cr_assert_eq(mt_vec_reserve(NULL, &v, &cap, 1000, sizeof(*v)), 0);
    cr_assert_eq(cap, 1024, "a large request doubles until it fits");
    cr_assert_eq(v[99], 297, "the contents survive");
    free(v);
}

Test(vec, overflow_is_enomem_and_leaves_the_array)
{
    uint64_t *v = NULL;
    size_t cap = 0;
    cr_assert_eq(mt_vec_reserve(NULL, &v, &cap, SIZE_MAX / 4, sizeof(*v)), ENOMEM);
    cr_assert_null(v);
    cr_assert_eq(cap, 0);
}
