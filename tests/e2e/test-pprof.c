/* test-pprof.c - `mtrace-analyze export --format pprof` and `serve`, read by
 * the real pprof: `go tool pprof -raw` (Debian's golang-go) on leaky traced
 * with every call recorded must total exactly what `top --json` and
 * `leaks --json` say (and what leaky.c lists), from the file and from
 * serve's /debug/pprof/heap over 127.0.0.1. serve must also answer hostile
 * requests with a 4xx and keep serving: traversal paths (plain and
 * percent-encoded), huge and malformed query values, other methods, garbage,
 * many connections and clients that send half a request and stall.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static void setup(void)
{
    e2e_tmpdir();
}

TestSuite(pprof, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 120);

/* ---- helpers ----------------------------------------------------------------- */

/* The path of `go`, or NULL (the test is skipped: apt-get install golang-go). */
static const char *find_go(void)
{
    static char path[4096];
    const char *env = getenv("PATH");
    char *dirs = strdup(env ? env : "/usr/bin:/bin");
    for (char *save, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(path, sizeof(path), "%s/go", d);
        if (access(path, X_OK) == 0) {
            free(dirs);
            return path;
        }
    }
    free(dirs);
    return NULL;
}

static const char *need_go(void)
{
    const char *go = find_go();
    if (!go)
        cr_skip_test("go not found: apt-get install golang-go (tools/install-deps) to run "
                     "go tool pprof on the exported profiles");
    return go;
}

/* The environment go needs in the sandbox: its caches and pprof's saved
 * profiles in the test's directory. */
static const char *const *go_env(void)
{
    static char home[4200], cache[4200], ptmp[4200];
    static const char *env[5];
    snprintf(home, sizeof(home), "HOME=%s", e2e_tmpdir());
    snprintf(cache, sizeof(cache), "GOCACHE=%s/gocache", e2e_tmpdir());
    snprintf(ptmp, sizeof(ptmp), "PPROF_TMPDIR=%s", e2e_tmpdir());
    env[0] = home;
    env[1] = cache;
    env[2] = ptmp;
    env[3] = "GOFLAGS=";
    env[4] = NULL;
    return env;
}

/* Traces leaky with every call recorded; returns its trace directory (malloc'd). */
static char *trace_leaky(void)
{
    const char *argv[] = {"leaky", NULL};
    free(e2e_traced_info("leaky", argv, NULL, NULL));
    char *dirs[4];
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 4);
    cr_assert_eq(n, 1, "one trace expected, found %d", n);
    char *t = strdup(dirs[0]);
    e2e_free_list(dirs, n);
    return t;
}

/* `mtrace-analyze CMD --json=compact TRACE`: total_count and total_bytes. */
static void json_totals(const char *cmd, const char *trace, long long *count, long long *bytes)
{
    const char *argv[] = {e2e_analyze(), cmd, "--json=compact", trace, NULL};
    e2e_result_t r;
    e2e_run(&r, argv, NULL, NULL);
    cr_assert_eq(r.exit_code, 0, "%s exited %d: %s", cmd, r.exit_code, r.err);
    *count = e2e_int(r.out, "total_count");
    *bytes = e2e_int(r.out, "total_bytes");
    e2e_result_free(&r);
}

/* What `go tool pprof -raw` printed, summed: the four values of every sample
 * (alloc_objects, alloc_space, inuse_objects, inuse_space). */
typedef struct raw {
    long long v[4];
    int samples;
    char *text;
} raw_t;

static void go_pprof_raw(const char *source, raw_t *out)
{
    const char *go = need_go();
    const char *argv[] = {go, "tool", "pprof", "-raw", source, NULL};
    e2e_result_t r;
    e2e_run_for(&r, argv, go_env(), e2e_tmpdir(), 90);
    cr_assert_eq(r.exit_code, 0, "go tool pprof -raw %s exited %d:\n%s", source, r.exit_code,
                 r.err);
    memset(out, 0, sizeof(*out));
    const char *p = strstr(r.out, "\nSamples:\n");
    cr_assert_not_null(p, "no Samples: in\n%s", r.out);
    p = strchr(p + 1, '\n') + 1;
    const char *eol = strchr(p, '\n');
    const char *types[] = {"alloc_objects/count", " alloc_space/bytes", " inuse_objects/count",
                           " inuse_space/bytes"};
    for (const char *q = p, **t = types; t < types + 4; t++) { /* in order; [dflt] may follow */
        q = strstr(q, *t);
        cr_assert(q && q < eol, "sample type %s:\n%s", *t, r.out);
    }
    p = eol + 1;
    const char *end = strstr(p, "\nLocations\n");
    cr_assert_not_null(end);
    while (p < end) {
        long long a, b, c, d;
        int used = 0;
        if (sscanf(p, " %lld %lld %lld %lld:%n", &a, &b, &c, &d, &used) == 4 && used) {
            out->v[0] += a;
            out->v[1] += b;
            out->v[2] += c;
            out->v[3] += d;
            out->samples++;
        }
        p = strchr(p, '\n') + 1;
    }
    out->text = r.out;
    r.out = NULL;
    e2e_result_free(&r);
}

