/* test-sys.c - preload/sys.c is the shim's one door to raw system calls:
 * no other file under preload/ calls syscall() (the hooks of mremap, mbind,
 * set_mempolicy and migrate_pages used to, each with its own copy). Reads
 * the sources from MTRACE_SRCDIR, which meson sets. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Test(sys, only_sys_c_calls_syscall)
{
    const char *src = getenv("MTRACE_SRCDIR");
    cr_assert_not_null(src, "MTRACE_SRCDIR is not set: run the tests with `meson test`");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/preload", src);
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s", dir);
    int files = 0, in_sys = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 3 || strcmp(e->d_name + n - 2, ".c") != 0)
            continue;
        char path[8192], line[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        cr_assert_not_null(f, "%s", path);
        files++;
        for (int no = 1; fgets(line, sizeof line, f); no++) {
            const char *p = strstr(line, "syscall(");
            if (!p || (p > line && (p[-1] == '_' || p[-1] == '.')))
                continue;
            if (strcmp(e->d_name, "sys.c") == 0)
                in_sys++;
            else
                cr_expect(0, "preload/%s:%d calls syscall(); use preload/sys.c: %s", e->d_name,
                          no, line);
        }
        fclose(f);
    }
    closedir(d);
    cr_expect_geq(files, 20, "read only %d files in %s", files, dir);
    cr_expect_geq(in_sys, 9, "sys.c makes %d raw calls", in_sys);
}
