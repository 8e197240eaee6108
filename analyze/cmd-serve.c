/* cmd-serve.c - `mtrace-analyze serve --listen ADDR:PORT TRACE-or-DIR...`:
 * the pprof profile (pprof.c) of live or finished traces over HTTP, at the
 * paths a Go program's net/http/pprof serves, so that `go tool pprof`,
 * Pyroscope, Parca and Grafana Alloy scrape it as they scrape Go:
 *
 *   /debug/pprof/heap    inuse_space by default
 *   /debug/pprof/allocs  the same profile, alloc_space by default
 *   ?seconds=N           only the last N seconds of the traces' time
 *   /, /debug/pprof/     an index page
 *
 * HTTP is libmicrohttpd's, one internal polling thread: connections are
 * handled without blocking each other (a client that stalls mid-request
 * holds only its own connection, until the timeout), and requests are
 * answered one at a time, so the analyzer's single-threaded code (replay,
 * symbolizer) runs as it does in a command. Each request reads the traces
 * afresh (a live trace's newest snapshot; a DIR's newest run). A URL never
 * names a file: only the fixed paths above are served, over the TRACE and
 * DIR arguments, and everything else is a 4xx.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builtin.h"
#include "pprof.h"

#define DEFAULT_LISTEN "127.0.0.1:6060"
#define MAX_SECONDS 315360000L       /* ten years */
#define CONNECTION_LIMIT 256
#define CONNECTION_TIMEOUT_S 15      /* a stalled client is dropped after this */
#define CONNECTION_MEMORY (32 * 1024) /* request line and headers; more: 414 / 431 */

static const mt_opt_t options[] = {
    {'L', 0, "listen", required_argument, "ADDR:PORT",
     "where to listen (default " DEFAULT_LISTEN "); ':PORT'\n"
     "is 127.0.0.1:PORT, '[::1]:PORT' IPv6, port 0 any\n"
     "free port (printed); 0.0.0.0:PORT every interface"},
    {'l', 0, "labels", no_argument, NULL,
     "label samples by thread and NUMA node (see export)"},
    MT_OPT_POOL("the allocations of pool NAME (annotation API), a\n"
                "pool id, or of every pool: 'all'"),
    MT_OPT_HELP,
    MT_OPT_END,
};

static void examples(FILE *out)
{
    fputs("\nEndpoints:\n"
          "  /debug/pprof/heap     in-use bytes by stack (inuse_space by default)\n"
          "  /debug/pprof/allocs   allocations by stack (alloc_space by default)\n"
          "  ?seconds=N            only what was allocated in the last N seconds of the\n"
          "                        traces' time (heap: and is still live at the end)\n"
          "  /debug/pprof/         an index page\n"
          "\nExamples:\n"
          "  mtrace-analyze serve --listen 127.0.0.1:6060 /var/lib/mtrace &\n"
          "  go tool pprof -top http://127.0.0.1:6060/debug/pprof/heap\n",
          out);
}

static const mt_help_t help = {
    .synopsis = "[--listen ADDR:PORT] [options] TRACE-or-DIR...",
    .about = "Serves the pprof profile of live or finished traces over HTTP at the paths\n"
             "of Go's net/http/pprof, for go tool pprof, Pyroscope, Parca or Grafana\n"
             "Alloy. A TRACE is a trace directory; a DIR holds traces and each request\n"
             "reads its newest run (a process and its children), as a command given no\n"
             "TRACE reads the current directory. Every request reads the traces again.\n"
             "Listens on 127.0.0.1 unless told otherwise; runs until SIGINT or SIGTERM.\n"
             "No --json: the answers are pprof profiles and an HTML index.\n",
    .opts = options,
    .extra = examples,
    .exit_status = "0 stopped by a signal, 1 could not listen, 2 usage error.",
};

typedef struct serve_opts {
    mt_cli_t cli;
    const char *listen;
    bool labels;
} serve_opts_t;

/* ---- one profile ----------------------------------------------------------- */

/* The traces of the arguments now: a TRACE as given, a DIR's newest run.
 * Returns 0 or an errno; *N 0 when there is none yet. */