/* Leaky's totals, as leaky.c lists them, top and leaks report them and the
 * profile sums them. */
static void expect_leaky_totals(const raw_t *raw, const char *trace)
{
    long long tc, tb, lc, lb;
    json_totals("top", trace, &tc, &tb);
    json_totals("leaks", trace, &lc, &lb);
    cr_expect_eq(tc, 39);
    cr_expect_eq(tb, 23256);
    cr_expect_eq(lc, 13);
    cr_expect_eq(lb, 13288);
    cr_expect_eq(raw->v[0], tc, "alloc_objects %lld, top says %lld", raw->v[0], tc);
    cr_expect_eq(raw->v[1], tb, "alloc_space %lld, top says %lld", raw->v[1], tb);
    cr_expect_eq(raw->v[2], lc, "inuse_objects %lld, leaks says %lld", raw->v[2], lc);
    cr_expect_eq(raw->v[3], lb, "inuse_space %lld, leaks says %lld", raw->v[3], lb);
}

/* ---- export ----------------------------------------------------------------- */

Test(pprof, export_totals_equal_top_and_leaks)
{
    need_go();
    char *trace = trace_leaky();
    char file[4200];
    snprintf(file, sizeof(file), "%s/leaky.pb.gz", e2e_tmpdir());
    const char *argv[] = {e2e_analyze(), "export", "--format", "pprof", "-o", file, trace, NULL};
    e2e_result_t r;
    e2e_run(&r, argv, NULL, NULL);
    cr_assert_eq(r.exit_code, 0, "export exited %d: %s", r.exit_code, r.err);
    cr_expect(strstr(r.out, "wrote ") && strstr(r.out, "7 samples"), "%s", r.out);
    e2e_result_free(&r);

    raw_t raw;
    go_pprof_raw(file, &raw);
    expect_leaky_totals(&raw, trace);
    cr_expect_eq(raw.samples, 7, "one sample per stack of leaky: %d\n%s", raw.samples, raw.text);
    /* The default sample type, the period, the comment. */
    cr_expect(strstr(raw.text, "inuse_space/bytes[dflt]"), "%s", raw.text);
    cr_expect(strstr(raw.text, "PeriodType: space bytes\nPeriod: 1\n"), "%s", raw.text);
    cr_expect(strstr(raw.text, "mtrace: every call recorded (exact)"), "%s", raw.text);
    /* Locations with functions and source lines (leaky.c:31 calls calloc in
     * leak_big); leaky's mapping with its path, build-id and symbols. */
    cr_expect(strstr(raw.text, " leak_big ") && strstr(raw.text, "examples/leaky.c:31"), "%s",
              raw.text);
    const char *m = strstr(raw.text, "\nMappings\n");
    cr_assert_not_null(m);
    const char *leaky = strstr(m, "/examples/leaky ");
    cr_assert_not_null(leaky, "no mapping of leaky:\n%s", m);
    const char *eol = strchr(leaky, '\n');
    cr_expect(eol - leaky > 40 + 16 && memmem(leaky, (size_t)(eol - leaky), "[FN][FL][LN]", 12),
              "leaky's mapping has a build-id and symbols:\n%s", m);
    free(raw.text);
    free(trace);
}

/* examples/flame: entry_key is inlined into add_entry (flame.c:56) and
 * calls malloc at flame.c:47. Its pc is one Location with two Lines,
 * innermost first, and flame's mapping says it has inline frames. */
