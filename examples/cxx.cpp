/* cxx.cpp - C++ allocation through operator new/delete and the standard library.
 *
 * Exact totals with libstdc++ (vector doubles from 1; string keeps 15 chars
 * inline, so a 100-char string allocates 101 bytes):
 *   operator new    20 calls  1329 bytes  (leaked Node 48, 10 x Small 16,
 *                                          vector 4+8+...+512 = 1020 in 8, string 101)
 *   operator new[]   1 call    400 bytes  (int[100])
 *   all             21 calls  1729 bytes
 *   delete / delete[] 20 calls            (10 Small, 8 vector, 1 string, 1 int[])
 *   leaked           1 block    48 bytes  (Node)
 * libstdc++ allocates its exception emergency pool with malloc at load time;
 * "cxx baseline" skips main's work so a test can subtract that.
 */
#include <cstdlib>
#include <string>
#include <vector>

#include "example.h"

struct Node {
    Node *next;
    long payload[5];
};
static_assert(sizeof(Node) == 48, "Node must be 48 bytes");

struct Small {
    long a, b;
};
static_assert(sizeof(Small) == 16, "Small must be 16 bytes");

static Node *leaked;

__attribute__((noinline)) static void leak_node()
{
    leaked = new Node();
    mt_example_keep(leaked);
}

__attribute__((noinline)) static void smalls()
{
    for (int i = 0; i < 10; i++) {
        Small *s = new Small{i, i};
        mt_example_keep(s);
        delete s;
    }
}

__attribute__((noinline)) static void array()
{
    int *a = new int[100];
    mt_example_keep(a);
    delete[] a;
}

__attribute__((noinline)) static int vector_growth()
{
    std::vector<int> v;
    for (int i = 0; i < 100; i++)
        v.push_back(i);
    mt_example_keep(v.data());
    return v.capacity() == 128 ? 0 : -1;
}

__attribute__((noinline)) static int string()
{
    std::string s(100, 'x');
    mt_example_keep(&s[0]);
    return s.capacity() == 100 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (mt_example_baseline(argc, argv))
        return mt_example_say("cxx: baseline\n") == 0 ? 0 : 1;
    leak_node();
    smalls();
    array();
    if (vector_growth() != 0 || string() != 0)
        return mt_example_say("cxx: unexpected libstdc++ growth policy\n"), 1;
    return mt_example_say("cxx: leaked 48 bytes in 1 block\n") == 0 ? 0 : 1;
}
