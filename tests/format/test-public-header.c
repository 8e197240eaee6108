/* test-public-header.c - include/mtrace/mtrace.h is the annotation API
 * alone: the trace encoding of pool names lives in format/format.h. */
#include "mtrace/mtrace.h"

#if defined(MT_POOL_KIND_NAME) || defined(MT_POOL_NAME_CHUNK) || defined(MT_POOL_KIND_OBJECT)
#error "mtrace/mtrace.h exposes trace-encoding constants; they belong in format/format.h"
#endif

#include <criterion/criterion.h>

#include "format.h"

Test(public_header, pool_name_encoding_is_the_formats)
{
    cr_assert_eq(MT_POOL_KIND_OBJECT, 0);
    cr_assert_eq(MT_POOL_KIND_NAME, 0x80);
    cr_assert_eq(MT_POOL_NAME_CHUNK, 24);
    /* The public limit fits the chunks the kind byte can number. */
    cr_assert_leq(MT_POOL_NAME_MAX, (0x100 - MT_POOL_KIND_NAME) * MT_POOL_NAME_CHUNK);
    cr_assert_eq(MT_POOL_NAME_MAX % MT_POOL_NAME_CHUNK, 0);
}