Test(pprof, export_inlined_frames_are_lines_of_one_location)
{
    need_go();
    const char *argv[] = {"flame", NULL};
    free(e2e_traced_info("flame", argv, NULL, NULL));
    char *dirs[4];
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 4);
    cr_assert_eq(n, 1);
    char file[4200];
    snprintf(file, sizeof(file), "%s/flame.pb.gz", e2e_tmpdir());
    const char *exp[] = {e2e_analyze(), "export", "-o", file, dirs[0], NULL};
    e2e_result_t r;
    e2e_run(&r, exp, NULL, NULL);
    cr_assert_eq(r.exit_code, 0, "export exited %d: %s", r.exit_code, r.err);
    e2e_result_free(&r);
    e2e_free_list(dirs, n);
    raw_t raw;
    go_pprof_raw(file, &raw);
    cr_expect_eq(raw.v[1], 4096 + 256 + 1024 + 16384, "flame allocates 21760 bytes: %lld",
                 raw.v[1]);
    /* "    10: 0xADDR M=1 entry_key /.../examples/flame.c:47 s=0\n"
     * "             add_entry /.../examples/flame.c:56 s=0\n" */
    const char *k = strstr(raw.text, " entry_key ");
    cr_assert_not_null(k, "no entry_key location:\n%s", raw.text);
    const char *eol = strchr(k, '\n');
    cr_expect(eol && !strncmp(eol - strlen("examples/flame.c:47 s=0"), "examples/flame.c:47 s=0",
                              strlen("examples/flame.c:47 s=0")),
              "entry_key at flame.c:47:\n%s", raw.text);
    const char *next = eol + 1, *eol2 = strchr(next, '\n');
    cr_expect(!strncmp(next, "             add_entry ", strlen("             add_entry ")) &&
                  !strncmp(eol2 - strlen("examples/flame.c:56 s=0"), "examples/flame.c:56 s=0",
                           strlen("examples/flame.c:56 s=0")),
              "the same location's next line is add_entry at flame.c:56:\n%s", raw.text);
    const char *m = strstr(raw.text, "/examples/flame ");
    cr_assert_not_null(m);
    const char *meol = strchr(m, '\n');
    cr_expect(memmem(m, (size_t)(meol - m), "[FN][FL][LN][IN]", 16), "flame's mapping:\n%s", m);
    free(raw.text);
}

/* examples/threads with --labels: the samples split by thread name sum to
 * what top and leaks say, and the thread that named itself "mt-namer" has
 * exactly its one malloc(777), freed. */
Test(pprof, export_labels_split_by_thread_same_totals)
{
    need_go();
    const char *prog[] = {"threads", NULL};
    free(e2e_traced_info("threads", prog, NULL, NULL));
    char *dirs[4];
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 4);
    cr_assert_eq(n, 1);
    char file[4200];
    snprintf(file, sizeof(file), "%s/labels.pb.gz", e2e_tmpdir());
    const char *argv[] = {e2e_analyze(), "export", "--labels", "-o", file, dirs[0], NULL};
    e2e_result_t r;
    e2e_run(&r, argv, NULL, NULL);
    cr_assert_eq(r.exit_code, 0, "export --labels exited %d: %s", r.exit_code, r.err);
    e2e_result_free(&r);
    raw_t raw;
    go_pprof_raw(file, &raw);
    long long tc, tb, lc, lb;
    json_totals("top", dirs[0], &tc, &tb);
    json_totals("leaks", dirs[0], &lc, &lb);
    cr_expect_eq(raw.v[0], tc, "alloc_objects %lld, top says %lld", raw.v[0], tc);
    cr_expect_eq(raw.v[1], tb, "alloc_space %lld, top says %lld", raw.v[1], tb);
    cr_expect_eq(raw.v[2], lc, "inuse_objects %lld, leaks says %lld", raw.v[2], lc);
    cr_expect_eq(raw.v[3], lb, "inuse_space %lld, leaks says %lld", raw.v[3], lb);
    /* "          1        777          0          0: 13 10 11 \n"
     * "                thread:[mt-namer]\n" */
    const char *l = strstr(raw.text, "thread:[mt-namer]");
    cr_assert_not_null(l, "no mt-namer label:\n%s", raw.text);
    const char *line = l;
    while (line > raw.text && line[-1] != '\n')
        line--; /* the label line's start */
    line--;
    while (line > raw.text && line[-1] != '\n')
        line--; /* the sample line's start */
    long long v[4];
    cr_assert_eq(sscanf(line, " %lld %lld %lld %lld:", &v[0], &v[1], &v[2], &v[3]), 4);
    cr_expect(v[0] == 1 && v[1] == 777 && v[2] == 0 && v[3] == 0,
              "mt-namer: %lld %lld %lld %lld, want 1 777 0 0", v[0], v[1], v[2], v[3]);
    free(raw.text);
    e2e_free_list(dirs, n);
}

