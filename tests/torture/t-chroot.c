/* t-chroot - chdir around, then (when ROOT is not "-") chroot into ROOT and
 * write a file there, allocating all along.
 * usage: t-chroot ROOT
 * Prints "chroot: ok" (or "chroot: ok, no chroot"); writes ROOT/inside.txt
 * with "written inside the chroot\n"; exits 0, 3 on a failed call. */
#include <unistd.h>

#include "torture.h"

int main(int argc, char **argv)
{
    CHECK(argc > 1, "usage: t-chroot ROOT");
    uint64_t sum = churn(1, 2000);
    CHECK(chdir("/") == 0, "chdir /");
    sum += churn(2, 2000);
    CHECK(chdir("/tmp") == 0 || chdir("/") == 0, "chdir /tmp");
    sum += churn(3, 2000);
    int jailed = strcmp(argv[1], "-") != 0;
    if (jailed) {
        CHECK(chroot(argv[1]) == 0, "chroot %s", argv[1]);
        CHECK(chdir("/") == 0, "chdir / in the chroot");
        sum += churn(4, 5000);
        FILE *f = fopen("/inside.txt", "w");
        CHECK(f, "fopen /inside.txt");
        fputs("written inside the chroot\n", f);
        CHECK(fclose(f) == 0, "fclose");
        usleep(250000); /* a few of the shim's ticks inside the chroot */
        sum += churn(5, 2000);
    }
    printf("chroot: ok%s (sum %llu)\n", jailed ? "" : ", no chroot", (unsigned long long)sum);
    return 0;
}
