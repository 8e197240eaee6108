/* test-security.c - what the README's Security section promises: trace
 * directories 0700 and files 0600 whatever the umask, an existing trace or
 * a symlink at the output path is never written through (a suffix is
 * chosen), secure-execution programs are not traced, and mtrace-analyze
 * reads traces without changing them, also on a read-only file system. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "torture-run.h"

static char mounted[4300];
static char installed[4096];

static void setup(void)
{
    e2e_tmpdir();
}

static void teardown(void)
{
    if (mounted[0])
        umount2(mounted, MNT_DETACH);
    if (installed[0])
        unlink(installed);
    mounted[0] = installed[0] = '\0';
    e2e_tmpdir_remove();
}

TestSuite(security, .init = setup, .fini = teardown, .timeout = 110);

/* Runs t-heavy traced with MTRACE_OUT=OUT (a path, no template). */
static void run_to(const char *label, const char *out, e2e_result_t *r)
{
    char prog[4096], o[4200];
    snprintf(prog, sizeof prog, "%s", tr_prog("t-heavy"));
    snprintf(o, sizeof o, "MTRACE_OUT=%s", out);
    const char *argv[] = {prog, "2000", NULL};
    const char *env[] = {o, NULL};
    tr_run(r, TR_SAMPLE_ALL, label, argv, env, NULL, 30);
    cr_assert_eq(r->exit_code, 0, "%s: exit %d: %s", label, r->exit_code, r->err);
}

static void expect_mode(const char *path, mode_t want)
{
    struct stat st;
    cr_assert_eq(lstat(path, &st), 0, "%s: %s", path, strerror(errno));
    cr_expect_eq(st.st_mode & 07777, want, "%s: mode %o, want %o", path,
                 (unsigned)(st.st_mode & 07777), (unsigned)want);
    cr_expect_eq(st.st_uid, geteuid(), "%s: owner %u", path, (unsigned)st.st_uid);
}

Test(security, modes_0700_0600_even_with_umask_0)
{
    char out[4200], f[4300];
    e2e_result_t r;
    snprintf(out, sizeof out, "%s/trace", tr_dir("modes"));
    mode_t old = umask(0); /* inherited by the program */
    run_to("modes", out, &r);
    umask(old);
    expect_mode(out, 0700);
    snprintf(f, sizeof f, "%s/data.mdb", out);
    expect_mode(f, 0600);
    snprintf(f, sizeof f, "%s/lock.mdb", out);
    expect_mode(f, 0600);
    e2e_result_free(&r);
}

Test(security, existing_trace_is_never_overwritten)
{
    char out[4200], next[4300];
    e2e_result_t r1, r2;
    snprintf(out, sizeof out, "%s/trace", tr_dir("twice"));
    run_to("twice", out, &r1);
    char *before = e2e_info(out);
    run_to("twice", out, &r2);
    char *after = e2e_info(out);
    cr_expect_eq(e2e_int(after, "pid"), r1.pid, "the first trace now has pid %lld, want %d",
                 e2e_int(after, "pid"), (int)r1.pid);
    cr_expect_str_eq(before, after, "the first trace changed");
    snprintf(next, sizeof next, "%s.1", out);
    char *second = e2e_info(next);
    cr_expect_eq(e2e_int(second, "pid"), r2.pid, "%s has pid %lld, want %d", next,
                 e2e_int(second, "pid"), (int)r2.pid);
    free(before), free(after), free(second);
    e2e_result_free(&r1), e2e_result_free(&r2);
}

static bool is_empty_dir(const char *path)
{
    char *names[4];
    return e2e_list_dirs(path, names, 4) == 0;
}

Test(security, symlink_at_output_is_not_followed)
{
    char dir[4096], link1[4200], link2[4200], victim[4200], victim_dir[4200], p[4300];
    e2e_result_t r;
    struct stat st;
    snprintf(dir, sizeof dir, "%s", tr_dir("symlink"));
    snprintf(victim, sizeof victim, "%s/victim", dir);
    snprintf(victim_dir, sizeof victim_dir, "%s/victim-dir", dir);
    cr_assert_eq(mkdir(victim_dir, 0700), 0);
    snprintf(link1, sizeof link1, "%s/dangling", dir);
    snprintf(link2, sizeof link2, "%s/to-dir", dir);
    cr_assert_eq(symlink(victim, link1), 0);
    cr_assert_eq(symlink(victim_dir, link2), 0);

    run_to("symlink", link1, &r);
    cr_expect_neq(stat(victim, &st), 0, "the shim created the dangling link's target %s", victim);
    snprintf(p, sizeof p, "%s.1", link1);
    free(e2e_info(p)); /* the trace went to the next suffix */
    cr_expect_eq(lstat(link1, &st) == 0 && S_ISLNK(st.st_mode), true, "%s is no longer a link",
                 link1);
    e2e_result_free(&r);

    run_to("symlink", link2, &r);
    snprintf(p, sizeof p, "%s/data.mdb", victim_dir);
    cr_expect_neq(stat(p, &st), 0, "the shim wrote through the link into %s", victim_dir);
    cr_expect(is_empty_dir(victim_dir));
    snprintf(p, sizeof p, "%s.1", link2);
    free(e2e_info(p));
    e2e_result_free(&r);
}

