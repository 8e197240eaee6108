/* test-analyze-robust.c - mtrace-analyze on damaged and foreign input.
 *
 * Every subcommand (from `mtrace-analyze --list-cmds`), in text and JSON,
 * gets: a missing path, a file, an empty directory, an empty / garbage /
 * text data.mdb, traces of a newer and an older format and with a wrong
 * magic, a trace truncated at many lengths, bit-flipped copies (seeded),
 * and a trace whose last event block does not decode. It must never die of
 * a signal or hang; when it fails it exits 1 with one "error:" line.
 * Flipped or truncated traces may still be readable: exit 0 is fine there.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "torture-run.h"

static void setup(void)
{
    e2e_tmpdir();
}

TestSuite(robust, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 160);

static char *cmds[16];
static int ncmds;

static void list_commands(void)
{
    const char *argv[] = {e2e_analyze(), "--list-cmds", NULL};
    e2e_result_t r;
    e2e_run(&r, argv, NULL, NULL);
    cr_assert_eq(r.exit_code, 0);
    ncmds = 0;
    for (char *save, *c = strtok_r(r.out, "\n", &save); c && ncmds < 16;
         c = strtok_r(NULL, "\n", &save))
        cmds[ncmds++] = strdup(c);
    cr_assert_geq(ncmds, 3, "info, top and leaks at least");
    e2e_result_free(&r);
}

static int error_lines(const char *s)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, "mtrace-analyze: error: ")); p++)
        n++;
    return n;
}

/* Runs every command on PATH. MUST_FAIL: exit 1 required; otherwise 0 or 1.
 * Returns how many runs failed cleanly. */
static int every_command(const char *what, const char *path, bool must_fail)
{
    int failed = 0;
    if (!ncmds)
        list_commands();
    char out[4200];
    snprintf(out, sizeof(out), "%s/export.pb.gz", e2e_tmpdir());
    for (int i = 0; i < ncmds; i++) {
        /* serve runs until a signal when its arguments are directories;
         * tests/e2e/test-pprof.c gives it a damaged trace over HTTP. */
        if (!strcmp(cmds[i], "serve"))
            continue;
        bool export = !strcmp(cmds[i], "export"); /* needs -o; has no --json */
        for (int json = 0; json < 2 - export; json++) {
            const char *argv[] = {e2e_analyze(), cmds[i], json ? "--json" : path,
                                  json ? path : NULL, NULL};
            const char *export_argv[] = {e2e_analyze(), cmds[i], "-o", out, path, NULL};
            const char *diff_argv[] = {e2e_analyze(), cmds[i], json ? "--json" : path, path,
                                       json ? path : NULL, NULL}; /* BASE NEW */
            bool diff = !strcmp(cmds[i], "diff");
            e2e_result_t r;
            e2e_proc_t p;
            cr_assert_eq(e2e_start(&p, export ? export_argv : diff ? diff_argv : argv, NULL, NULL),
                         0);
            e2e_wait(&p, &r, 20);
            cr_assert(!r.timed_out, "%s: %s %s hangs (killed after 20 s)", what, cmds[i], path);
            cr_assert_eq(r.signal, 0, "%s: %s%s %s died of signal %d; stderr: %s", what, cmds[i],
                         json ? " --json" : "", path, r.signal, r.err);
            if (must_fail)
                cr_expect_eq(r.exit_code, 1, "%s: %s %s exited %d, want 1; stderr: %s", what,
                             cmds[i], path, r.exit_code, r.err);
            else
                cr_expect(r.exit_code == 0 || r.exit_code == 1, "%s: %s %s exited %d", what,
                          cmds[i], path, r.exit_code);
            if (r.exit_code != 0) {
                failed++;
                cr_expect_eq(error_lines(r.err), 1, "%s: %s: want one error line, got: %s",
                             what, cmds[i], r.err);
                cr_expect(strlen(r.err) < 600, "%s: %s: a long message: %s", what, cmds[i], r.err);
            }
            e2e_result_free(&r);
        }
    }
    return failed;
}

