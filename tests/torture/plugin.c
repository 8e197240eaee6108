/* plugin.c - the shared library t-dlopen loads and unloads: it allocates in
 * its constructor, in its one function and frees in its destructor. */
#include <stdlib.h>
#include <string.h>

static char *state;

__attribute__((constructor)) static void plugin_init(void)
{
    state = malloc(1000);
    if (state)
        memset(state, 1, 1000);
}

__attribute__((destructor)) static void plugin_fini(void)
{
    free(state);
    state = NULL;
}

__attribute__((visibility("default"))) unsigned long plugin_work(unsigned n)
{
    unsigned long sum = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned char *p = malloc(16 + i);
        if (!p)
            return 0;
        memset(p, (int)i, 16 + i);
        sum += p[i] + (state ? (unsigned char)state[i % 1000] : 0);
        free(p);
    }
    return sum;
}
