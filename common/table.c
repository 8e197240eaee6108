/* table.c - the one open-addressing hash table (common.h): u64 key -> u32
 * value, linear probing, grown at 3/4 full, backward-shift deletion. */
#include <errno.h>
#include <string.h>

#include "common.h"

#define FIB 0x9E3779B97F4A7C15ull
#define MIN_BITS 10

static size_t home(uint64_t key, unsigned bits)
{
    return (size_t)((key * FIB) >> (64 - bits));
}

uint32_t mt_table_find(const mt_table_t *t, uint64_t key, mt_table_eq_fn eq, const void *ctx)
{
    if (!t->n)
        return MT_TABLE_NONE;
    size_t mask = ((size_t)1 << t->bits) - 1;
    for (size_t i = home(key, t->bits); t->val[i]; i = (i + 1) & mask)
        if (t->key[i] == key && (!eq || eq(ctx, t->val[i] - 1)))
            return t->val[i] - 1;
    return MT_TABLE_NONE;
}

static void place(uint64_t *keys, uint32_t *vals, unsigned bits, uint64_t key, uint32_t v1)
{
    size_t mask = ((size_t)1 << bits) - 1, i = home(key, bits);
    while (vals[i])
        i = (i + 1) & mask;
    keys[i] = key;
    vals[i] = v1;
}

static int grow(mt_table_t *t)
{
    unsigned bits = t->bits ? t->bits + 1 : MIN_BITS;
    size_t n = (size_t)1 << bits;
    uint64_t *k = mt_realloc(t->alloc, NULL, n * sizeof(*k));
    uint32_t *v = mt_realloc(t->alloc, NULL, n * sizeof(*v));
    if (!k || !v) {
        mt_realloc(t->alloc, k, 0);
        mt_realloc(t->alloc, v, 0);
        return ENOMEM;
    }
    memset(v, 0, n * sizeof(*v));
    for (size_t i = 0; t->bits && i < ((size_t)1 << t->bits); i++)
        if (t->val[i])
            place(k, v, bits, t->key[i], t->val[i]);
    mt_realloc(t->alloc, t->key, 0);
    mt_realloc(t->alloc, t->val, 0);
    t->key = k;
    t->val = v;
    t->bits = bits;
    return 0;
}

int mt_table_put(mt_table_t *t, uint64_t key, uint32_t v)
{
    if (v == MT_TABLE_NONE)
        return EINVAL;
    if ((!t->bits || (t->n + 1) * 4 > ((size_t)3 << t->bits)) && grow(t))
        return ENOMEM;
    place(t->key, t->val, t->bits, key, v + 1);
    t->n++;
    return 0;
}

bool mt_table_probe(const mt_table_t *t, uint64_t key, size_t *slot)
{
    *slot = MT_TABLE_NOSLOT;
    if (!t->bits)
        return false;
    size_t mask = ((size_t)1 << t->bits) - 1, i = home(key, t->bits);
    for (; t->val[i]; i = (i + 1) & mask)
        if (t->key[i] == key) {
            *slot = i;
            return true;
        }
    *slot = i;
    return false;
}

int mt_table_put_at(mt_table_t *t, size_t slot, uint64_t key, uint32_t v)
{
    if (slot == MT_TABLE_NOSLOT || v == MT_TABLE_NONE || (t->n + 1) * 4 > ((size_t)3 << t->bits))
        return mt_table_put(t, key, v);
    t->key[slot] = key;
    t->val[slot] = v + 1;
    t->n++;
    return 0;
}

void mt_table_del_at(mt_table_t *t, size_t i)
{
    size_t mask = ((size_t)1 << t->bits) - 1;
    /* Backward shift: an entry after the hole moves into it unless its home
     * lies cyclically in (hole, entry]. */
    for (size_t j = i;;) {
        j = (j + 1) & mask;
        if (!t->val[j])
            break;
        size_t k = home(t->key[j], t->bits);
        bool stays = i <= j ? (k > i && k <= j) : (k > i || k <= j);
        if (!stays) {
            t->key[i] = t->key[j];
            t->val[i] = t->val[j];
            i = j;
        }
    }
    t->val[i] = 0;
    t->n--;
}

bool mt_table_del(mt_table_t *t, uint64_t key, uint32_t v)
{
    if (!t->n)
        return false;
    size_t mask = ((size_t)1 << t->bits) - 1, i = home(key, t->bits);
    for (; t->val[i] && !(t->key[i] == key && t->val[i] == v + 1); i = (i + 1) & mask)
        ;
    if (!t->val[i])
        return false;
    mt_table_del_at(t, i);
    return true;
}

void mt_table_free(mt_table_t *t)
{
    mt_realloc(t->alloc, t->key, 0);
    mt_realloc(t->alloc, t->val, 0);
    t->key = NULL;
    t->val = NULL;
    t->bits = 0;
    t->n = 0;
}

uint64_t mt_hash_words(const uint64_t *w, size_t n)
{
    uint64_t h = 0x243F6A8885A308D3ull ^ n;
    for (size_t i = 0; i < n; i++) {
        h ^= w[i];
        h *= FIB;
        h ^= h >> 29;
    }
    return h;
}

uint64_t mt_hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0xCBF29CE484222325ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001B3ull;
    }
    return h ^ (h >> 32);
}
