/* t-reuse - a library dlopen'ed, leaking and dlclose'd within a millisecond,
 * then another library of the same size loaded at the same address, which
 * leaks too. usage: t-reuse DIR (the directory of libreuse-*.so)
 *
 * A (libreuse-a.so) is opened by path; B (libreuse-b.so) by its bare name
 * through libreuse-loader.so, whose RUNPATH is $ORIGIN. Both leak through
 * the same call site here, so the two leaks have the same program counters.
 * Prints "A leaked 111, B leaked 222, same base 1"; exits 0.
 *
 * usage: t-reuse DIR N: N rounds, each inside a dl_iterate_phdr callback
 * (the loader's lock held), of dlopen, leak and dlclose of A (even rounds)
 * or B (odd ones). Prints "N rounds, A leaked X, B leaked Y"; exits 0. */
#include <dlfcn.h>
#include <link.h>

#include "torture.h"

static uintptr_t base_of(void *h)
{
    struct link_map *lm = NULL;
    CHECK(dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm, "dlinfo: %s", dlerror());
    return (uintptr_t)lm->l_addr;
}

static const char *dir;

/* One round in the callback: dlopen, leak and dlclose of A or B. */
static int round_in_callback(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)info, (void)size;
    int i = *(int *)data;
    char path[4096], sym[32];
    snprintf(path, sizeof path, "%s/libreuse-%s.so", dir, i & 1 ? "b" : "a");
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CHECK(h, "dlopen: %s", dlerror());
    snprintf(sym, sizeof sym, "reuse_leak_%s", i & 1 ? "b" : "a");
    int (*leak)(size_t) = (int (*)(size_t))dlsym(h, sym);
    CHECK(leak, "dlsym: %s", dlerror());
    CHECK(leak(i & 1 ? 222 : 111), "malloc failed");
    CHECK(dlclose(h) == 0, "dlclose: %s", dlerror());
    return 1; /* once per dl_iterate_phdr */
}

int main(int argc, char **argv)
{
    CHECK(argc > 1, "usage: t-reuse DIR [N]");
    dir = argv[1];
    if (argc > 2) {
        int n = atoi(argv[2]);
        for (int i = 0; i < n; i++)
            dl_iterate_phdr(round_in_callback, &i);
        printf("%d rounds, A leaked %d, B leaked %d\n", n, (n + 1) / 2 * 111, n / 2 * 222);
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/libreuse-loader.so", argv[1]);
    void *loader = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CHECK(loader, "dlopen: %s", dlerror());
    void *(*open_sibling)(const char *) =
        (void *(*)(const char *))dlsym(loader, "reuse_loader_open");
    CHECK(open_sibling, "dlsym: %s", dlerror());

    static const char *const names[2] = {"a", "b"};
    static const size_t sizes[2] = {111, 222};
    uintptr_t base[2];
    for (int i = 0; i < 2; i++) {
        void *h;
        if (i == 0) {
            snprintf(path, sizeof path, "%s/libreuse-a.so", argv[1]);
            h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        } else {
            h = open_sibling("libreuse-b.so");
        }
        CHECK(h, "dlopen %s: %s", names[i], dlerror());
        char sym[32];
        snprintf(sym, sizeof sym, "reuse_leak_%s", names[i]);
        int (*leak)(size_t) = (int (*)(size_t))dlsym(h, sym);
        CHECK(leak, "dlsym: %s", dlerror());
        base[i] = base_of(h);
        CHECK(leak(sizes[i]), "malloc failed");
        if (i == 0) /* within microseconds of the dlopen: no tick in between */
            CHECK(dlclose(h) == 0, "dlclose: %s", dlerror());
    }
    printf("A leaked %zu, B leaked %zu, same base %d\n", sizes[0], sizes[1], base[0] == base[1]);
    return 0;
}