Test(pprof, export_usage_errors)
{
    const char *no_out[] = {e2e_analyze(), "export", "--format", "pprof", ".", NULL};
    const char *bad_fmt[] = {e2e_analyze(), "export", "--format", "json", "-o", "x", ".", NULL};
    const char *json[] = {e2e_analyze(), "export", "--json", "-o", "x", ".", NULL};
    const char *const *cases[] = {no_out, bad_fmt, json};
    for (size_t i = 0; i < 3; i++) {
        e2e_result_t r;
        e2e_run(&r, cases[i], NULL, NULL);
        cr_expect_eq(r.exit_code, 2, "case %zu exited %d: %s", i, r.exit_code, r.err);
        e2e_result_free(&r);
    }
}

/* ---- serve ------------------------------------------------------------------ */

/* Starts `serve --listen 127.0.0.1:0 ARGS` and returns the port it printed. */
static int start_server(e2e_proc_t *p, const char *arg)
{
    const char *argv[] = {e2e_analyze(), "serve", "--listen", "127.0.0.1:0", arg, NULL};
    cr_assert_eq(e2e_start(p, argv, NULL, NULL), 0);
    for (int i = 0; i < 100 && !strchr(p->out, '\n'); i++)
        e2e_read_stdout(p, p->out_len + 1, 0.1);
    const char *u = strstr(p->out, "http://127.0.0.1:");
    cr_assert_not_null(u, "serve printed no address: %s / %s", p->out, p->err);
    int port = atoi(u + strlen("http://127.0.0.1:"));
    cr_assert_gt(port, 0);
    return port;
}

static void stop_server(e2e_proc_t *p)
{
    cr_assert_eq(kill(p->pid, 0), 0, "serve died");
    e2e_signal(p, SIGTERM);
    e2e_result_t r;
    e2e_wait(p, &r, 10);
    cr_expect_eq(r.exit_code, 0, "serve exited %d (signal %d): %s", r.exit_code, r.signal, r.err);
    e2e_result_free(&r);
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct timeval tv = {20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect: %s",
                 strerror(errno));
    return fd;
}

/* Sends REQ[LEN] and returns the status of the answer (0: none, the
 * connection was closed). *BODY_LEN gets the bytes after the headers. */
