/* test-json-keys.c - every key `mtrace-analyze CMD --json` prints is one
 * its --help documents, and every key the help documents is printed by some
 * run (analyze/internal.h, mt_help_t's JSON grammar). The traces are real:
 * examples run under the shim (leaky: heap; numa_pool: a pool, mbind and
 * set_mempolicy; numa_regions: mmap regions and policies). */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define MAX_KEYS 256

typedef struct keyset {
    char *k[MAX_KEYS];
    int n;
} keyset_t;

static bool has(const keyset_t *s, const char *k, size_t len)
{
    for (int i = 0; i < s->n; i++)
        if (strlen(s->k[i]) == len && !memcmp(s->k[i], k, len))
            return true;
    return false;
}

static void add(keyset_t *s, const char *k, size_t len)
{
    if (has(s, k, len))
        return;
    cr_assert_lt(s->n, MAX_KEYS);
    s->k[s->n++] = strndup(k, len);
}

static void clear(keyset_t *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->k[i]);
    s->n = 0;
}

/* ---- the documented keys: the help's "JSON keys" paragraph ---------------- */

/* DOC gets every name of the grammar; MAPS the names whose value is a map
 * ("name: {*: ..."), whose own keys are data, not names. */
static void documented(const char *cmd, keyset_t *doc, keyset_t *maps)
{
    const char *argv[] = {e2e_analyze(), cmd, "--help", NULL};
    e2e_result_t r;
    e2e_run(&r, argv, NULL, NULL);
    cr_assert_eq(r.exit_code, 0, "%s --help exited %d", cmd, r.exit_code);
    const char *p = strstr(r.out, "\nJSON keys (--json):\n");
    cr_assert_not_null(p, "%s --help documents no JSON keys:\n%s", cmd, r.out);
    p += strlen("\nJSON keys (--json):\n");
    const char *end = strstr(p, "\n\n");
    if (!end)
        end = p + strlen(p);
    while (p < end) {
        if (!(isalpha((unsigned char)*p) || *p == '_')) {
            p++;
            continue;
        }
        const char *w = p;
        while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
            p++;
        add(doc, w, (size_t)(p - w));
        const char *v = p; /* "NAME: {*": the help may wrap after the ':' */
        if (v < end && *v == ':')
            for (v++; v < end && isspace((unsigned char)*v); v++)
                ;
        if (v != p && !strncmp(v, "{*", 2))
            add(maps, w, (size_t)(p - w));
    }
    free(r.out);
    free(r.err);
}

/* ---- the printed keys: a small JSON walker --------------------------------- */

static const char *ws(const char *p)
{
    while (*p && isspace((unsigned char)*p))
        p++;
    return p;
}

static const char *string_end(const char *p) /* p at '"'; returns past the closing one */
{
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1])
            p++;
    cr_assert_eq(*p, '"', "unterminated JSON string");
    return p + 1;
}

/* Walks the value at P, adding object keys to OUT (not the keys of a map,
 * IS_MAP); returns the end of the value. */
static const char *walk(const char *p, keyset_t *out, const keyset_t *maps, bool is_map)
{
    p = ws(p);
    if (*p == '{') {
        p = ws(p + 1);
        while (*p != '}') {
            cr_assert_eq(*p, '"', "JSON key expected at: %.40s", p);
            const char *k = p + 1, *e = string_end(p);
            size_t len = (size_t)(e - 1 - k);
            if (!is_map)
                add(out, k, len);
            p = ws(e);
            cr_assert_eq(*p, ':', "':' expected at: %.40s", p);
            p = walk(p + 1, out, maps, !is_map && has(maps, k, len));
            p = ws(p);
            if (*p == ',')
                p = ws(p + 1);
        }
        return p + 1;
    }
    if (*p == '[') {
        p = ws(p + 1);
        while (*p != ']') {
            p = ws(walk(p, out, maps, false));
            if (*p == ',')
                p = ws(p + 1);
        }
        return p + 1;
    }
    if (*p == '"')
        return string_end(p);
    cr_assert(*p && strchr("-0123456789tfn", *p), "JSON value expected at: %.40s", p);
    while (*p && !strchr(",]}", *p) && !isspace((unsigned char)*p))
        p++;
    return p;
}

/* ---- the check ----------------------------------------------------------- */

static char traces[3][4200]; /* leaky, numa_pool, numa_regions */

static void make_traces(void)
{
    static const char *const names[] = {"leaky", "numa_pool", "numa_regions"};
    for (int i = 0; i < 3; i++) {
        const char *argv[] = {names[i], NULL};
        char out[4300];
        snprintf(traces[i], sizeof traces[i], "%s/%s", e2e_tmpdir(), names[i]);
        snprintf(out, sizeof out, "MTRACE_OUT=%s", traces[i]);
        const char *env[] = {out, NULL};
        e2e_result_t r;
        e2e_run_traced(&r, argv, env);
        cr_assert_eq(r.exit_code, 0, "%s exited %d: %s", names[i], r.exit_code, r.err);
        e2e_result_free(&r);
    }
}

TestSuite(json_keys, .init = make_traces, .fini = e2e_tmpdir_remove, .timeout = 60);

#define L traces[0]
#define P traces[1]
#define R traces[2]

/* Runs CMD --json with each argument list of RUNS (NULL-terminated lists, a
 * NULL list ends RUNS): no run prints a key the help does not document, and
 * every documented key is printed by some run. */
