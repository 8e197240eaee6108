/* entry_points.c - names and families of the exactly counted entry points,
 * generated from the MT_ENTRY_POINTS X-macro in format.h. The names are the
 * counter keys stored in traces: they must never change. */
#include "format.h"

const char *const mt_entry_point_names[MT_EP_COUNT] = {
#define MT__EP_NAME(id, name, family) [MT_EP_##id] = name,
    MT_ENTRY_POINTS(MT__EP_NAME)
#undef MT__EP_NAME
};

const uint8_t mt_entry_point_family[MT_EP_COUNT] = {
#define MT__EP_FAMILY(id, name, family) [MT_EP_##id] = family,
    MT_ENTRY_POINTS(MT__EP_FAMILY)
#undef MT__EP_FAMILY
};
