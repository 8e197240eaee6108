// unwind-shapes.cc - C++ call shapes for test-unwind.c: captures on the way
// down to a throw, in destructors that run while the exception unwinds the
// frames, in the catch block, and after new frames reuse the unwound stack.
#include <stdexcept>

extern "C" {
typedef void (*mt_test_check_fn)(void);
int mt_test_cxx_throw(int depth, int throw_at, mt_test_check_fn check);
}

namespace {

volatile int sink;

struct capture_on_unwind {
    mt_test_check_fn check;
    ~capture_on_unwind() { check(); }
};

__attribute__((noinline)) int descend(int depth, int throw_at, mt_test_check_fn check)
{
    capture_on_unwind guard{check};
    check();
    if (depth == throw_at)
        throw std::runtime_error("unwind test");
    int r = depth > 0 ? descend(depth - 1, throw_at, check) : 0;
    sink = sink + 1;
    return r + 1;
}

__attribute__((noinline)) int rethrow_between(int depth, int throw_at, mt_test_check_fn check)
{
    try {
        return descend(depth, throw_at, check);
    } catch (const std::runtime_error &) {
        check();
        throw;
    }
}

} // namespace

// Descends DEPTH frames capturing in each, throws at depth THROW_AT (none
// when negative), rethrows it once on the way out, catches it at the top,
// and captures in the catch block and after it. Returns -1 when it caught.
int mt_test_cxx_throw(int depth, int throw_at, mt_test_check_fn check)
{
    try {
        return rethrow_between(depth, throw_at, check);
    } catch (const std::exception &) {
        check();
    }
    check();
    return -1;
}
