/* errors.c - messages for the mtrace error space (see errors.h). */
#include <string.h>

#include "errors.h"

const char *mt_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define MT__ERR_CASE(name, value, msg) \
    case value:                        \
        return msg;
        MT_ERRNO_MAP(MT__ERR_CASE)
#undef MT__ERR_CASE
    }
    if (err > 0)
        return strerror(err);
    return "unknown error";
}