static int resolve(const serve_opts_t *o, char ***paths, size_t *n)
{
    char **v = NULL;
    size_t nv = 0, cap = 0;
    int err = 0;
    for (int i = 0; i < o->cli.ntraces && !err; i++) {
        char data[4200];
        struct stat st;
        snprintf(data, sizeof(data), "%s/data.mdb", o->cli.traces[i]);
        char **found = NULL;
        size_t nf = 0;
        if (stat(data, &st) == 0) { /* a trace */
            char *p = strdup(o->cli.traces[i]);
            if (!p || !(found = malloc(sizeof(*found)))) {
                free(p);
                err = ENOMEM;
                break;
            }
            found[0] = p;
            nf = 1;
        } else if ((err = mt_discover_scan(o->cli.traces[i], &found, &nf)) != 0) {
            break;
        }
        for (size_t k = 0; k < nf; k++) {
            char **slot = err ? NULL : MT_VEC_PUSH(NULL, v, nv, cap);
            if (!slot) {
                err = ENOMEM;
                free(found[k]);
                continue;
            }
            *slot = found[k];
            nv++;
        }
        free(found);
    }
    if (err) {
        for (size_t k = 0; k < nv; k++)
            free(v[k]);
        free(v);
        v = NULL;
        nv = 0;
    }
    *paths = v;
    *n = nv;
    return err;
}

/* The answer to a profile request. */
typedef struct answer {
    unsigned status;
    uint8_t *body;            /* malloc'd */
    size_t len;
    const char *type;
} answer_t;

static void answer_text(answer_t *a, unsigned status, const char *fmt, ...) MT__PRINTF(3, 4);
static void answer_text(answer_t *a, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    a->status = status;
    a->type = "text/plain; charset=utf-8";
    a->body = n >= 0 ? (uint8_t *)s : NULL;
    a->len = n >= 0 ? (size_t)n : 0;
}

static int no_order(const mt_row_t *a, const mt_row_t *b)
{
    (void)a;
    (void)b;
    return 0;
}