/* A setuid copy of t-secure, owned by nobody, run by root: AT_SECURE. */
static void make_setuid_copy(char *copy, size_t size, const char *dir)
{
    if (geteuid() != 0)
        cr_skip_test("making a setuid program for another user needs root");
    snprintf(copy, size, "%s/t-secure", dir);
    int in = open(tr_prog("t-secure"), O_RDONLY), out = open(copy, O_CREAT | O_WRONLY, 0755);
    cr_assert(in >= 0 && out >= 0);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        cr_assert_eq(write(out, buf, (size_t)n), n);
    close(in), close(out);
    cr_assert_eq(chown(copy, 65534, 65534), 0, "chown nobody: %s", strerror(errno));
    cr_assert_eq(chmod(copy, 04755), 0);
}

/* The program's output when run untraced from DIR; skips when the mount
 * ignores setuid bits. */
static void secure_baseline(const char *copy, const char *dir, e2e_result_t *plain)
{
    const char *argv[] = {copy, NULL};
    tr_run(plain, TR_UNTRACED, "secure", argv, NULL, dir, 30);
    cr_assert_eq(plain->exit_code, 0, "%s: %s", copy, plain->err);
    if (!strstr(plain->out, "AT_SECURE=1"))
        cr_skip_test("setuid bits have no effect here (nosuid mount?): %s", plain->out);
}

Test(security, setuid_program_not_traced)
{
    char dir[4096], copy[4200], out[4300];
    e2e_result_t plain, r;
    snprintf(dir, sizeof dir, "%s", tr_dir("secure"));
    cr_assert_eq(chmod(dir, 0777), 0); /* the program could write a trace here */
    cr_assert_eq(chmod(e2e_tmpdir(), 0755), 0);
    make_setuid_copy(copy, sizeof copy, dir);
    secure_baseline(copy, dir, &plain);
    const char *argv[] = {copy, NULL};
    snprintf(out, sizeof out, "MTRACE_OUT=%s/%%e.%%p", dir);
    const char *env[] = {out, NULL};
    tr_run(&r, TR_SAMPLE_ALL, "secure", argv, env, dir, 30);
    tr_expect_same("setuid", &plain, &r, 1);
    cr_expect(is_empty_dir(dir), "a trace directory appeared for a setuid program");
    e2e_result_free(&plain), e2e_result_free(&r);
}

/* The way a secure program can get the shim at all: a setuid library in a
 * trusted directory, preloaded by name. The shim itself must then decline. */
Test(security, setuid_program_with_trusted_shim_not_traced)
{
    char dir[4096], copy[4200], preload[4300], out[4300];
    e2e_result_t plain, r;
    snprintf(dir, sizeof dir, "%s", tr_dir("secure2"));
    cr_assert_eq(chmod(dir, 0777), 0);
    cr_assert_eq(chmod(e2e_tmpdir(), 0755), 0);
    make_setuid_copy(copy, sizeof copy, dir);
    secure_baseline(copy, dir, &plain);
    const char *libdirs[] = {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64",
                             "/usr/lib64", "/lib", "/usr/lib", NULL};
    const char *libdir = NULL;
    struct stat st;
    for (int i = 0; libdirs[i] && !libdir; i++)
        if (stat(libdirs[i], &st) == 0 && access(libdirs[i], W_OK) == 0)
            libdir = libdirs[i];
    if (!libdir)
        cr_skip_test("no writable trusted library directory");
    snprintf(installed, sizeof installed, "%s/libmtrace-sectest-%d.so", libdir, (int)getpid());
    int in = open(e2e_lib(), O_RDONLY), o = open(installed, O_CREAT | O_EXCL | O_WRONLY, 0755);
    cr_assert(in >= 0 && o >= 0, "%s: %s", installed, strerror(errno));
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        cr_assert_eq(write(o, buf, (size_t)n), n);
    close(in), close(o);
    cr_assert_eq(chmod(installed, 04755), 0);

    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", strrchr(installed, '/') + 1);
    snprintf(out, sizeof out, "MTRACE_OUT=%s/%%e.%%p", dir);
    const char *argv[] = {copy, NULL};
    const char *env[] = {preload, out, "MTRACE_QUIET=1", "MTRACE_SAMPLE=all", NULL};
    e2e_proc_t p;
    cr_assert_eq(e2e_start(&p, argv, env, dir), 0);
    e2e_wait(&p, &r, 30);
    unlink(installed);
    installed[0] = '\0';
    cr_assert(!r.timed_out);
    if (!strstr(r.out, "shim=loaded"))
        cr_skip_test("the dynamic loader did not preload the setuid library: %s %s", r.out,
                     r.err);
    cr_expect_eq(r.exit_code, 0, "exit %d: %s", r.exit_code, r.err);
    cr_expect(is_empty_dir(dir), "the shim traced a setuid program");
    cr_expect_leq(tr_warnings(r.err), 1, "stderr: %s", r.err);
    e2e_result_free(&plain), e2e_result_free(&r);
}

