/* stackstore.c - stack values as a prefix tree: a stack names an earlier
 * stack whose outer frames it shares and stores only its own inner frames.
 *
 * Stacks of one program share long outer parts (main, the event loop, the
 * interpreter's eval loop): format 3 stores each shared outer run once. The
 * writer keeps a trie of every stored stack's frames, outermost first; each
 * node remembers the first stack that passed through it. A new stack walks
 * the trie as far as it matches and refers to the owner of the last node
 * matched. Chains of references are at most MT__STACK_CHAIN_MAX long, so a
 * reader resolves a stack in a bounded number of lookups. Trie additions of
 * an aborted tick are rolled back, since their stacks were never stored.
 * The trie stops growing at MT__TRIE_NODES_MAX nodes (the writer thread's
 * memory stays bounded); later stacks still share the paths it has.
 * Format 4 stores these values in groups, one zstd frame per group of a
 * tick's stacks (their frames repeat across stacks: a quarter of the
 * bytes); a reader decodes a group once and indexes its records.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "internal.h"

#define MT__STACK_CHAIN_MAX 16   /* references followed to resolve one stack */
#define MT__STACK_STEPS_MAX 256  /* a reader's bound: a hostile trace may chain more */
#define MT__TRIE_NODES_MAX (1u << 20) /* ~28 MiB of trie; later stacks only match it */
#define MT__STACK_MEMO_IDS (1u << 24) /* a reader memoizes stacks below this id */

typedef struct mt__trie_node {
    uint64_t pc;
    uint32_t parent; /* node index + 1; 0 = the root */
    uint32_t owner;  /* the stack that created this node */
} mt__trie_node_t;

/* ---- writer side ------------------------------------------------------- */

typedef struct mt__eq_ctx {
    const mt__stackstore_t *s;
    uint32_t parent;
    uint64_t pc;
} mt__eq_ctx_t;

static bool mt__node_eq(const void *ctx, uint32_t v)
{
    const mt__eq_ctx_t *c = ctx;
    const mt__trie_node_t *n = &c->s->nodes[v];
    return n->parent == c->parent && n->pc == c->pc;
}

static uint64_t mt__node_key(uint32_t parent, uint64_t pc)
{
    uint64_t w[2] = {parent, pc};
    return mt_hash_words(w, 2);
}

/* Index + 1 of the child of PARENT for PC, or 0. */
static uint32_t mt__child(const mt__stackstore_t *s, uint32_t parent, uint64_t pc)
{
    mt__eq_ctx_t c = {s, parent, pc};
    uint32_t v = mt_table_find(&s->children, mt__node_key(parent, pc), mt__node_eq, &c);
    return v == MT_TABLE_NONE ? 0 : v + 1;
}

static uint32_t mt__chain_of(const mt__stackstore_t *s, uint32_t id)
{
    uint32_t v = mt_table_get(&s->chain, id);
    return v == MT_TABLE_NONE ? MT__STACK_CHAIN_MAX : v;
}

/* Undoes what stacks_put added after the last commit. */
void mt__stackstore_rollback(mt__stackstore_t *s)
{
    while (s->nnodes > s->committed_nodes) {
        mt__trie_node_t *n = &s->nodes[--s->nnodes];
        mt_table_del(&s->children, mt__node_key(n->parent, n->pc), (uint32_t)s->nnodes);
    }
    for (size_t i = 0; i < s->npending; i++)
        mt_table_del(&s->chain, s->pending[i], mt_table_get(&s->chain, s->pending[i]));
    s->npending = 0;
}

void mt__stackstore_commit(mt__stackstore_t *s)
{
    s->committed_nodes = s->nnodes;
    s->npending = 0;
}

void mt__stackstore_free(mt__stackstore_t *s)
{
    mt_table_free(&s->children);
    mt_table_free(&s->chain);
    free(s->nodes);
    free(s->pending);
    memset(s, 0, sizeof *s);
}

