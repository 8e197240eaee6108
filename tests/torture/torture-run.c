/* torture-run.c - see torture-run.h. */
#include "torture-run.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *required(const char *name)
{
    const char *v = getenv(name);
    cr_assert(v && *v, "%s is not set: run the tests with `meson test`", name);
    return v;
}

const char *tr_prog(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", required("MTRACE_TORTURE"), name);
    return path;
}

const char *tr_dir(const char *label)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", e2e_tmpdir(), label);
    cr_assert(mkdir(path, 0700) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
    return path;
}

void tr_run(e2e_result_t *r, tr_mode_t mode, const char *label, const char *const argv[],
            const char *const env[], const char *cwd, double timeout)
{
    char preload[4200], out[4200];
    const char *full[64];
    int n = 0;
    e2e_proc_t p;

    if (mode != TR_UNTRACED) {
        snprintf(preload, sizeof preload, "LD_PRELOAD=%s", e2e_lib());
        snprintf(out, sizeof out, "MTRACE_OUT=%s/%%e.%%p", tr_dir(label));
        full[n++] = preload;
        full[n++] = out;
        full[n++] = "MTRACE_QUIET=1";
        if (mode == TR_SAMPLE_ALL)
            full[n++] = "MTRACE_SAMPLE=all";
        for (const char *const *e = env; e && *e && n < 63; e++)
            full[n++] = *e;
    }
    full[n] = NULL;
    cr_assert_eq(e2e_start(&p, argv, full, cwd ? cwd : e2e_tmpdir()), 0, "cannot start %s: %s",
                 argv[0], strerror(errno));
    e2e_wait(&p, r, timeout);
    cr_assert(!r->timed_out, "%s (%s) did not finish within %.0f s: killed (a hang); stderr: %s",
              argv[0], mode == TR_UNTRACED ? "untraced" : label, timeout, r->err);
}

int tr_warnings(const char *s)
{
    int n = 0;
    for (const char *l = s; l && *l;) {
        if (strncmp(l, "mtrace: ", 8) == 0)
            n++;
        const char *nl = strchr(l, '\n');
        l = nl ? nl + 1 : NULL;
    }
    return n;
}

/* S without its "mtrace: " lines (malloc'd). */
static char *without_warnings(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    cr_assert_not_null(out);
    for (const char *l = s; *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) + 1 : strlen(l);
        if (strncmp(l, "mtrace: ", 8) != 0) {
            memcpy(o, l, len);
            o += len;
        }
        l += len;
    }
    *o = '\0';
    return out;
}

void tr_expect_same(const char *what, const e2e_result_t *plain, const e2e_result_t *traced,
                    int max_warnings)
{
    cr_expect(traced->exit_code == plain->exit_code && traced->signal == plain->signal,
              "%s: exit %d signal %d, untraced exit %d signal %d; stderr: %s", what,
              traced->exit_code, traced->signal, plain->exit_code, plain->signal, traced->err);
    cr_expect(traced->out_len == plain->out_len &&
                  memcmp(traced->out, plain->out, plain->out_len) == 0,
              "%s: stdout differs from the untraced run:\n--- traced\n%s\n--- untraced\n%s",
              what, traced->out, plain->out);
    char *a = without_warnings(traced->err), *b = without_warnings(plain->err);
    cr_expect_str_eq(a, b, "%s: stderr differs from the untraced run", what);
    free(a);
    free(b);
    cr_expect_leq(tr_warnings(traced->err), max_warnings, "%s: too many mtrace lines: %s", what,
                  traced->err);
}

int tr_check_traces(const char *label, bool decode, char **infos, int max)
{
    char *dirs[512];
    int n = e2e_list_dirs(tr_dir(label), dirs, 512);
    for (int i = 0; i < n; i++) {
        char *info = e2e_info(dirs[i]);
        if (infos && i < max)
            infos[i] = info;
        else
            free(info);
        if (decode) {
            const char *argv[] = {e2e_analyze(), "top", "-n", "1", "--json", dirs[i], NULL};
            e2e_result_t r;
            e2e_run_for(&r, argv, NULL, NULL, 60);
            cr_expect_eq(r.exit_code, 0, "top %s exited %d (signal %d): %s", dirs[i],
                         r.exit_code, r.signal, r.err);
            e2e_result_free(&r);
        }
    }
    e2e_free_list(dirs, n);
    return n;
}

void tr_case(const char *name, const char *const argv[], const char *const env[],
             int min_traces, double timeout)
{
    e2e_result_t plain;
    char label[256];
    tr_run(&plain, TR_UNTRACED, name, argv, NULL, NULL, timeout);
    cr_assert_eq(plain.exit_code, 0, "%s untraced exited %d (signal %d): %s", name,
                 plain.exit_code, plain.signal, plain.err);
    for (int m = 0; m < 2; m++) {
        e2e_result_t traced;
        tr_mode_t mode = m == 0 ? TR_SAMPLE_ALL : TR_SAMPLE_DEFAULT;
        snprintf(label, sizeof label, "%s-%s", name, m == 0 ? "all" : "default");
        tr_run(&traced, mode, label, argv, env, NULL, timeout);
        tr_expect_same(label, &plain, &traced, 0);
        int n = tr_check_traces(label, mode == TR_SAMPLE_ALL, NULL, 0);
        cr_expect_geq(n, min_traces, "%s: %d trace directories, want at least %d", label, n,
                      min_traces);
        e2e_result_free(&traced);
    }
    e2e_result_free(&plain);
}