static void make_trace(const char *dir, const char *kind)
{
    const char *mk = getenv("MAKE_TRACE");
    cr_assert(mk && *mk, "MAKE_TRACE is not set");
    const char *argv[] = {mk, dir, kind, NULL};
    e2e_result_t r;
    e2e_run(&r, argv, NULL, NULL);
    cr_assert_eq(r.exit_code, 0, "make-trace %s %s: %s", dir, kind, r.err);
    e2e_result_free(&r);
}

static void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static unsigned char *read_file(const char *path, size_t *len)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    unsigned char *buf = malloc((size_t)st.st_size);
    int fd = open(path, O_RDONLY);
    cr_assert(fd >= 0 && buf);
    cr_assert_eq(read(fd, buf, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
}

/* A directory DIR holding only data.mdb = DATA[LEN]. */
static const char *trace_with(const char *label, const void *data, size_t len)
{
    static char dir[4096];
    char path[4200];
    snprintf(dir, sizeof dir, "%s", tr_dir(label));
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    write_file(path, data, len);
    return dir;
}

Test(robust, not_traces)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/missing", e2e_tmpdir());
    every_command("missing", path, true);
    every_command("a file", "/etc/hostname", true);
    every_command("a device", "/dev/null", true);
    every_command("empty directory", tr_dir("empty"), true);
    every_command("empty data.mdb", trace_with("empty-data", "", 0), true);
    const char text[] = "this is not a trace\n";
    every_command("text data.mdb", trace_with("text", text, sizeof text - 1), true);
    unsigned char *junk = malloc(65536);
    srand(1);
    for (int i = 0; i < 65536; i++)
        junk[i] = (unsigned char)rand();
    every_command("garbage data.mdb", trace_with("garbage", junk, 65536), true);
    free(junk);
    /* data.mdb a directory, and a FIFO (must not block). */
    char d[4200];
    snprintf(d, sizeof d, "%s/data.mdb", tr_dir("datadir"));
    cr_assert_eq(mkdir(d, 0700), 0);
    every_command("data.mdb is a directory", tr_dir("datadir"), true);
    snprintf(d, sizeof d, "%s/data.mdb", tr_dir("fifo"));
    cr_assert_eq(mkfifo(d, 0600), 0);
    every_command("data.mdb is a FIFO", tr_dir("fifo"), true);
}

Test(robust, wrong_versions)
{
    const char *kinds[] = {"newer", "older", "bad-format"};
    for (int i = 0; i < 3; i++) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/%s", e2e_tmpdir(), kinds[i]);
        make_trace(dir, kinds[i]);
        every_command(kinds[i], dir, true);
    }
}

Test(robust, undecodable_block)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/corrupt", e2e_tmpdir());
    make_trace(dir, "corrupt");
    every_command("corrupt block", dir, false);
}

static unsigned char *good_trace(size_t *len)
{
    char dir[4200], data[4300];
    snprintf(dir, sizeof dir, "%s/good", e2e_tmpdir());
    struct stat st;
    if (stat(dir, &st) != 0)
        make_trace(dir, "replay");
    every_command("the intact trace", dir, false);
    snprintf(data, sizeof data, "%s/data.mdb", dir);
    return read_file(data, len);
}

Test(robust, truncated)
{
    size_t len;
    unsigned char *good = good_trace(&len);
    size_t cuts[] = {1, 16, 100, 4095, 4096, 4097, 8192, 8193, 12288, len / 2, len - 4096,
                     len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char label[64], what[64];
        if (cuts[i] >= len)
            continue;
        snprintf(label, sizeof label, "cut-%zu", cuts[i]);
        snprintf(what, sizeof what, "truncated to %zu of %zu bytes", cuts[i], len);
        every_command(what, trace_with(label, good, cuts[i]), false);
    }
    free(good);
}

