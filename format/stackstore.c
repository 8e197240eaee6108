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
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
