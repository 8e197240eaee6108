/* unwind-lib.c - built twice for test-unwind.c (libunwind-lib-a.so with a
 * 4 KiB frame, libunwind-lib-b.so with an 8 KiB one): the same code and
 * size, so that B, opened after A was closed, is mapped where A was, and
 * unwind_lib_call's return address has the same value with another rule. */
#ifndef FRAME
#error "FRAME (the frame's size in bytes) must be defined"
#endif

__attribute__((visibility("default"), noinline)) void unwind_lib_call(void (*fn)(void))
{
    volatile char frame[FRAME];
    frame[0] = 1;
    fn();
    frame[1] = frame[0];
}