/* 40 copies of the intact trace with 1 to 8 bits flipped, from SEED. */
static void flip_copies(unsigned seed)
{
    srand(seed);
    size_t len;
    unsigned char *good = good_trace(&len);
    unsigned char *bad = malloc(len);
    for (int i = 0; i < 40; i++) {
        memcpy(bad, good, len);
        int flips = 1 + rand() % 8;
        size_t first = 0;
        for (int f = 0; f < flips; f++) {
            size_t at = (size_t)rand() % len;
            if (f == 0)
                first = at;
            bad[at] ^= (unsigned char)(1u << (rand() % 8));
        }
        char label[64], what[128];
        snprintf(label, sizeof label, "flip-%d", i);
        snprintf(what, sizeof what, "seed %u copy %d: %d bit(s) flipped, first at byte %zu",
                 seed, i, flips, first);
        every_command(what, trace_with(label, bad, len), false);
    }
    free(bad);
    free(good);
}

Test(robust, bit_flips)
{
    const char *s = getenv("MTRACE_TORTURE_SEED");
    unsigned seed = s && *s ? (unsigned)strtoul(s, NULL, 10) : (unsigned)time(NULL);
    fprintf(stderr, "bit_flips: seed %u (MTRACE_TORTURE_SEED=%u repeats it)\n", seed, seed);
    flip_copies(seed);
}

/* Seeds that once killed a command: 1795601453 made LMDB fault (copy 20:
 * `top` died of SIGBUS) before format/lmdb_check.c. */
Test(robust, bit_flips_known)
{
    flip_copies(1795601453u);
}

/* ---- damage aimed at LMDB's page structure ------------------------------
 * Each case damages one thing LMDB trusts in a copy of the intact trace:
 * every command must refuse it with exit 1 and one "corrupt trace" line
 * (format/lmdb_check.c), not die of SIGSEGV/SIGBUS, hang or read garbage. */

static void must_be_corrupt(const char *what, const char *dir)
{
    if (!ncmds)
        list_commands();
    char out[4200];
    snprintf(out, sizeof out, "%s.pb.gz", dir);
    for (int i = 0; i < ncmds; i++) {
        /* serve runs until a signal (tests/e2e/test-pprof.c serves a damaged
         * trace); export writes -o FILE; diff compares the trace with itself. */
        if (!strcmp(cmds[i], "serve"))
            continue;
        const char *argv[] = {e2e_analyze(), cmds[i], dir, NULL, NULL, NULL};
        if (!strcmp(cmds[i], "export")) {
            argv[2] = "-o", argv[3] = out, argv[4] = dir;
        } else if (!strcmp(cmds[i], "diff")) {
            argv[3] = dir;
        }
        e2e_result_t r;
        e2e_proc_t p;
        cr_assert_eq(e2e_start(&p, argv, NULL, NULL), 0);
        e2e_wait(&p, &r, 20);
        cr_assert(!r.timed_out, "%s: %s hangs", what, cmds[i]);
        cr_assert_eq(r.signal, 0, "%s: %s died of signal %d", what, cmds[i], r.signal);
        cr_expect_eq(r.exit_code, 1, "%s: %s exited %d, want 1; stderr: %s", what, cmds[i],
                     r.exit_code, r.err);
        cr_expect_eq(error_lines(r.err), 1, "%s: %s: want one error line: %s", what, cmds[i],
                     r.err);
        cr_expect(strstr(r.err, "corrupt trace") != NULL, "%s: %s: want \"corrupt trace\": %s",
                  what, cmds[i], r.err);
        e2e_result_free(&r);
    }
}

static unsigned get16(const unsigned char *p)
{
    return p[0] | p[1] << 8;
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8);
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* LMDB 0.9 layout (see format/lmdb_check.c): the node NODE of page PG. */
static unsigned char *node(unsigned char *t, size_t psize, uint64_t pg, unsigned n)
{
    unsigned char *page = t + pg * psize;
    cr_assert_lt(n, (get16(page + 12) - 16u) / 2, "page %llu has no node %u",
                 (unsigned long long)pg, n);
    return page + get16(page + 16 + 2 * n);
}