static void check(const char *cmd, const char *const *const runs[])
{
    keyset_t doc = {0}, maps = {0}, seen = {0};
    documented(cmd, &doc, &maps);
    cr_assert_gt(doc.n, 0);
    for (int i = 0; runs[i]; i++) {
        const char *argv[16] = {e2e_analyze(), cmd, "--json"};
        int n = 3;
        for (const char *const *a = runs[i]; *a && n < 15; a++)
            argv[n++] = *a;
        argv[n] = NULL;
        e2e_result_t r;
        e2e_run(&r, argv, NULL, NULL);
        cr_assert_eq(r.exit_code, 0, "%s --json run %d exited %d: %s", cmd, i, r.exit_code, r.err);
        keyset_t printed = {0};
        const char *end = ws(walk(r.out, &printed, &maps, false));
        cr_assert_eq(*end, '\0', "%s --json printed more than one value", cmd);
        for (int k = 0; k < printed.n; k++) {
            cr_expect(has(&doc, printed.k[k], strlen(printed.k[k])),
                      "%s --json (run %d) prints \"%s\", which %s --help does not document", cmd,
                      i, printed.k[k], cmd);
            add(&seen, printed.k[k], strlen(printed.k[k]));
        }
        clear(&printed);
        e2e_result_free(&r);
    }
    for (int k = 0; k < doc.n; k++)
        cr_expect(has(&seen, doc.k[k], strlen(doc.k[k])),
                  "%s --help documents \"%s\", which no %s --json run printed", cmd, doc.k[k], cmd);
    clear(&doc);
    clear(&maps);
    clear(&seen);
}

Test(json_keys, info)
{
    const char *const a[] = {L, NULL}, *const b[] = {"-v", L, NULL}, *const c[] = {L, P, NULL};
    const char *const *const runs[] = {a, b, c, NULL};
    check("info", runs);
}

Test(json_keys, top)
{
    const char *const a[] = {L, NULL}, *const b[] = {"--pool", "all", P, NULL};
    const char *const w[] = {"--from", "0", "--to", "100%", L, NULL};
    const char *const *const runs[] = {a, b, w, NULL};
    check("top", runs);
}

Test(json_keys, leaks)
{
    const char *const a[] = {L, NULL}, *const b[] = {"--sort", "growth", P, NULL};
    const char *const w[] = {"--to", "50%", L, NULL};
    const char *const *const runs[] = {a, b, w, NULL};
    check("leaks", runs);
}

Test(json_keys, numa)
{
    const char *const a[] = {R, NULL}, *const b[] = {P, NULL};
    const char *const w[] = {"--from", "0", R, NULL};
    const char *const *const runs[] = {a, b, w, NULL};
    check("numa", runs);
}

Test(json_keys, fit)
{
    const char *const a[] = {L, NULL};
    const char *const b[] = {"--pool", "kv", "-k", "4", "--chunk", "16K..64K", "--by-stack", P,
                             NULL};
    const char *const c[] = {"--pool", "all", "--chunk", "64K", P, NULL};
    const char *const w[] = {"--from", "1ms", L, NULL};
    const char *const *const runs[] = {a, b, c, w, NULL};
    check("fit", runs);
}

Test(json_keys, flamegraph)
{
    const char *const a[] = {L, NULL}, *const b[] = {"--diff", P, L, NULL};
    const char *const w[] = {"--from", "0", L, NULL};
    const char *const *const runs[] = {a, b, w, NULL};
    check("flamegraph", runs);
}

/* export and serve print no JSON: export's output is the pprof profile
 * itself, serve's answers are profiles and an HTML index. Their --help says
 * so (no "JSON keys" paragraph) and --json is a usage error. */
Test(json_keys, export_and_serve_have_none)
{
    const char *cmds[] = {"export", "serve"};
    for (int i = 0; i < 2; i++) {
        const char *help[] = {e2e_analyze(), cmds[i], "--help", NULL};
        e2e_result_t r;
        e2e_run(&r, help, NULL, NULL);
        cr_expect_eq(r.exit_code, 0);
        cr_expect_null(strstr(r.out, "JSON keys"), "%s --help lists JSON keys", cmds[i]);
        cr_expect_not_null(strstr(r.out, "No --json"), "%s --help says why no --json", cmds[i]);
        e2e_result_free(&r);
        const char *json[] = {e2e_analyze(), cmds[i], "--json", L, NULL};
        e2e_run(&r, json, NULL, NULL);
        cr_expect_eq(r.exit_code, 2, "%s --json exited %d", cmds[i], r.exit_code);
        e2e_result_free(&r);
    }
}

Test(json_keys, summary)
{
    const char *const a[] = {L, NULL}, *const b[] = {R, NULL};
    const char *const *const runs[] = {a, b, NULL};
    check("summary", runs);
}

Test(json_keys, report)
{
    char out[4200];
    snprintf(out, sizeof(out), "%s/report.html", e2e_tmpdir());
    const char *const a[] = {"-o", out, L, NULL}, *const b[] = {"-o", out, R, NULL};
    const char *const *const runs[] = {a, b, NULL};
    check("report", runs);
}

Test(json_keys, timeline)
{
    const char *const a[] = {L, NULL}, *const b[] = {"--stacks", "2", L, NULL};
    const char *const c[] = {"--pool", "kv", P, NULL};
    const char *const w[] = {"--from", "10%", "--to", "90%", "--stacks", "1", L, NULL};
    const char *const *const runs[] = {a, b, c, w, NULL};
    check("timeline", runs);
}

Test(json_keys, diff)
{
    const char *const a[] = {L, P, NULL}, *const b[] = {"--from", "0", "--by", "function", P, L, NULL};
    const char *const *const runs[] = {a, b, NULL};
    check("diff", runs);
}
