/* cmd-numa.c - `mtrace-analyze numa`: which NUMA node the memory landed on.
 *
 * Replays the traces with the numa.c hook, then reports the topology,
 * resident bytes per node (heap samples weighted, regions counted) and
 * untouched bytes, local against remote, migrations, requested policy
 * against the node the memory landed on, policy calls by type, and two stack
 * lists: stacks by node (the matrix) and the stacks of policy calls. Rows are
 * grouped and symbolized by report.c like top's.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "internal.h"
#include "numa.h"

static const mt_opt_t options[] = {
    MT_OPT_TOP("show N stacks per list (default 10; 0 = all)"),
    MT_OPT_MATCH("keep stacks with a frame whose function, file or\n"
                 "module matches REGEX (POSIX extended)"),
    MT_OPT_DEPTH("show D frames per stack (default 8 in text, all in JSON)"),
    MT_OPT_BY("group by innermost function or by whole stack (default)"),
    MT_OPT_FROM,
    MT_OPT_TO,
    MT_OPT_JSON("print JSON; keys below"),
    MT_OPT_HELP,
    MT_OPT_END,
};

static const mt_help_t help = {
    .synopsis = "[options] [TRACE...]",
    .about = "Where allocations landed. The shim asks the kernel (move_pages) which node\n"
             "the pages of live sampled allocations and of mmap regions are on, shortly\n"
             "after they appear and again every few seconds. Each allocation and region\n"
             "counts once, as last seen: resident bytes per node (heap estimated from the\n"
             "samples' weights, regions counted page by page or from sampled pages),\n"
             "untouched bytes (never faulted in), local or remote against the allocating\n"
             "thread's node, bytes that moved between answers (migrations), and bytes on\n"
             "a node the requested policy (mbind, else the thread's set_mempolicy)\n"
             "excludes: MISMATCH. Then the policy calls by type, with their stacks.\n",
    .opts = options,
    .json = "nodes: [{node, resident_bytes, heap_bytes, region_bytes, live_resident_bytes, "
            "memory_bytes, cpus: [...], distances: [{node, distance}]}], topology, "
            "untouched_bytes, heap_untouched_bytes, region_untouched_bytes, unknown_bytes, "
            "unplaced_bytes, local_bytes, remote_bytes, remote_objects, migrated_bytes, "
            "migrations, mismatch_bytes, mismatched_objects, regions, regions_placed, "
            "heap_objects, heap_placed, placements, calls: {mbind, set_mempolicy, move_pages, "
            "migrate_pages}, calls_failed, estimated, sample_interval, complete, "
            "traces: [{trace, pid, command, complete, sample_interval, events, unknown_frees}], window: {from_ns, to_ns, span_ns}, by, stacks: [{kind, bytes, resident_bytes, untouched_bytes, "
            "unknown_bytes, unplaced_bytes, nodes: [{node, bytes}], local_bytes, remote_bytes, "
            "migrated_bytes, migrations, mismatch, mismatch_bytes, policy: {source, mode, "
            "nodes}, regions, heap_objects, stacks, frames: [{function, file, line, module, address, inlined, offset}]}], policy_stacks: [{call, "
            "count, failed, mode, nodes, frames: [{function, file, line, module, address, inlined, offset}]}]",
    .json_notes = "  topology says whether the trace recorded the machine's nodes; policy\n"
                  "  is null without one; a stack's stacks counts the recorded stacks it\n"
                  "  merges. Frames innermost first, as in top.\n",
};

/* The analysis whose stacks keep_placed / keep_calls look at. */
static const mt_numa_t *keep_nu;
static const mt_replay_t *keep_rp;

static const mt_numa_stack_t *numa_of(const mt_stack_stats_t *st)
{
    size_t i = (size_t)(st - keep_rp->stacks);
    return i < keep_nu->nstacks ? &keep_nu->stacks[i] : NULL;
}

static bool keep_placed(const mt_stack_stats_t *st)
{
    const mt_numa_stack_t *s = numa_of(st);
    return s && (s->node_bw || s->untouched_bw || s->unknown_bw);
}

static bool keep_calls(const mt_stack_stats_t *st)
{
    const mt_numa_stack_t *s = numa_of(st);
    return s && (s->calls[0] || s->calls[1] || s->calls[2] || s->calls[3]);
}

static mt_numa_stack_t *row_numa(const mt_row_t *r)
{
    return r->extra;
}