/* The main-tree record (a 48-byte MDB_db) of the named database NAME. */
static unsigned char *subdb(unsigned char *t, size_t psize, const char *name)
{
    unsigned char *meta = t + (get64(t + psize + 144) > get64(t + 144) ? psize : 0);
    cr_assert_eq(get16(meta + 88 + 6), 1, "the intact trace's main tree has depth 1");
    uint64_t root = get64(meta + 88 + 40);
    for (unsigned i = 0; i < (get16(t + root * psize + 12) - 16u) / 2; i++) {
        unsigned char *nd = node(t, psize, root, i);
        if (get16(nd + 6) == strlen(name) && memcmp(nd + 8, name, strlen(name)) == 0)
            return nd + 8 + get16(nd + 6);
    }
    cr_assert_fail("no database %s in the main tree", name);
    return NULL;
}

Test(robust, damaged_pages)
{
    size_t len;
    unsigned char *good = good_trace(&len), *bad = malloc(len);
    size_t psize = get16(good + 40);
    cr_assert_eq(psize, 4096, "LMDB's page size on this machine");
    uint64_t pages = len / psize;

    /* The newer meta page's page size 0 (LMDB divides by it). */
    memcpy(bad, good, len);
    put16(bad + (get64(bad + psize + 144) > get64(bad + 144) ? psize : 0) + 40, 0);
    must_be_corrupt("page size 0", trace_with("psize-0", bad, len));

    /* A node offset pointing past the end of its page (main tree root). */
    memcpy(bad, good, len);
    unsigned char *meta = bad + (get64(bad + psize + 144) > get64(bad + 144) ? psize : 0);
    put16(bad + get64(meta + 88 + 40) * psize + 16, (unsigned)psize - 4);
    must_be_corrupt("node offset past the page", trace_with("node-off", bad, len));

    /* An event block whose size runs 1 MiB past its page and the file. */
    memcpy(bad, good, len);
    uint64_t events = get64(subdb(bad, psize, "events") + 40);
    unsigned char *nd = node(bad, psize, events, 0);
    put16(nd, 0), put16(nd + 2, 16);
    must_be_corrupt("event block size past the page", trace_with("data-size", bad, len));

    /* An event block moved to an "overflow page" at the last page of the
     * file, 1 MiB long. */
    memcpy(bad, good, len);
    nd = node(bad, psize, events, 0);
    put16(nd, 0), put16(nd + 2, 16), put16(nd + 4, 1 /* F_BIGDATA */);
    put64(nd + 8 + get16(nd + 6), pages - 1);
    must_be_corrupt("overflow run past the file", trace_with("overflow", bad, len));

    /* The events tree a branch page that is its own child (a cycle). */
    memcpy(bad, good, len);
    unsigned char *db = subdb(bad, psize, "events");
    put16(db + 6, 2); /* depth */
    unsigned char *page = bad + events * psize;
    put16(page + 10, 1 /* P_BRANCH */);
    nd = node(bad, psize, events, 0);
    put16(nd, (unsigned)events), put16(nd + 2, 0), put16(nd + 4, 0);
    must_be_corrupt("a branch page that is its own child", trace_with("cycle", bad, len));

    /* Two trees sharing a page: stacks' root is events' root. */
    memcpy(bad, good, len);
    put64(subdb(bad, psize, "stacks") + 40, events);
    must_be_corrupt("a page in two trees", trace_with("shared", bad, len));

    /* A named database record shorter than an MDB_db. */
    memcpy(bad, good, len);
    db = subdb(bad, psize, "threads");
    put16(db - 8 - strlen("threads"), 8);
    must_be_corrupt("a short database record", trace_with("short-db", bad, len));

    /* A named database created with MDB_DUPSORT (the writer never does). */
    memcpy(bad, good, len);
    put16(subdb(bad, psize, "counters") + 4, 0x04);
    must_be_corrupt("a database with foreign flags", trace_with("dupsort", bad, len));

    free(bad);
    free(good);
}
