/* mtrace-record.c - the launcher: runs a program with libmtrace.so preloaded.
 *
 * Finds the shim next to itself (build tree or installed tree), prepends it
 * to LD_PRELOAD, maps its options to MTRACE_* variables, runs the program as
 * a child with stdio, exit status and signals passed through, and at the end
 * lists the trace directories the run wrote (the shim appends each one to the
 * file named by MTRACE_MANIFEST). What cannot work is refused in one line:
 * a program not found, a static one (no PT_INTERP), a setuid/setgid one.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MTRACE_BINDIR
#define MTRACE_BINDIR "bin"
#endif
#ifndef MTRACE_LIBDIR
#define MTRACE_LIBDIR "lib"
#endif
#ifndef MTRACE_VERSION
#define MTRACE_VERSION "unknown"
#endif

static const char usage[] =
    "usage: mtrace-record [options] [--] PROGRAM [ARGS...]\n"
    "\n"
    "Runs PROGRAM with the mtrace shim (libmtrace.so) preloaded and says which\n"
    "trace directories it wrote. The exit status is PROGRAM's, or 128+N when\n"
    "it died of signal N.\n"
    "\n"
    "options:\n"
    "  -o, --output TEMPLATE  trace directory template, %p pid, %e command\n"
    "                         (MTRACE_OUT; default ./mtrace.%e.%p)\n"
    "  -s, --sample BYTES|all mean bytes between recorded stacks, or all\n"
    "                         (MTRACE_SAMPLE; default 512K)\n"
    "      --depth N          frames per stack (MTRACE_DEPTH; default 64)\n"
    "      --no-follow-fork   leave fork children untraced (MTRACE_FOLLOW_FORK=0)\n"
    "  -q, --quiet            print nothing of mtrace's own (MTRACE_QUIET=1)\n"
    "  -h, --help             print this help\n"
    "      --version          print the version\n"
    "\n"
    "Other MTRACE_* variables in the environment are passed on unchanged\n"
    "(see libmtrace(7)).\n";

static const char *self_name = "mtrace-record";

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", self_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(127);
}

/* Number of path components in a relative directory such as "bin" or
 * "lib/x86_64-linux-gnu": how many ".." climb back from it. */
static int depth_of(const char *dir)
{
    int n = 0;
    for (const char *s = dir; *s;) {
        while (*s == '/')
            s++;
        if (!*s)
            break;
        n++;
        while (*s && *s != '/')
            s++;
    }
    return n;
}

/* Fills SHIM with the path of libmtrace.so that belongs to this launcher;
 * returns 0, or -1 when there is none. */
static int find_shim(char *shim, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = '\0';

    /* The build tree: build/launcher/mtrace-record, build/preload/libmtrace.so. */
    snprintf(shim, cap, "%s/../preload/libmtrace.so", exe);
    if (access(shim, R_OK) == 0)
        return 0;
    /* The installed tree: BINDIR and LIBDIR under one prefix. */
    if (MTRACE_LIBDIR[0] == '/') {
        snprintf(shim, cap, "%s/libmtrace.so", MTRACE_LIBDIR);
    } else {
        size_t len = (size_t)snprintf(shim, cap, "%s", exe);
        for (int up = depth_of(MTRACE_BINDIR); up > 0 && len < cap; up--)
            len += (size_t)snprintf(shim + len, cap - len, "/..");
        if (len < cap)
            snprintf(shim + len, cap - len, "/%s/libmtrace.so", MTRACE_LIBDIR);
    }
    return access(shim, R_OK) == 0 ? 0 : -1;
}

/* Looks PROG up as execvp would; fills PATH_OUT. Returns 0 or an errno. */
static int find_program(const char *prog, char *path_out, size_t cap)
{
    if (strchr(prog, '/')) {
        snprintf(path_out, cap, "%s", prog);
        return access(path_out, F_OK) == 0 ? 0 : errno;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    int found_unexecutable = 0;
    for (const char *p = path;; p++) {
        const char *end = strchrnul(p, ':');
        int dirlen = (int)(end - p);
        snprintf(path_out, cap, "%.*s%s%s", dirlen, p, dirlen ? "/" : "", prog);
        struct stat st;
        if (stat(path_out, &st) == 0 && S_ISREG(st.st_mode)) {
            if (access(path_out, X_OK) == 0)
                return 0;
            found_unexecutable = 1;
        }
        if (!*end)
            break;
        p = end;
    }
    return found_unexecutable ? EACCES : ENOENT;
}

/* 1 when the ELF file at PATH has a PT_INTERP header (it is dynamically
 * linked), 0 when it has none (static), -1 when it is not ELF (a script). */
static int has_interp(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    Elf64_Ehdr eh;
    int result = -1;
    if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
        eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr)) {
        result = 0;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) != (ssize_t)sizeof ph)
                break;
            if (ph.p_type == PT_INTERP) {
                result = 1;
                break;
            }
        }
    }
    close(fd);
    return result;
}

static void set_env(const char *name, const char *value)
{
    if (setenv(name, value, 1) != 0)
        fail("cannot set %s: %s", name, strerror(errno));
}

static void prepend_preload(const char *shim)
{
    const char *old = getenv("LD_PRELOAD");
    if (!old || !*old) {
        set_env("LD_PRELOAD", shim);
        return;
    }
    size_t n = strlen(shim) + 1 + strlen(old) + 1;
    char *both = malloc(n);
    if (!both)
        fail("out of memory");
    snprintf(both, n, "%s:%s", shim, old);
    set_env("LD_PRELOAD", both);
    free(both);
}

