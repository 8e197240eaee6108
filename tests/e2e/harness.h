/* harness.h - helpers for the end-to-end tests: run a program with a given
 * environment under a deadline, capture its output, run it under the shim,
 * and read fields out of `mtrace-analyze info --json`.
 *
 * Invariants: every child runs in its own process group, every path out of
 * e2e_wait (deadline included) leaves no process of that group running, and
 * a child is killed if the test process dies before it could clean up.
 * Paths of the build outputs come from the environment meson test sets:
 * MTRACE_LIB (libmtrace.so), MTRACE_ANALYZE (mtrace-analyze) and
 * MTRACE_EXAMPLES (the examples' build directory).
 */
#ifndef MT_E2E_HARNESS_H
#define MT_E2E_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Default deadline for one program run, seconds. */
#define E2E_TIMEOUT 10.0

/* A running child: its pid (= its process group) and the read ends of its
 * stdout and stderr pipes (-1 once at end of file or when not captured). */
typedef struct e2e_proc {
    pid_t pid;
    int out_fd, err_fd;
    char *out, *err; /* what was read so far, NUL-terminated, never NULL */
    size_t out_len, err_len;
} e2e_proc_t;

/* The outcome of a run. out and err are owned by the caller (free them). */
typedef struct e2e_result {
    pid_t pid;     /* the program's pid while it ran */
    int exit_code; /* exit status, or -1 when killed by a signal */
    int signal;    /* terminating signal, 0 if it exited */
    bool timed_out;
    char *out, *err;
    size_t out_len, err_len;
} e2e_result_t;

/* Starts ARGV[0] (a path) with the test's environment minus LD_PRELOAD and
 * every MTRACE_* variable, plus ENV ("NAME=VALUE" strings, NULL-terminated,
 * may be NULL; a later one replaces an earlier one of the same NAME, and a
 * bare "NAME" removes it). CWD may be NULL. stdin is /dev/null; stdout and stderr are
 * pipes. Returns 0, or -1 with errno set. */
int e2e_start(e2e_proc_t *p, const char *const argv[], const char *const env[], const char *cwd);

/* Reads stdout until it has at least N bytes, EOF, or TIMEOUT seconds pass.
 * Returns true when N bytes arrived. */
bool e2e_read_stdout(e2e_proc_t *p, size_t n, double timeout);

/* Waits for P to exit, collecting its output, at most TIMEOUT seconds; then
 * kills its whole process group with SIGKILL and reaps it. Fills R. */
void e2e_wait(e2e_proc_t *p, e2e_result_t *r, double timeout);

/* Sends SIG to P's process group. */
void e2e_signal(e2e_proc_t *p, int sig);

/* e2e_start + e2e_wait with E2E_TIMEOUT, asserting it finished in time. */
void e2e_run(e2e_result_t *r, const char *const argv[], const char *const env[], const char *cwd);
/* The same with a deadline of TIMEOUT seconds. */
void e2e_run_for(e2e_result_t *r, const char *const argv[], const char *const env[],
                 const char *cwd, double timeout);

void e2e_result_free(e2e_result_t *r);

/* Number of lines in S (a final line without '\n' counts). */
int e2e_count_lines(const char *s);

/* ---- paths ---------------------------------------------------------------- */

const char *e2e_lib(void);     /* $MTRACE_LIB */
const char *e2e_analyze(void); /* $MTRACE_ANALYZE */
/* The path of example NAME in a static buffer (valid until the next call). */
const char *e2e_example(const char *name);

/* Creates a fresh temporary directory for one test; returns its path (static). */
const char *e2e_tmpdir(void);
/* Removes it and everything in it, unless MTRACE_E2E_KEEP is set. */
void e2e_tmpdir_remove(void);

/* Lists the subdirectories of DIR (the trace directories), sorted by name, as
 * full paths into NAMES[MAX] (each malloc'd); returns how many there are. */
int e2e_list_dirs(const char *dir, char **names, int max);
void e2e_free_list(char **names, int n);

/* ---- under the shim ----------------------------------------------------- */

/* Starts example ARGV (ARGV[0] is an example's name) in the temporary
 * directory under LD_PRELOAD=libmtrace.so with MTRACE_SAMPLE=all,
 * MTRACE_OUT=<tmpdir>/%e.%p, MTRACE_QUIET=1 and then the extra ENV (which
 * can override any of those; "MTRACE_OUT" alone, without '=', removes it). */
int e2e_start_traced(e2e_proc_t *p, const char *const argv[], const char *const env[]);
/* e2e_start_traced + e2e_wait with E2E_TIMEOUT, asserting it finished. */
void e2e_run_traced(e2e_result_t *r, const char *const argv[], const char *const env[]);

/* Runs `mtrace-analyze info -v --json TRACE`; returns its stdout (malloc'd)
 * after asserting that it exited 0 and printed an object. */
char *e2e_info(const char *trace);

/* Runs example ARGV under the shim like e2e_run_traced, with the trace going
 * to <tmpdir>/LABEL.<pid>; asserts that it exited 0 and left exactly one
 * trace directory named so; returns that trace's info JSON (malloc'd). When
 * R is not NULL the run's result is left there for the caller to check. */
char *e2e_traced_info(const char *label, const char *const argv[], const char *const env[],
                      e2e_result_t *r);
/* The same with a deadline of TIMEOUT seconds, for the workloads that take
 * seconds alone and many more on a loaded 2-core machine. */
char *e2e_traced_info_for(const char *label, const char *const argv[], const char *const env[],
                          e2e_result_t *r, double timeout);

/* ---- a tiny JSON reader ---------------------------------------------------
 * OBJ points at '{'. Keys are looked up among OBJ's own members only, so a
 * key nested deeper is not mistaken for one of OBJ's. */

/* Points at the value of KEY, or NULL. */
const char *e2e_json_get(const char *obj, const char *key);
/* Reads an integer, boolean or string value. Each returns false when KEY is
 * missing or has another type. */
bool e2e_json_int(const char *obj, const char *key, long long *out);
bool e2e_json_bool(const char *obj, const char *key, bool *out);
bool e2e_json_str(const char *obj, const char *key, char *buf, size_t size);
/* Points at element I of the array at ARR, or NULL. */
const char *e2e_json_at(const char *arr, int i);

/* The same, asserting that KEY is there with that type. */
long long e2e_int(const char *obj, const char *key);
bool e2e_bool(const char *obj, const char *key);
/* Returns a static buffer (valid until the next call). */
const char *e2e_str(const char *obj, const char *key);
/* entry_points.NAME.FIELD ("calls" or "bytes") of an info object; 0 when
 * the entry point is absent (info lists nonzero ones only). */
long long e2e_entry(const char *info, const char *name, const char *field);

#endif
