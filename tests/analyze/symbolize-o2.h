/* symbolize-o2.h - the optimised fixture code of test-symbolize.c. */
#ifndef MT_TEST_SYMBOLIZE_O2_H
#define MT_TEST_SYMBOLIZE_O2_H
#include <stdint.h>

extern const int o2_level3_line, o2_level2_line, o2_level1_line, o2_chain_line;
/* The return address of a call inlined three levels deep into o2_chain. */
uint64_t o2_chain(uint64_t n);
/* The return address of a call from assembly code without debug info. */
uint64_t o2_no_debug(void);
/* Offset of o2_no_debug's return address from its start. */
#if defined(__x86_64__)
#define O2_NO_DEBUG_RETURN 9
#else
#define O2_NO_DEBUG_RETURN 8
#endif
uint64_t o2_return_address(void);
#endif
