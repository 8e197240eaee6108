/* common.h - the data structures and parsers that the shim (libmtrace.so,
 * on its writer thread) and the analyzer (mtrace-analyze) share: one
 * open-addressing hash table (table.c), one growable vector (vec.c), one
 * size grammar (size.c) and one time grammar (time.c). Model: heaptrack's src/util/, git's hashmap.h.
 *
 * Memory comes from the allocator a table or vector is given, or from
 * malloc/realloc/free when it has none. In the shim only the writer thread
 * uses these, and its recursion guard is always set, so those calls pass
 * straight to the next allocator and never into the hooks.
 */
#ifndef MT_COMMON_H
#define MT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- allocator (vec.c) ----------------------------------------------------- */

/* realloc(ctx, p, n): like realloc(3); n = 0 frees p and returns NULL. */
typedef struct mt_alloc {
    void *(*realloc)(void *ctx, void *p, size_t n);
    void *ctx;
} mt_alloc_t;

/* Reallocates P to N bytes with A (NULL: realloc/free); N = 0 frees. */
void *mt_realloc(const mt_alloc_t *a, void *p, size_t n);

/* ---- growable vector (vec.c) ------------------------------------------------ */

/* Makes room for NEED elements of ESIZE bytes in the array *ARRP (any T **)
 * of *CAP elements: the capacity at least doubles, and starts at 16.
 * Returns 0, or ENOMEM with the array untouched. */
int mt_vec_reserve(const mt_alloc_t *a, void *arrp, size_t *cap, size_t need, size_t esize);

/* Room for one more after N elements: returns element N, uninitialized, or
 * NULL when out of memory. Typed use: T *x = MT_VEC_PUSH(a, arr, n, cap). */
void *mt_vec_push(const mt_alloc_t *a, void *arrp, size_t n, size_t *cap, size_t esize);
#define MT_VEC_PUSH(a, arr, n, cap) mt_vec_push((a), &(arr), (n), &(cap), sizeof(*(arr)))

/* ---- hash table (table.c) ----------------------------------------------------
 * Maps a u64 key to u32 values (an index into the caller's own array):
 * linear probing in a power-of-two array, grown at 3/4 full, backward-shift
 * deletion (no tombstones). A key is either the whole key (a pointer, an id)
 * or, for a compound key, its hash (mt_hash_words): then several entries may
 * share a key and mt_table_find's EQ tells them apart. */

#define MT_TABLE_NONE UINT32_MAX

typedef struct mt_table {
    uint64_t *key;       /* per slot */
    uint32_t *val;       /* per slot: value + 1; 0 = empty */
    unsigned bits;       /* 2^bits slots; 0 before the first put */
    size_t n;            /* entries */
    const mt_alloc_t *alloc; /* NULL: malloc/free */
} mt_table_t;

/* Accepts value V for the key looked up (CTX: the caller's). */
typedef bool (*mt_table_eq_fn)(const void *ctx, uint32_t v);

/* The value of KEY that EQ accepts (EQ NULL: the first), or MT_TABLE_NONE. */
uint32_t mt_table_find(const mt_table_t *t, uint64_t key, mt_table_eq_fn eq, const void *ctx);

static inline uint32_t mt_table_get(const mt_table_t *t, uint64_t key)
{
    return mt_table_find(t, key, NULL, NULL);
}

/* Adds KEY -> V (V < MT_TABLE_NONE), also when KEY is there already.
 * Returns 0, or ENOMEM with the table unchanged. */
int mt_table_put(mt_table_t *t, uint64_t key, uint32_t v);

/* Removes the entry KEY -> V; false when there is none. */
bool mt_table_del(mt_table_t *t, uint64_t key, uint32_t v);

/* A lookup, then a removal or an insertion, with one probe (for unique
 * keys, no EQ). mt_table_probe returns true with *SLOT = the slot of KEY's
 * first entry (its value: mt_table_at), or false with *SLOT = where
 * mt_table_put_at adds KEY. A slot is valid until the table next changes. */
#define MT_TABLE_NOSLOT SIZE_MAX
bool mt_table_probe(const mt_table_t *t, uint64_t key, size_t *slot);
static inline uint32_t mt_table_at(const mt_table_t *t, size_t slot)
{
    return t->val[slot] - 1;
}
/* Removes the entry in SLOT (found by mt_table_probe). */
void mt_table_del_at(mt_table_t *t, size_t slot);
/* Adds KEY -> V at SLOT (not found by mt_table_probe), or like mt_table_put
 * when the table must grow first. Returns 0 or ENOMEM (table unchanged). */
int mt_table_put_at(mt_table_t *t, size_t slot, uint64_t key, uint32_t v);

/* Frees the slots; the table is empty and usable again. */
void mt_table_free(mt_table_t *t);

/* Hashes for compound keys. */
uint64_t mt_hash_words(const uint64_t *w, size_t n);
uint64_t mt_hash_bytes(const void *p, size_t n);

/* ---- sizes (size.c) ------------------------------------------------------------
 * The one size grammar of MTRACE_* options and of the analyzer's options:
 * a decimal number of bytes, then optionally K, M, G or T (powers of 1024,
 * any case), then optionally i, then optionally B: 512, 64K, 64KB, 64KiB,
 * 16T, 100B. Returns 0, or -1 for anything else (a sign, an empty string,
 * spaces, an overflow of 64 bits). */
int mt_size_parse(const char *s, uint64_t *out);

/* ---- times (time.c) ------------------------------------------------------------
 * The one time grammar of the analyzer's --from / --to: a decimal number
 * (digits, optionally '.' and digits) then a unit: ns, us, ms, s, m or min
 * (minutes), h; no unit means seconds: 2, 1.5s, 200ms, 3m, 0.25h. Or a
 * percentage from 0% to 100%: 25%, 12.5%. Sets *OUT to nanoseconds, or for
 * a percentage to parts per million (25% -> 250000), and *PERCENT to which
 * it was. Returns 0, or -1 for anything else (a sign, spaces, an empty
 * string, an unknown unit, more than 64 bits of ns, more than 100%). */
int mt_time_parse(const char *s, uint64_t *out, bool *percent);

#endif
