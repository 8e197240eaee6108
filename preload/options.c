/* options.c - the one table of MTRACE_* options, read once at start.
 *
 * Read with secure_getenv. Sizes take K/M/G/T suffixes (common/size.c),
 * booleans 1/0, yes/no, on/off. A bad value gets one warning and the default;
 * an out-of-range value is clipped with a warning. docs/OPTIONS.md documents
 * the same table (tests/e2e/test-options.c checks that they agree).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "internal.h"

enum option_kind { OPT_STRING, OPT_SIZE, OPT_SIZE_OR_ALL, OPT_INT, OPT_BOOL };

typedef struct option {
    const char *name;
    enum option_kind kind;
    uint64_t def, min, max;
    size_t offset; /* into mt__options_t */
    const char *doc;
    const char *text_def; /* OPT_STRING: the default; the field is a char[MT__OPT_TEXT] */
} option_t;

#define FIELD(f) offsetof(mt__options_t, f)
static const option_t options[] = {
    {"MTRACE_OUT", OPT_STRING, 0, 0, 0, FIELD(out),
     "trace directory template: %p pid, %e command (default ./mtrace.%e.%p)", "./mtrace.%e.%p"},
    {"MTRACE_SAMPLE", OPT_SIZE_OR_ALL, 512 << 10, 1, 1ull << 40, FIELD(sample),
     "mean bytes between samples, or 'all' to record every call", NULL},
    {"MTRACE_DEPTH", OPT_INT, 64, 1, MT_MAX_FRAMES, FIELD(depth), "frames per stack", NULL},
    {"MTRACE_FLUSH_MS", OPT_INT, 100, 1, 10000, FIELD(flush_ms),
     "milliseconds between commits; a kill loses at most this much", NULL},
    {"MTRACE_FOLLOW_FORK", OPT_BOOL, 1, 0, 1, FIELD(follow_fork),
     "trace fork children into their own directory", NULL},
    {"MTRACE_VERBOSE", OPT_BOOL, 0, 0, 1, FIELD(verbose), "print the resolved options", NULL},
    {"MTRACE_QUIET", OPT_BOOL, 0, 0, 1, FIELD(quiet), "do not print where the trace goes", NULL},
    {"MTRACE_MAP_MAX", OPT_SIZE, 64ull << 30, 1 << 20, 1ull << 44, FIELD(map_max),
     "largest trace size; past it recording stops and the trace says truncated", NULL},
    {"MTRACE_LOSSLESS", OPT_BOOL, 2, 0, 1, FIELD(lossless),
     "when a ring is full, wait for the writer instead of dropping (default: on with "
     "MTRACE_SAMPLE=all, off when sampling)", NULL},
    {"MTRACE_MANIFEST", OPT_STRING, 0, 0, 0, FIELD(manifest),
     "file to which each new trace directory's path is appended (set by mtrace-record)", ""},
    {"MTRACE_RING", OPT_INT, 32768, 1024, 1 << 22, FIELD(ring_events),
     "events buffered per thread between commits (rounded up to a power of two)", NULL},
    {"MTRACE_SEED", OPT_INT, 0, 1, UINT32_MAX, FIELD(seed),
     "sampler seed: the same seed, program and thread order sample the same calls "
     "(default 0: from the clock)", NULL},
};
#undef FIELD

mt__options_t mt__opt;

static void store(const option_t *o, uint64_t v)
{
    *(uint64_t *)((char *)&mt__opt + o->offset) = v;
}

static int parse_bool(const char *s, uint64_t *out)
{
    static const char *const yes[] = {"1", "yes", "on", "true"};
    static const char *const no[] = {"0", "no", "off", "false"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}

static void load_one(const option_t *o)
{
    const char *s = secure_getenv(o->name);
    uint64_t v = o->def;
    if (o->kind == OPT_STRING) {
        char *field = (char *)&mt__opt + o->offset;
        const char *val = s && *s ? s : o->text_def;
        size_t n = strlen(val);
        if (n >= MT__OPT_TEXT) {
            mt__warn("%s is longer than %d bytes; using '%s'", o->name, MT__OPT_TEXT - 1,
                     o->text_def);
            val = o->text_def;
            n = strlen(val);
        }
        memcpy(field, val, n + 1);
        return;
    }
    if (s && *s) {
        int bad, all = 0;
        if (o->kind == OPT_BOOL)
            bad = parse_bool(s, &v);
        else if (o->kind == OPT_SIZE_OR_ALL && strcasecmp(s, "all") == 0)
            bad = (v = 0, all = 1, 0);
        else
            bad = mt_size_parse(s, &v);
        if (bad) {
            mt__warn("%s=%s is not a valid %s; using the default", o->name, s,
                     o->kind == OPT_BOOL ? "boolean (1/0, yes/no, on/off)"
                     : o->kind == OPT_INT ? "number"
                     : o->kind == OPT_SIZE_OR_ALL ? "size (bytes, K/M/G/T) or 'all'"
                                                  : "size (bytes, K/M/G/T)");
            v = o->def;
        } else if (!all && (v < o->min || v > o->max)) { /* "0" is not "all": clipped */
            uint64_t clipped = v < o->min ? o->min : o->max;
            mt__warn("%s=%s is out of range [%llu, %llu]; using %llu", o->name, s,
                     (unsigned long long)o->min, (unsigned long long)o->max,
                     (unsigned long long)clipped);
            v = clipped;
        }
    }
    store(o, v);
}

void mt__options_load(void)
{
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        load_one(&options[i]);
    if (mt__opt.lossless == 2)
        mt__opt.lossless = mt__opt.sample == 0;
    uint64_t ring = 1;
    while (ring < mt__opt.ring_events)
        ring <<= 1;
    mt__opt.ring_events = ring;
}

void mt__options_print(void)
{
    mt__say("options:");
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
        const option_t *o = &options[i];
        const char *base = (const char *)&mt__opt + o->offset;
        if (o->kind == OPT_STRING) {
            mt__say("  %-18s %s  (%s)", o->name, base[0] ? base : "unset", o->doc);
            continue;
        }
        unsigned long long v = *(const uint64_t *)base;
        if (o->kind == OPT_SIZE_OR_ALL && v == 0)
            mt__say("  %-18s all  (%s)", o->name, o->doc);
        else
            mt__say("  %-18s %llu  (%s)", o->name, v, o->doc);
    }
}
