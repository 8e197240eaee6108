/* numa.c - which NUMA node each CPU belongs to, from libnuma at start.
 *
 * libnuma is loaded with dlopen from mtrace's constructor, inside the
 * recursion guard, so its own constructor's allocations are not counted as
 * the program's; without it (not installed, or no NUMA support) every CPU is
 * on node 0, which is the truth on such a machine, with one warning. The hot
 * path looks the node up in this table (no syscall).
 */
#include <dlfcn.h>

#include "internal.h"

#define MAX_CPUS 4096

static int16_t node_of_cpu[MAX_CPUS];

typedef struct numa_api {
    int (*available)(void);
    int (*num_configured_cpus)(void);
    int (*node_of_cpu)(int);
} numa_api_t;

static int load_libnuma(numa_api_t *api)
{
    void *lib = dlopen("libnuma.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return -1;
    *(void **)&api->available = dlsym(lib, "numa_available");
    *(void **)&api->num_configured_cpus = dlsym(lib, "numa_num_configured_cpus");
    *(void **)&api->node_of_cpu = dlsym(lib, "numa_node_of_cpu");
    if (!api->available || !api->num_configured_cpus || !api->node_of_cpu)
        return -1;
    return 0;
}

void mt__numa_setup(void)
{
    numa_api_t api;
    if (load_libnuma(&api) < 0) {
        mt__warn_once(MT__WARN_NUMA, "libnuma.so.1 is not available; NUMA nodes are reported "
                      "as node 0");
        return;
    }
    if (api.available() < 0)
        return; /* no NUMA support in the kernel: one node, the table stays all 0 */
    int cpus = api.num_configured_cpus();
    if (cpus > MAX_CPUS) {
        mt__warn_once(MT__WARN_NUMA, "%d CPUs; node lookup covers the first %d", cpus, MAX_CPUS);
        cpus = MAX_CPUS;
    }
    for (int cpu = 0; cpu < cpus; cpu++) {
        int node = api.node_of_cpu(cpu);
        node_of_cpu[cpu] = (int16_t)(node < 0 ? MT_NODE_UNKNOWN : node);
    }
}

int16_t mt__node_of_cpu(int cpu)
{
    if (cpu < 0 || cpu >= MAX_CPUS)
        return MT_NODE_UNKNOWN;
    return node_of_cpu[cpu];
}
