/* scopes.h - scopes.c: the DWARF scopes holding an address, indexed per
 * compilation unit (a header of its own: its types are libdw's). */
#ifndef MT_ANALYZE_SCOPES_H
#define MT_ANALYZE_SCOPES_H
#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct mt_scopes mt_scopes_t; /* the index of one Dwarf's units */

mt_scopes_t *mt_scopes_new(void);
void mt_scopes_free(mt_scopes_t *x);
/* The scopes of unit CU that hold PC (unit-relative), as libdw gives them:
 * dwarf_getscopes, then, when the innermost function-like scope (at
 * *FIRST) is an inlined instance, dwarf_getscopes_die on it, so that the
 * scopes from *FIRST on are the physical chain out to the unit. Returns how
 * many (*SCOPES malloc'd, the caller frees it), 0 when none, -1 on error;
 * *FIRST >= the count when no scope is function-like. */
int mt_scopes_get(mt_scopes_t *x, Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die **scopes, int *first);
/* 1 when CU has a subprogram with code (a C or C++ unit, not one assembled
 * from a .S file, whose line table is all it describes); else 0. */
int mt_scopes_has_functions(mt_scopes_t *x, Dwarf_Die *cu);
/* Work done so far: DIEs read into the index, and walks left to libdw. */
void mt_scopes_counts(const mt_scopes_t *x, uint64_t *dies_read, uint64_t *libdw_walks);
/* How many abbreviations were asked of libdw whether they have pc ranges. */
uint64_t mt_scopes_abbrevs_probed(const mt_scopes_t *x);
/* How many steps to a DIE's sibling were left to libdw (dwarf_siblingof). */
uint64_t mt_scopes_libdw_siblings(const mt_scopes_t *x);
/* Tests: when set, every answer is libdw's own (the reference). */
extern bool mt__scopes_libdw_only;
#endif
