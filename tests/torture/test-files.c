/* test-files.c - daemons' file-system habits and storage trouble under the
 * shim: closing every descriptor, chdir and chroot, a trace that runs out
 * of room (MTRACE_MAP_MAX, a tiny tmpfs) and an output location that is
 * missing or read-only. The program must run exactly as untraced; its own
 * files must hold exactly what it wrote; the trace, when there is one,
 * must open. */
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

static char mounted[8][4096];
static int nmounted;

static void setup(void)
{
    e2e_tmpdir();
}

static void teardown(void)
{
    while (nmounted > 0)
        umount2(mounted[--nmounted], MNT_DETACH);
    e2e_tmpdir_remove();
}

TestSuite(files, .init = setup, .fini = teardown, .timeout = 150);

/* Mounts a tmpfs of SIZE bytes with OPTS at DIR; false when not permitted. */
static bool mount_tmpfs(const char *dir, const char *opts)
{
    if (geteuid() != 0 || mount("tmpfs", dir, "tmpfs", 0, opts) != 0)
        return false;
    snprintf(mounted[nmounted++], sizeof mounted[0], "%s", dir);
    return true;
}

static void umount_all(void)
{
    while (nmounted > 0)
        umount2(mounted[--nmounted], MNT_DETACH);
}

/* Reads PATH whole into a malloc'd buffer; *LEN gets its size. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    unsigned char *buf = malloc(1 << 20);
    cr_assert_not_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void expect_pattern(const char *dir, const char *prefix, int i, size_t size)
{
    char path[4200];
    size_t len;
    snprintf(path, sizeof path, "%s/%s%d", dir, prefix, i);
    unsigned char *buf = slurp(path, &len);
    cr_expect_eq(len, size, "%s: %zu bytes, want %zu", path, len, size);
    size_t bad = 0;
    for (size_t j = 0; j < len && j < size; j++)
        if (buf[j] != (unsigned char)((i * 31 + (int)j * 7) & 0xff))
            bad++;
    cr_expect_eq(bad, 0, "%s: %zu bytes differ from what the program wrote", path, bad);
    free(buf);
}

/* NFILES descriptors reopened after close_range(FIRST, ~0): the program's
 * files take the lowest numbers, among them those the trace's lock.mdb and
 * data.mdb had (and with FIRST 0, stdin..stderr). */
static void closefds_case(int nfiles, int first)
{
    char prog[4096], n[16], f[16], label[64];
    snprintf(prog, sizeof prog, "%s", tr_prog("t-closefds"));
    snprintf(n, sizeof n, "%d", nfiles);
    snprintf(f, sizeof f, "%d", first);
    for (int m = 0; m < 3; m++) {
        snprintf(label, sizeof label, "closefds-%d-%d-%d", first, nfiles, m);
        char files[4200], flabel[80];
        snprintf(flabel, sizeof flabel, "%s-files", label);
        snprintf(files, sizeof files, "%s", tr_dir(flabel));
        const char *argv[] = {prog, files, n, f, NULL};
        /* MTRACE_FLUSH_MS=1: as many commits as possible while descriptors move. */
        const char *env[] = {"MTRACE_FLUSH_MS=1", NULL};
        e2e_result_t r;
        tr_run(&r, m == 0 ? TR_UNTRACED : m == 1 ? TR_SAMPLE_ALL : TR_SAMPLE_DEFAULT, label,
               argv, env, NULL, 30);
        cr_expect_eq(r.exit_code, 0, "%s: exit %d signal %d (3: own write failed, 5: "
                     "read back differs)", label, r.exit_code, r.signal);
        cr_expect_str_eq(r.out, "closefds: start\n", "%s: stdout", label);
        cr_expect_leq(tr_warnings(r.err), 1, "%s: stderr: %s", label, r.err);
        for (int i = 0; i < nfiles; i++)
            expect_pattern(files, "f", i, 65536);
        for (int i = 0; i < 8; i++)
            expect_pattern(files, "s", i, 4000);
        if (m > 0) {
            char *infos[4] = {0};
            int t = tr_check_traces(label, false, infos, 4);
            cr_expect_eq(t, 1, "%s: %d traces, want 1", label, t);
            for (int i = 0; i < t && i < 4; i++)
                free(infos[i]);
        }
        e2e_result_free(&r);
    }
}

