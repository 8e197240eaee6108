/* test-writer-reader.c - traces written by format/writer.c and read back by
 * format/reader.c: exact values, live snapshots, versions, map growth. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "format.h"

static char tmp[64];
static char trace[128];

static void setup(void)
{
    strcpy(tmp, "/tmp/mt-format-test-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(trace, sizeof trace, "%s/trace", tmp);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(writer_reader, .init = setup, .fini = teardown);

/* A block of thread THREAD holding one RSS event of SIZE bytes at TS. */
static size_t rss_block(uint8_t *buf, size_t cap, uint32_t thread, uint64_t ts, uint64_t size)
{
    mt_block_encoder_t enc;
    mt_event_t e = {.type = MT_EV_RSS, .ts = ts, .size = size};
    mt_block_begin(&enc, buf, cap, thread);
    cr_assert_eq(mt_block_add(&enc, &e), 0);
    return mt_block_finish(&enc);
}

static int count_blocks(mt_reader_t *r)
{
    uint64_t cur = 0;
    const void *data;
    size_t len;
    int n = 0, rc;
    while ((rc = mt_reader_next_block(r, &cur, &data, &len)) == 1) {
        n++;
        cr_assert_eq(cur, (uint64_t)n, "blocks are numbered 1, 2, ...");
    }
    cr_assert_eq(rc, 0);
    return n;
}

static mt_writer_t *open_writer(const char *dir, uint64_t initial, uint64_t max)
{
    mt_writer_t *w = NULL;
    mt_writer_options_t opts = {.map_initial = initial, .map_max = max};
    int rc = mt_writer_open(&w, dir, &opts);
    cr_assert_eq(rc, 0, "mt_writer_open: %s", mt_strerror(rc));
    return w;
}

static void put_str(mt_writer_t *w, const char *key, const char *s)
{
    cr_assert_eq(mt_writer_put_meta(w, key, s, strlen(s)), 0);
}

