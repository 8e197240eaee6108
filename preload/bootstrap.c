/* bootstrap.c - the allocator used before the real one is resolved.
 *
 * dlsym and early constructors allocate while mtrace initialises. They get
 * memory from this static 2 MiB arena (bump allocation, lock-free); free
 * ignores these pointers and realloc copies them out. Each is also entered
 * in the live-sample table, so that free's one inline check catches it. Each block is
 * preceded by its size so realloc and malloc_usable_size can answer.
 */
#include <string.h>

#include "internal.h"

#define ARENA_SIZE MT__BOOTSTRAP_SIZE
#define arena mt__bootstrap_arena

unsigned char mt__bootstrap_arena[MT__BOOTSTRAP_SIZE] __attribute__((aligned(64)));
static size_t arena_used;

void *mt__bootstrap_alloc(size_t size, size_t align)
{
    if (align < 16)
        align = 16;
    if (size > ARENA_SIZE || (align & (align - 1)) != 0)
        return NULL;
    size_t used = __atomic_load_n(&arena_used, __ATOMIC_RELAXED);
    for (;;) {
        size_t start = (used + sizeof(size_t) + align - 1) & ~(align - 1);
        size_t end = start + size;
        if (end > ARENA_SIZE)
            return NULL;
        if (__atomic_compare_exchange_n(&arena_used, &used, end, 0, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
            memcpy(arena + start - sizeof(size_t), &size, sizeof size);
            mt__liveset_mark_bootstrap((uintptr_t)(arena + start));
            return arena + start; /* static storage: already zeroed */
        }
    }
}

size_t mt__bootstrap_size(const void *p)
{
    size_t size;
    memcpy(&size, (const unsigned char *)p - sizeof(size_t), sizeof size);
    return size;
}