/* Sums the numa data NU of every stack into its row (row->extra);
 * mt_cli_rows's FILL. */
static int fill_rows(mt_report_t *rep, void *ctx)
{
    const mt_numa_t *nu = ctx;
    for (size_t i = 0; i < rep->nrows; i++) {
        mt_numa_stack_t *s = calloc(1, sizeof(*s) + MT_NUMA_NODES * sizeof(mt_u128));
        if (!s)
            return ENOMEM;
        s->node_bw = (mt_u128 *)(s + 1);
        rep->rows[i].extra = s;
    }
    for (size_t i = 0; i < rep->rp->nstacks && i < nu->nstacks; i++)
        if (rep->row_of_stack[i] != UINT32_MAX)
            mt_numa_stack_add(row_numa(&rep->rows[rep->row_of_stack[i]]), &nu->stacks[i]);
    return 0;
}

static mt_u128 row_total(const mt_row_t *r)
{
    const mt_numa_stack_t *s = row_numa(r);
    mt_u128 t = s->untouched_bw + s->unknown_bw;
    for (int n = 0; n < MT_NUMA_NODES; n++)
        t += s->node_bw[n];
    return t;
}

static int by_total(const mt_row_t *a, const mt_row_t *b)
{
    return mt_cmp_desc(row_total(a), row_total(b));
}

static uint64_t row_calls(const mt_row_t *r)
{
    const mt_numa_stack_t *s = row_numa(r);
    return s->calls[0] + s->calls[1] + s->calls[2] + s->calls[3];
}

static int by_calls(const mt_row_t *a, const mt_row_t *b)
{
    return mt_cmp_desc(row_calls(a), row_calls(b));
}

/* The node columns: topology nodes and every node something landed on. */
static int columns(const mt_numa_t *nu, int *cols)
{
    uint64_t set = nu->nodes_seen;
    for (uint32_t i = 0; nu->has_topo && i < nu->topo.nnodes; i++)
        if (nu->topo.node[i] < MT_NUMA_NODES)
            set |= 1ull << nu->topo.node[i];
    int n = 0;
    for (int k = 0; k < MT_NUMA_NODES; k++)
        if (set >> k & 1)
            cols[n++] = k;
    return n;
}

static int topo_index(const mt_numa_t *nu, int node)
{
    for (uint32_t i = 0; nu->has_topo && i < nu->topo.nnodes; i++)
        if (nu->topo.node[i] == node)
            return (int)i;
    return -1;
}

static const char *kind_name(const mt_numa_stack_t *s)
{
    return s->regions && s->heap_objects ? "mixed" : s->regions ? "region" : "heap";
}

static const char *source_name(int source)
{
    return source == MT_NUMA_REQ_MBIND ? "mbind" : "set_mempolicy";
}

/* "0-3,8" of a node's CPUs into BUF[CAP]. */
static const char *cpu_text(const mt_topology_t *t, uint32_t i, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (uint32_t k = t->cpu_start[i]; k < t->cpu_start[i + 1]; k++) {
        uint32_t end = k;
        while (end + 1 < t->cpu_start[i + 1] && t->cpu[end + 1] == t->cpu[end] + 1)
            end++;
        int w = end > k ? snprintf(buf + len, cap - len, "%s%u-%u", len ? "," : "", t->cpu[k],
                                   t->cpu[end])
                        : snprintf(buf + len, cap - len, "%s%u", len ? "," : "", t->cpu[k]);
        if (w < 0 || (size_t)w >= cap - len)
            break;
        len += (size_t)w;
        k = end;
    }
    return len ? buf : "none";
}

/* ---- text ------------------------------------------------------------------ */

static void print_policy_text(const mt_numa_stack_t *s)
{
    char m[32], nodes[256];
    if (!s->req_source)
        return;
    printf("     requested: %s %s nodes %s", source_name(s->req_source),
           mt_numa_mode_name(s->req_mode, m), mt_numa_mask_text(s->req_mask, nodes, sizeof(nodes)));
    if (s->mismatch_bw) {
        char b[MT_FMT_MAX];
        printf("  MISMATCH: %s landed on other nodes", mt_fmt_bytes(b, mt_bw_bytes(s->mismatch_bw)));
    }
    putchar('\n');
}

