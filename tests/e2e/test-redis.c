/* test-redis.c - Debian's redis-server (jemalloc-linked) under the shim, with
 * redis-benchmark load and a BGSAVE (fork without exec, child leaves with
 * _exit). Skipped when redis is not installed.
 *
 * The server listens on 127.0.0.1 only, on a port the kernel just handed out,
 * keeps its files in the test's temporary directory, and is killed by pid in
 * the suite's fini whatever happened, so no server outlives the test.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define REDIS_SERVER "/usr/bin/redis-server"
#define REDIS_CLI "/usr/bin/redis-cli"
#define REDIS_BENCHMARK "/usr/bin/redis-benchmark"
#define REQUESTS "20000"

static e2e_proc_t server = {.pid = 0, .out_fd = -1, .err_fd = -1};
static char port[16];

static void setup(void)
{
    e2e_tmpdir();
}

/* Never leaves a server behind: kills its process group (BGSAVE child too). */
static void teardown(void)
{
    if (server.pid > 0) {
        e2e_result_t r;
        e2e_signal(&server, SIGKILL);
        e2e_wait(&server, &r, 5);
        e2e_result_free(&r);
    }
    e2e_tmpdir_remove();
}

TestSuite(redis, .init = setup, .fini = teardown, .timeout = 90);

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* A TCP port on 127.0.0.1 that was free a moment ago. */
static void pick_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
                  getsockname(fd, (struct sockaddr *)&a, &len) == 0,
              "cannot find a free port");
    close(fd);
    snprintf(port, sizeof port, "%u", (unsigned)ntohs(a.sin_port));
}

/* Runs redis-cli -p PORT ARG1 [ARG2]; returns its stdout (malloc'd). */
static char *cli(const char *arg1, const char *arg2)
{
    const char *argv[] = {REDIS_CLI, "-h", "127.0.0.1", "-p", port, arg1, arg2, NULL};
    e2e_result_t r;
    e2e_run(&r, argv, NULL, NULL);
    free(r.err);
    return r.out;
}

/* Polls CMD until its output contains every string in WANT; bounded. */
static bool poll_cli(const char *arg1, const char *arg2, const char *const want[])
{
    for (int tries = 0; tries < 200; tries++) {
        char *out = cli(arg1, arg2);
        bool all = true;
        for (const char *const *w = want; *w; w++)
            all = all && strstr(out, *w) != NULL;
        free(out);
        if (all)
            return true;
        pause_ms(50);
    }
    return false;
}

Test(redis, benchmark_and_bgsave)
{
    if (access(REDIS_SERVER, X_OK) != 0 || access(REDIS_CLI, X_OK) != 0 ||
        access(REDIS_BENCHMARK, X_OK) != 0)
        cr_skip_test("redis-server, redis-cli or redis-benchmark is not installed "
                     "(apt-get install redis-server redis-tools)");

    char preload[4200], out[4200], log[4200];
    const char *tmp = e2e_tmpdir();
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", e2e_lib());
    snprintf(out, sizeof out, "MTRACE_OUT=%s/%%e.%%p", tmp);
    snprintf(log, sizeof log, "%s/redis.log", tmp);
    const char *env[] = {preload, out, "MTRACE_QUIET=1", NULL};
    pick_port();
    const char *argv[] = {REDIS_SERVER, "--port", port, "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--dir", tmp,
                          "--daemonize", "no", "--logfile", log, NULL};
    cr_assert_eq(e2e_start(&server, argv, env, tmp), 0, "cannot start " REDIS_SERVER);
    pid_t pid = server.pid;

    const char *pong[] = {"PONG", NULL};
    cr_assert(poll_cli("ping", NULL, pong), "redis-server (port %s) never answered PING; see %s",
              port, log);

    const char *bench[] = {REDIS_BENCHMARK, "-h", "127.0.0.1", "-p", port, "-n", REQUESTS, "-q",
                           "-t", "set,get", NULL};
    e2e_result_t b;
    e2e_run_for(&b, bench, NULL, NULL, 60);
    cr_expect_eq(b.exit_code, 0, "redis-benchmark exited %d: %s", b.exit_code, b.err);
    cr_expect(strstr(b.out, "SET: ") && strstr(b.out, "GET: ") &&
                  strstr(b.out, "requests per second"),
              "redis-benchmark did not report SET and GET: %s", b.out);
    e2e_result_free(&b);

    char *started = cli("bgsave", NULL);
    cr_expect(strstr(started, "Background saving started"), "bgsave said: %s", started);
    free(started);
    const char *saved[] = {"rdb_bgsave_in_progress:0", "rdb_last_bgsave_status:ok", NULL};
    cr_assert(poll_cli("info", "persistence", saved), "BGSAVE did not finish; see %s", log);

    /* A clean shutdown: the server exits through exit(). */
    free(cli("shutdown", "nosave"));
    e2e_result_t r;
    e2e_wait(&server, &r, 10);
    cr_expect(!r.timed_out, "redis-server did not stop after SHUTDOWN");
    cr_expect_eq(r.exit_code, 0, "redis-server exited %d signal %d", r.exit_code, r.signal);
    e2e_result_free(&r);

    char *dirs[8];
    int n = e2e_list_dirs(tmp, dirs, 8);
    cr_assert_eq(n, 2, "want 2 traces (server, BGSAVE child), found %d", n);
    char *info[2] = {e2e_info(dirs[0]), e2e_info(dirs[1])};
    int srv = e2e_int(info[0], "pid") == pid ? 0 : 1;
    const char *parent = info[srv], *child = info[1 - srv];

    cr_expect_eq(e2e_int(parent, "pid"), pid, "no trace has the server's pid %d", (int)pid);
    cr_expect_gt(e2e_int(parent, "alloc_calls"), 20000, "server alloc_calls %lld",
                 e2e_int(parent, "alloc_calls"));
    cr_expect(e2e_bool(parent, "complete"), "server trace not complete: %s", parent);
    cr_expect_str_eq(e2e_str(parent, "end_reason"), "exit");

    cr_expect_eq(e2e_int(child, "parent_pid"), pid, "BGSAVE child's parent_pid");
    cr_expect_eq(e2e_int(child, "ppid"), pid, "BGSAVE child's ppid");
    cr_expect(e2e_bool(child, "complete"), "BGSAVE child trace not complete: %s", child);
    cr_expect_str_eq(e2e_str(child, "end_reason"), "_exit");
    /* rdbSave allocates (its rio buffers, the key iterator). */
    cr_expect_gt(e2e_int(child, "alloc_calls"), 0, "BGSAVE child alloc_calls");
    free(info[0]);
    free(info[1]);
    e2e_free_list(dirs, n);
}
