/* t-closefds - a daemon's start: close every file descriptor, then create
 * and write its own files (which reuse the lowest numbers, possibly those
 * the shim's trace had) while another thread allocates.
 * usage: t-closefds DIR NFILES [FIRST]
 * Closes every descriptor from FIRST (default 0: stdin, stdout and stderr
 * too) up. Prints "closefds: start" before closing them. Then writes DIR/f<i>
 * (i < NFILES, 64 KiB each, byte j of file i is (i * 31 + j * 7) & 0xff)
 * with write(2), and DIR/s<i> (4000 bytes, the same pattern) through stdio
 * streams left open for exit() to flush. Exits 0, or 3..5 when its own
 * writes or read-backs fail. */
#include <fcntl.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "torture.h"

#define FILE_BYTES 65536
#define STREAM_BYTES 4000

static int stop;

static void *worker(void *arg)
{
    for (uint64_t i = (uint64_t)(uintptr_t)arg; !__atomic_load_n(&stop, __ATOMIC_ACQUIRE); i++)
        churn(i, 100);
    return NULL;
}

static unsigned char byte_of(int i, size_t j)
{
    return (unsigned char)((i * 31 + (int)j * 7) & 0xff);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *dir = argv[1];
    int nfiles = atoi(argv[2]);
    unsigned first = argc > 3 ? (unsigned)atoi(argv[3]) : 0;
    printf("closefds: start\n");
    fflush(stdout);
    pthread_t w;
    if (pthread_create(&w, NULL, worker, NULL) != 0)
        return 4;
    churn(1, 5000);

    /* Everything from FIRST up; with 0, stdin/stdout/stderr included. */
    if (syscall(SYS_close_range, first, ~0u, 0u) != 0)
        for (int fd = (int)first; fd < 65536; fd++)
            close(fd);

    int fds[64];
    char path[4096];
    unsigned char *buf = malloc(FILE_BYTES);
    if (!buf || nfiles > 64)
        _exit(4);
    for (int i = 0; i < nfiles; i++) {
        snprintf(path, sizeof path, "%s/f%d", dir, i);
        fds[i] = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
        if (fds[i] < 0)
            _exit(3);
    }
    /* Written in pieces, with allocations between them, over ~100 ms. */
    for (size_t off = 0; off < FILE_BYTES; off += 4096) {
        for (int i = 0; i < nfiles; i++) {
            for (size_t j = 0; j < 4096; j++)
                buf[j] = byte_of(i, off + j);
            if (pwrite(fds[i], buf, 4096, (off_t)off) != 4096)
                _exit(3);
        }
        churn(off, 200);
        usleep(5000);
    }
    FILE *streams[8];
    for (int i = 0; i < 8; i++) {
        snprintf(path, sizeof path, "%s/s%d", dir, i);
        streams[i] = fopen(path, "w");
        if (!streams[i])
            _exit(3);
        for (size_t j = 0; j < STREAM_BYTES; j++)
            fputc(byte_of(i, j), streams[i]); /* stays in the stream's buffer */
    }
    /* Read back what write(2) wrote, through the same descriptors' files. */
    for (int i = 0; i < nfiles; i++) {
        snprintf(path, sizeof path, "%s/f%d", dir, i);
        int fd = open(path, O_RDONLY);
        if (fd < 0 || pread(fd, buf, FILE_BYTES, 0) != FILE_BYTES)
            _exit(5);
        for (size_t j = 0; j < FILE_BYTES; j++)
            if (buf[j] != byte_of(i, j))
                _exit(5);
        close(fd);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    pthread_join(w, NULL);
    free(buf);
    return 0; /* exit() flushes the streams and closes every descriptor */
}
