/* run.c - process and temporary-directory helpers of the CLI tests. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

static char *slurp(int fd)
{
    off_t size = lseek(fd, 0, SEEK_END);
    cr_assert(size >= 0, "lseek: %s", strerror(errno));
    char *buf = malloc((size_t)size + 1);
    cr_assert(buf);
    ssize_t n = pread(fd, buf, (size_t)size, 0);
    cr_assert(n == size, "pread: %s", strerror(errno));
    buf[size] = '\0';
    close(fd);
    return buf;
}

void mt_run(mt_run_t *r, const char *stdout_path, const char *const argv[])
{
    memset(r, 0, sizeof(*r));
    int out = stdout_path ? open(stdout_path, O_WRONLY) : memfd_create("stdout", 0);
    int err = memfd_create("stderr", 0);
    cr_assert(out >= 0 && err >= 0, "capture files: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(out, 1);
        dup2(err, 2);
        execv(argv[0], (char *const *)argv);
        dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int ws;
    cr_assert(waitpid(pid, &ws, 0) == pid);
    if (WIFSIGNALED(ws)) {
        r->signal = WTERMSIG(ws);
        r->status = 128 + r->signal;
    } else {
        r->status = WEXITSTATUS(ws);
    }
    if (stdout_path) {
        close(out);
        r->out = strdup("");
    } else {
        r->out = slurp(out);
    }
    r->err = slurp(err);
}

void mt_run_free(mt_run_t *r)
{
    free(r->out);
    free(r->err);
}

const char *mt_test_program(const char *var)
{
    const char *p = getenv(var);
    cr_assert(p && *p, "environment variable %s is not set (run the tests with meson test)", var);
    return p;
}

void mt_run_analyze(mt_run_t *r, const char *const *args)
{
    const char *argv[24] = {ANALYZE};
    size_t n = 1;
    for (; args[n - 1] && n < 23; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    mt_run(r, NULL, argv);
    cr_assert_eq(r->signal, 0, "mtrace-analyze died of signal %d\n%s", r->signal, r->err);
}

char *mt_test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *dir;
    cr_assert(asprintf(&dir, "%s/mtrace-test-XXXXXX", base && *base ? base : "/tmp") > 0);
    cr_assert(mkdtemp(dir), "mkdtemp %s: %s", dir, strerror(errno));
    return dir;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void mt_test_rmtree(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void mt_test_trace_setup(char **tmp, char *trace, size_t cap, const char *name)
{
    *tmp = mt_test_tmpdir();
    cr_assert((size_t)snprintf(trace, cap, "%s/%s", *tmp, name) < cap);
}

void mt_test_trace_teardown(char **tmp)
{
    mt_test_rmtree(*tmp);
    free(*tmp);
    *tmp = NULL;
}

void mt_make_trace(const char *dir, const char *variant)
{
    const char *argv[] = {mt_test_program("MAKE_TRACE"), dir, variant, NULL};
    mt_run_t r;
    mt_run(&r, NULL, argv);
    cr_assert_eq(r.status, 0, "make-trace %s %s failed: %s", dir, variant, r.err);
    mt_run_free(&r);
}

int mt_count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}