Test(writer_reader, everything_round_trips)
{
    mt_writer_t *w = open_writer(trace, 0, 0);
    uint8_t blocks[3][128];
    size_t blen[3];
    for (int i = 0; i < 3; i++)
        blen[i] = rss_block(blocks[i], sizeof blocks[i], (uint32_t)i, 100 * (uint64_t)i,
                            4096 * (uint64_t)(i + 1));

    uint64_t pcs1[3] = {0x401000, 0x402000, 0x7f0000001234ull};
    uint64_t pcs2[MT_MAX_FRAMES];
    for (int i = 0; i < MT_MAX_FRAMES; i++)
        pcs2[i] = 0x1000 + (uint64_t)i;
    mt_module_t mod[2];
    memset(mod, 0, sizeof mod);
    mod[0] = (mt_module_t){.seq = 0, .base = 0, .lo = 0x400000, .hi = 0x500000, .first_ts = 1,
                           .path = "/usr/bin/redis-server", .build_id = {0xde, 0xad},
                           .build_id_len = 2};
    mod[1] = (mt_module_t){.seq = 1, .base = 0x7f0000000000ull, .lo = 0x7f0000000000ull,
                           .hi = 0x7f0000100000ull, .first_ts = 2, .last_ts = 99,
                           .path = "/lib/x86_64-linux-gnu/libjemalloc.so.2"};
    mt_thread_t th[2] = {{.seq = 0, .tid = 1234, .first_ts = 0, .last_ts = 50, .name = "redis"},
                         {.seq = 1, .tid = 1240, .first_ts = 7, .last_ts = 8, .name = "bio_close"}};
    mt_counter_t malloc_c = {.name = "malloc", .calls = 1000, .bytes = 65536};
    mt_counter_t free_c = {.name = "free", .calls = 900, .bytes = 0};

    cr_assert_eq(mt_writer_begin(w), 0);
    cr_assert_eq(mt_writer_put_meta_u64(w, MT_META_PID, 1234), 0);
    cr_assert_eq(mt_writer_put_meta_u64(w, MT_META_PPID, 1), 0);
    put_str(w, MT_META_COMMAND, "redis-server");
    put_str(w, MT_META_EXE, "/usr/bin/redis-server");
    cr_assert_eq(mt_writer_put_meta(w, MT_META_ARGV, "redis-server\0--port\0" "6380", 25), 0);
    cr_assert_eq(mt_writer_put_meta_u64(w, MT_META_START_REALTIME, 1700000000123456789ull), 0);
    cr_assert_eq(mt_writer_put_meta_u64(w, MT_META_SAMPLE_INTERVAL, 524288), 0);
    cr_assert_eq(mt_writer_put_meta_u64(w, MT_META_PAGE_SIZE, 4096), 0);
    cr_assert_eq(mt_writer_put_meta_u64(w, MT_META_DEPTH, 64), 0);
    cr_assert_eq(mt_writer_put_meta_u64(w, MT_META_COMPLETE, 0), 0);
    cr_assert_eq(mt_writer_put_block(w, blocks[0], blen[0]), 0);
    cr_assert_eq(mt_writer_put_block(w, blocks[1], blen[1]), 0);
    cr_assert_eq(mt_writer_put_stack(w, 1, pcs1, 3), 0);
    cr_assert_eq(mt_writer_put_stack(w, 2, pcs2, MT_MAX_FRAMES), 0);
    cr_assert_eq(mt_writer_put_module(w, &mod[0]), 0);
    cr_assert_eq(mt_writer_put_module(w, &mod[1]), 0);
    cr_assert_eq(mt_writer_put_thread(w, &th[0]), 0);
    cr_assert_eq(mt_writer_put_thread(w, &th[1]), 0);
    cr_assert_eq(mt_writer_put_counter(w, &malloc_c), 0);
    cr_assert_eq(mt_writer_put_counter(w, &free_c), 0);
    cr_assert_eq(mt_writer_check_fd(w), 0);
    cr_assert_eq(mt_writer_commit(w), 0);

    /* Second tick: overwrite a thread and a counter, one more block, clean end. */
    th[1].last_ts = 60, th[1].exited = 1;
    malloc_c.calls = 2000, malloc_c.bytes = 131072;
    cr_assert_eq(mt_writer_begin(w), 0);
    cr_assert_eq(mt_writer_put_block(w, blocks[2], blen[2]), 0);
    cr_assert_eq(mt_writer_put_thread(w, &th[1]), 0);
    cr_assert_eq(mt_writer_put_counter(w, &malloc_c), 0);
    cr_assert_eq(mt_writer_put_meta_u64(w, MT_META_COMPLETE, 1), 0);
    cr_assert_eq(mt_writer_put_meta_u64(w, MT_META_DURATION, 5000000000ull), 0);
    put_str(w, MT_META_END_REASON, "exit");
    cr_assert_eq(mt_writer_commit(w), 0);
    mt_writer_close(w);

    mt_reader_t *r;
    cr_assert_eq(mt_reader_open(&r, trace), 0);

    mt_trace_info_t info;
    cr_assert_eq(mt_reader_info(r, &info), 0);
    cr_assert_eq(info.version, MT_FORMAT_VERSION);
    cr_assert_eq(info.pid, 1234);
    cr_assert_eq(info.ppid, 1);
    cr_assert_str_eq(info.command, "redis-server");
    cr_assert_str_eq(info.exe, "/usr/bin/redis-server");
    cr_assert_eq(info.start_realtime_ns, 1700000000123456789ull);
    cr_assert_eq(info.sample_interval, 524288);
    cr_assert_eq(info.page_size, 4096);
    cr_assert_eq(info.depth, 64);
    cr_assert_eq(info.duration_ns, 5000000000ull);
    cr_assert_eq(info.complete, 1);
    cr_assert_str_eq(info.end_reason, "exit");
    cr_assert_str_eq(info.truncated, "");
    cr_assert_eq(info.parent_pid, 0);

    const void *val;
    size_t len;
    cr_assert_eq(mt_reader_meta(r, MT_META_FORMAT, &val, &len), 0);
    cr_assert_eq(len, 16);
    cr_assert_arr_eq(val, "MTRACE01\x04\0\0\0\x40\0\0\0", 16);
    cr_assert_eq(mt_reader_meta(r, MT_META_ARGV, &val, &len), 0);
    cr_assert_eq(len, 25);
    cr_assert_arr_eq(val, "redis-server\0--port\0" "6380", 25);
    cr_assert_eq(mt_reader_meta(r, MT_META_TOPOLOGY, &val, &len), MT_ENOTFOUND);

    uint64_t cur = 0;
    const void *data;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(mt_reader_next_block(r, &cur, &data, &len), 1);
        cr_assert_eq(cur, (uint64_t)i + 1);
        cr_assert_eq(len, blen[i]);
        cr_assert_arr_eq(data, blocks[i], len);
        mt_block_decoder_t dec;
        mt_event_t e;
        cr_assert_eq(mt_block_open(&dec, data, len), 0);
        cr_assert_eq(dec.thread, (uint32_t)i);
        cr_assert_eq(mt_block_next(&dec, &e), 1);
        cr_assert_eq(e.size, 4096 * (uint64_t)(i + 1));
        cr_assert_eq(mt_block_next(&dec, &e), 0);
    }
    cr_assert_eq(mt_reader_next_block(r, &cur, &data, &len), 0);
    cr_assert_eq(cur, 3);

    uint64_t pcs[MT_MAX_FRAMES];
    uint32_t n, id;
    cr_assert_eq(mt_reader_stack(r, 1, pcs, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_arr_eq(pcs, pcs1, sizeof pcs1);
    cr_assert_eq(mt_reader_stack(r, 3, pcs, &n), MT_ENOTFOUND);
    cur = 0;
    cr_assert_eq(mt_reader_next_stack(r, &cur, &id, pcs, &n), 1);
    cr_assert_eq(id, 1);
    cr_assert_eq(n, 3);
    cr_assert_eq(mt_reader_next_stack(r, &cur, &id, pcs, &n), 1);
    cr_assert_eq(id, 2);
    cr_assert_eq(n, MT_MAX_FRAMES);
    cr_assert_arr_eq(pcs, pcs2, sizeof pcs2);
    cr_assert_eq(mt_reader_next_stack(r, &cur, &id, pcs, &n), 0);

    mt_module_t m;
    cur = 0;
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(mt_reader_next_module(r, &cur, &m), 1);
        cr_assert(memcmp(&m, &mod[i], sizeof m) == 0, "module %d", i);
    }
    cr_assert_eq(mt_reader_next_module(r, &cur, &m), 0);

    mt_thread_t t;
    cur = 0;
    for (int i = 0; i < 2; i++) {
        memset(&t, 0xee, sizeof t);
        cr_assert_eq(mt_reader_next_thread(r, &cur, &t), 1);
        cr_assert_eq(t.seq, th[i].seq);
        cr_assert_eq(t.tid, th[i].tid);
        cr_assert_eq(t.first_ts, th[i].first_ts);
        cr_assert_eq(t.last_ts, th[i].last_ts);
        cr_assert_eq(t.exited, th[i].exited);
        cr_assert_str_eq(t.name, th[i].name);
    }
    cr_assert_eq(t.last_ts, 60, "the second tick overwrote the thread");
    cr_assert_eq(mt_reader_next_thread(r, &cur, &t), 0);

    /* Counters come in name order. */
    mt_counter_t c;
    cur = 0;
    cr_assert_eq(mt_reader_next_counter(r, &cur, &c), 1);
    cr_assert_str_eq(c.name, "free");
    cr_assert_eq(c.calls, 900);
    cr_assert_eq(mt_reader_next_counter(r, &cur, &c), 1);
    cr_assert_str_eq(c.name, "malloc");
    cr_assert_eq(c.calls, 2000);
    cr_assert_eq(c.bytes, 131072);
    cr_assert_eq(mt_reader_next_counter(r, &cur, &c), 0);
    cr_assert_eq(cur, 2);
    cr_assert_eq(mt_reader_counter(r, "malloc", &c), 0);
    cr_assert_str_eq(c.name, "malloc");
    cr_assert_eq(c.calls, 2000);
    cr_assert_eq(mt_reader_counter(r, "calloc", &c), MT_ENOTFOUND);
    cr_assert_eq(mt_reader_counter(r, "", &c), MT_EINVAL);

    cr_assert_eq(mt_reader_refresh(r), 0);
    cr_assert_eq(count_blocks(r), 3);
    mt_reader_close(r);
}

