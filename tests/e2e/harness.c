/* harness.c - process, path and JSON helpers for the end-to-end tests.
 * See harness.h for the contract. Children run in their own process group so
 * that a deadline kills a program and everything it forked. */
#include "harness.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The inherited environment without LD_PRELOAD and MTRACE_*, then EXTRA. */
static char **build_env(const char *const extra[])
{
    size_t n = 0, m = 0;
    for (char **e = environ; *e; e++)
        n++;
    for (const char *const *e = extra; e && *e; e++)
        m++;
    char **env = calloc(n + m + 1, sizeof *env);
    cr_assert_not_null(env);
    size_t k = 0;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "LD_PRELOAD=", 11) != 0 && strncmp(*e, "MTRACE_", 7) != 0)
            env[k++] = *e;
    for (const char *const *e = extra; e && *e; e++) {
        /* A later NAME=VALUE replaces an earlier one; a bare NAME removes it. */
        size_t len = strcspn(*e, "=");
        size_t i;
        for (i = 0; i < k; i++)
            if (strncmp(env[i], *e, len) == 0 && env[i][len] == '=')
                break;
        if ((*e)[len] == '=') {
            env[i] = (char *)*e;
            if (i == k)
                k++;
        } else if (i < k) {
            memmove(&env[i], &env[i + 1], (k - i - 1) * sizeof *env);
            k--;
        }
    }
    env[k] = NULL;
    return env;
}

