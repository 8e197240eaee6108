/* lines.h - lines.c: source lines from unit line tables decoded once (a
 * header of its own: its types are libdw's). */
#ifndef MT_ANALYZE_LINES_H
#define MT_ANALYZE_LINES_H
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct mt_lines mt_lines_t; /* the decoded line tables of one module */

mt_lines_t *mt_lines_new(void);
void mt_lines_free(mt_lines_t *x);
/* What dwfl_module_getsrc then dwfl_lineinfo give for unit-relative address
 * A of unit CU (the unit dwfl_module_addrdie gives for it) of MOD: 1 with
 * *LINE and *FILE (NULL when the row's file is not in the table), 0 when no
 * row holds A, -1 when this file cannot tell: ask libdw. */
int mt_lines_get(mt_lines_t *x, Dwfl_Module *mod, Dwarf_Die *cu, Dwarf_Addr a, const char **file,
                 int *line);
/* What dwarf_getsrcfiles then dwarf_filesrc give for file IDX of unit CU
 * of MOD (a DW_AT_call_file): 1 with *FILE (NULL when IDX is not in the
 * table), -1 when this file cannot tell: ask libdw. */
int mt_lines_file(mt_lines_t *x, Dwfl_Module *mod, Dwarf_Die *cu, uint64_t idx, const char **file);
/* Units decoded here so far, and lookups left to libdw. */
void mt_lines_counts(const mt_lines_t *x, uint64_t *decoded, uint64_t *asked_libdw);
/* Tests: when set, every answer is libdw's own (the reference). */
extern bool mt__lines_libdw_only;
#endif