Test(writer_reader, permissions_and_empty_info)
{
    umask(022);
    mt_writer_t *w = open_writer(trace, 0, 0);
    mt_writer_close(w);

    struct stat st;
    char path[256];
    cr_assert_eq(lstat(trace, &st), 0);
    cr_assert(S_ISDIR(st.st_mode));
    cr_assert_eq(st.st_mode & 07777, 0700);
    snprintf(path, sizeof path, "%s/data.mdb", trace);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600);
    snprintf(path, sizeof path, "%s/lock.mdb", trace);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600);

    mt_reader_t *r;
    mt_trace_info_t info;
    cr_assert_eq(mt_reader_open(&r, trace), 0);
    memset(&info, 0xff, sizeof info);
    cr_assert_eq(mt_reader_info(r, &info), 0);
    cr_assert_eq(info.version, 4);
    cr_assert_eq(info.pid, 0);
    cr_assert_eq(info.complete, 0, "no clean end recorded");
    cr_assert_str_eq(info.command, "");
    cr_assert_str_eq(info.end_reason, "");
    cr_assert_eq(count_blocks(r), 0);
    uint64_t cur = 0;
    mt_counter_t c;
    cr_assert_eq(mt_reader_next_counter(r, &cur, &c), 0);
    mt_reader_close(r);
}

Test(writer_reader, open_refuses_existing_paths)
{
    mt_writer_t *w = (mt_writer_t *)&w;
    cr_assert_eq(mt_writer_open(&w, tmp, NULL), EEXIST);
    cr_assert_null(w);
    char link[256], missing[256];
    snprintf(link, sizeof link, "%s/link", tmp);
    cr_assert_eq(symlink("elsewhere", link), 0);
    cr_assert_eq(mt_writer_open(&w, link, NULL), EEXIST, "a dangling symlink is not followed");
    snprintf(missing, sizeof missing, "%s/no/trace", tmp);
    cr_assert_eq(mt_writer_open(&w, missing, NULL), ENOENT);
    char elsewhere[256];
    snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", tmp);
    struct stat st;
    cr_assert_eq(stat(elsewhere, &st), -1, "nothing created through the link");
}

Test(writer_reader, reader_errors)
{
    umask(022);
    mt_reader_t *r = (mt_reader_t *)&r;
    char path[256];
    snprintf(path, sizeof path, "%s/none", tmp);
    cr_assert_eq(mt_reader_open(&r, path), ENOENT);
    cr_assert_null(r);
    cr_assert_eq(mt_reader_open(&r, tmp), MT_ENOTTRACE, "a directory without data.mdb");

    snprintf(path, sizeof path, "%s/file", tmp);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 16384; i++)
        fputc('x', f);
    fclose(f);
    cr_assert_eq(mt_reader_open(&r, path), ENOTDIR);

    char mdb[256];
    snprintf(mdb, sizeof mdb, "%s/data.mdb", tmp);
    f = fopen(mdb, "w");
    cr_assert_not_null(f);
    fclose(f);
    cr_assert_eq(mt_reader_open(&r, tmp), MT_ENOTTRACE, "empty: nothing committed yet");
    cr_assert_eq(rename(path, mdb), 0);
    cr_assert_eq(mt_reader_open(&r, tmp), MT_ECORRUPT, "data.mdb is not LMDB");
    char lock[256];
    snprintf(lock, sizeof lock, "%s/lock.mdb", tmp);
    struct stat st;
    cr_assert_eq(stat(lock, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600 & ~(mode_t)022, "a lock file the reader creates");
}

/* Rewrites the format record of a fresh trace with VAL[LEN]. */
static void write_format_record(const void *val, size_t len)
{
    mt_writer_t *w = open_writer(trace, 0, 0);
    cr_assert_eq(mt_writer_begin(w), 0);
    cr_assert_eq(mt_writer_put_meta(w, MT_META_FORMAT, val, len), 0);
    cr_assert_eq(mt_writer_commit(w), 0);
    mt_writer_close(w);
}

Test(writer_reader, newer_format)
{
    mt_reader_t *r;
    /* A newer format may change everything after the version. */
    write_format_record("MTRACE01\x05\0\0\0", 12);
    cr_assert_eq(mt_reader_open(&r, trace), MT_ENEWER);
    cr_assert_null(r);
}

Test(writer_reader, older_format)
{
    mt_reader_t *r;
    write_format_record("MTRACE01\0\0\0\0\x40\0\0\0", 16);
    cr_assert_eq(mt_reader_open(&r, trace), MT_EOLDER);
}

Test(writer_reader, foreign_meta)
{
    mt_reader_t *r;
    write_format_record("HEAPTRCK\x01\0\0\0\x40\0\0\0", 16);
    cr_assert_eq(mt_reader_open(&r, trace), MT_ENOTTRACE);
}

Test(writer_reader, malformed_format_record)
{
    mt_reader_t *r;
    write_format_record("MTRACE01\x01\0\0\0\x48\0\0\0", 16); /* another sizeof(mt_event_t) */
    cr_assert_eq(mt_reader_open(&r, trace), MT_ECORRUPT);
}

