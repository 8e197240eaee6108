/* run.h - runs a program for the CLI tests and captures what it printed. */
#ifndef MT_TEST_RUN_H
#define MT_TEST_RUN_H

#include <stddef.h>

typedef struct mt_run {
    int status; /* exit status, or 128 + signal number when it was killed */
    int signal; /* the killing signal, 0 when it exited */
    char *out;  /* stdout, NUL-terminated (empty when redirected) */
    char *err;  /* stderr, NUL-terminated */
} mt_run_t;

/* Runs ARGV[0] (a path) with ARGV; stdout goes to STDOUT_PATH when not NULL
 * (e.g. "/dev/full"), else it is captured. Fails the test on setup errors. */
void mt_run(mt_run_t *r, const char *stdout_path, const char *const argv[]);
void mt_run_free(mt_run_t *r);

/* Path of the program named by environment variable VAR (set by meson). */
const char *mt_test_program(const char *var);
/* Path of mtrace-analyze. */
#define ANALYZE mt_test_program("MTRACE_ANALYZE")
/* Runs mtrace-analyze with ARGS up to the first NULL (at most 22) and fails
 * the test when a signal killed it. mt_analyze(&r, "top", trace) spells
 * the arguments inline. */
void mt_run_analyze(mt_run_t *r, const char *const *args);
#define mt_analyze(r, ...) mt_run_analyze(r, (const char *const[]){__VA_ARGS__, NULL})
/* Expects string NEEDLE in HAY, and shows HAY when it is not there. */
#define expect_has(hay, needle) \
    cr_expect(strstr((hay), (needle)), "missing %s\nin:\n%s", (needle), (hay))
/* A fresh temporary directory; removed with everything in it by
 * mt_test_rmtree. */
char *mt_test_tmpdir(void);
void mt_test_rmtree(const char *dir);
/* The CLI tests' fixture: a fresh temporary directory in *TMP and the path
 * of trace directory NAME in it in TRACE[CAP]; mt_test_trace_teardown
 * removes the directory and frees *TMP. */
void mt_test_trace_setup(char **tmp, char *trace, size_t cap, const char *name);
void mt_test_trace_teardown(char **tmp);
/* Runs make-trace DIR VARIANT and checks that it succeeded. */
void mt_make_trace(const char *dir, const char *variant);
/* Number of lines of S. */
int mt_count_lines(const char *s);

#endif