static pid_t child;

/* Signals sent to the launcher by kill(2) go on to the program. Signals the
 * terminal sends (Ctrl-C, Ctrl-\) already reach the whole foreground
 * process group, the program included, so they are not sent twice. */
static void forward(int sig, siginfo_t *info, void *ctx)
{
    (void)ctx;
    if (child > 0 && info->si_code <= 0)
        kill(child, sig);
}

static void install_forwarding(void)
{
    static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
                               SIGALRM, SIGWINCH, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = forward;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}

/* Prints the trace directories listed in MANIFEST, and the command that
 * reads them. */
static void report_traces(const char *manifest)
{
    FILE *f = fopen(manifest, "re");
    if (!f)
        return;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        cwd[0] = '\0';
    size_t cwdlen = strlen(cwd);
    char line[PATH_MAX + 2];
    char *dirs[64];
    int count = 0, more = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!line[0])
            continue;
        const char *shown = line;
        if (cwdlen > 1 && strncmp(line, cwd, cwdlen) == 0 && line[cwdlen] == '/')
            shown = line + cwdlen + 1;
        if (count < (int)(sizeof dirs / sizeof dirs[0]))
            dirs[count++] = strdup(shown);
        else
            more++;
    }
    fclose(f);
    if (count == 0) {
        fprintf(stderr, "%s: the program wrote no trace (see the mtrace: warnings above, if any)\n",
                self_name);
        return;
    }
    fprintf(stderr, "%s: %d trace%s written:", self_name, count + more, count + more == 1 ? "" : "s");
    for (int i = 0; i < count; i++)
        fprintf(stderr, " %s", dirs[i] ? dirs[i] : "?");
    if (more)
        fprintf(stderr, " (and %d more)", more);
    fprintf(stderr, "\n%s: read with: mtrace-analyze top", self_name);
    for (int i = 0; i < count; i++) {
        fprintf(stderr, " %s", dirs[i] ? dirs[i] : "?");
        free(dirs[i]);
    }
    fputc('\n', stderr);
}

int main(int argc, char **argv)
{
    enum { OPT_DEPTH = 256, OPT_NO_FOLLOW, OPT_VERSION };
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"sample", required_argument, NULL, 's'},
        {"depth", required_argument, NULL, OPT_DEPTH},
        {"no-follow-fork", no_argument, NULL, OPT_NO_FOLLOW},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    int quiet = 0, opt;
    /* '+': stop at the program's name, so its own options stay its own. */
    while ((opt = getopt_long(argc, argv, "+o:s:qh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'o': set_env("MTRACE_OUT", optarg); break;
        case 's': set_env("MTRACE_SAMPLE", optarg); break;
        case OPT_DEPTH: set_env("MTRACE_DEPTH", optarg); break;
        case OPT_NO_FOLLOW: set_env("MTRACE_FOLLOW_FORK", "0"); break;
        case 'q': quiet = 1; set_env("MTRACE_QUIET", "1"); break;
        case 'h': fputs(usage, stdout); return 0;
        case OPT_VERSION: printf("mtrace-record %s\n", MTRACE_VERSION); return 0;
        default: fprintf(stderr, "%s: try 'mtrace-record --help'\n", self_name); return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "%s: no program to run; usage: mtrace-record [options] [--] PROGRAM [ARGS...]\n",
                self_name);
        return 2;
    }
    const char *prog = argv[optind];

    char path[PATH_MAX];
    int err = find_program(prog, path, sizeof path);
    if (err == ENOENT)
        fail("%s: command not found", prog);
    if (err)
        fail("%s: %s", prog, strerror(err));
    struct stat st;
    if (stat(path, &st) != 0)
        fail("%s: %s", path, strerror(errno));
    if (st.st_mode & (S_ISUID | S_ISGID))
        fail("%s is set%cid: the dynamic loader ignores LD_PRELOAD for it, so mtrace cannot trace it",
             path, (st.st_mode & S_ISUID) ? 'u' : 'g');
    if (has_interp(path) == 0)
        fail("%s is statically linked (no PT_INTERP): a preloaded shim cannot see its allocations",
             path);

    char shim[PATH_MAX];
    if (find_shim(shim, sizeof shim) < 0)
        fail("cannot find libmtrace.so next to this launcher (looked in ../preload and ../%s); "
             "is mtrace installed completely?", MTRACE_LIBDIR);
    prepend_preload(shim);

    /* Without a manifest the program still runs; only the list at the end is lost. */
    const char *tmpdir = getenv("TMPDIR");
    char manifest[PATH_MAX];
    snprintf(manifest, sizeof manifest, "%s/mtrace-record.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int mfd = mkstemp(manifest);
    if (mfd >= 0) {
        close(mfd);
        set_env("MTRACE_MANIFEST", manifest);
    }

    install_forwarding();
    child = fork();
    if (child < 0)
        fail("cannot fork: %s", strerror(errno));
    if (child == 0) {
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int s = 1; s < NSIG; s++)
            sigaction(s, &dfl, NULL);
        execv(path, argv + optind);
        fprintf(stderr, "%s: cannot run %s: %s\n", self_name, path, strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }

    int status;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR)
            fail("waitpid: %s", strerror(errno));
    }
    if (mfd >= 0) {
        if (!quiet)
            report_traces(manifest);
        unlink(manifest);
    }
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