static int http_raw(int port, const char *req, size_t len, size_t *body_len)
{
    int fd = connect_to(port);
    for (size_t off = 0; off < len;) {
        ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may answer and close before reading it all */
        off += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    size_t cap = 1 << 16, got = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (got + 4096 > cap)
            buf = realloc(buf, cap *= 2);
        ssize_t n = recv(fd, buf + got, cap - got - 1, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    int status = 0;
    sscanf(buf, "HTTP/1.%*d %d", &status);
    const char *body = strstr(buf, "\r\n\r\n");
    if (body_len)
        *body_len = body ? got - (size_t)(body + 4 - buf) : 0;
    free(buf);
    return status;
}

static int http_get(int port, const char *target, size_t *body_len)
{
    char req[512];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
                                       "close\r\n\r\n", target);
    return http_raw(port, req, (size_t)n, body_len);
}

Test(pprof, serve_heap_read_by_go_tool_pprof)
{
    need_go();
    char *trace = trace_leaky();
    e2e_proc_t p;
    int port = start_server(&p, trace);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/debug/pprof/heap", port);
    raw_t raw;
    go_pprof_raw(url, &raw);
    expect_leaky_totals(&raw, trace);
    cr_expect(strstr(raw.text, "inuse_space/bytes[dflt]"), "%s", raw.text);
    free(raw.text);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/debug/pprof/allocs?seconds=3600", port);
    go_pprof_raw(url, &raw);
    expect_leaky_totals(&raw, trace); /* the run took less than an hour */
    cr_expect(strstr(raw.text, "alloc_space/bytes[dflt]"), "%s", raw.text);
    free(raw.text);
    stop_server(&p);
    free(trace);
}

Test(pprof, serve_a_directory_serves_its_newest_run)
{
    char *trace = trace_leaky();
    e2e_proc_t p;
    int port = start_server(&p, e2e_tmpdir());
    size_t len = 0;
    cr_expect_eq(http_get(port, "/debug/pprof/heap", &len), 200);
    cr_expect_gt(len, 100);
    cr_expect_eq(http_get(port, "/debug/pprof/", &len), 200);
    stop_server(&p);
    free(trace);
}

/* A live trace (examples/spin allocates 100 blocks a millisecond until
 * killed), served as a DIR: each request reads the newest snapshot, so
 * alloc_objects grows from one request to the next, and ?seconds=1 holds
 * only the last second's allocations, fewer than all of them. */
Test(pprof, serve_live_trace_grows_and_seconds_is_a_window)
{
    need_go();
    const char *argv[] = {"spin", NULL};
    const char *env[] = {"MTRACE_FLUSH_MS=10", NULL};
    e2e_proc_t spin;
    cr_assert_eq(e2e_start_traced(&spin, argv, env), 0);
    cr_assert(e2e_read_stdout(&spin, 1, E2E_TIMEOUT), "spin never started");
    const struct timespec settle = {1, 500 * 1000000}; /* more than the one second asked */
    nanosleep(&settle, NULL);
    e2e_proc_t p;
    int port = start_server(&p, e2e_tmpdir());
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/debug/pprof/allocs", port);
    raw_t first, second, last;
    go_pprof_raw(url, &first);
    const struct timespec gap = {0, 500 * 1000000}; /* 50 commit intervals */
    nanosleep(&gap, NULL);
    go_pprof_raw(url, &second);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/debug/pprof/allocs?seconds=1", port);
    go_pprof_raw(url, &last);
    e2e_signal(&spin, SIGKILL);
    e2e_result_t r;
    e2e_wait(&spin, &r, E2E_TIMEOUT);
    e2e_result_free(&r);
    stop_server(&p);
    cr_expect_geq(first.v[0], 100, "spin's first round at least: %lld", first.v[0]);
    cr_expect_gt(second.v[0], first.v[0], "the second request sees more: %lld, then %lld",
                 first.v[0], second.v[0]);
    cr_expect_gt(last.v[0], 0);
    cr_expect_lt(last.v[0], second.v[0], "the last second holds fewer: %lld of %lld",
                 last.v[0], second.v[0]);
    free(first.text);
    free(second.text);
    free(last.text);
}

Test(pprof, serve_survives_hostile_requests)
{
    char *trace = trace_leaky();
    e2e_proc_t p;
    int port = start_server(&p, trace);
    size_t len;
    cr_assert_eq(http_get(port, "/debug/pprof/heap", &len), 200);
    size_t good_len = len;

    /* Paths outside the served ones, plain and encoded: 404, never a file. */
    const char *paths[] = {
        "/../../../../etc/passwd", "/debug/pprof/../../../etc/passwd",
        "/debug/pprof/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/%2F%2E%2E%2Fetc%2Fpasswd",
        "/debug/pprof/heap/../../data.mdb", "/data.mdb", "/debug/pprof/heap%00",
        "/debug/pprof/profile", "/debug/pprof/goroutine",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++) {
        int st = http_get(port, paths[i], &len);
        cr_expect(st >= 400 && st < 500, "%s: status %d", paths[i], st);
    }
    /* Bad ?seconds values: 400. */
    const char *bad[] = {
        "/debug/pprof/heap?seconds=-1", "/debug/pprof/heap?seconds=0",
        "/debug/pprof/heap?seconds=abc", "/debug/pprof/heap?seconds=1e9",
        "/debug/pprof/heap?seconds=99999999999999999999999999999999",
        "/debug/pprof/heap?seconds=", "/debug/pprof/allocs?seconds=%00",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        cr_expect_eq(http_get(port, bad[i], &len), 400, "%s", bad[i]);
    /* A huge query value (1 MiB) and huge headers: a 4xx or a closed
     * connection, not a crash. */
    size_t big = 1 << 20;
    char *req = malloc(big + 256);
    int n = snprintf(req, 64, "GET /debug/pprof/heap?seconds=");
    memset(req + n, '9', big);
    strcpy(req + n + big, " HTTP/1.1\r\nHost: x\r\n\r\n");
    int st = http_raw(port, req, strlen(req), NULL);
    cr_expect(st == 0 || (st >= 400 && st < 500), "huge query: status %d", st);
    n = snprintf(req, 64, "GET / HTTP/1.1\r\nX-Big: ");
    memset(req + n, 'a', big);
    strcpy(req + n + big, "\r\n\r\n");
    st = http_raw(port, req, strlen(req), NULL);
    cr_expect(st == 0 || (st >= 400 && st < 500), "huge header: status %d", st);
    free(req);
    /* Other methods and garbage. */
    const char post[] = "POST /debug/pprof/heap HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
    cr_expect_eq(http_raw(port, post, sizeof(post) - 1, NULL), 405);
    const char junk[] = "\x01\x02garbage\xff\r\n\r\n";
    st = http_raw(port, junk, sizeof(junk) - 1, NULL);
    cr_expect(st == 0 || (st >= 400 && st < 500), "garbage: status %d", st);

    /* Many connections that send half a request and stall: a full request
     * is still answered while they hang. */
    enum { NSLOW = 100 };
    int slow[NSLOW];
    for (int i = 0; i < NSLOW; i++) {
        slow[i] = connect_to(port);
        const char half[] = "GET /debug/pprof/heap HTTP/1.1\r\nHost: 127.0";
        cr_assert_eq(send(slow[i], half, sizeof(half) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(half) - 1);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_expect_eq(http_get(port, "/debug/pprof/heap", &len), 200);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_expect_eq(len, good_len, "the same profile while %d clients stall", NSLOW);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_expect_lt(s, 10.0, "answered in %.1f s while %d clients stall", s, NSLOW);
    for (int i = 0; i < NSLOW; i++)
        close(slow[i]);

    /* More connections than the server takes (256) at once, all idle: the
     * extra ones are closed; once they are gone it serves again. */
    enum { NMANY = 400 };
    int *many = malloc(NMANY * sizeof(*many));
    for (int i = 0; i < NMANY; i++)
        many[i] = connect_to(port);
    for (int i = 0; i < NMANY; i++)
        close(many[i]);
    free(many);
    usleep(200 * 1000); /* the server sees the closes */

    /* Still serving, and still the same profile. */
    cr_expect_eq(http_get(port, "/debug/pprof/heap", &len), 200);
    cr_expect_eq(len, good_len);
    stop_server(&p);
    free(trace);
}

/* A damaged trace (data.mdb that is not LMDB): each profile request is a
 * 500 with one line, the server lives on and still serves its index. */
Test(pprof, serve_damaged_trace_is_a_500_not_a_crash)
{
    char dir[4200], data[4300];
    snprintf(dir, sizeof(dir), "%s/mtrace.bad.1", e2e_tmpdir());
    cr_assert_eq(mkdir(dir, 0700), 0);
    snprintf(data, sizeof(data), "%s/data.mdb", dir);
    FILE *f = fopen(data, "w");
    cr_assert_not_null(f);
    fputs("this is not an LMDB environment\n", f);
    fclose(f);
    e2e_proc_t p;
    int port = start_server(&p, dir);
    size_t len;
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(http_get(port, "/debug/pprof/heap", &len), 500);
        cr_expect_eq(http_get(port, "/debug/pprof/allocs?seconds=5", &len), 500);
    }
    cr_expect_eq(http_get(port, "/debug/pprof/", &len), 200);
    stop_server(&p);
}

Test(pprof, serve_usage_errors)
{
    const char *no_dir[] = {e2e_analyze(), "serve", "/nonexistent/traces", NULL};
    const char *bad_listen[] = {e2e_analyze(), "serve", "--listen", "nowhere", ".", NULL};
    const char *bad_host[] = {e2e_analyze(), "serve", "--listen", "example.com:80", ".", NULL};
    const char *bad_port[] = {e2e_analyze(), "serve", "--listen", "127.0.0.1:99999", ".", NULL};
    const char *none[] = {e2e_analyze(), "serve", NULL};
    const char *const *cases[] = {no_dir, bad_listen, bad_host, bad_port, none};
    for (size_t i = 0; i < 5; i++) {
        e2e_result_t r;
        e2e_run(&r, cases[i], NULL, NULL);
        cr_expect_eq(r.exit_code, 2, "case %zu exited %d: %s", i, r.exit_code, r.err);
        e2e_result_free(&r);
    }
}
