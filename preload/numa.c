/* numa.c - the machine's NUMA topology, from libnuma at start: which node
 * each CPU belongs to (the table the hot path reads, no syscall), and the
 * nodes, their CPUs, memory and distances for the trace's meta.
 *
 * libnuma is loaded with dlopen from mtrace's constructor, inside the
 * recursion guard, so its own constructor's allocations are not counted as
 * the program's; only function pointers from dlsym are kept. Without it (not
 * installed, or no NUMA support) every CPU is on node 0, which is the truth
 * on such a machine, with one warning, and the topology is one node.
 */
#include <dlfcn.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "internal.h"

#define MAX_CPUS 4096

static int16_t node_of_cpu[MAX_CPUS];
static mt_topology_t topology; /* built once by mt__numa_setup */

typedef struct numa_api {
    int (*available)(void);
    int (*num_configured_cpus)(void);
    int (*node_of_cpu)(int);
    int (*max_node)(void);
    long long (*node_size64)(int, long long *);
    int (*distance)(int, int);
} numa_api_t;

static int load_libnuma(numa_api_t *api)
{
    void *lib = dlopen("libnuma.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return -1;
    *(void **)&api->available = dlsym(lib, "numa_available");
    *(void **)&api->num_configured_cpus = dlsym(lib, "numa_num_configured_cpus");
    *(void **)&api->node_of_cpu = dlsym(lib, "numa_node_of_cpu");
    *(void **)&api->max_node = dlsym(lib, "numa_max_node");
    *(void **)&api->node_size64 = dlsym(lib, "numa_node_size64");
    *(void **)&api->distance = dlsym(lib, "numa_distance");
    if (!api->available || !api->num_configured_cpus || !api->node_of_cpu)
        return -1;
    return 0;
}

/* One node 0 holding every CPU and all memory: a machine without NUMA. */
static void single_node(int cpus)
{
    mt_topology_t *t = &topology;
    memset(t, 0, sizeof *t);
    if (cpus > MT_TOPOLOGY_MAX_CPUS)
        cpus = MT_TOPOLOGY_MAX_CPUS;
    t->nnodes = 1;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    t->memory[0] = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
    for (int c = 0; c < cpus; c++)
        t->cpu[c] = (uint16_t)c;
    t->cpu_start[1] = (uint32_t)(cpus > 0 ? cpus : 0);
    t->distance[0][0] = 10;
}

/* Nodes 0..max_node that exist (have memory or CPUs), in id order. */
static void build_topology(const numa_api_t *api, int cpus)
{
    mt_topology_t *t = &topology;
    memset(t, 0, sizeof *t);
    int max = api->max_node ? api->max_node() : 0;
    uint32_t ncpu = 0;
    for (int node = 0; node <= max && t->nnodes < MT_TOPOLOGY_MAX_NODES && node <= UINT16_MAX;
         node++) {
        long long size = api->node_size64 ? api->node_size64(node, NULL) : -1;
        uint32_t first = ncpu;
        for (int cpu = 0; cpu < cpus && ncpu < MT_TOPOLOGY_MAX_CPUS; cpu++)
            if (node_of_cpu[cpu] == node)
                t->cpu[ncpu++] = (uint16_t)cpu;
        if (size < 0 && ncpu == first)
            continue; /* no such node */
        uint32_t i = t->nnodes++;
        t->node[i] = (uint16_t)node;
        t->memory[i] = size > 0 ? (uint64_t)size : 0;
        t->cpu_start[i + 1] = ncpu;
    }
    for (uint32_t i = 0; i < t->nnodes; i++)
        for (uint32_t j = 0; j < t->nnodes; j++) {
            int d = api->distance ? api->distance(t->node[i], t->node[j]) : 0;
            t->distance[i][j] = (uint8_t)(d > 0 && d < 256 ? d : 0);
        }
    if (t->nnodes == 0)
        single_node(cpus);
}

void mt__numa_setup(void)
{
    numa_api_t api;
    int cpus = get_nprocs_conf();
    if (cpus > MAX_CPUS)
        cpus = MAX_CPUS;
    if (load_libnuma(&api) < 0) {
        mt__warn_once(MT__WARN_NUMA, "libnuma.so.1 is not available; NUMA nodes are reported "
                      "as node 0");
        single_node(cpus);
        return;
    }
    if (api.available() < 0) {
        single_node(cpus); /* no NUMA support in the kernel: one node, the table stays all 0 */
        return;
    }
    cpus = api.num_configured_cpus();
    if (cpus > MAX_CPUS) {
        mt__warn_once(MT__WARN_NUMA, "%d CPUs; node lookup covers the first %d", cpus, MAX_CPUS);
        cpus = MAX_CPUS;
    }
    for (int cpu = 0; cpu < cpus; cpu++) {
        int node = api.node_of_cpu(cpu);
        node_of_cpu[cpu] = (int16_t)(node < 0 ? MT_NODE_UNKNOWN : node);
    }
    build_topology(&api, cpus);
}

int16_t mt__node_of_cpu(int cpu)
{
    if (cpu < 0 || cpu >= MAX_CPUS)
        return MT_NODE_UNKNOWN;
    return node_of_cpu[cpu];
}

int mt__numa_write_meta(mt_writer_t *w)
{
    static uint8_t buf[MT_TOPOLOGY_MAX_ENCODED];
    if (topology.nnodes == 0)
        return 0; /* mt__numa_setup did not run (shim off): nothing known */
    size_t len = mt_topology_encode(&topology, buf, sizeof buf);
    return len ? mt_writer_put_meta(w, MT_META_TOPOLOGY, buf, len) : 0;
}