/* closefrom(3), as many daemons do: the program's files reuse the numbers
 * of the trace's files; the shim must notice and never write into them. */
Test(files, close_from_3_then_write_few_files)
{
    closefds_case(3, 3);
}

Test(files, close_from_3_then_write_many_files)
{
    closefds_case(20, 3);
}

/* Each count from 1 to 8 reuses a different set of the shim's numbers. */
Test(files, close_from_3_each_reuse_count)
{
    for (int n = 1; n <= 8; n++)
        closefds_case(n, 3);
}

/* Every descriptor, stderr included: by the time the shim warns that its
 * trace file was closed, descriptor 2 is the program's own file, and the
 * warning must not land in it. */
Test(files, close_all_fds_then_write_files)
{
    closefds_case(3, 0);
    closefds_case(20, 0);
}

/* A program that keeps closing every descriptor it did not start with and
 * reopening its own file, while 200 named threads allocate: a descriptor the
 * shim's writer opened for a moment (a thread's /proc comm, /proc/self/statm)
 * was closed under it, its number reused by the program, and the writer's
 * close() then closed the program's file (t-fdrace exits 3, "lost
 * descriptor"). The writer must never close a number the program may own. */
Test(files, writer_never_closes_a_reused_descriptor)
{
    char prog[4096], files[4200];
    snprintf(prog, sizeof prog, "%s", tr_prog("t-fdrace"));
    for (int m = 0; m < 2; m++) {
        const char *label = m ? "fdrace-default" : "fdrace-all";
        snprintf(files, sizeof files, "%s", tr_dir(label));
        const char *argv[] = {prog, files, "2500", NULL};
        const char *env[] = {"MTRACE_FLUSH_MS=1", NULL};
        e2e_result_t r;
        tr_run(&r, m ? TR_SAMPLE_DEFAULT : TR_SAMPLE_ALL, label, argv, env, NULL, 60);
        cr_expect_eq(r.exit_code, 0, "%s: exit %d signal %d (3: the program's descriptor was "
                     "closed under it)", label, r.exit_code, r.signal);
        cr_expect_str_eq(r.out, "fdrace: ok\n", "%s: stdout", label);
        cr_expect_eq(tr_warnings(r.err), 0, "%s: stderr: %s", label, r.err);
        e2e_result_free(&r);
    }
}

Test(files, chdir_around)
{
    char prog[4096];
    snprintf(prog, sizeof prog, "%s", tr_prog("t-chroot"));
    const char *argv[] = {prog, "-", NULL};
    tr_case("chdir", argv, NULL, 1, 30);
}

Test(files, chroot)
{
    if (geteuid() != 0)
        cr_skip_test("chroot needs root (running as uid %u)", (unsigned)geteuid());
    char prog[4096], jail[4200];
    snprintf(prog, sizeof prog, "%s", tr_prog("t-chroot"));
    snprintf(jail, sizeof jail, "%s", tr_dir("jail"));
    const char *argv[] = {prog, jail, NULL};
    if (chroot("/") != 0) /* a container may forbid it even to root */
        cr_skip_test("chroot not permitted here: %s", strerror(errno));
    tr_case("chroot", argv, NULL, 1, 30);
    char path[4300];
    size_t len;
    snprintf(path, sizeof path, "%s/inside.txt", jail);
    unsigned char *buf = slurp(path, &len);
    cr_expect(len == 26 && memcmp(buf, "written inside the chroot\n", 26) == 0,
              "%s: %.*s", path, (int)len, buf);
    free(buf);
}

/* A full trace: the program finishes normally, with at most one warning,
 * and info says the trace was truncated. A million rounds: with the
 * compressed blocks of format 4, 200,000 made 0.9 MB, which fits the
 * smallest map (MTRACE_MAP_MAX=1M). */