static void print_text(const mt_cli_t *o, const mt_replay_t *rp, const mt_numa_t *nu,
                       const mt_report_t *placed, size_t nplaced, const mt_report_t *calls,
                       size_t ncalls)
{
    char a[MT_FMT_MAX], b[MT_FMT_MAX], c[MT_FMT_MAX], d[MT_FMT_MAX], e[MT_FMT_MAX];
    int cols[MT_NUMA_NODES], ncols = columns(nu, cols);
    size_t depth = mt_cli_depth(o, 8);

    printf("numa: %d %s; %s of %s %s and %s of %s heap %s placed (%s)\n", ncols,
           mt_plural((uint64_t)ncols, "node", "nodes"), mt_fmt_count(a, nu->regions_placed),
           mt_fmt_count(b, nu->regions), mt_plural(nu->regions, "region", "regions"),
           mt_fmt_count(c, nu->heap_placed), mt_fmt_count(d, nu->heap_objects),
           mt_plural(nu->heap_objects, "sample", "samples"),
           rp->sampled ? "heap bytes are estimates" : "every call recorded; exact");
    if (!rp->complete)
        printf("(trace still running or not ended cleanly)\n");
    if (rp->windowed) /* regions and policies are as of the window's end */
        mt_report_print_window(rp);
    if (nu->has_topo) {
        printf("\ntopology:\n");
        for (uint32_t i = 0; i < nu->topo.nnodes; i++) {
            char cpus[512];
            printf("  node %-3u %s memory, CPUs %s, distances", nu->topo.node[i],
                   nu->topo.memory[i] ? mt_fmt_bytes(a, nu->topo.memory[i]) : "unknown",
                   cpu_text(&nu->topo, i, cpus, sizeof(cpus)));
            for (uint32_t j = 0; j < nu->topo.nnodes; j++)
                printf(" %u", nu->topo.distance[i][j]);
            putchar('\n');
        }
    } else {
        printf("\ntopology: not recorded\n");
    }
    printf("\nresident, each allocation and region as last seen:\n");
    for (int k = 0; k < ncols; k++) {
        int n = cols[k];
        printf("  node %-3d %10s  (regions %s, heap %s; live at the end %s)\n", n,
               mt_fmt_bytes(a, mt_bw_bytes(nu->resident_bw[n])),
               mt_fmt_bytes(b, mt_bw_bytes(nu->region_bw[n])),
               mt_fmt_bytes(c, mt_bw_bytes(nu->heap_bw[n])),
               mt_fmt_bytes(d, mt_bw_bytes(nu->live_resident_bw[n])));
    }
    printf("  untouched %10s  (regions %s, heap %s)\n", mt_fmt_bytes(a, mt_bw_bytes(nu->untouched_bw)),
           mt_fmt_bytes(b, mt_bw_bytes(nu->region_untouched_bw)),
           mt_fmt_bytes(c, mt_bw_bytes(nu->heap_untouched_bw)));
    if (nu->unknown_bw)
        printf("  unknown   %10s\n", mt_fmt_bytes(a, mt_bw_bytes(nu->unknown_bw)));
    if (nu->unplaced_bw)
        printf("  not asked %10s  (freed before the first placement query)\n",
               mt_fmt_bytes(a, mt_bw_bytes(nu->unplaced_bw)));
    uint64_t local = mt_bw_bytes(nu->local_bw), remote = mt_bw_bytes(nu->remote_bw);
    printf("local %s (%s), remote %s (%s) of the allocating thread's node\n", mt_fmt_bytes(a, local),
           mt_fmt_percent(b, local, local + remote), mt_fmt_bytes(c, remote),
           mt_fmt_percent(d, remote, local + remote));
    printf("migrated %s in %s %s; policy mismatches %s in %s %s\n",
           mt_fmt_bytes(a, mt_bw_bytes(nu->migrated_bw)), mt_fmt_count(b, nu->migrations),
           mt_plural(nu->migrations, "move", "moves"), mt_fmt_bytes(c, mt_bw_bytes(nu->mismatch_bw)),
           mt_fmt_count(d, nu->mismatched_objects),
           mt_plural(nu->mismatched_objects, "object", "objects"));
    printf("policy calls:");
    for (int k = 0; k <= MT_PK_MAX; k++)
        printf("%s %s %s", k ? "," : "", mt_numa_call_names[k], mt_fmt_count(a, nu->calls[k]));
    if (nu->calls_failed)
        printf(" (%s failed)", mt_fmt_count(a, nu->calls_failed));
    putchar('\n');

    printf("\nstacks by node%s:\n", o->has_match ? " (matching)" : "");
    if (!placed->nrows)
        printf("  (none)\n");
    for (size_t i = 0; i < nplaced; i++) {
        const mt_row_t *r = &placed->rows[i];
        const mt_numa_stack_t *s = row_numa(r);
        printf("\n#%-3zu %s %s:", i + 1, kind_name(s), mt_fmt_bytes(a, mt_bw_bytes(row_total(r))));
        for (int k = 0; k < ncols; k++)
            printf(" node %d %s,", cols[k], mt_fmt_bytes(a, mt_bw_bytes(s->node_bw[cols[k]])));
        printf(" untouched %s", mt_fmt_bytes(a, mt_bw_bytes(s->untouched_bw)));
        if (s->unknown_bw)
            printf(", unknown %s", mt_fmt_bytes(a, mt_bw_bytes(s->unknown_bw)));
        putchar('\n');
        printf("     local %s, remote %s, migrated %s; %s %s, %s heap %s\n",
               mt_fmt_bytes(a, mt_bw_bytes(s->local_bw)), mt_fmt_bytes(b, mt_bw_bytes(s->remote_bw)),
               mt_fmt_bytes(c, mt_bw_bytes(s->migrated_bw)), mt_fmt_count(d, s->regions),
               mt_plural(s->regions, "region", "regions"), mt_fmt_count(e, s->heap_objects),
               mt_plural(s->heap_objects, "sample", "samples"));
        print_policy_text(s);
        mt_report_print_frames(r, depth);
    }
    mt_report_print_more(nplaced, placed->nrows, "stack", "stacks");

    printf("\npolicy calls by stack%s:\n", o->has_match ? " (matching)" : "");
    if (!calls->nrows)
        printf("  (none)\n");
    for (size_t i = 0; i < ncalls; i++) {
        const mt_row_t *r = &calls->rows[i];
        const mt_numa_stack_t *s = row_numa(r);
        char m[32], nodes[256];
        printf("\n#%-3zu", i + 1);
        for (int k = 0; k <= MT_PK_MAX; k++)
            if (s->calls[k])
                printf(" %s %s %s", mt_numa_call_names[k], mt_fmt_count(a, s->calls[k]),
                       mt_plural(s->calls[k], "call", "calls"));
        if (s->calls[MT_PK_MBIND] || s->calls[MT_PK_SET_MEMPOLICY])
            printf(": %s nodes %s", mt_numa_mode_name(s->call_mode, m),
                   mt_numa_mask_text(s->call_mask, nodes, sizeof(nodes)));
        if (s->calls_failed)
            printf(" (%s failed)", mt_fmt_count(a, s->calls_failed));
        putchar('\n');
        mt_report_print_frames(r, depth);
    }
    mt_report_print_more(ncalls, calls->nrows, "stack", "stacks");
}

