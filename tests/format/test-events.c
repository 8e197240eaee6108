/* test-events.c - format/events.def is the one list of event types: the
 * enum and the codec's table come from it, and FORMAT.md's table of fields
 * per type must say exactly what it says (checked row by row here). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

typedef struct event_def {
    const char *name;
    int value, fields, arg[3], kind_max;
} event_def_t;

static const event_def_t defs[] = {
#define MT_EVENT(name, value, fields, a0, a1, a2, kind_max)                                   \
    {#name, value, (fields), {MT_EVA_##a0, MT_EVA_##a1, MT_EVA_##a2}, (kind_max)},
#include "events.def"
#undef MT_EVENT
};
#define NDEFS (sizeof defs / sizeof defs[0])

Test(events, values_run_from_one_to_the_max)
{
    cr_assert_eq(NDEFS, MT_EV_TYPE_MAX);
    for (size_t i = 0; i < NDEFS; i++)
        cr_expect_eq(defs[i].value, (int)i + 1, "%s is %d", defs[i].name, defs[i].value);
    cr_expect_eq(MT_PK_MAX, 3);
    cr_expect_str_eq(mt_policy_names[MT_PK_MBIND], "mbind");
    cr_expect_str_eq(mt_policy_names[MT_PK_MIGRATE_PAGES], "migrate_pages");
}

/* The cells of the row of FORMAT.md's table that starts with "| NAME | VALUE |":
 * type, value, kind, ptr, size, arg0, arg1, arg2, stack, cpu, node. */
static int row_cells(const char *doc, const event_def_t *d, char cells[11][128])
{
    char start[64];
    snprintf(start, sizeof start, "\n| %s | %d |", d->name, d->value);
    const char *p = strstr(doc, start);
    if (!p)
        return 0;
    p += 2; /* past "\n|" */
    int n = 0;
    while (n < 11 && *p && *p != '\n') {
        const char *end = p;
        while (*end && *end != '\n' && !(*end == '|' && end[-1] != '\\'))
            end++;
        const char *a = p, *b = end;
        while (a < b && *a == ' ')
            a++;
        while (b > a && b[-1] == ' ')
            b--;
        snprintf(cells[n++], 128, "%.*s", (int)(b - a), a);
        if (*end != '|')
            break;
        p = end + 1;
    }
    return n;
}

Test(events, format_md_says_what_events_def_says)
{
    const char *src = getenv("MTRACE_SOURCE");
    cr_assert(src, "MTRACE_SOURCE is not set (run through meson test)");
    char path[4096];
    snprintf(path, sizeof path, "%s/format/FORMAT.md", src);
    FILE *f = fopen(path, "r");
    cr_assert(f, "cannot read %s", path);
    static char doc[1 << 17];
    size_t len = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[len] = '\0';

    static const struct {
        int flag, cell;
    } cols[] = {{MT_EVF_PTR, 3}, {MT_EVF_SIZE, 4}, {MT_EVF_STACK, 8}, {MT_EVF_CPU, 9},
                {MT_EVF_NODE, 10}};
    static const char *const arg_prefix[] = {"", "u:", "s:", "w:"};
    for (size_t i = 0; i < NDEFS; i++) {
        const event_def_t *d = &defs[i];
        char cells[11][128];
        cr_assert_eq(row_cells(doc, d, cells), 11, "FORMAT.md has no full row for %s = %d",
                     d->name, d->value);
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
            bool stored = d->fields & cols[c].flag, doc_says = cells[cols[c].cell][0] != '\0';
            cr_expect_eq(doc_says, stored, "%s: FORMAT.md column %zu says %s, events.def %s",
                         d->name, cols[c].cell, doc_says ? "stored" : "not stored",
                         stored ? "stored" : "not stored");
        }
        for (int a = 0; a < 3; a++) {
            const char *cell = cells[5 + a], *want = arg_prefix[d->arg[a]];
            if (!*want)
                cr_expect_str_empty(cell, "%s arg%d: FORMAT.md says '%s', not stored", d->name,
                                    a, cell);
            else
                cr_expect(!strncmp(cell, want, 2), "%s arg%d: FORMAT.md says '%s', want '%s ...'",
                          d->name, a, cell, want);
        }
        bool kind = d->fields & MT_EVF_KIND;
        cr_expect_eq(cells[2][0] != '\0', kind, "%s: kind column '%s'", d->name, cells[2]);
        if (kind && d->kind_max == UINT8_MAX) {
            cr_expect(strstr(cells[2], "any byte"), "%s: kind '%s', want any byte", d->name,
                      cells[2]);
        } else if (kind) {
            char range[16];
            snprintf(range, sizeof range, "0..%d", d->kind_max);
            cr_expect(strstr(cells[2], range), "%s: kind '%s', want %s", d->name, cells[2], range);
        }
    }
}