int e2e_start(e2e_proc_t *p, const char *const argv[], const char *const env[], const char *cwd)
{
    int out[2], err[2];

    memset(p, 0, sizeof *p);
    p->out_fd = p->err_fd = -1;
    p->out = calloc(1, 1);
    p->err = calloc(1, 1);
    cr_assert(p->out && p->err);
    if (pipe2(out, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(err, O_CLOEXEC) != 0) {
        close(out[0]);
        close(out[1]);
        return -1;
    }
    char **envp = build_env(env);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        setpgid(0, 0);
        /* If the test process dies without its fini (a crash), so does this. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(126);
        if (null < 0 || dup2(null, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
            _exit(126);
        if (cwd && chdir(cwd) != 0)
            _exit(126);
        execve(argv[0], (char *const *)argv, envp);
        _exit(127);
    }
    int saved = errno;
    free(envp);
    close(out[1]);
    close(err[1]);
    if (pid < 0) {
        close(out[0]);
        close(err[0]);
        errno = saved;
        return -1;
    }
    setpgid(pid, pid); /* also in the parent: no window where a kill misses it */
    p->pid = pid;
    p->out_fd = out[0];
    p->err_fd = err[0];
    return 0;
}

static void append(int *fd, char **buf, size_t *len)
{
    char chunk[4096];
    ssize_t n = read(*fd, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        close(*fd);
        *fd = -1;
        return;
    }
    char *grown = realloc(*buf, *len + (size_t)n + 1);
    cr_assert_not_null(grown);
    memcpy(grown + *len, chunk, (size_t)n);
    *len += (size_t)n;
    grown[*len] = '\0';
    *buf = grown;
}

/* Reads whatever arrives on P's pipes within MS milliseconds. */
static void pump(e2e_proc_t *p, int ms)
{
    struct pollfd fds[2] = {{p->out_fd, POLLIN, 0}, {p->err_fd, POLLIN, 0}};
    if (p->out_fd < 0 && p->err_fd < 0) {
        poll(NULL, 0, ms);
        return;
    }
    if (poll(fds, 2, ms) <= 0)
        return;
    if (fds[0].revents)
        append(&p->out_fd, &p->out, &p->out_len);
    if (fds[1].revents)
        append(&p->err_fd, &p->err, &p->err_len);
}

bool e2e_read_stdout(e2e_proc_t *p, size_t n, double timeout)
{
    double deadline = now() + timeout;
    while (p->out_len < n && p->out_fd >= 0 && now() < deadline)
        pump(p, 20);
    return p->out_len >= n;
}

void e2e_signal(e2e_proc_t *p, int sig)
{
    if (p->pid > 0)
        kill(-p->pid, sig);
}

void e2e_wait(e2e_proc_t *p, e2e_result_t *r, double timeout)
{
    double deadline = now() + timeout;
    int status = 0;
    bool reaped = false;

    memset(r, 0, sizeof *r);
    r->pid = p->pid;
    while (now() < deadline) {
        if (!reaped && waitpid(p->pid, &status, WNOHANG) == p->pid)
            reaped = true;
        if (reaped && p->out_fd < 0 && p->err_fd < 0)
            break;
        pump(p, 20);
    }
    r->timed_out = !reaped || p->out_fd >= 0 || p->err_fd >= 0;
    /* Nothing of this run outlives it: not the program, not what it forked. */
    kill(-p->pid, SIGKILL);
    if (!reaped)
        while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
            ;
    if (p->out_fd >= 0)
        close(p->out_fd);
    if (p->err_fd >= 0)
        close(p->err_fd);
    r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    r->out = p->out;
    r->out_len = p->out_len;
    r->err = p->err;
    r->err_len = p->err_len;
    memset(p, 0, sizeof *p);
    p->out_fd = p->err_fd = -1;
}

/* Waits for a program that START_RC says was started; asserts it finished. */
static void run_to_end(int start_rc, e2e_proc_t *p, e2e_result_t *r, const char *name,
                       double timeout)
{
    cr_assert_eq(start_rc, 0, "cannot start %s: %s", name, strerror(errno));
    e2e_wait(p, r, timeout);
    cr_assert(!r->timed_out, "%s did not finish within %.0f s (killed); stderr: %s", name,
              timeout, r->err);
}

void e2e_run_for(e2e_result_t *r, const char *const argv[], const char *const env[],
                 const char *cwd, double timeout)
{
    e2e_proc_t p;
    run_to_end(e2e_start(&p, argv, env, cwd), &p, r, argv[0], timeout);
}

void e2e_run(e2e_result_t *r, const char *const argv[], const char *const env[], const char *cwd)
{
    e2e_run_for(r, argv, env, cwd, E2E_TIMEOUT);
}

void e2e_result_free(e2e_result_t *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

int e2e_count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        if (*s == '\n' || s[1] == '\0')
            n++;
    return n;
}

/* ---- paths ------------------------------------------------------------------ */

static const char *required_env(const char *name)
{
    const char *v = getenv(name);
    cr_assert(v && *v, "%s is not set: run the e2e tests with `meson test`", name);
    return v;
}

const char *e2e_lib(void)
{
    return required_env("MTRACE_LIB");
}

const char *e2e_analyze(void)
{
    return required_env("MTRACE_ANALYZE");
}

const char *e2e_example(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", required_env("MTRACE_EXAMPLES"), name);
    return path;
}

static char tmpdir[4096];

const char *e2e_tmpdir(void)
{
    if (tmpdir[0] == '\0') {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/mtrace-e2e.XXXXXX", base && *base ? base : "/tmp");
        cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp %s: %s", tmpdir, strerror(errno));
    }
    return tmpdir;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

void e2e_tmpdir_remove(void)
{
    if (tmpdir[0] == '\0')
        return;
    if (getenv("MTRACE_E2E_KEEP"))
        fprintf(stderr, "e2e: kept %s\n", tmpdir);
    else
        nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    tmpdir[0] = '\0';
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int e2e_list_dirs(const char *dir, char **names, int max)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    cr_assert_not_null(d, "opendir %s: %s", dir, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        cr_assert_lt(n, max, "more than %d directories in %s", max, dir);
        names[n++] = strdup(path);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);
    return n;
}

void e2e_free_list(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
}

/* ---- under the shim ------------------------------------------------------- */

int e2e_start_traced(e2e_proc_t *p, const char *const argv[], const char *const env[])
{
    char preload[4200], out[4200], exe[4200];
    const char *full[64];
    const char *args[32];
    int n = 0, a = 0;

    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", e2e_lib());
    snprintf(out, sizeof out, "MTRACE_OUT=%s/%%e.%%p", e2e_tmpdir());
    snprintf(exe, sizeof exe, "%s", e2e_example(argv[0]));
    full[n++] = preload;
    full[n++] = out;
    full[n++] = "MTRACE_SAMPLE=all";
    full[n++] = "MTRACE_QUIET=1";
    for (const char *const *e = env; e && *e && n < 63; e++)
        full[n++] = *e;
    full[n] = NULL;
    args[a++] = exe;
    for (const char *const *v = argv + 1; *v && a < 31; v++)
        args[a++] = *v;
    args[a] = NULL;
    return e2e_start(p, args, full, e2e_tmpdir());
}

void e2e_run_traced(e2e_result_t *r, const char *const argv[], const char *const env[])
{
    e2e_proc_t p;
    run_to_end(e2e_start_traced(&p, argv, env), &p, r, argv[0], E2E_TIMEOUT);
}

char *e2e_info(const char *trace)
{
    const char *argv[] = {e2e_analyze(), "info", "-v", "--json", trace, NULL};
    e2e_result_t r;
    e2e_run(&r, argv, NULL, NULL);
    cr_assert_eq(r.exit_code, 0, "mtrace-analyze info %s --json exited %d: %s", trace, r.exit_code,
                 r.err);
    const char *brace = strchr(r.out, '{');
    cr_assert_not_null(brace, "mtrace-analyze info printed no JSON object: %s", r.out);
    free(r.err);
    return r.out;
}

char *e2e_traced_info(const char *label, const char *const argv[], const char *const env[],
                      e2e_result_t *r)
{
    return e2e_traced_info_for(label, argv, env, r, E2E_TIMEOUT);
}

char *e2e_traced_info_for(const char *label, const char *const argv[], const char *const env[],
                          e2e_result_t *r, double timeout)
{
    char out[4200], prefix[256];
    const char *full[64];
    int n = 0;
    e2e_result_t local;

    snprintf(out, sizeof out, "MTRACE_OUT=%s/%s.%%p", e2e_tmpdir(), label);
    for (const char *const *e = env; e && *e && n < 62; e++)
        full[n++] = *e;
    full[n++] = out;
    full[n] = NULL;
    if (!r)
        r = &local;
    e2e_proc_t p;
    run_to_end(e2e_start_traced(&p, argv, full), &p, r, argv[0], timeout);
    cr_assert_eq(r->exit_code, 0, "%s exited %d (signal %d); stderr: %s", argv[0], r->exit_code,
                 r->signal, r->err);

    char *dirs[64], *found = NULL;
    int ndirs = e2e_list_dirs(e2e_tmpdir(), dirs, 64), matches = 0;
    snprintf(prefix, sizeof prefix, "%s/%s.", e2e_tmpdir(), label);
    for (int i = 0; i < ndirs; i++)
        if (strncmp(dirs[i], prefix, strlen(prefix)) == 0)
            found = dirs[i], matches++;
    cr_assert_eq(matches, 1, "want exactly one trace %s*, found %d", prefix, matches);
    char *json = e2e_info(found);
    e2e_free_list(dirs, ndirs);
    if (r == &local)
        e2e_result_free(r);
    return json;
}

/* ---- JSON --------------------------------------------------------------------- */

static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

/* P at '"': returns the character after the closing quote, or NULL. */
static const char *skip_string(const char *p)
{
    for (p++; *p; p++) {
        if (*p == '\\' && p[1])
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* Skips one value of any type; returns what follows it, or NULL. */
static const char *skip_value(const char *p)
{
    p = ws(p);
    if (*p == '"')
        return skip_string(p);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (; *p; p++) {
            if (*p == '"') {
                p = skip_string(p);
                if (!p)
                    return NULL;
                p--;
            } else if (*p == '{' || *p == '[') {
                depth++;
            } else if ((*p == '}' || *p == ']') && --depth == 0) {
                return p + 1;
            }
        }
        return NULL;
    }
    while (*p && *p != ',' && *p != '}' && *p != ']')
        p++;
    return p;
}

const char *e2e_json_get(const char *obj, const char *key)
{
    size_t klen = strlen(key);
    const char *p = obj ? ws(obj) : NULL;
    if (!p || *p != '{')
        return NULL;
    p = ws(p + 1);
    while (*p == '"') {
        const char *k = p + 1, *end = skip_string(p);
        if (!end)
            return NULL;
        p = ws(end);
        if (*p != ':')
            return NULL;
        p = ws(p + 1);
        if ((size_t)(end - 1 - k) == klen && memcmp(k, key, klen) == 0)
            return p;
        p = skip_value(p);
        if (!p)
            return NULL;
        p = ws(p);
        if (*p != ',')
            return NULL;
        p = ws(p + 1);
    }
    return NULL;
}

bool e2e_json_int(const char *obj, const char *key, long long *out)
{
    const char *v = e2e_json_get(obj, key);
    char *end;
    if (!v || !(*v == '-' || (*v >= '0' && *v <= '9')))
        return false;
    errno = 0;
    *out = strtoll(v, &end, 10);
    /* An integer, not 1.5 or 1e3. */
    return errno == 0 && *end != '.' && *end != 'e' && *end != 'E';
}

bool e2e_json_bool(const char *obj, const char *key, bool *out)
{
    const char *v = e2e_json_get(obj, key);
    if (v && strncmp(v, "true", 4) == 0)
        return *out = true, true;
    if (v && strncmp(v, "false", 5) == 0)
        return *out = false, true;
    return false;
}

bool e2e_json_str(const char *obj, const char *key, char *buf, size_t size)
{
    const char *v = e2e_json_get(obj, key);
    size_t n = 0;
    if (!v || *v != '"' || size == 0)
        return false;
    for (v++; *v && *v != '"'; v++) {
        if (*v == '\\' && v[1])
            v++; /* keeps the escaped character itself; enough for names */
        if (n + 1 < size)
            buf[n++] = *v;
    }
    buf[n] = '\0';
    return *v == '"';
}

const char *e2e_json_at(const char *arr, int i)
{
    const char *p = arr ? ws(arr) : NULL;
    if (!p || *p != '[')
        return NULL;
    p = ws(p + 1);
    for (; *p && *p != ']'; i--) {
        if (i == 0)
            return p;
        p = skip_value(p);
        if (!p)
            return NULL;
        p = ws(p);
        if (*p == ',')
            p = ws(p + 1);
    }
    return NULL;
}

long long e2e_int(const char *obj, const char *key)
{
    long long v = 0;
    cr_assert(e2e_json_int(obj, key, &v), "no integer \"%s\" in %s", key, obj);
    return v;
}

bool e2e_bool(const char *obj, const char *key)
{
    bool v = false;
    cr_assert(e2e_json_bool(obj, key, &v), "no boolean \"%s\" in %s", key, obj);
    return v;
}

const char *e2e_str(const char *obj, const char *key)
{
    static char buf[4096];
    cr_assert(e2e_json_str(obj, key, buf, sizeof buf), "no string \"%s\" in %s", key, obj);
    return buf;
}

long long e2e_entry(const char *info, const char *name, const char *field)
{
    const char *eps = e2e_json_get(info, "entry_points");
    cr_assert_not_null(eps, "no \"entry_points\" in %s", info);
    const char *ep = e2e_json_get(eps, name);
    return ep ? e2e_int(ep, field) : 0;
}