/* ---- JSON ------------------------------------------------------------------ */

static void json_mask(mt_json_t *j, const char *key, uint64_t mask)
{
    mt_json_key(j, key);
    mt_json_begin_array(j);
    for (int n = 0; n < 64; n++)
        if (mask >> n & 1)
            mt_json_u64(j, (uint64_t)n);
    mt_json_end_array(j);
}

static void print_json(const mt_cli_t *o, const mt_replay_t *rp, const mt_numa_t *nu,
                       const mt_report_t *placed, size_t nplaced, const mt_report_t *calls,
                       size_t ncalls)
{
    int cols[MT_NUMA_NODES], ncols = columns(nu, cols);
    size_t depth = mt_cli_depth(o, 0);
    char m[32];
    mt_json_t j;
    mt_cli_json_begin(&j, o);
    mt_json_key(&j, "nodes");
    mt_json_begin_array(&j);
    for (int k = 0; k < ncols; k++) {
        int n = cols[k], ti = topo_index(nu, n);
        mt_json_begin_object(&j);
        mt_json_kv_u64(&j, "node", (uint64_t)n);
        mt_json_kv_u64(&j, "resident_bytes", mt_bw_bytes(nu->resident_bw[n]));
        mt_json_kv_u64(&j, "heap_bytes", mt_bw_bytes(nu->heap_bw[n]));
        mt_json_kv_u64(&j, "region_bytes", mt_bw_bytes(nu->region_bw[n]));
        mt_json_kv_u64(&j, "live_resident_bytes", mt_bw_bytes(nu->live_resident_bw[n]));
        mt_json_key(&j, "memory_bytes");
        ti >= 0 && nu->topo.memory[ti] ? mt_json_u64(&j, nu->topo.memory[ti]) : mt_json_null(&j);
        mt_json_key(&j, "cpus");
        mt_json_begin_array(&j);
        for (uint32_t c = ti >= 0 ? nu->topo.cpu_start[ti] : 0;
             ti >= 0 && c < nu->topo.cpu_start[ti + 1]; c++)
            mt_json_u64(&j, nu->topo.cpu[c]);
        mt_json_end_array(&j);
        mt_json_key(&j, "distances");
        mt_json_begin_array(&j);
        for (uint32_t d = 0; ti >= 0 && d < nu->topo.nnodes; d++) {
            mt_json_begin_object(&j);
            mt_json_kv_u64(&j, "node", nu->topo.node[d]);
            mt_json_kv_u64(&j, "distance", nu->topo.distance[ti][d]);
            mt_json_end_object(&j);
        }
        mt_json_end_array(&j);
        mt_json_end_object(&j);
    }
    mt_json_end_array(&j);
    mt_json_kv_bool(&j, "topology", nu->has_topo);
    mt_json_kv_u64(&j, "untouched_bytes", mt_bw_bytes(nu->untouched_bw));
    mt_json_kv_u64(&j, "heap_untouched_bytes", mt_bw_bytes(nu->heap_untouched_bw));
    mt_json_kv_u64(&j, "region_untouched_bytes", mt_bw_bytes(nu->region_untouched_bw));
    mt_json_kv_u64(&j, "unknown_bytes", mt_bw_bytes(nu->unknown_bw));
    mt_json_kv_u64(&j, "unplaced_bytes", mt_bw_bytes(nu->unplaced_bw));
    mt_json_kv_u64(&j, "local_bytes", mt_bw_bytes(nu->local_bw));
    mt_json_kv_u64(&j, "remote_bytes", mt_bw_bytes(nu->remote_bw));
    mt_json_kv_u64(&j, "remote_objects", nu->remote_objects);
    mt_json_kv_u64(&j, "migrated_bytes", mt_bw_bytes(nu->migrated_bw));
    mt_json_kv_u64(&j, "migrations", nu->migrations);
    mt_json_kv_u64(&j, "mismatch_bytes", mt_bw_bytes(nu->mismatch_bw));
    mt_json_kv_u64(&j, "mismatched_objects", nu->mismatched_objects);
    mt_json_kv_u64(&j, "regions", nu->regions);
    mt_json_kv_u64(&j, "regions_placed", nu->regions_placed);
    mt_json_kv_u64(&j, "heap_objects", nu->heap_objects);
    mt_json_kv_u64(&j, "heap_placed", nu->heap_placed);
    mt_json_kv_u64(&j, "placements", nu->placements);
    mt_json_key(&j, "calls");
    mt_json_begin_object(&j);
    for (int k = 0; k <= MT_PK_MAX; k++)
        mt_json_kv_u64(&j, mt_numa_call_names[k], nu->calls[k]);
    mt_json_end_object(&j);
    mt_json_kv_u64(&j, "calls_failed", nu->calls_failed);
    mt_report_json_traces(&j, rp);
    mt_json_kv_string(&j, "by", o->by_function ? "function" : "stack");

    mt_json_key(&j, "stacks");
    mt_json_begin_array(&j);
    for (size_t i = 0; i < nplaced; i++) {
        const mt_row_t *r = &placed->rows[i];
        const mt_numa_stack_t *s = row_numa(r);
        mt_json_begin_object(&j);
        mt_json_kv_string(&j, "kind", kind_name(s));
        mt_json_kv_u64(&j, "bytes", mt_bw_bytes(row_total(r)));
        mt_json_kv_u64(&j, "resident_bytes", mt_numa_stack_resident(s));
        mt_json_kv_u64(&j, "untouched_bytes", mt_bw_bytes(s->untouched_bw));
        mt_json_kv_u64(&j, "unknown_bytes", mt_bw_bytes(s->unknown_bw));
        mt_json_kv_u64(&j, "unplaced_bytes", mt_bw_bytes(s->unplaced_bw));
        mt_json_key(&j, "nodes");
        mt_json_begin_array(&j);
        for (int k = 0; k < ncols; k++) {
            mt_json_begin_object(&j);
            mt_json_kv_u64(&j, "node", (uint64_t)cols[k]);
            mt_json_kv_u64(&j, "bytes", mt_bw_bytes(s->node_bw[cols[k]]));
            mt_json_end_object(&j);
        }
        mt_json_end_array(&j);
        mt_json_kv_u64(&j, "local_bytes", mt_bw_bytes(s->local_bw));
        mt_json_kv_u64(&j, "remote_bytes", mt_bw_bytes(s->remote_bw));
        mt_json_kv_u64(&j, "migrated_bytes", mt_bw_bytes(s->migrated_bw));
        mt_json_kv_u64(&j, "migrations", s->migrations);
        mt_json_kv_bool(&j, "mismatch", s->mismatch_bw != 0);
        mt_json_kv_u64(&j, "mismatch_bytes", mt_bw_bytes(s->mismatch_bw));
        mt_json_key(&j, "policy");
        if (s->req_source) {
            mt_json_begin_object(&j);
            mt_json_kv_string(&j, "source", source_name(s->req_source));
            mt_json_kv_string(&j, "mode", mt_numa_mode_name(s->req_mode, m));
            json_mask(&j, "nodes", s->req_mask);
            mt_json_end_object(&j);
        } else {
            mt_json_null(&j);
        }
        mt_json_kv_u64(&j, "regions", s->regions);
        mt_json_kv_u64(&j, "heap_objects", s->heap_objects);
        mt_json_kv_u64(&j, "stacks", r->nstacks);
        mt_report_json_frames(&j, r, depth);
        mt_json_end_object(&j);
    }
    mt_json_end_array(&j);

    mt_json_key(&j, "policy_stacks");
    mt_json_begin_array(&j);
    for (size_t i = 0; i < ncalls; i++) {
        const mt_row_t *r = &calls->rows[i];
        const mt_numa_stack_t *s = row_numa(r);
        for (int k = 0; k <= MT_PK_MAX; k++) {
            if (!s->calls[k])
                continue;
            mt_json_begin_object(&j);
            mt_json_kv_string(&j, "call", mt_numa_call_names[k]);
            mt_json_kv_u64(&j, "count", s->calls[k]);
            mt_json_kv_u64(&j, "failed", s->calls_failed);
            if (k == MT_PK_MBIND || k == MT_PK_SET_MEMPOLICY) {
                mt_json_kv_string(&j, "mode", mt_numa_mode_name(s->call_mode, m));
                json_mask(&j, "nodes", s->call_mask);
            }
            mt_report_json_frames(&j, r, depth);
            mt_json_end_object(&j);
        }
    }
    mt_json_end_array(&j);
    mt_cli_json_end(&j, o);
}