Test(writer_reader, malformed_meta_value)
{
    mt_writer_t *w = open_writer(trace, 0, 0);
    cr_assert_eq(mt_writer_begin(w), 0);
    cr_assert_eq(mt_writer_put_meta(w, MT_META_PID, "1234", 4), 0);
    cr_assert_eq(mt_writer_commit(w), 0);
    mt_writer_close(w);
    mt_reader_t *r;
    mt_trace_info_t info;
    cr_assert_eq(mt_reader_open(&r, trace), 0);
    cr_assert_eq(mt_reader_info(r, &info), MT_ECORRUPT, "a u64 must be 8 bytes");
    mt_reader_close(r);
}

Test(writer_reader, misuse_is_einval)
{
    mt_writer_t *w = open_writer(trace, 0, 0);
    uint64_t pc = 1;
    mt_counter_t empty = {.name = ""}, full;
    memset(full.name, 'n', sizeof full.name);
    mt_module_t *m = calloc(1, sizeof *m);
    m->seq = UINT64_MAX;

    cr_assert_eq(mt_writer_put_block(w, "x", 1), MT_EINVAL, "no tick open");
    cr_assert_eq(mt_writer_commit(w), MT_EINVAL);
    cr_assert_eq(mt_writer_begin(w), 0);
    cr_assert_eq(mt_writer_begin(w), MT_EINVAL);
    cr_assert_eq(mt_writer_put_stack(w, 0, &pc, 1), MT_EINVAL, "stack id 0 means none");
    cr_assert_eq(mt_writer_put_stack(w, 1, &pc, MT_MAX_FRAMES + 1), MT_EINVAL);
    cr_assert_eq(mt_writer_put_counter(w, &empty), MT_EINVAL);
    cr_assert_eq(mt_writer_put_counter(w, &full), MT_EINVAL, "32 bytes leave no terminator");
    cr_assert_eq(mt_writer_put_meta(w, "", "v", 1), MT_EINVAL);
    cr_assert_eq(mt_writer_put_module(w, m), MT_EINVAL);
    m->seq = 0, m->build_id_len = 41;
    cr_assert_eq(mt_writer_put_module(w, m), MT_EINVAL);
    cr_assert_eq(mt_writer_commit(w), 0, "rejected puts do not spoil the tick");
    free(m);
    mt_writer_close(w);
}

Test(writer_reader, abort_discards_the_tick)
{
    mt_writer_t *w = open_writer(trace, 0, 0);
    cr_assert_eq(mt_writer_begin(w), 0);
    cr_assert_eq(mt_writer_put_block(w, "aborted", 7), 0);
    cr_assert_eq(mt_writer_put_block(w, "aborted", 7), 0);
    mt_writer_abort(w);
    cr_assert_eq(mt_writer_begin(w), 0);
    cr_assert_eq(mt_writer_put_block(w, "kept", 4), 0);
    cr_assert_eq(mt_writer_commit(w), 0);
    mt_writer_close(w);

    mt_reader_t *r;
    uint64_t cur = 0;
    const void *data;
    size_t len;
    cr_assert_eq(mt_reader_open(&r, trace), 0);
    cr_assert_eq(mt_reader_next_block(r, &cur, &data, &len), 1);
    cr_assert_eq(cur, 1, "the aborted tick's sequence numbers are reused");
    cr_assert_eq(len, 4);
    cr_assert_arr_eq(data, "kept", 4);
    cr_assert_eq(mt_reader_next_block(r, &cur, &data, &len), 0);
    mt_reader_close(r);
}

Test(writer_reader, check_fd_sees_a_reused_descriptor)
{
    mt_writer_t *w = open_writer(trace, 0, 0);
    char want[256], link[300], target[256];
    int fds[8], n = 0;
    snprintf(want, sizeof want, "%s/data.mdb", trace);
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    for (struct dirent *de; (de = readdir(d));) {
        snprintf(link, sizeof link, "/proc/self/fd/%s", de->d_name);
        ssize_t len = readlink(link, target, sizeof target - 1);
        if (len > 0 && n < 8) {
            target[len] = '\0';
            if (strcmp(target, want) == 0)
                fds[n++] = atoi(de->d_name);
        }
    }
    closedir(d);
    cr_assert_geq(n, 1);
    cr_assert_eq(mt_writer_check_fd(w), 0);
    /* A daemon closes all fds and opens something else in their slots. */
    int null_fd = open("/dev/null", O_RDONLY);
    cr_assert_geq(null_fd, 0);
    for (int i = 0; i < n; i++)
        cr_assert_eq(dup2(null_fd, fds[i]), fds[i]);
    cr_assert_eq(mt_writer_check_fd(w), MT_EBADFD);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    cr_assert_eq(mt_writer_check_fd(w), MT_EBADFD, "closed, not reused");
    mt_writer_forget(w);
}

/* Puts NBLOCKS blocks of 2000 bytes, block i filled with byte FIRST + i.
 * Returns the first error. */
static int put_blocks(mt_writer_t *w, int first, int nblocks)
{
    uint8_t buf[2000];
    for (int i = 0; i < nblocks; i++) {
        memset(buf, (uint8_t)(first + i), sizeof buf);
        int rc = mt_writer_put_block(w, buf, sizeof buf);
        if (rc)
            return rc;
    }
    return 0;
}

/* One tick of NBLOCKS blocks, redone while the map grows. Returns 0 or the
 * final error; *GROWTHS counts the growths. */
static int tick(mt_writer_t *w, int first, int nblocks, int *growths)
{
    for (;;) {
        int rc = mt_writer_begin(w);
        if (rc == 0)
            rc = put_blocks(w, first, nblocks);
        if (rc == 0)
            rc = mt_writer_commit(w);
        else
            cr_assert_eq(mt_writer_commit(w), rc, "commit reports the put's error");
        if (rc != MT_EMAPFULL || !mt_writer_can_grow(w))
            return rc;
        ++*growths;
    }
}