/* Writes varint PARENT, varint SHARED, varint M, then M frames (the first a
 * varint, the others zigzag varints of the difference from the previous). */
static size_t mt__stack_value(uint8_t *out, uint32_t parent, uint32_t shared, const uint64_t *pcs,
                              uint32_t m)
{
    size_t len = mt_varint_put(out, parent);
    len += mt_varint_put(out + len, shared);
    len += mt_varint_put(out + len, m);
    for (uint32_t i = 0; i < m; i++)
        len += mt_varint_put(out + len, i ? mt_zigzag((int64_t)(pcs[i] - pcs[i - 1])) : pcs[0]);
    return len;
}

int mt__stackstore_put(mt__stackstore_t *s, uint32_t id, const uint64_t *pcs, uint32_t n,
                       uint8_t out[MT__STACK_VALUE_MAX], size_t *len)
{
    /* Walk outermost first as far as the trie matches. */
    uint32_t cur = 0, d = 0;
    for (; d < n; d++) {
        uint32_t next = mt__child(s, cur, pcs[n - 1 - d]);
        if (!next)
            break;
        cur = next;
    }
    uint32_t parent = 0, shared = 0, chain = 0;
    if (cur) {
        uint32_t owner = s->nodes[cur - 1].owner;
        uint32_t owner_chain = mt__chain_of(s, owner);
        if (owner < id && owner_chain < MT__STACK_CHAIN_MAX) {
            parent = owner;
            shared = d;
            chain = owner_chain + 1;
        }
    }
    if (!parent)
        cur = d = 0; /* stored whole: walk again from the root */
    /* Record this stack's chain, then its new nodes (a rollback removes both). */
    uint32_t *p = MT_VEC_PUSH(NULL, s->pending, s->npending, s->pending_cap);
    if (!p || mt_table_put(&s->chain, id, chain))
        return ENOMEM;
    *p = id;
    s->npending++;
    for (uint32_t i = d; i < n && s->nnodes < MT__TRIE_NODES_MAX; i++) {
        uint64_t pc = pcs[n - 1 - i];
        uint32_t next = mt__child(s, cur, pc);
        if (next) { /* only when stored whole: the trie already has this path */
            cur = next;
            continue;
        }
        mt__trie_node_t *node = MT_VEC_PUSH(NULL, s->nodes, s->nnodes, s->nodes_cap);
        if (!node || mt_table_put(&s->children, mt__node_key(cur, pc), (uint32_t)s->nnodes))
            return ENOMEM;
        node->pc = pc;
        node->parent = cur;
        node->owner = id;
        cur = (uint32_t)++s->nnodes;
    }
    *len = mt__stack_value(out, parent, shared, pcs, n - shared);
    return 0;
}

/* ---- reader side ------------------------------------------------------- */

/* Parses one format 3 value: parent, shared, and its M frames into PCS. */
static int mt__stack_parse(const uint8_t *p, size_t len, uint32_t *parent, uint32_t *shared,
                           uint64_t *pcs, uint32_t *m)
{
    const uint8_t *end = p + len;
    uint64_t v[3];
    for (int i = 0; i < 3; i++) {
        size_t k = mt_varint_get(p, end, &v[i]);
        if (!k)
            return MT_ECORRUPT;
        p += k;
    }
    if (v[0] > UINT32_MAX || v[1] > MT_MAX_FRAMES || v[2] > MT_MAX_FRAMES ||
        v[1] + v[2] > MT_MAX_FRAMES || (v[0] == 0 && v[1] != 0))
        return MT_ECORRUPT;
    for (uint64_t i = 0; i < v[2]; i++) {
        uint64_t x;
        size_t k = mt_varint_get(p, end, &x);
        if (!k)
            return MT_ECORRUPT;
        p += k;
        pcs[i] = i ? pcs[i - 1] + (uint64_t)mt_unzigzag(x) : x;
    }
    if (p != end)
        return MT_ECORRUPT;
    *parent = (uint32_t)v[0];
    *shared = (uint32_t)v[1];
    *m = (uint32_t)v[2];
    return 0;
}