/* ---- command ------------------------------------------------------------- */

/* The report of the current replay (mt_cli_run's REPORT). */
static int report(void *ctx, mt_session_t *s)
{
    const mt_cli_t *o = ctx;
    mt_numa_t *nu = o->ro.ctx;
    mt_report_t placed, calls;
    memset(&placed, 0, sizeof(placed));
    memset(&calls, 0, sizeof(calls));
    size_t nplaced = 0, ncalls = 0;
    keep_nu = nu;
    keep_rp = &s->rp;
    int err = mt_numa_finish(nu, &s->rp);
    int rc = err ? mt_replay_error(&s->rp, err) : MT_EXIT_OK;
    if (!rc)
        rc = mt_cli_rows(o, s, &placed, keep_placed, fill_rows, nu, by_total, &nplaced);
    if (!rc)
        rc = mt_cli_rows(o, s, &calls, keep_calls, fill_rows, nu, by_calls, &ncalls);
    if (!rc && o->json >= 0)
        print_json(o, &s->rp, nu, &placed, nplaced, &calls, ncalls);
    else if (!rc)
        print_text(o, &s->rp, nu, &placed, nplaced, &calls, ncalls);
    mt_report_free(&placed);
    mt_report_free(&calls);
    keep_nu = NULL;
    keep_rp = NULL;
    return rc;
}

int cmd_numa(int argc, char **argv)
{
    mt_cli_t c;
    mt_cli_init(&c, "numa", &help);
    int rc = mt_cli_parse(&c, argc, argv, NULL, NULL);
    if (!rc) {
        mt_numa_t nu;
        if (mt_numa_init(&nu, &c.ro)) /* hooks the replay: c.ro.ctx = &nu */
            rc = mt_error("numa: out of memory");
        else
            rc = mt_cli_run(&c, report, &c);
        mt_numa_free(&nu);
    }
    return mt_cli_end(&c, rc);
}