Test(writer_reader, map_full_grows_then_reports_it_cannot)
{
    mt_writer_t *w = open_writer(trace, 64 << 10, 256 << 10);
    int growths = 0, committed = 0, rc, first_growth_at = -1;
    while ((rc = tick(w, committed, 4, &growths)) == 0) {
        committed += 4;
        if (growths && first_growth_at < 0)
            first_growth_at = committed;
        cr_assert_lt(committed, 1000);
    }
    cr_assert_eq(rc, MT_EMAPFULL);
    cr_assert_eq(mt_writer_can_grow(w), 0);
    cr_assert_eq(growths, 2, "64 KiB -> 128 KiB -> 256 KiB, then the limit");
    cr_assert_gt(first_growth_at, 4);
    cr_assert_lt(first_growth_at * 2000, 64 << 10);
    cr_assert_gt(committed * 2000, 128 << 10, "growth made room: more than 128 KiB of blocks");
    cr_assert_lt(committed * 2000, 256 << 10);
    /* A small tick still fits after the failed one was discarded. */
    cr_assert_eq(tick(w, committed, 1, &growths), 0);
    committed++;
    mt_writer_close(w);

    mt_reader_t *r;
    uint64_t cur = 0;
    const void *data;
    size_t len;
    cr_assert_eq(mt_reader_open(&r, trace), 0);
    for (int i = 0; i < committed; i++) {
        cr_assert_eq(mt_reader_next_block(r, &cur, &data, &len), 1);
        cr_assert_eq(cur, (uint64_t)i + 1);
        cr_assert_eq(len, 2000);
        cr_assert_eq(((const uint8_t *)data)[0], (uint8_t)i);
        cr_assert_eq(((const uint8_t *)data)[1999], (uint8_t)i);
    }
    cr_assert_eq(mt_reader_next_block(r, &cur, &data, &len), 0);
    mt_reader_close(r);
}

/* ---- live: a writer in another process, as with the shim ---------------- */

static void sync_write(int fd, char c)
{
    if (write(fd, &c, 1) != 1)
        _exit(90);
}

static char sync_read(int fd)
{
    char c = 0;
    if (read(fd, &c, 1) != 1)
        return 0;
    return c;
}

/* The child: tick 1, wait, tick 2 (grows the map past the reader's), wait. */
static void live_writer(int to_parent, int from_parent)
{
    mt_writer_t *w;
    mt_writer_options_t opts = {.map_initial = 64 << 10, .map_max = 8 << 20};
    int growths = 0;
    if (mt_writer_open(&w, trace, &opts) != 0)
        _exit(91);
    if (mt_writer_begin(w) || mt_writer_put_meta_u64(w, MT_META_PID, (uint64_t)getpid()) ||
        put_blocks(w, 0, 1) || mt_writer_commit(w))
        _exit(92);
    sync_write(to_parent, 'a');
    if (sync_read(from_parent) != 'b')
        _exit(93);
    mt_counter_t c = {.name = "dropped", .calls = 7};
    if (tick(w, 1, 200, &growths) != 0 || growths == 0)
        _exit(94);
    if (mt_writer_begin(w) || mt_writer_put_counter(w, &c) || mt_writer_commit(w))
        _exit(95);
    sync_write(to_parent, 'c');
    if (sync_read(from_parent) != 'd')
        _exit(96);
    mt_writer_close(w);
    _exit(0);
}

Test(writer_reader, live_snapshot_then_refresh)
{
    int up[2], down[2];
    cr_assert_eq(pipe(up), 0);
    cr_assert_eq(pipe(down), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        /* Only the ends we use stay open: a failing side then ends the other. */
        close(up[0]);
        close(down[1]);
        live_writer(up[1], down[0]);
    }
    close(up[1]);
    close(down[0]);

    cr_assert_eq(sync_read(up[0]), 'a', "the writer's first tick");
    mt_reader_t *r;
    mt_trace_info_t info;
    mt_counter_t c;
    cr_assert_eq(mt_reader_open(&r, trace), 0);
    cr_assert_eq(mt_reader_info(r, &info), 0);
    cr_assert_eq(info.pid, (uint64_t)pid);
    cr_assert_eq(info.complete, 0);
    cr_assert_eq(count_blocks(r), 1);

    sync_write(down[1], 'b');
    cr_assert_eq(sync_read(up[0]), 'c', "the writer's later ticks");
    cr_assert_eq(count_blocks(r), 1, "the snapshot does not move by itself");
    cr_assert_eq(mt_reader_counter(r, "dropped", &c), MT_ENOTFOUND);

    cr_assert_eq(mt_reader_refresh(r), 0, "follows the grown map");
    cr_assert_eq(count_blocks(r), 201);
    cr_assert_eq(mt_reader_counter(r, "dropped", &c), 0);
    cr_assert_eq(c.calls, 7);
    uint64_t cur = 200;
    const void *data;
    size_t len;
    cr_assert_eq(mt_reader_next_block(r, &cur, &data, &len), 1);
    cr_assert_eq(cur, 201);
    cr_assert_eq(((const uint8_t *)data)[0], 200);

    sync_write(down[1], 'd');
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status));
    cr_assert_eq(WEXITSTATUS(status), 0);
    mt_reader_close(r);
}

/* The reader checks the LMDB file of each new snapshot (lmdb_check.c)
 * while a writer in another process keeps committing (up to 2000 ticks)
 * and growing the file:
 * no open or refresh may take that for corruption. (Before, the file size
 * was taken before the meta page was read, so a commit in between made
 * open report "corrupt".) The writer stops when the parent closes the pipe
 * or its map is full. */
