/* modules.c - the module map: which object was mapped where, and when, so
 * that every event's program counters are symbolized offline with the
 * object that was mapped there at that event's time.
 *
 * A scan (dl_iterate_phdr) runs every writer tick and, synchronously, in the
 * dlopen, dlmopen and dlclose hooks (hooks_dl.c) right before the loader
 * changes the map and right after dlclose. A module a scan finds new was
 * loaded after the previous scan: first_ts = that scan's time. One it finds
 * gone was unloaded before now: last_ts = now. So every event of a module
 * lies in [first_ts, last_ts), and a record is captured while the object is
 * still mapped (path, build id), even if it is loaded and unloaded between
 * two ticks. The writer publishes changed records each tick and then forgets
 * the unloaded ones, so the table holds what is loaded.
 *
 * Locking: map_lock is taken inside the dl_iterate_phdr callback, so it
 * always nests inside the loader's lock and is never held while calling the
 * loader: no lock-order cycle with a program's own dl_iterate_phdr callbacks
 * or with the writer. Records live in memory of the real allocator, used
 * with the recursion guard set (mt__enter).
 */
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

typedef struct known_module {
    mt_module_t rec;
    int seen;               /* in the current scan */
    int fresh;              /* current scan: 1 added, 2 found gone */
    uint64_t gen;           /* bumped on every change of rec */
    uint64_t put_gen;       /* gen put in the open tick */
    uint64_t committed_gen; /* gen in the trace */
} known_module_t;

static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static known_module_t *modules;
static size_t nmodules, cap_modules;
static unsigned long long last_adds = ~0ull, last_subs = ~0ull;
static uint64_t last_scan_ts;  /* 0: no scan yet, everything found was there at the start */
static int last_scan_hooked;   /* the last scan ran in a dlopen/dlclose hook */
static uint64_t next_module_seq;
static char exe_path[4096];    /* under map_lock */

void mt__modules_reset(void)
{
    /* Fork child: the records belong to the parent's trace; write them anew.
     * Another thread may have held the lock or been in realloc at the fork:
     * start from nothing (the old array, if any, is left alone). */
    pthread_mutex_init(&map_lock, NULL);
    modules = NULL;
    nmodules = cap_modules = 0;
    last_adds = last_subs = ~0ull;
    last_scan_ts = 0;
    last_scan_hooked = 0;
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
    uint64_t now;
    int hooked;
    int state; /* 0 before the first object, 1 full scan, -1 loader counters unchanged */
} scan_t;

/* The loaded module PATH at BASE, or a new zeroed slot (*ADDED set); NULL
 * when out of memory. */
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

static void begin_scan(scan_t *s, struct dl_phdr_info *info, size_t size)
{
    pthread_mutex_lock(&map_lock);
    s->now = mt__now(); /* under the loader's lock: the map is as seen at NOW */
    int counted = size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs;
    if (counted && info->dlpi_adds == last_adds && info->dlpi_subs == last_subs) {
        s->state = -1;
        return;
    }
    last_adds = counted ? info->dlpi_adds : ~0ull;
    last_subs = counted ? info->dlpi_subs : ~0ull;
    s->state = 1;
    for (size_t i = 0; i < nmodules; i++)
        modules[i].seen = modules[i].fresh = 0;
}

static int scan_object(struct dl_phdr_info *info, size_t size, void *data)
{
    scan_t *s = data;
    if (s->state == 0)
        begin_scan(s, info, size);
    if (s->state < 0)
        return 1;
    const char *path = info->dlpi_name;
    if (!path || !path[0]) { /* the program: read its name once (exec starts anew) */
        if (!exe_path[0]) {
            ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
            exe_path[n > 0 ? n : 0] = '\0';
        }
        path = exe_path;
    }
    int added = 0;
    known_module_t *k = find_or_add(path, info->dlpi_addr, &added);
    if (!k)
        return 0;
    k->seen = 1;
    if (!added)
        return 0;
    k->fresh = 1;
    k->gen = 1;
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
    /* Loaded after the previous scan (or before the trace began). */
    m->first_ts = last_scan_ts;
    m->flags = last_scan_ts == 0 ? MT_MODULE_AT_START
                                 : last_scan_hooked ? MT_MODULE_LOAD_HOOKED : 0;
    snprintf(m->path, sizeof m->path, "%s", path);
    read_build_id(info, m);
    return 0;
}

/* After the objects of a full scan: what was not seen is gone. A new module
 * over the range of one that went in this same scan was loaded after that
 * one went. (One gone in an earlier scan has last_ts <= the previous scan's
 * time, the new one's first_ts already.) */
static void end_scan(scan_t *s)
{
    for (size_t i = 0; i < nmodules; i++) {
        mt_module_t *m = &modules[i].rec;
        modules[i].fresh |= 2 * (!modules[i].seen && m->last_ts == 0); /* 2: gone now */
        if (modules[i].fresh & 2) {
            m->last_ts = s->now > m->first_ts ? s->now : m->first_ts + 1;
            m->flags |= s->hooked ? MT_MODULE_UNLOAD_HOOKED : 0;
            modules[i].gen++;
        }
    }
    for (size_t i = 0; i < nmodules; i++) {
        mt_module_t *m = &modules[i].rec;
        if (!(modules[i].fresh & 1))
            continue;
        for (size_t j = 0; j < nmodules; j++) {
            const mt_module_t *o = &modules[j].rec;
            if ((modules[j].fresh & 2) && o->lo < m->hi && m->lo < o->hi &&
                o->last_ts > m->first_ts)
                m->first_ts = o->last_ts;
        }
    }
}

void mt__modules_scan(int hooked)
{
    scan_t s = {0, hooked, 0};
    dl_iterate_phdr(scan_object, &s);
    if (s.state == 0) /* no object at all: nothing was locked */
        return;
    if (s.state > 0)
        end_scan(&s);
    last_scan_ts = s.now;
    last_scan_hooked = hooked;
    pthread_mutex_unlock(&map_lock);
}

int mt__modules_put(mt_writer_t *w)
{
    int rc = 0;
    pthread_mutex_lock(&map_lock);
    for (size_t i = 0; i < nmodules && !rc; i++) {
        known_module_t *k = &modules[i];
        if (k->gen == k->committed_gen)
            continue;
        rc = mt_writer_put_module(w, &k->rec);
        k->put_gen = k->gen;
    }
    pthread_mutex_unlock(&map_lock);
    return rc;
}

void mt__modules_committed(void)
{
    pthread_mutex_lock(&map_lock);
    size_t k = 0;
    for (size_t i = 0; i < nmodules; i++) {
        known_module_t *m = &modules[i];
        if (m->put_gen > m->committed_gen)
            m->committed_gen = m->put_gen;
        /* Unloaded and in the trace: no scan needs it any more. */
        if (m->rec.last_ts && m->committed_gen == m->gen)
            continue;
        if (k != i)
            modules[k] = *m;
        k++;
    }
    nmodules = k;
    pthread_mutex_unlock(&map_lock);
}