int mt__stack_resolve(uint32_t version, uint32_t id, const void *val, size_t len,
                      mt__stack_get_fn get, void *ctx, uint64_t *pcs, uint32_t *nframes)
{
    return mt__stack_resolve_memo(version, id, val, len, get, ctx, NULL, pcs, nframes);
}

void mt__stack_memo_free(mt__stack_memo_t *memo)
{
    free(memo->at);
    free(memo->pcs);
    memset(memo, 0, sizeof *memo);
}

/* The memo's entry of stack ID when it holds one resolved in at most
 * BUDGET steps (so that following references instead would not have hit
 * MT__STACK_STEPS_MAX either); else NULL. */
static const mt__stack_memo_ent_t *mt__memo_get(const mt__stack_memo_t *memo, uint32_t id,
                                                int budget)
{
    if (!memo || id >= memo->nat || !memo->at[id].n || memo->at[id].steps > budget)
        return NULL;
    return &memo->at[id];
}

/* Keeps stack ID's N frames PCS, resolved in STEPS steps (best effort:
 * out of memory only leaves it out). */
static void mt__memo_put(mt__stack_memo_t *memo, uint32_t id, const uint64_t *pcs, uint32_t n,
                         int steps)
{
    if (!memo || !n || id >= MT__STACK_MEMO_IDS)
        return;
    if (id >= memo->nat) {
        size_t nat = memo->nat ? memo->nat : 1024;
        while (nat <= id)
            nat *= 2;
        mt__stack_memo_ent_t *g = realloc(memo->at, nat * sizeof *g);
        if (!g)
            return;
        memset(g + memo->nat, 0, (nat - memo->nat) * sizeof *g);
        memo->at = g;
        memo->nat = nat;
    }
    if (memo->pcs_cap - memo->npcs < n &&
        mt_vec_reserve(NULL, &memo->pcs, &memo->pcs_cap, memo->npcs + n, sizeof *memo->pcs))
        return;
    memcpy(memo->pcs + memo->npcs, pcs, n * sizeof *pcs);
    memo->at[id] = (mt__stack_memo_ent_t){memo->npcs, (uint16_t)n, (uint16_t)steps};
    memo->npcs += n;
}

int mt__stack_resolve_memo(uint32_t version, uint32_t id, const void *val, size_t len,
                           mt__stack_get_fn get, void *ctx, mt__stack_memo_t *memo,
                           uint64_t *pcs, uint32_t *nframes)
{
    if (version < MT__STACK_TREE_VERSION)
        return mt__stack_decode(val, len, pcs, nframes);
    uint64_t own[MT_MAX_FRAMES];
    uint32_t parent, need, m;
    int rc = mt__stack_parse(val, len, &parent, &need, own, &m);
    if (rc)
        return rc;
    memcpy(pcs, own, m * sizeof *pcs);
    uint32_t n = m, self = id;
    int step = 0;
    /* Each step appends the tail of an ancestor's own frames that lies
     * outside what it shares with its own parent. */
    for (; need > 0; step++) {
        if (parent >= id || step == MT__STACK_STEPS_MAX)
            return MT_ECORRUPT; /* references point back only */
        /* A resolved parent holds the frames that are still needed as its
         * last ones: the tail of the same chain of references. */
        const mt__stack_memo_ent_t *e = mt__memo_get(memo, parent, MT__STACK_STEPS_MAX - step - 1);
        if (e) {
            if (need > e->n)
                return MT_ECORRUPT;
            memcpy(pcs + n, memo->pcs + e->off + e->n - need, need * sizeof *pcs);
            n += need;
            need = 0;
            step += 1 + e->steps;
            break;
        }
        const void *pv;
        size_t plen;
        if ((rc = get(ctx, parent, &pv, &plen)))
            return rc == MT_ENOTFOUND ? MT_ECORRUPT : rc;
        uint32_t pparent, pshared, pm;
        if ((rc = mt__stack_parse(pv, plen, &pparent, &pshared, own, &pm)))
            return rc;
        if (need > pm + pshared)
            return MT_ECORRUPT;
        if (need > pshared) {
            uint32_t take = need - pshared;
            memcpy(pcs + n, own + pm - take, take * sizeof *pcs);
            n += take;
            need = pshared;
        }
        id = parent;
        parent = pparent;
    }
    mt__memo_put(memo, self, pcs, n, step);
    *nframes = n;
    return 0;
}