static void expect_truncated_run(const char *label, const char *const env[], bool need_note)
{
    char prog[4096];
    snprintf(prog, sizeof prog, "%s", tr_prog("t-heavy"));
    const char *argv[] = {prog, "1000000", NULL};
    e2e_result_t plain, traced;
    tr_run(&plain, TR_UNTRACED, label, argv, NULL, NULL, 30);
    cr_assert_eq(plain.exit_code, 0);
    tr_run(&traced, TR_SAMPLE_ALL, label, argv, env, NULL, 60);
    tr_expect_same(label, &plain, &traced, 1);
    cr_expect_eq(tr_warnings(traced.err), 1, "%s: want one warning: %s", label, traced.err);
    char *info = NULL;
    int n = tr_check_traces(label, false, &info, 1);
    cr_assert_eq(n, 1, "%s: %d traces, want 1", label, n);
    const char *trunc = e2e_json_get(info, "truncated");
    cr_assert_not_null(trunc, "%s: no \"truncated\" in %s", label, info);
    if (need_note)
        cr_expect(*trunc == '"', "%s: truncated is %.20s, want a reason: %s", label, trunc, info);
    cr_expect(!e2e_bool(info, "complete") || *trunc == '"',
              "%s: a trace that ran out of room says complete and not truncated: %s", label, info);
    free(info);
    e2e_result_free(&plain);
    e2e_result_free(&traced);
}

Test(files, map_max_reached)
{
    const char *env[] = {"MTRACE_MAP_MAX=1M", NULL};
    expect_truncated_run("mapmax", env, true);
}

Test(files, tiny_tmpfs_full)
{
    char dir[4096], out[4200];
    snprintf(dir, sizeof dir, "%s", tr_dir("tmpfs"));
    if (!mount_tmpfs(dir, "size=256k,mode=0700"))
        cr_skip_test("cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): %s",
                     strerror(errno));
    snprintf(out, sizeof out, "MTRACE_OUT=%s/%%e.%%p", dir);
    const char *env[] = {out, NULL};
    expect_truncated_run("tmpfs", env, false);
    umount_all();
}

/* No trace can be made: exactly one warning, the program unaffected. */
static void expect_untraced(const char *label, const char *outdir)
{
    char prog[4096], out[4200];
    snprintf(prog, sizeof prog, "%s", tr_prog("t-heavy"));
    snprintf(out, sizeof out, "MTRACE_OUT=%s", outdir);
    const char *argv[] = {prog, "20000", NULL};
    const char *env[] = {out, NULL};
    e2e_result_t plain, traced;
    tr_run(&plain, TR_UNTRACED, label, argv, NULL, NULL, 30);
    for (int m = 0; m < 2; m++) {
        tr_run(&traced, m ? TR_SAMPLE_DEFAULT : TR_SAMPLE_ALL, label, argv, env, NULL, 30);
        tr_expect_same(label, &plain, &traced, 1);
        cr_expect_eq(tr_warnings(traced.err), 1, "%s: want exactly one warning: %s", label,
                     traced.err);
        cr_expect(strncmp(traced.err, "mtrace: warning: ", 17) == 0, "%s: stderr: %s", label,
                  traced.err);
        e2e_result_free(&traced);
    }
    e2e_result_free(&plain);
}

Test(files, output_under_proc)
{
    expect_untraced("proc", "/proc/nonexistent/x/%e.%p");
}

Test(files, output_parent_missing)
{
    char out[4200];
    snprintf(out, sizeof out, "%s/no/such/dir/%%e.%%p", e2e_tmpdir());
    expect_untraced("missing", out);
}

Test(files, output_parent_is_a_file)
{
    expect_untraced("notdir", "/etc/hostname/%e.%p");
}

Test(files, output_dir_read_only)
{
    char dir[4096], out[4200];
    snprintf(dir, sizeof dir, "%s", tr_dir("readonly"));
    if (geteuid() == 0) {
        /* Root ignores modes: a read-only file system it is. */
        if (!mount_tmpfs(dir, "ro,size=64k"))
            cr_skip_test("root, and cannot mount a read-only tmpfs: %s", strerror(errno));
    } else {
        cr_assert_eq(chmod(dir, 0500), 0);
    }
    snprintf(out, sizeof out, "%s/%%e.%%p", dir);
    expect_untraced("readonly", out);
    umount_all();
}