Test(writer_reader, open_and_refresh_while_the_writer_commits)
{
    int down[2], up[2];
    cr_assert_eq(pipe(down), 0);
    cr_assert_eq(pipe(up), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(down[1]);
        close(up[0]);
        mt_writer_t *w;
        mt_writer_options_t opts = {.map_initial = 64 << 10, .map_max = 64 << 20};
        int growths = 0;
        if (mt_writer_open(&w, trace, &opts) != 0 || tick(w, 0, 1, &growths) != 0)
            _exit(91);
        sync_write(up[1], 'a');
        fcntl(down[0], F_SETFL, O_NONBLOCK);
        char c;
        for (int i = 1; i < 2000 && read(down[0], &c, 1) != 0; i++) {
            int e = tick(w, i, 1, &growths);
            if (e == MT_EMAPFULL)
                break;
            if (e)
                _exit(92);
        }
        mt_writer_close(w);
        _exit(0);
    }
    close(down[0]);
    close(up[1]);
    cr_assert_eq(sync_read(up[0]), 'a');
    for (int i = 0; i < 100; i++) {
        mt_reader_t *r;
        int rc = mt_reader_open(&r, trace);
        cr_assert_eq(rc, 0, "open %d: %s", i, mt_strerror(rc));
        int last = count_blocks(r);
        cr_assert_geq(last, 1);
        rc = mt_reader_refresh(r);
        cr_assert_eq(rc, 0, "refresh %d: %s", i, mt_strerror(rc));
        cr_assert_geq(count_blocks(r), last);
        mt_reader_close(r);
    }
    close(down[1]);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer status %d", status);
}

/* Bytes of data.mdb after one tick of 200 blocks of LEN bytes. */
static off_t file_after_blocks(const char *dir, size_t len)
{
    static uint8_t block[8192];
    struct stat st;
    char path[256];
    mt_writer_t *w = open_writer(dir, 0, 0);
    cr_assert_eq(mt_writer_begin(w), 0);
    for (int i = 0; i < 200; i++)
        cr_assert_eq(mt_writer_put_block(w, block, len), 0);
    cr_assert_eq(mt_writer_commit(w), 0);
    mt_writer_close(w);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    cr_assert_eq(stat(path, &st), 0);
    return st.st_size;
}

/* Blocks up to mt_writer_block_max share leaf pages, two to a 4 KiB page;
 * one byte more and each takes a page of its own. */
Test(writer_reader, blocks_up_to_block_max_fill_leaf_pages)
{
    if (sysconf(_SC_PAGESIZE) != 4096)
        cr_skip_test("LMDB pages are not 4 KiB here");
    mt_writer_t *w = open_writer(trace, 0, 0);
    size_t max = mt_writer_block_max(w);
    mt_writer_close(w);
    cr_assert_eq(max, 2022);
    char a[160], b[160];
    snprintf(a, sizeof a, "%s/a", tmp);
    snprintf(b, sizeof b, "%s/b", tmp);
    off_t inl = file_after_blocks(a, max), over = file_after_blocks(b, max + 1);
    cr_assert_leq(inl, (100 + 12) * 4096, "200 blocks of %zu B: %lld bytes", max, (long long)inl);
    cr_assert_geq(over, 200 * 4096, "200 blocks of %zu B: %lld bytes", max + 1, (long long)over);
}

/* A clean close leaves no free pages: 40 ticks that rewrite a counter and a
 * meta key leave LMDB's two meta pages, the main db's leaf and meta's leaf
 * (which holds the counters from format 4 on: before, they took a leaf of
 * their own, 5 pages), and nothing else. */
Test(writer_reader, close_compacts_free_pages)
{
    if (sysconf(_SC_PAGESIZE) != 4096)
        cr_skip_test("LMDB pages are not 4 KiB here");
    mt_writer_t *w = open_writer(trace, 0, 0);
    for (uint64_t tick = 1; tick <= 40; tick++) {
        mt_counter_t c = {.calls = tick, .bytes = 100 * tick};
        strcpy(c.name, "malloc");
        cr_assert_eq(mt_writer_begin(w), 0);
        cr_assert_eq(mt_writer_put_counter(w, &c), 0);
        cr_assert_eq(mt_writer_put_meta_u64(w, MT_META_DURATION, tick), 0);
        cr_assert_eq(mt_writer_commit(w), 0);
    }
    mt_writer_close(w);
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", trace);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_size, 4 * 4096, "data.mdb is %lld bytes", (long long)st.st_size);
    snprintf(path, sizeof path, "%s/data.mdb.compact", trace);
    cr_assert_neq(access(path, F_OK), 0, "the compaction's file is gone");
    mt_reader_t *r;
    mt_counter_t c;
    const void *val;
    size_t len;
    cr_assert_eq(mt_reader_open(&r, trace), 0);
    cr_assert_eq(mt_reader_counter(r, "malloc", &c), 0);
    cr_assert_eq(c.calls, 40);
    cr_assert_eq(c.bytes, 4000);
    cr_assert_eq(mt_reader_meta(r, MT_META_DURATION, &val, &len), 0);
    cr_assert_eq(len, 8);
    cr_assert_arr_eq(val, "\x28\0\0\0\0\0\0\0", 8);
    mt_reader_close(r);
}

/* Records put in descending key order leave LMDB's leaves half full (each
 * split halves a page). The close copies them in key order, appending, so
 * the leaves come out full: 1,000 counters (none 0: a counter of 0 is not
 * stored), which format 4 keeps in meta beside the format record, with
 * meta's branch page, the main db's leaf and the two meta pages, make 13
 * pages (LMDB's compacting copy kept the leaves the splits left: 20 pages
 * in format 3). */
