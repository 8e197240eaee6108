/* test-entry-points.c - the entry-point tables generated from MT_ENTRY_POINTS. */
#include <criterion/criterion.h>
#include <string.h>

#include "format.h"

Test(entry_points, names_and_families)
{
    cr_assert_eq(MT_EP_COUNT, 46);
    cr_assert_str_eq(mt_entry_point_names[MT_EP_MALLOC], "malloc");
    cr_assert_str_eq(mt_entry_point_names[MT_EP_NEW_ARRAY], "operator new[]");
    cr_assert_str_eq(mt_entry_point_names[MT_EP_FREE_ALIGNED_SIZED], "free_aligned_sized");
    cr_assert_str_eq(mt_entry_point_names[MT_EP_POOL_FREE], "pool free");
    cr_assert_eq(mt_entry_point_family[MT_EP_MALLOC], MT_FAMILY_ALLOC);
    cr_assert_eq(mt_entry_point_family[MT_EP_DELETE_ARRAY], MT_FAMILY_FREE);
    cr_assert_eq(mt_entry_point_family[MT_EP_MREMAP], MT_FAMILY_MAP);
    cr_assert_eq(mt_entry_point_family[MT_EP_MIGRATE_PAGES], MT_FAMILY_POLICY);
    cr_assert_eq(mt_entry_point_family[MT_EP_POOL_ALLOC], MT_FAMILY_POOL);
    cr_assert_str_eq(mt_entry_point_names[MT_EP_MALLOCX], "mallocx");
    cr_assert_str_eq(mt_entry_point_names[MT_EP_TC_DELETE_ARRAY], "tc_deletearray");
    cr_assert_str_eq(mt_entry_point_names[MT_EP_ALLOCATOR_MMAP], "allocator mmap");
    cr_assert_eq(mt_entry_point_family[MT_EP_XALLOCX], MT_FAMILY_ALLOC);
    cr_assert_eq(mt_entry_point_family[MT_EP_SDALLOCX], MT_FAMILY_FREE);
    cr_assert_eq(mt_entry_point_family[MT_EP_ALLOCATOR_MREMAP], MT_FAMILY_MAP);
}

Test(entry_points, every_entry_is_a_distinct_valid_counter_name)
{
    int per_family[6] = {0};
    for (int i = 0; i < MT_EP_COUNT; i++) {
        size_t len = strlen(mt_entry_point_names[i]);
        cr_assert(len > 0 && len < sizeof(((mt_counter_t *)0)->name), "%d", i);
        cr_assert(mt_entry_point_family[i] >= MT_FAMILY_ALLOC &&
                  mt_entry_point_family[i] <= MT_FAMILY_POOL);
        per_family[mt_entry_point_family[i]]++;
        for (int j = 0; j < i; j++)
            cr_assert_str_neq(mt_entry_point_names[i], mt_entry_point_names[j]);
    }
    cr_assert_eq(per_family[MT_FAMILY_ALLOC], 23);
    cr_assert_eq(per_family[MT_FAMILY_FREE], 11);
    cr_assert_eq(per_family[MT_FAMILY_MAP], 6);
    cr_assert_eq(per_family[MT_FAMILY_POLICY], 4);
    cr_assert_eq(per_family[MT_FAMILY_POOL], 2);
}
