/* spin.c - allocates until killed: the fixture for the SIGKILL test.
 *
 * Rounds of 100 x (malloc(64 + i); free), one round per millisecond, so the
 * trace grows at a bounded rate. After the first round it writes "s" to
 * stdout, telling the test it has started allocating. An alarm ends it after
 * 60 s so a crashed test cannot leave it running forever.
 */
#include <stdlib.h>
#include <time.h>

#include "example.h"

int main(void)
{
    const struct timespec tick = {0, 1000000};
    alarm(60);
    for (unsigned long round = 0;; round++) {
        for (int i = 0; i < 100; i++) {
            void *p = malloc(64 + (size_t)i);
            mt_example_keep(p);
            free(p);
        }
        if (round == 0 && mt_example_say("s") != 0)
            return 1;
        nanosleep(&tick, NULL);
    }
}
