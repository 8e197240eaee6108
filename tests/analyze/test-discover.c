/* test-discover.c - which traces a report reads when given none
 * (analyze/discover.c): the newest run's root and all its descendants. */
#include <criterion/criterion.h>

#include "internal.h"

#define S 1000000000ull /* one second in ns */

/* Trace I of a fixture: pid, ppid, parent_pid, start (s), duration (s), ended, exec. */
#define T(pid_, ppid_, parent_, start_, dur_, ended_, exec_)                                   \
    {.path = NULL, .pid = (pid_), .ppid = (ppid_), .parent_pid = (parent_),                    \
     .start_ns = (start_) * S, .duration_ns = (dur_) * S, .ended = (ended_), .exec = (exec_)}

static void expect_chosen(const mt_found_trace_t *t, size_t n, const bool *want, size_t count)
{
    bool got[16];
    cr_assert_eq(mt_discover_pick(t, n, got), count);
    for (size_t i = 0; i < n; i++)
        cr_expect_eq(got[i], want[i], "trace %zu: chosen %d, want %d", i, got[i], want[i]);
}

Test(discover, newest_run_with_fork_exec_and_spawned_children)
{
    const mt_found_trace_t t[] = {
        T(100, 1, 0, 10, 5, true, false),  /* 0: an older run */
        T(200, 1, 0, 100, 10, true, false), /* 1: the newest run's root */
        T(201, 200, 200, 101, 1, true, true), /* 2: its fork child, which exec'd */
        T(201, 200, 0, 102, 1, true, false),  /* 3: the image 201 exec'd */
        T(202, 200, 0, 103, 1, true, false),  /* 4: posix_spawn'd by 200, fork untraced */
        T(203, 202, 0, 104, 1, true, false),  /* 5: a grandchild */
    };
    const bool want[] = {false, true, true, true, true, true};
    expect_chosen(t, 6, want, 5);
}

Test(discover, newest_trace_that_is_a_child_brings_its_whole_run)
{
    /* The exec'd image started last; its run's root started first. */
    const mt_found_trace_t t[] = {
        T(300, 1, 0, 50, 1, true, true),  /* 0: root, ended by exec */
        T(300, 1, 0, 51, 9, true, false), /* 1: the exec'd image, started last */
        T(400, 1, 0, 20, 1, true, false), /* 2: another, older run */
    };
    const bool want[] = {true, true, false};
    expect_chosen(t, 3, want, 2);
}

Test(discover, a_reused_pid_of_an_older_run_is_not_a_child)
{
    const mt_found_trace_t t[] = {
        T(500, 1, 0, 10, 1, true, false),    /* 0: older run, ended at 11 s */
        T(501, 500, 0, 60, 1, true, false),  /* 1: ppid 500, but began long after 500 ended */
        T(500, 1, 0, 100, 1, true, false),   /* 2: pid 500 again, not an exec (0 ended by exit) */
    };
    const bool want[] = {false, false, true};
    expect_chosen(t, 3, want, 1);
}

Test(discover, a_running_parent_keeps_late_children)
{
    const mt_found_trace_t t[] = {
        T(600, 1, 0, 10, 1, false, false),    /* 0: still running (or killed) */
        T(601, 600, 600, 500, 1, true, false), /* 1: forked long after its start */
    };
    const bool want[] = {true, true};
    expect_chosen(t, 2, want, 2);
}

Test(discover, nothing_to_choose)
{
    bool got[1];
    cr_expect_eq(mt_discover_pick(NULL, 0, got), 0);
}
