/* time.c - the one time grammar (common.h): the analyzer's --from / --to
 * window bounds, relative to a trace's start or as a share of its length.
 * Decimal arithmetic in integers, so "0.3s" is exactly 300000000 ns. */
#include "common.h"

/* Nanoseconds (or, for '%', parts per million) in one unit of UNIT[LEN]. */
static uint64_t unit_scale(const char *u, bool *percent)
{
    static const struct {
        const char *name;
        uint64_t scale;
    } units[] = {
        {"", 1000000000ull},  {"ns", 1},  {"us", 1000},  {"ms", 1000000},
        {"s", 1000000000ull}, {"m", 60000000000ull}, {"min", 60000000000ull},
        {"h", 3600000000000ull}, {"%", 10000},
    };
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        const char *a = units[i].name, *b = u;
        while (*a && *a == *b)
            a++, b++;
        if (!*a && !*b) {
            *percent = units[i].name[0] == '%';
            return units[i].scale;
        }
    }
    return 0;
}

int mt_time_parse(const char *s, uint64_t *out, bool *percent)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    unsigned __int128 whole = 0, frac = 0, frac_div = 1;
    for (; *s >= '0' && *s <= '9'; s++) {
        whole = whole * 10 + (unsigned)(*s - '0');
        if (whole > UINT64_MAX)
            return -1;
    }
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9')
            return -1; /* "1." and "1.s" are not numbers */
        for (; *s >= '0' && *s <= '9'; s++)
            if (frac_div < 1000000000000000000ull) { /* digits past 18 cannot count */
                frac = frac * 10 + (unsigned)(*s - '0');
                frac_div *= 10;
            }
    }
    bool pct = false;
    uint64_t scale = unit_scale(s, &pct);
    if (!scale)
        return -1;
    unsigned __int128 v = whole * scale + frac * scale / frac_div;
    if (v > UINT64_MAX || (pct && v > 1000000))
        return -1;
    *out = (uint64_t)v;
    *percent = pct;
    return 0;
}
