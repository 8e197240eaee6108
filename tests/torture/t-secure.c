/* t-secure - says whether it runs in secure-execution mode (AT_SECURE:
 * setuid, setgid, file capabilities), whether libmtrace is mapped into it,
 * and allocates a little.
 * Prints "secure: AT_SECURE=N euid=E shim=loaded|absent"; exits 0. */
#include <sys/auxv.h>
#include <unistd.h>

#include "torture.h"

int main(void)
{
    char line[4096];
    int shim = 0;
    FILE *maps = fopen("/proc/self/maps", "r");
    while (maps && fgets(line, sizeof line, maps))
        if (strstr(line, "libmtrace"))
            shim = 1;
    if (maps)
        fclose(maps);
    churn(9, 1000);
    printf("secure: AT_SECURE=%lu euid=%u shim=%s\n", getauxval(AT_SECURE), (unsigned)geteuid(),
           shim ? "loaded" : "absent");
    return 0;
}