static void profile(const serve_opts_t *o, bool allocs, uint64_t seconds, answer_t *a)
{
    char **paths;
    size_t n;
    int err = resolve(o, &paths, &n);
    if (err) {
        answer_text(a, MHD_HTTP_INTERNAL_SERVER_ERROR, "reading the trace arguments: %s\n",
                    strerror(err));
        return;
    }
    if (!n) {
        answer_text(a, MHD_HTTP_SERVICE_UNAVAILABLE, "no trace yet in the directories served\n");
        return;
    }
    mt_cli_t c = o->cli;
    c.top = 0;
    mt_pprof_options_t po = {.alloc_default = allocs, .labels = o->labels};
    if (po.labels) {
        if (!(po.labels_ctx = mt_pprof_labels_new())) {
            answer_text(a, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
            goto out;
        }
        mt_pprof_labels_hook(&c.ro, po.labels_ctx);
    }
    if (seconds)
        c.ro.from = (mt_time_arg_t){.v = seconds * 1000000000ull, .set = true, .from_end = true};
    mt_session_t s;
    int rc = mt_session_open(&s, (int)n, paths);
    if (!rc)
        rc = mt_session_replay(&s, &c.ro);
    mt_report_t rep = {0};
    size_t nshow;
    if (!rc)
        rc = mt_cli_rows(&c, &s, &rep, mt_keep_allocating,
                         po.labels ? mt_pprof_labels_fill : NULL, po.labels_ctx, no_order, &nshow);
    if (!rc) {
        mt_pprof_stats_t st;
        err = mt_pprof_encode(&rep, &po, &a->body, &a->len, &st);
        if (err)
            answer_text(a, MHD_HTTP_INTERNAL_SERVER_ERROR, "encoding the profile: %s\n",
                        strerror(err));
        else {
            a->status = MHD_HTTP_OK;
            a->type = "application/octet-stream";
        }
    } else {
        answer_text(a, MHD_HTTP_INTERNAL_SERVER_ERROR,
                    "reading the traces failed; the server's standard error says why\n");
    }
    if (s.readers || s.sym) {
        mt_report_free(&rep);
        mt_session_close(&s);
    }
out:
    mt_pprof_labels_free(po.labels_ctx);
    for (size_t k = 0; k < n; k++)
        free(paths[k]);
    free(paths);
}

/* ---- HTTP ------------------------------------------------------------------ */

static void html_escape(FILE *f, const char *s)
{
    char buf[4200];
    mt_put_xml(f, mt_printable(buf, sizeof(buf), s));
}

static void index_page(const serve_opts_t *o, answer_t *a)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        answer_text(a, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
        return;
    }
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>mtrace: /debug/pprof/"
          "</title></head>\n<body>\n<h1>mtrace-analyze serve</h1>\n"
          "<p>pprof profiles of the allocations of the traces below, read afresh at each "
          "request.</p>\n<table>\n"
          "<tr><td><a href=\"/debug/pprof/heap\">heap</a></td><td>in-use bytes and objects by "
          "stack (default sample type inuse_space)</td></tr>\n"
          "<tr><td><a href=\"/debug/pprof/allocs\">allocs</a></td><td>allocated bytes and "
          "objects by stack (default sample type alloc_space)</td></tr>\n</table>\n"
          "<p>Add <code>?seconds=N</code> for the last N seconds of the traces' time. Read "
          "with <code>go tool pprof http://HOST:PORT/debug/pprof/heap</code>.</p>\n"
          "<h2>Serving</h2>\n<ul>\n",
          f);
    char **paths;
    size_t n;
    for (int i = 0; i < o->cli.ntraces; i++) {
        fputs("<li>", f);
        html_escape(f, o->cli.traces[i]);
        fputs("</li>\n", f);
    }
    fputs("</ul>\n<h2>Traces now</h2>\n<ul>\n", f);
    if (resolve(o, &paths, &n) == 0) {
        for (size_t k = 0; k < n; k++) {
            fputs("<li>", f);
            html_escape(f, paths[k]);
            fputs("</li>\n", f);
            free(paths[k]);
        }
        free(paths);
        if (!n)
            fputs("<li>none yet</li>\n", f);
    }
    fputs("</ul>\n</body></html>\n", f);
    if (fclose(f) != 0) {
        free(buf);
        answer_text(a, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
        return;
    }
    a->status = MHD_HTTP_OK;
    a->type = "text/html; charset=utf-8";
    a->body = (uint8_t *)buf;
    a->len = len;
}

