/* procinfo.c - facts about the process for the trace: metadata at start,
 * resident memory each tick, and the module map for offline symbolization.
 *
 * Runs on the writer thread only. The module map is re-read when the
 * loader's add/remove counters (dlpi_adds/dlpi_subs) change; a module that
 * disappears keeps its record with last_ts set.
 */
#include <elf.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static ssize_t read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    while (len < cap) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    return (ssize_t)len;
}

uint64_t mt__proc_rss(void)
{
    char buf[128];
    ssize_t n = read_file("/proc/self/statm", buf, sizeof buf - 1);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strchr(buf, ' ');
    return p ? strtoull(p + 1, NULL, 10) * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

/* Whether the calling thread is the only one left that can run: the main
 * thread has ended (pthread_exit leaves it a zombie, state Z, that still
 * counts in num_threads) and no other thread exists. The writer asks after
 * each tick; once true it stays true (nothing is left to create a thread). */
int mt__proc_only_caller_left(void)
{
    char buf[1024];
    ssize_t n = read_file("/proc/self/stat", buf, sizeof buf - 1);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
    if (!p || p[1] != ' ' || p[2] != 'Z')
        return 0;
    /* Field 3 is the state; num_threads is field 20. */
    p += 2;
    for (int field = 3; field < 20; field++) {
        p = strchr(p, ' ');
        if (!p)
            return 0;
        p++;
    }
    return strtol(p, NULL, 10) == 2; /* the zombie main thread and the caller */
}

int mt__proc_write_meta(mt_writer_t *w, pid_t parent_pid)
{
    char buf[8192];
    int rc = 0;
    const char *comm = program_invocation_short_name ? program_invocation_short_name : "";
    rc = rc ? rc : mt_writer_put_meta(w, MT_META_COMMAND, comm, strlen(comm));
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    rc = rc ? rc : mt_writer_put_meta(w, MT_META_EXE, buf, n > 0 ? (size_t)n : 0);
    n = read_file("/proc/self/cmdline", buf, sizeof buf);
    rc = rc ? rc : mt_writer_put_meta(w, MT_META_ARGV, buf, n > 0 ? (size_t)n : 0);
    struct timespec real, mono;
    clock_gettime(CLOCK_REALTIME, &real);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    uint64_t real_ns = (uint64_t)real.tv_sec * 1000000000u + (uint64_t)real.tv_nsec;
    uint64_t since_start = mt__now();
    rc = rc ? rc : mt_writer_put_meta_u64(w, MT_META_PID, (uint64_t)mt__pid);
    rc = rc ? rc : mt_writer_put_meta_u64(w, MT_META_PPID, (uint64_t)getppid());
    rc = rc ? rc : mt_writer_put_meta_u64(w, MT_META_START_REALTIME, real_ns - since_start);
    rc = rc ? rc : mt_writer_put_meta_u64(w, MT_META_SAMPLE_INTERVAL, mt__opt.sample);
    rc = rc ? rc : mt_writer_put_meta_u64(w, MT_META_PAGE_SIZE, (uint64_t)sysconf(_SC_PAGESIZE));
    rc = rc ? rc : mt_writer_put_meta_u64(w, MT_META_DEPTH, mt__opt.depth);
    rc = rc ? rc : mt_writer_put_meta_u64(w, MT_META_COMPLETE, 0);
    if (parent_pid)
        rc = rc ? rc : mt_writer_put_meta_u64(w, MT_META_PARENT_TRACE, (uint64_t)parent_pid);
    return rc;
}

/* ---- module map ---------------------------------------------------------- */

typedef struct known_module {
    mt_module_t rec;
    int seen; /* in the current scan */
} known_module_t;

static known_module_t *modules;
static size_t nmodules, cap_modules;
static unsigned long long last_adds = ~0ull, last_subs = ~0ull;
static uint64_t next_module_seq;

void mt__modules_reset(void)
{
    /* Fork child: the records belong to the parent's trace; write them anew. */
    nmodules = 0;
    last_adds = last_subs = ~0ull;
    next_module_seq = 0;
}

static void read_build_id(const struct dl_phdr_info *info, mt_module_t *m)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
        const char *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            const char *name = p + sizeof *nh;
            const char *desc = name + ((nh->n_namesz + 3) & ~3u);
            const char *next = desc + ((nh->n_descsz + 3) & ~3u);
            if (next > end)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
                m->build_id_len = nh->n_descsz < sizeof m->build_id ? nh->n_descsz
                                                                     : sizeof m->build_id;
                memcpy(m->build_id, desc, m->build_id_len);
                return;
            }
            p = next;
        }
    }
}

typedef struct scan {
    mt_writer_t *w;
    uint64_t now;
    int changed; /* -1: loader counters unchanged, stop */
    int rc;
} scan_t;

static known_module_t *find_or_add(const char *path, uint64_t base, int *added)
{
    for (size_t i = 0; i < nmodules; i++)
        if (modules[i].rec.base == base && modules[i].rec.last_ts == 0 &&
            strcmp(modules[i].rec.path, path) == 0)
            return &modules[i];
    if (nmodules == cap_modules) {
        size_t cap = cap_modules ? cap_modules * 2 : 64;
        known_module_t *grown = realloc(modules, cap * sizeof *grown);
        if (!grown)
            return NULL;
        modules = grown;
        cap_modules = cap;
    }
    known_module_t *k = &modules[nmodules++];
    memset(k, 0, sizeof *k);
    *added = 1;
    return k;
}

static int scan_object(struct dl_phdr_info *info, size_t size, void *data)
{
    scan_t *s = data;
    if (s->changed == 0) {
        if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs &&
            info->dlpi_adds == last_adds && info->dlpi_subs == last_subs) {
            s->changed = -1;
            return 1;
        }
        last_adds = info->dlpi_adds;
        last_subs = info->dlpi_subs;
        s->changed = 1;
    }
    char exe[4096];
    const char *path = info->dlpi_name;
    if (!path || !path[0]) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = '\0';
        path = exe;
    }
    int added = 0;
    known_module_t *k = find_or_add(path, info->dlpi_addr, &added);
    if (!k)
        return 0;
    k->seen = 1;
    if (!added)
        return 0;
    mt_module_t *m = &k->rec;
    m->seq = next_module_seq++;
    m->base = info->dlpi_addr;
    m->lo = UINT64_MAX;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uint64_t start = info->dlpi_addr + ph->p_vaddr;
        if (start < m->lo)
            m->lo = start;
        if (start + ph->p_memsz > m->hi)
            m->hi = start + ph->p_memsz;
    }
    if (m->lo == UINT64_MAX)
        m->lo = 0;
    m->first_ts = s->now;
    snprintf(m->path, sizeof m->path, "%s", path);
    read_build_id(info, m);
    if (!s->rc)
        s->rc = mt_writer_put_module(s->w, m);
    return 0;
}

int mt__modules_update(mt_writer_t *w, uint64_t now)
{
    for (size_t i = 0; i < nmodules; i++)
        modules[i].seen = 0;
    scan_t s = {w, now, 0, 0};
    dl_iterate_phdr(scan_object, &s);
    if (s.changed < 0)
        return 0;
    for (size_t i = 0; i < nmodules && !s.rc; i++) {
        mt_module_t *m = &modules[i].rec;
        if (!modules[i].seen && m->last_ts == 0) {
            m->last_ts = now;
            s.rc = mt_writer_put_module(w, m);
        }
    }
    return s.rc;
}