/* ---- stack groups (format 4) ------------------------------------------- */

#define MT__STACKGROUP_LEVEL 3 /* zstd level: stacks are few; 3 is ~4% smaller than 1 */
#define MT__STACKGROUP_ZSTD_MIN 64 /* smaller groups are stored as they are */
#define MT__STACKGROUP_HEAD_MAX (5 + 1 + 5)

int mt__stackgroup_full(const mt__stackgroup_t *g)
{
    return g->len + 5 + MT__STACK_VALUE_MAX > MT__STACK_GROUP_RAW_MAX;
}

int mt__stackgroup_add(mt__stackgroup_t *g, uint32_t id, const uint8_t *val, size_t len)
{
    if (id == 0 || id <= g->top || len > MT__STACK_VALUE_MAX || mt__stackgroup_full(g))
        return MT_EINVAL;
    if (!g->raw && !(g->raw = malloc(g->cap = MT__STACK_GROUP_RAW_MAX)))
        return ENOMEM;
    size_t n = mt_varint_put(g->raw + g->len, g->count ? id - g->last - 1 : 0);
    memcpy(g->raw + g->len + n, val, len);
    g->len += n + len;
    if (!g->count++)
        g->first = id;
    g->last = g->top = id;
    return 0;
}

int mt__stackgroup_finish(mt__stackgroup_t *g, uint32_t *first, const uint8_t **val,
                          size_t *len)
{
    *len = 0;
    if (!g->count)
        return 0;
    size_t need = MT__STACKGROUP_HEAD_MAX + ZSTD_compressBound(g->len);
    if (g->out_cap < need) {
        uint8_t *o = realloc(g->out, need);
        if (!o)
            return ENOMEM;
        g->out = o;
        g->out_cap = need;
    }
    uint8_t *o = g->out;
    size_t h = mt_varint_put(o, g->count);
    size_t flags_at = h++;
    h += mt_varint_put(o + h, g->len);
    size_t z = 0;
    if (g->len >= MT__STACKGROUP_ZSTD_MIN) {
        if (!g->cctx)
            g->cctx = ZSTD_createCCtx();
        if (g->cctx) {
            z = ZSTD_compressCCtx(g->cctx, o + h, g->out_cap - h, g->raw, g->len,
                                  MT__STACKGROUP_LEVEL);
            if (ZSTD_isError(z) || z >= g->len)
                z = 0;
        }
    }
    o[flags_at] = z ? MT__STACK_GROUP_FLAG_ZSTD : 0;
    if (!z)
        memcpy(o + h, g->raw, z = g->len);
    *first = g->first;
    *val = o;
    *len = h + z;
    g->len = g->count = 0;
    return 0;
}

void mt__stackgroup_commit(mt__stackgroup_t *g)
{
    g->committed_top = g->top;
    g->len = g->count = 0;
}

void mt__stackgroup_rollback(mt__stackgroup_t *g)
{
    g->top = g->committed_top;
    g->len = g->count = 0;
}

void mt__stackgroup_free(mt__stackgroup_t *g)
{
    ZSTD_freeCCtx(g->cctx);
    free(g->raw);
    free(g->out);
    memset(g, 0, sizeof *g);
}

/* Skips one varint of [*P, END) into *V; 0 when truncated or too long. */
static int mt__skip_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    size_t k = mt_varint_get(*p, end, v);
    *p += k;
    return k != 0;
}