Test(writer_reader, close_packs_leaf_pages)
{
    if (sysconf(_SC_PAGESIZE) != 4096)
        cr_skip_test("LMDB pages are not 4 KiB here");
    mt_writer_t *w = open_writer(trace, 0, 0);
    cr_assert_eq(mt_writer_begin(w), 0);
    for (int i = 999; i >= 0; i--) {
        mt_counter_t c = {.calls = (uint64_t)i + 1, .bytes = 3 * (uint64_t)i};
        snprintf(c.name, sizeof c.name, "c%04d", i);
        cr_assert_eq(mt_writer_put_counter(w, &c), 0);
    }
    cr_assert_eq(mt_writer_commit(w), 0);
    mt_writer_close(w);
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", trace);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_size, 13 * 4096, "data.mdb is %lld bytes", (long long)st.st_size);
    mt_reader_t *r;
    cr_assert_eq(mt_reader_open(&r, trace), 0);
    for (int i = 0; i < 1000; i += 111) {
        char name[32];
        mt_counter_t c;
        snprintf(name, sizeof name, "c%04d", i);
        cr_assert_eq(mt_reader_counter(r, name, &c), 0, "%s", name);
        cr_assert_eq(c.calls, (uint64_t)i + 1);
        cr_assert_eq(c.bytes, 3 * (uint64_t)i);
    }
    mt_reader_close(r);
}

/* The close waits for no disk and starts no thread: LMDB's calls to these
 * reach the definitions below (this executable exports them), counted
 * while mt_writer_close runs. */
static int in_close, syncs, threads;

int fdatasync(int fd)
{
    (void)fd;
    syncs += in_close;
    return 0;
}

int fsync(int fd)
{
    (void)fd;
    syncs += in_close;
    return 0;
}

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    threads += in_close;
    int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
    *(void **)&real = dlsym(RTLD_NEXT, "pthread_create");
    return real(t, attr, fn, arg);
}

Test(writer_reader, close_neither_syncs_nor_starts_a_thread)
{
    mt_writer_t *w = open_writer(trace, 0, 0);
    for (uint64_t tick = 1; tick <= 3; tick++) {
        cr_assert_eq(mt_writer_begin(w), 0);
        cr_assert_eq(mt_writer_put_meta_u64(w, MT_META_DURATION, tick), 0);
        cr_assert_eq(mt_writer_commit(w), 0);
    }
    in_close = 1;
    mt_writer_close(w);
    in_close = 0;
    cr_assert_eq(syncs, 0, "%d fsync or fdatasync calls", syncs);
    cr_assert_eq(threads, 0, "%d threads started", threads);
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", trace);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_size, 4 * 4096, "compacted: %lld bytes", (long long)st.st_size);
}

/* mt_writer_open keeps LMDB's descriptors at or above 100 by holding the
 * free numbers below with /dev/null: one open, then duplicates, not a
 * hundred opens (240 us of every traced program's start). The writer's
 * open64 calls (libmtformat.a is linked into this executable) reach this
 * definition; counted while mt_writer_open runs. */
static int in_open, null_opens;

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = (flags & O_CREAT) ? va_arg(ap, mode_t) : 0;
    va_end(ap);
    null_opens += in_open && strcmp(path, "/dev/null") == 0;
    return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

Test(writer_reader, open_holds_low_descriptors_with_one_open)
{
    struct rlimit lim;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &lim), 0);
    if (lim.rlim_cur < 400)
        cr_skip_test("RLIMIT_NOFILE below 400: LMDB's files go to the top numbers");
    mt_writer_t *w = NULL;
    in_open = 1;
    int rc = mt_writer_open(&w, trace, NULL);
    in_open = 0;
    cr_assert_eq(rc, 0, "mt_writer_open: %s", mt_strerror(rc));
    int fd;
    cr_assert_eq(mt_writer_check_fd(w), 0);
    fd = open("/dev/null", O_RDONLY);
    cr_assert_lt(fd, 100, "the numbers below 100 were given back (%d)", fd);
    close(fd);
    cr_assert_eq(null_opens, 1, "/dev/null opened %d times", null_opens);
    mt_writer_close(w);
}

/* A format 3 trace (blocks of version 1, interleaved and uncompressed) is
 * still read: its events decode as they did. */
Test(writer_reader, format_3_trace_still_reads)
{
    static const uint8_t v1_block[] = {
        0x01, 0x02, 0x00, 0x00, 0x00, 0x03, 0xe8, 0x07,             /* count 2, thread 3 */
        0x01, 0x00, 0x80, 0x80, 0x08, 0x18, 0x00, 0x05, 0x02, 0x00, /* malloc 24 at 0x10000 */
        0x02, 0x32, 0x00,                                           /* its free, 50 ns later */
    };
    mt_writer_t *w = open_writer(trace, 0, 0);
    cr_assert_eq(mt_writer_begin(w), 0);
    cr_assert_eq(mt_writer_put_meta(w, MT_META_FORMAT, "MTRACE01\x03\0\0\0\x40\0\0\0", 16), 0);
    cr_assert_eq(mt_writer_put_block(w, v1_block, sizeof v1_block), 0);
    cr_assert_eq(mt_writer_commit(w), 0);
    mt_writer_close(w);

    mt_reader_t *r;
    mt_trace_info_t info;
    cr_assert_eq(mt_reader_open(&r, trace), 0);
    cr_assert_eq(mt_reader_info(r, &info), 0);
    cr_assert_eq(info.version, 3);
    uint64_t cur = 0;
    const void *data;
    size_t len;
    cr_assert_eq(mt_reader_next_block(r, &cur, &data, &len), 1);
    mt_block_decoder_t dec;
    mt_event_t e;
    cr_assert_eq(mt_block_open(&dec, data, len), 0);
    cr_assert_eq(dec.thread, 3);
    cr_assert_eq(mt_block_next(&dec, &e), 1);
    cr_assert_eq(e.type, MT_EV_ALLOC);
    cr_assert_eq(e.ts, 1000);
    cr_assert_eq(e.ptr, 0x10000);
    cr_assert_eq(e.size, 24);
    cr_assert_eq(e.stack, 5);
    cr_assert_eq(e.cpu, 2);
    cr_assert_eq(mt_block_next(&dec, &e), 1);
    cr_assert_eq(e.type, MT_EV_FREE);
    cr_assert_eq(e.ts, 1050);
    cr_assert_eq(e.ptr, 0x10000);
    cr_assert_eq(mt_block_next(&dec, &e), 0);
    mt_reader_close(r);
}