/* Bytes and mtime of PATH, to compare before and after. */
typedef struct {
    unsigned char *data;
    size_t len;
    struct timespec mtime;
} snapshot_t;

static void snap(const char *path, snapshot_t *s)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "%s", path);
    s->mtime = st.st_mtim;
    s->data = malloc((size_t)st.st_size + 1);
    FILE *f = fopen(path, "rb");
    cr_assert(f && s->data);
    s->len = fread(s->data, 1, (size_t)st.st_size, f);
    fclose(f);
}

static void run_every_command(const char *trace)
{
    const char *list[] = {e2e_analyze(), "--list-cmds", NULL};
    e2e_result_t l;
    e2e_run(&l, list, NULL, NULL);
    cr_assert_eq(l.exit_code, 0);
    int ran = 0;
    char out[4200];
    snprintf(out, sizeof(out), "%s/export.pb.gz", e2e_tmpdir());
    for (char *save, *cmd = strtok_r(l.out, "\n", &save); cmd; cmd = strtok_r(NULL, "\n", &save)) {
        /* serve runs until a signal; tests/e2e/test-pprof.c reads it over HTTP. */
        if (!strcmp(cmd, "serve"))
            continue;
        bool export = !strcmp(cmd, "export"); /* writes -o FILE (not in the trace); no --json */
        for (int json = 0; json < 2 - export; json++) {
            const char *argv[] = {e2e_analyze(), cmd, trace, json ? "--json" : NULL, NULL};
            const char *export_argv[] = {e2e_analyze(), cmd, "-o", out, trace, NULL};
            const char *diff_argv[] = {e2e_analyze(), cmd, trace, trace, /* BASE NEW */
                                       json ? "--json" : NULL, NULL};
            bool diff = !strcmp(cmd, "diff");
            e2e_result_t r;
            e2e_run_for(&r, export ? export_argv : diff ? diff_argv : argv, NULL, NULL, 30);
            cr_expect_eq(r.exit_code, 0, "%s %s on a read-only trace: exit %d signal %d: %s", cmd,
                         json ? "--json" : "", r.exit_code, r.signal, r.err);
            e2e_result_free(&r);
            ran++;
        }
    }
    cr_expect_geq(ran, 6, "info, top and leaks at least");
    e2e_result_free(&l);
}

Test(security, analyzer_reads_read_only_trace_without_changing_it)
{
    char dir[4096], out[4200], data[4300], lock[4300];
    e2e_result_t r;
    snprintf(dir, sizeof dir, "%s", tr_dir("ro"));
    snprintf(out, sizeof out, "%s/trace", dir);
    run_to("ro", out, &r);
    e2e_result_free(&r);
    snprintf(data, sizeof data, "%s/data.mdb", out);
    snprintf(lock, sizeof lock, "%s/lock.mdb", out);
    snapshot_t before, after;
    snap(data, &before);

    bool ro_mount = false;
    if (geteuid() == 0) {
        /* Root writes through modes: make it a read-only bind mount. */
        if (mount(out, out, NULL, MS_BIND, NULL) == 0) {
            snprintf(mounted, sizeof mounted, "%s", out);
            ro_mount = mount(NULL, out, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == 0;
        }
        if (!ro_mount)
            cr_skip_test("root, and a read-only bind mount is not permitted: %s",
                         strerror(errno));
    } else {
        cr_assert_eq(chmod(data, 0400), 0);
        cr_assert_eq(chmod(lock, 0400), 0);
        cr_assert_eq(chmod(out, 0500), 0);
    }
    run_every_command(out);
    snap(data, &after);
    cr_expect(before.len == after.len && memcmp(before.data, after.data, before.len) == 0,
              "data.mdb changed");
    cr_expect(before.mtime.tv_sec == after.mtime.tv_sec &&
                  before.mtime.tv_nsec == after.mtime.tv_nsec,
              "data.mdb's mtime changed");
    free(before.data), free(after.data);
    if (mounted[0]) {
        umount2(mounted, MNT_DETACH);
        mounted[0] = '\0';
    } else {
        chmod(out, 0700);
    }
}

/* On a writable trace too, data.mdb is never written (readers only take a
 * slot in lock.mdb's reader table, as every LMDB reader does). */
Test(security, analyzer_never_writes_data_mdb)
{
    char out[4200], data[4300];
    e2e_result_t r;
    snprintf(out, sizeof out, "%s/trace", tr_dir("rw"));
    run_to("rw", out, &r);
    e2e_result_free(&r);
    snprintf(data, sizeof data, "%s/data.mdb", out);
    snapshot_t before, after;
    snap(data, &before);
    run_every_command(out);
    snap(data, &after);
    cr_expect(before.len == after.len && memcmp(before.data, after.data, before.len) == 0 &&
                  before.mtime.tv_nsec == after.mtime.tv_nsec,
              "data.mdb changed");
    free(before.data), free(after.data);
}