int mt__stackgroup_decode(uint32_t first, const void *val, size_t len, void **dctx,
                          mt__stackgroup_index_t *ix)
{
    const uint8_t *p = val, *end = p + len;
    uint64_t count, raw;
    memset(ix, 0, sizeof *ix);
    if (first == 0 || !mt__skip_varint(&p, end, &count) || p == end || (*p & ~1u))
        return MT_ECORRUPT;
    int zstd = *p++ & MT__STACK_GROUP_FLAG_ZSTD;
    /* Bounds before anything is allocated: a small frame may claim a huge body. */
    if (!mt__skip_varint(&p, end, &raw) || raw > MT__STACK_GROUP_RAW_MAX || count == 0 ||
        count > raw / MT__STACK_RECORD_MIN || (!zstd && raw != (uint64_t)(end - p)) ||
        (zstd && p == end))
        return MT_ECORRUPT;
    size_t zlen = (size_t)(end - p);
    if (zstd && (ZSTD_getFrameContentSize(p, zlen) != raw ||
                 ZSTD_findFrameCompressedSize(p, zlen) != zlen))
        return MT_ECORRUPT;
    size_t words = 2 * (size_t)count + 1;
    uint32_t *mem = malloc(words * sizeof *mem + (size_t)raw);
    if (!mem)
        return ENOMEM;
    ix->ids = mem;
    ix->off = mem + count;
    ix->raw = (uint8_t *)(mem + words);
    if (zstd) {
        if (!*dctx && !(*dctx = ZSTD_createDCtx())) {
            free(mem);
            return ENOMEM;
        }
        size_t got = ZSTD_decompressDCtx(*dctx, ix->raw, (size_t)raw, p, zlen);
        if (ZSTD_isError(got) || got != raw)
            goto corrupt;
    } else {
        memcpy(ix->raw, p, (size_t)raw);
    }
    /* Index the records: each id, where its value starts and ends. */
    const uint8_t *q = ix->raw, *qend = q + raw;
    uint64_t id = first;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t gap, v[3], x;
        ix->off[i] = (uint32_t)(q - ix->raw);
        if (!mt__skip_varint(&q, qend, &gap) || gap >= UINT32_MAX || (i == 0 && gap != 0) ||
            (i && (id += gap + 1) > UINT32_MAX))
            goto corrupt;
        ix->ids[i] = (uint32_t)id;
        for (int k = 0; k < 3; k++)
            if (!mt__skip_varint(&q, qend, &v[k]))
                goto corrupt;
        if (v[2] > MT_MAX_FRAMES)
            goto corrupt;
        for (uint64_t k = 0; k < v[2]; k++)
            if (!mt__skip_varint(&q, qend, &x))
                goto corrupt;
    }
    if (q != qend)
        goto corrupt;
    ix->off[count] = (uint32_t)raw;
    ix->first = first;
    ix->last = ix->ids[count - 1];
    ix->count = (uint32_t)count;
    return 0;
corrupt:
    free(mem);
    memset(ix, 0, sizeof *ix);
    return MT_ECORRUPT;
}

void mt__stackgroup_index_free(mt__stackgroup_index_t *ix)
{
    free(ix->ids);
    memset(ix, 0, sizeof *ix);
}

void mt__stackgroup_dctx_free(void *dctx)
{
    ZSTD_freeDCtx(dctx);
}

const uint8_t *mt__stackgroup_value(const mt__stackgroup_index_t *ix, uint32_t i, size_t *len)
{
    const uint8_t *p = ix->raw + ix->off[i], *end = ix->raw + ix->off[i + 1];
    uint64_t gap;
    p += mt_varint_get(p, end, &gap); /* the decoder checked it */
    *len = (size_t)(end - p);
    return p;
}

uint32_t mt__stackgroup_lower(const mt__stackgroup_index_t *ix, uint32_t id)
{
    uint32_t lo = 0, hi = ix->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ix->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
