/* reuse-loader.c - a library with RUNPATH $ORIGIN that dlopens a sibling
 * by its bare name: the loader resolves it only when it sees this library
 * as dlopen's caller (the shim's dlopen hook must not change that). */
#include <dlfcn.h>

void *reuse_loader_last;

__attribute__((visibility("default"))) void *reuse_loader_open(const char *name)
{
    /* Not a tail call: dlopen must see this library as its caller. */
    reuse_loader_last = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    return reuse_loader_last;
}