/* Format 4 keeps counters, modules and threads in meta, after a type byte,
 * and no counter of 0: a tick of the shim's records for python3 (51
 * counters, 45 of them 0, 14 modules, a thread) fits meta's one leaf page,
 * 4 pages in all (format 3's layout: 7 pages). */
Test(writer_reader, small_records_share_metas_leaf)
{
    if (sysconf(_SC_PAGESIZE) != 4096)
        cr_skip_test("LMDB pages are not 4 KiB here");
    mt_writer_t *w = open_writer(trace, 0, 0);
    cr_assert_eq(mt_writer_begin(w), 0);
    for (int i = 0; i < 51; i++) {
        mt_counter_t c = {.calls = i < 6 ? 1000 + (uint64_t)i : 0, .bytes = i < 6 ? 99999 : 0};
        snprintf(c.name, sizeof c.name, "entry point %d", i);
        cr_assert_eq(mt_writer_put_counter(w, &c), 0);
    }
    for (uint64_t i = 0; i < 14; i++) {
        mt_module_t m = {.seq = i, .base = 0x7f0000000000ull + (i << 24), .build_id_len = 20};
        m.lo = m.base, m.hi = m.base + 0x100000;
        memset(m.build_id, 0x11 * (int)i, 20);
        snprintf(m.path, sizeof m.path, "/usr/lib/x86_64-linux-gnu/lib%02d.so.1", (int)i);
        cr_assert_eq(mt_writer_put_module(w, &m), 0);
    }
    mt_thread_t th = {.seq = 0, .tid = 77, .name = "python3"};
    cr_assert_eq(mt_writer_put_thread(w, &th), 0);
    cr_assert_eq(mt_writer_put_meta(w, "\x01" "entry point 1", "x", 1), MT_EINVAL,
                 "a meta name starts at 0x20");
    cr_assert_eq(mt_writer_commit(w), 0);
    /* A counter back to 0 (not the shim's way: its counters only grow). */
    cr_assert_eq(mt_writer_begin(w), 0);
    mt_counter_t zero = {.name = "entry point 5"};
    cr_assert_eq(mt_writer_put_counter(w, &zero), 0);
    cr_assert_eq(mt_writer_commit(w), 0);
    mt_writer_close(w);
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", trace);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_size, 4 * 4096, "data.mdb is %lld bytes", (long long)st.st_size);

    mt_reader_t *r;
    mt_counter_t c;
    cr_assert_eq(mt_reader_open(&r, trace), 0);
    cr_assert_eq(mt_reader_counter(r, "entry point 4", &c), 0);
    cr_assert_eq(c.calls, 1004);
    cr_assert_eq(c.bytes, 99999);
    cr_assert_eq(mt_reader_counter(r, "entry point 5", &c), MT_ENOTFOUND);
    cr_assert_eq(mt_reader_counter(r, "entry point 6", &c), MT_ENOTFOUND);
    uint64_t cur = 0;
    int n = 0;
    while (mt_reader_next_counter(r, &cur, &c) == 1)
        cr_assert_eq(c.calls, 1000 + (uint64_t)n++);
    cr_assert_eq(n, 5);
    mt_module_t m;
    cur = 0;
    for (n = 0; mt_reader_next_module(r, &cur, &m) == 1; n++)
        cr_assert_eq(m.seq, (uint64_t)n);
    cr_assert_eq(n, 14);
    cr_assert_str_eq(m.path, "/usr/lib/x86_64-linux-gnu/lib13.so.1");
    mt_thread_t t;
    cur = 0;
    cr_assert_eq(mt_reader_next_thread(r, &cur, &t), 1);
    cr_assert_eq(t.tid, 77);
    cr_assert_eq(mt_reader_next_thread(r, &cur, &t), 0);
    const void *val;
    size_t len;
    cr_assert_eq(mt_reader_meta(r, "\x01" "entry point 4", &val, &len), MT_EINVAL);
    mt_reader_close(r);
}

/* Two meta pages of transaction 0 whose main database has root page 0
 * (not "empty"): LMDB asserts (aborts) in mdb_dbi_open. The reader checks
 * every snapshot's pages first, also the one of transaction 0 (it took 0
 * for "checked already" and let it through). Found by fuzz-mdb. */
Test(writer_reader, snapshot_of_transaction_0_is_checked)
{
    static uint8_t file[2 * 4096];
    memset(file, 0, sizeof file);
    for (int m = 0; m < 2; m++) {
        uint8_t *p = file + 4096 * m;
        p[0] = (uint8_t)m;                      /* page number */
        p[10] = 0x08;                           /* P_META */
        memcpy(p + 16, "\xde\xc0\xef\xbe", 4);  /* MDB_MAGIC */
        p[20] = 1;                              /* data version */
        p[34] = 0x80;                           /* map size 8 MiB */
        p[41] = 0x10;                           /* page size 4096 */
        p[44] = 0x08;                           /* free db: MDB_INTEGERKEY */
        /* free and main roots, last page and txnid all 0 */
    }
    char path[256];
    cr_assert_eq(mkdir(trace, 0700), 0);
    snprintf(path, sizeof path, "%s/data.mdb", trace);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(file, 1, sizeof file, f), sizeof file);
    cr_assert_eq(fclose(f), 0);
    mt_reader_t *r;
    cr_assert_eq(mt_reader_open(&r, trace), MT_ECORRUPT);
}
