/* flame.c - a small call tree with exactly known allocations, the fixture of
 * the flame-graph tests (tests/e2e/test-flame.c asserts these, keep in sync):
 *
 *   main -> load_config -> read_line     4 x malloc(256)  = 1024 bytes (freed)
 *   main -> build_index -> add_entry     8 x malloc(512)  = 4096 bytes per round (kept)
 *           add_entry -> entry_key       8 x malloc(32)   =  256 bytes per round (kept;
 *                                        entry_key is inlined into add_entry)
 *   main -> serve -> handle_request -> make_buffer
 *                                       16 x malloc(1024) = 16384 bytes (freed)
 *
 * build_index runs one round, or two with "flame double": then add_entry
 * allocates 8192 bytes in 16 calls and entry_key 512 in 16, the only stacks
 * that change (the differential flame graph's test). All in one round:
 * 36 calls, 21760 bytes; live at the end 4352 bytes in 16 blocks.
 */
#include <stdlib.h>
#include <string.h>

#include "example.h"

#define MAX_ENTRIES 16

static void *entries[2 * MAX_ENTRIES];
static int nentries;

__attribute__((noinline)) static char *read_line(void)
{
    char *line = malloc(256);
    mt_example_keep(line);
    return line;
}

__attribute__((noinline)) static int load_config(void)
{
    for (int i = 0; i < 4; i++) {
        char *line = read_line();
        if (line == NULL)
            return -1;
        free(line);
    }
    return 0;
}

/* Always inlined: its malloc shows as an inlined frame below add_entry. */
static inline __attribute__((always_inline)) void *entry_key(void)
{
    void *key = malloc(32);
    mt_example_keep(key);
    return key;
}

__attribute__((noinline)) static int add_entry(void)
{
    void *entry = malloc(512);
    mt_example_keep(entry);
    void *key = entry_key();
    if (entry == NULL || key == NULL)
        return -1;
    entries[nentries++] = entry;
    entries[nentries++] = key;
    return 0;
}

__attribute__((noinline)) static int build_index(int rounds)
{
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < 8; i++)
            if (add_entry() != 0)
                return -1;
    return 0;
}

__attribute__((noinline)) static char *make_buffer(void)
{
    char *buf = malloc(1024);
    mt_example_keep(buf);
    return buf;
}

__attribute__((noinline)) static int handle_request(void)
{
    char *buf = make_buffer();
    if (buf == NULL)
        return -1;
    free(buf);
    return 0;
}

__attribute__((noinline)) static int serve(void)
{
    for (int i = 0; i < 16; i++)
        if (handle_request() != 0)
            return -1;
    return 0;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 && strcmp(argv[1], "double") == 0 ? 2 : 1;
    if (load_config() != 0 || build_index(rounds) != 0 || serve() != 0) {
        mt_example_say("flame: out of memory\n");
        return 1;
    }
    return mt_example_say(rounds == 2 ? "flame: index built twice\n" : "flame: done\n") == 0
               ? 0
               : 1;
}
