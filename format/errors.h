/* errors.h - the one error space of mtrace.
 *
 * 0 is success, >0 is an errno value, <0 is an MT_E* code from the list
 * below. mt_strerror() names any of them.
 */
#ifndef MT_ERRORS_H
#define MT_ERRORS_H

/* X(NAME, value, message). Append only: values may appear in logs. */
#define MT_ERRNO_MAP(X)                                                   \
    X(EFULL, -1, "no room left in the buffer")                            \
    X(ECORRUPT, -2, "corrupt trace data")                                 \
    X(ENOTTRACE, -3, "not an mtrace trace")                               \
    X(ENEWER, -4, "trace written by a newer mtrace format")               \
    X(EOLDER, -5, "trace written by an older, unsupported mtrace format") \
    X(ELMDB, -6, "LMDB error")                                            \
    X(EMAPFULL, -7, "trace map is full")                                  \
    X(EBADFD, -8, "trace file descriptor was closed or reused")           \
    X(ENOTFOUND, -9, "record not found")                                  \
    X(EINVAL, -10, "invalid argument")                                    \
    X(EUSAGE, -11, "usage error")

enum {
#define MT__ERR_ENUM(name, value, msg) MT_##name = value,
    MT_ERRNO_MAP(MT__ERR_ENUM)
#undef MT__ERR_ENUM
};

/* Message for an mtrace error code or errno value; never NULL. */
const char *mt_strerror(int err);

#endif