/* ?seconds=N: 1 to MAX_SECONDS, digits only. */
static bool parse_seconds(const char *s, uint64_t *v)
{
    if (!s || !*s || strlen(s) > 10)
        return false;
    uint64_t x = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    if (x < 1 || x > MAX_SECONDS)
        return false;
    *v = x;
    return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    const serve_opts_t *o = cls;
    answer_t a = {0};
    bool head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && !head) {
        answer_text(&a, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    } else if (strcmp(url, "/") == 0 || strcmp(url, "/debug/pprof/") == 0 ||
               strcmp(url, "/debug/pprof") == 0) {
        index_page(o, &a);
    } else if (strcmp(url, "/debug/pprof/heap") == 0 || strcmp(url, "/debug/pprof/allocs") == 0) {
        const char *sec = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "seconds");
        uint64_t seconds = 0;
        if (sec && !parse_seconds(sec, &seconds))
            answer_text(&a, MHD_HTTP_BAD_REQUEST,
                        "seconds: expected a whole number from 1 to %ld\n", MAX_SECONDS);
        else
            profile(o, strcmp(url, "/debug/pprof/allocs") == 0, seconds, &a);
    } else {
        answer_text(&a, MHD_HTTP_NOT_FOUND,
                    "not found; the profiles are /debug/pprof/heap and /debug/pprof/allocs\n");
    }
    if (!a.body && a.status != MHD_HTTP_OK) {
        a.status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        a.type = "text/plain";
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(a.len, a.body ? a.body : (uint8_t *)"",
                                        a.body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(a.body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a.type ? a.type : "text/plain");
    if (a.status == MHD_HTTP_OK && strcmp(a.type, "application/octet-stream") == 0)
        MHD_add_response_header(r, "Content-Disposition", "attachment; filename=\"profile\"");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result ok = MHD_queue_response(conn, a.status, r);
    MHD_destroy_response(r);
    return ok;
}

/* MHD's unescape callback: none. A target is compared as sent, so that
 * "%2e%2e" or "heap%00" can never turn into another path or cut one short
 * (a NUL would end the C string MHD hands over); ?seconds is digits only. */
static size_t keep_escaped(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

/* ---- the command ------------------------------------------------------------ */

/* ADDR:PORT into *SS. Returns 0 or a usage error's status (printed). */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256], port[16];
    const char *colon = strrchr(s, ':');
    if (!colon || strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof(port) ||
        (size_t)(colon - s) >= sizeof(host))
        return mt_usage_error("serve", "--listen %s: expected ADDR:PORT, e.g. 127.0.0.1:6060", s);
    size_t hl = (size_t)(colon - s);
    memcpy(host, s, hl);
    host[hl] = '\0';
    strcpy(port, colon + 1);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    if (!host[0])
        strcpy(host, "127.0.0.1");
    for (const char *p = port; *p; p++)
        if (*p < '0' || *p > '9')
            return mt_usage_error("serve", "--listen %s: the port is a number", s);
    if (atol(port) > 65535)
        return mt_usage_error("serve", "--listen %s: the port is at most 65535", s);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *res;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
        return mt_usage_error("serve", "--listen %s: '%s' is not a numeric IPv4 or IPv6 "
                                       "address", s, host);
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int serve_option(void *ctx, int opt, const char *arg)
{
    serve_opts_t *o = ctx;
    switch (opt) {
    case 'L':
        o->listen = arg;
        return 0;
    case 'l':
        o->labels = true;
        return 0;
    default:
        return MT_CLI_SHARED;
    }
}

int cmd_serve(int argc, char **argv)
{
    serve_opts_t o = {.listen = DEFAULT_LISTEN};
    mt_cli_init(&o.cli, "serve", &help);
    int rc = mt_cli_parse(&o.cli, argc, argv, serve_option, &o);
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    if (!rc)
        rc = parse_listen(o.listen, &ss, &sslen);
    if (!rc && o.cli.ntraces == 0)
        rc = mt_usage_error("serve", "no TRACE or DIR to serve; give trace directories or a "
                                     "directory that holds them");
    for (int i = 0; !rc && i < o.cli.ntraces; i++) {
        struct stat st;
        if (stat(o.cli.traces[i], &st) != 0 || !S_ISDIR(st.st_mode))
            rc = mt_usage_error("serve", "%s: %s; give a trace directory or a directory of "
                                         "traces", o.cli.traces[i],
                                stat(o.cli.traces[i], &st) != 0 ? strerror(errno)
                                                                 : "not a directory");
    }
    if (rc)
        return mt_cli_end(&o.cli, rc);

    /* SIGINT and SIGTERM are taken with sigwait: blocked before the daemon's
     * thread starts, so that it inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, &o, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)CONNECTION_MEMORY, MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL,
        MHD_OPTION_END);
    if (!d) {
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
        rc = mt_error("serve: cannot listen on %s; is the port in use or the address not "
                      "this host's? (try another --listen)", o.listen);
        return mt_cli_end(&o.cli, rc);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char host[INET6_ADDRSTRLEN] = "?";
    if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
    else
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
    printf("serving http://%s%s%s:%u/debug/pprof/ (heap, allocs) for %d %s; Ctrl-C stops\n",
           ss.ss_family == AF_INET6 ? "[" : "", host, ss.ss_family == AF_INET6 ? "]" : "",
           info ? info->port : 0, o.cli.ntraces,
           mt_plural((uint64_t)o.cli.ntraces, "argument", "arguments"));
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    return mt_cli_end(&o.cli, MT_EXIT_OK);
}
