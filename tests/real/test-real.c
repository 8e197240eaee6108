/* test-real.c - real programs under the shim: python3 running a script,
 * sqlite3 running a SQL workload, git in a scratch repository and make -j2
 * compiling C files with gcc (a fork/exec tree). Each must print exactly
 * what it prints untraced and leave a trace, that opens, for every process
 * it runs. A program that is not installed skips its test, saying so
 * (tools/install-deps installs them all).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "torture-run.h"

static void setup(void)
{
    e2e_tmpdir();
}

TestSuite(real, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 170);

/* Full path of PROG found in PATH, or skips the test. */
static const char *need(const char *prog, char *buf, size_t size)
{
    const char *path = getenv("PATH");
    char dirs[8192];
    snprintf(dirs, sizeof dirs, "%s", path ? path : "/usr/bin:/bin");
    for (char *save, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(buf, size, "%s/%s", d, prog);
        if (access(buf, X_OK) == 0)
            return buf;
    }
    cr_skip_test("%s is not installed (tools/install-deps installs it)", prog);
    return NULL;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

/* Runs ARGV in CWD untraced and under both samplings; asserts the same
 * output and at least MIN_TRACES openable traces each time. PREPARE (may
 * be NULL) resets CWD's contents before each run. Returns the number of
 * traces of the MTRACE_SAMPLE=all run. */
static int real_case(const char *name, const char *const argv[], const char *cwd,
                     void (*prepare)(const char *cwd), int min_traces, double timeout)
{
    e2e_result_t plain;
    char label[256];
    int all = 0;
    if (prepare)
        prepare(cwd);
    tr_run(&plain, TR_UNTRACED, name, argv, NULL, cwd, timeout);
    cr_assert_eq(plain.exit_code, 0, "%s untraced exited %d: %s%s", name, plain.exit_code,
                 plain.out, plain.err);
    for (int m = 0; m < 2; m++) {
        e2e_result_t traced;
        snprintf(label, sizeof label, "%s-%s", name, m ? "default" : "all");
        if (prepare)
            prepare(cwd);
        tr_run(&traced, m ? TR_SAMPLE_DEFAULT : TR_SAMPLE_ALL, label, argv, NULL, cwd, timeout);
        tr_expect_same(label, &plain, &traced, 0);
        int n = tr_check_traces(label, false, NULL, 0);
        cr_expect_geq(n, min_traces, "%s: %d traces, want at least %d (one per process)", label,
                      n, min_traces);
        if (!m)
            all = n;
        e2e_result_free(&traced);
    }
    e2e_result_free(&plain);
    return all;
}

Test(real, python3_script)
{
    char py[4096], script[4200], dir[4096];
    need("python3", py, sizeof py);
    snprintf(dir, sizeof dir, "%s", tr_dir("py"));
    snprintf(script, sizeof script, "%s/work.py", dir);
    write_text(script,
               "import json, collections, hashlib\n"
               "d = {str(i): [i] * (i % 50) for i in range(20000)}\n"
               "c = collections.Counter(len(v) for v in d.values())\n"
               "s = json.dumps(sorted(c.items()))\n"
               "print(hashlib.sha256(s.encode()).hexdigest(), len(d))\n"
               "print(sum(len(x) for x in [' '.join(map(str, range(i))) for i in range(500)]))\n");
    const char *argv[] = {py, "-S", script, NULL};
    real_case("python3", argv, dir, NULL, 1, 60);
}

Test(real, sqlite3_workload)
{
    char sq[4096], sql[4200], db[4200];
    need("sqlite3", sq, sizeof sq);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", tr_dir("sqlite"));
    snprintf(sql, sizeof sql, "%s/work.sql", dir);
    snprintf(db, sizeof db, "%s/test.db", dir);
    write_text(sql,
               "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);\n"
               "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)\n"
               "  INSERT INTO t(name, v) SELECT 'name-' || x, x * 1.5 FROM c;\n"
               "CREATE INDEX t_name ON t(name);\n"
               "SELECT count(*), sum(v), max(length(name)) FROM t;\n"
               "SELECT name FROM t WHERE id % 4999 = 0 ORDER BY name;\n"
               "DELETE FROM t WHERE id % 3 = 0;\n"
               "SELECT count(*) FROM t;\n"
               "VACUUM;\n");
    const char *argv[] = {sq, "-batch", ":memory:", ".read work.sql", NULL};
    real_case("sqlite3", argv, dir, NULL, 1, 60);
}

static void git_prepare(const char *dir)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/repo'", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(real, git_operations)
{
    char git[4096], sh[4096], script[4200];
    need("git", git, sizeof git);
    need("sh", sh, sizeof sh);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", tr_dir("git"));
    snprintf(script, sizeof script, "%s/git.sh", dir);
    /* Fixed identities and dates: the commit ids are the same every run. */
    write_text(script,
               "set -e\n"
               "export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid\n"
               "export GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.invalid\n"
               "export GIT_AUTHOR_DATE='2024-01-01T00:00:00Z' "
               "GIT_COMMITTER_DATE='2024-01-01T00:00:00Z'\n"
               "export GIT_CONFIG_NOSYSTEM=1 HOME=\"$PWD\"\n"
               "git init -q -b main repo\n"
               "cd repo\n"
               "for i in 1 2 3 4 5; do seq 1 $((i * 200)) > f$i.txt; done\n"
               "git add .\n"
               "git commit -q -m first\n"
               "echo change >> f1.txt\n"
               "git commit -q -am second\n"
               "git log --format='%H %s'\n"
               "git diff --stat HEAD~1 HEAD\n");
    const char *argv[] = {sh, script, NULL};
    /* sh, 4 cd-less git commands + log/diff: at least sh and six gits. */
    real_case("git", argv, dir, git_prepare, 7, 90);
}

static void make_prepare(const char *dir)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "rm -f '%s'/*.o '%s/prog'", dir, dir);
    cr_assert_eq(system(cmd), 0);
}

Test(real, make_j2_with_gcc)
{
    char mk[4096], gcc[4096], path[4300];
    need("make", mk, sizeof mk);
    need("gcc", gcc, sizeof gcc);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", tr_dir("make"));
    for (int i = 0; i < 4; i++) {
        char src[512];
        snprintf(path, sizeof path, "%s/f%d.c", dir, i);
        snprintf(src, sizeof src,
                 "#include <stdlib.h>\nint f%d(int x) { int *p = malloc(64); p[0] = x; "
                 "int r = p[0] * %d; free(p); return r; }\n",
                 i, i + 2);
        write_text(path, src);
    }
    snprintf(path, sizeof path, "%s/main.c", dir);
    write_text(path, "#include <stdio.h>\nint f0(int), f1(int), f2(int), f3(int);\n"
                     "int main(void) { printf(\"%d\\n\", f0(1) + f1(2) + f2(3) + f3(4)); "
                     "return 0; }\n");
    snprintf(path, sizeof path, "%s/Makefile", dir);
    write_text(path, "OBJS = main.o f0.o f1.o f2.o f3.o\n"
                     "all: prog\n"
                     "\t@./prog\n"
                     "prog: $(OBJS)\n"
                     "\t@gcc -o $@ $(OBJS)\n"
                     "%.o: %.c\n"
                     "\t@gcc -O1 -c $< -o $@\n");
    const char *argv[] = {mk, "-s", "-j2", NULL};
    /* make, 5 x (gcc, cc1, as), gcc + collect2 + ld for the link, prog. */
    real_case("make", argv, dir, make_prepare, 1 + 5 * 3 + 3 + 1, 120);
}
