/* debugfile.h - debugfile.c: separate debug files handed to libdwfl with
 * their sections inflated (a header of its own: its types are libdwfl's). */
#ifndef MT_ANALYZE_DEBUGFILE_H
#define MT_ANALYZE_DEBUGFILE_H
#include <elfutils/libdwfl.h>
#include <stdbool.h>

/* A Dwfl_Callbacks find_debuginfo: dwfl_standard_find_debuginfo's file,
 * as a memory file with its compressed sections inflated when it has any. */
int mt_debugfile_find(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                      const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                      char **debuginfo_file_name);
/* Debug files handed over inflated so far. */
unsigned long mt_debugfile_inflated(void);
/* Tests: when set, the standard search alone (libdw inflates). */
extern bool mt__debugfile_standard_only;
#endif
