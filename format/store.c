/* store.c - the LMDB side of the schema shared by writer.c and reader.c:
 * the named databases and the mapping of LMDB codes to mtrace errors.
 * The database names are stored in traces: never rename, only append. */
#include <lmdb.h>

#include "internal.h"

const char *const mt__db_names[MT__DB_COUNT] = {
    [MT__DB_META] = "meta",
    [MT__DB_EVENTS] = "events",
    [MT__DB_STACKS] = "stacks",
    [MT__DB_MODULES] = "modules",
    [MT__DB_THREADS] = "threads",
    [MT__DB_COUNTERS] = "counters",
};

int mt__lmdb_error(int rc)
{
    if (rc >= 0)
        return rc; /* success or an errno value */
    switch (rc) {
    case MDB_MAP_FULL:
        return MT_EMAPFULL;
    case MDB_NOTFOUND:
        return MT_ENOTFOUND;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_INCOMPATIBLE:
        return MT_ECORRUPT;
    default:
        return MT_ELMDB;
    }
}
