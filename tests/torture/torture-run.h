/* torture-run.h - running a program untraced and under the shim, and
 * checking that the shim changed nothing the program shows and that every
 * trace it left opens. Built on tests/e2e/harness.h (deadlines, process
 * groups, temporary directory); shared by tests/torture and tests/real.
 *
 * Paths come from the environment meson test sets: MTRACE_LIB,
 * MTRACE_ANALYZE (as for e2e) and MTRACE_TORTURE (the torture programs'
 * build directory).
 */
#ifndef MT_TORTURE_RUN_H
#define MT_TORTURE_RUN_H

#include <stdbool.h>

#include "harness.h"

/* Sampling modes every torture program runs under. */
typedef enum { TR_UNTRACED, TR_SAMPLE_ALL, TR_SAMPLE_DEFAULT } tr_mode_t;

/* Path of torture program NAME (static buffer, valid until the next call). */
const char *tr_prog(const char *name);

/* <tmpdir>/LABEL, created empty; static buffer. */
const char *tr_dir(const char *label);

/* Runs ARGV (ARGV[0] a path) in CWD (NULL: the temporary directory) under
 * MODE, traces going to <tmpdir>/LABEL/%e.%p, with the extra ENV (may be
 * NULL; may override MTRACE_OUT and the others), at most TIMEOUT seconds;
 * asserts it finished in time. */
void tr_run(e2e_result_t *r, tr_mode_t mode, const char *label, const char *const argv[],
            const char *const env[], const char *cwd, double timeout);

/* Asserts that TRACED shows the same as PLAIN: exit status or signal,
 * stdout byte for byte, and stderr once lines starting "mtrace: " are left
 * out; and at most MAX_WARNINGS such lines. */
void tr_expect_same(const char *what, const e2e_result_t *plain, const e2e_result_t *traced,
                    int max_warnings);

/* Number of lines in S that start with "mtrace: ". */
int tr_warnings(const char *s);

/* Runs `mtrace-analyze info --json` on every trace directory under
 * <tmpdir>/LABEL and asserts each exits 0. With DECODE also `top --json`
 * (replays every event block) and asserts it exits 0. Returns how many
 * there are; INFOS (may be NULL) gets each info JSON (malloc'd) up to MAX. */
int tr_check_traces(const char *label, bool decode, char **infos, int max);

/* The common torture case: runs ARGV untraced, then with MTRACE_SAMPLE=all
 * and with default sampling (labels NAME-all, NAME-default), each time
 * asserting the same output and exit status, that at least MIN_TRACES trace
 * directories were written and that each opens (and decodes, with all). */
void tr_case(const char *name, const char *const argv[], const char *const env[],
             int min_traces, double timeout);

#endif
