/* fixture.h - the known contents of the traces make-trace.c writes, shared
 * with the tests that check mtrace-analyze's output against them.
 */
#ifndef MT_TEST_FIXTURE_H
#define MT_TEST_FIXTURE_H

/* STR(FX_PID): a number as a string literal, to paste into expected output. */
#define STR_(x) #x
#define STR(x) STR_(x)

#define FX_PID 4242
#define FX_PPID 1
#define FX_COMMAND "fixture-srv"
#define FX_EXE "/usr/bin/fixture-srv"
#define FX_ARGV "fixture-srv\0--port\0six three\0" /* 3 strings */
#define FX_START_REALTIME_NS 1700000000000000000ull
#define FX_SAMPLE_INTERVAL 524288 /* 512 KiB */
#define FX_DURATION_NS 1500000000ull /* 1.5 s */
#define FX_PAGE_SIZE 4096

/* Entry-point counters: {calls, bytes}. */
#define FX_MALLOC_CALLS 45678
#define FX_MALLOC_BYTES 12897485 /* 12.3 MiB */
#define FX_CALLOC_CALLS 100
#define FX_CALLOC_BYTES 6400
#define FX_NEW_CALLS 7
#define FX_NEW_BYTES 700
#define FX_FREE_CALLS 45000
#define FX_DELETE_CALLS 5
#define FX_MMAP_CALLS 3
#define FX_MMAP_BYTES 3145728 /* 3 MiB */

#define FX_ALLOC_CALLS (FX_MALLOC_CALLS + FX_CALLOC_CALLS + FX_NEW_CALLS)
#define FX_ALLOC_BYTES (FX_MALLOC_BYTES + FX_CALLOC_BYTES + FX_NEW_BYTES)
#define FX_FREES (FX_FREE_CALLS + FX_DELETE_CALLS)

#define FX_EVENTS 123456
#define FX_BLOCKS 78
#define FX_BLOCK_BYTES 756168 /* 6.125 bytes/event, exact in binary */
#define FX_DROPPED 9
#define FX_STACKS 321

/* Threads: the main thread and two workers, one of which exited. The
 * second worker's name is not UTF-8, to check JSON escaping end to end. */
#define FX_THREADS 3
#define FX_TID0 4242
#define FX_TID1 4243
#define FX_TID2 4244

#define FX_TRUNCATED "map full at 64 GiB"

/* "title": a process title rewritten in place leaves empty strings. */
#define FX_TITLE_ARGV "redis-server *:6379\0\0\0\0\0\0\0\0"

/* "replay": stack 1 allocates 3 x 4096 (live), stack 2 2 x 100 (one freed
 * at once: temporary; one freed by thread 2), stack 3 16 bytes (live, no
 * module). One free of an unknown pointer. Exact counters match. */
#define FX_R_MODULE "/nonexistent/libfix.so"
#define FX_R_CALLS 6
#define FX_R_BYTES 12504
#define FX_R_PEAK 12404
#define FX_R_LIVE 12304

#endif
