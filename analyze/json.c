/* json.c - a small streaming JSON writer for every --json report.
 *
 * Invariants: the output is valid UTF-8 JSON (RFC 8259) whatever bytes the
 * caller passes as strings; numbers are printed in the C locale (the
 * analyzer never calls setlocale); pretty output indents by two spaces and
 * puts one member per line, compact output has no whitespace at all.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void mt_json_init(mt_json_t *j, FILE *out, int pretty)
{
    memset(j, 0, sizeof(*j));
    j->out = out;
    j->pretty = pretty;
}

static void newline_indent(mt_json_t *j)
{
    if (!j->pretty)
        return;
    fputc('\n', j->out);
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->out);
}

/* Called before any value or key: writes the separator the position needs
 * and checks that a value (or key) is allowed here. */
static void before_item(mt_json_t *j, bool is_key)
{
    if (j->want_value) {
        /* The value of a key: it follows "key": directly. */
        if (is_key)
            j->misuse = true;
        j->want_value = false;
        return;
    }
    if (j->depth == 0) {
        /* Top level: exactly one value. */
        if (is_key || j->has_items[0])
            j->misuse = true;
        j->has_items[0] = true;
        return;
    }
    if (j->is_object[j->depth] != is_key)
        j->misuse = true; /* a bare value inside an object, or a key in an array */
    if (j->has_items[j->depth])
        fputc(',', j->out);
    j->has_items[j->depth] = true;
    newline_indent(j);
}

static void open_level(mt_json_t *j, bool object)
{
    before_item(j, false);
    fputc(object ? '{' : '[', j->out);
    if (j->depth + 1 >= MT_JSON_MAX_DEPTH) {
        j->misuse = true;
        return;
    }
    j->depth++;
    j->is_object[j->depth] = object;
    j->has_items[j->depth] = false;
}

static void close_level(mt_json_t *j, bool object)
{
    if (j->depth == 0 || j->is_object[j->depth] != object || j->want_value) {
        j->misuse = true;
        return;
    }
    bool had_items = j->has_items[j->depth];
    j->depth--;
    if (had_items)
        newline_indent(j);
    fputc(object ? '}' : ']', j->out);
}

void mt_json_begin_object(mt_json_t *j) { open_level(j, true); }
void mt_json_end_object(mt_json_t *j) { close_level(j, true); }
void mt_json_begin_array(mt_json_t *j) { open_level(j, false); }
void mt_json_end_array(mt_json_t *j) { close_level(j, false); }

static void write_escaped(FILE *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    fputc('"', out);
    while (p < end) {
        unsigned c = *p;
        switch (c) {
        case '"': fputs("\\\"", out); p++; continue;
        case '\\': fputs("\\\\", out); p++; continue;
        case '\b': fputs("\\b", out); p++; continue;
        case '\f': fputs("\\f", out); p++; continue;
        case '\n': fputs("\\n", out); p++; continue;
        case '\r': fputs("\\r", out); p++; continue;
        case '\t': fputs("\\t", out); p++; continue;
        }
        if (c < 0x20 || c == 0x7f) {
            fprintf(out, "\\u%04x", c);
            p++;
            continue;
        }
        size_t n = mt_utf8_seq_len(p, (size_t)(end - p));
        if (n == 0) {
            fputs("\\ufffd", out); /* not UTF-8: one replacement per bad byte */
            p++;
            continue;
        }
        fwrite(p, 1, n, out);
        p += n;
    }
    fputc('"', out);
}

void mt_json_key(mt_json_t *j, const char *key)
{
    before_item(j, true);
    write_escaped(j->out, key, strlen(key));
    fputs(j->pretty ? ": " : ":", j->out);
    j->want_value = true;
}

void mt_json_string_len(mt_json_t *j, const char *s, size_t len)
{
    before_item(j, false);
    write_escaped(j->out, s, len);
}

void mt_json_string(mt_json_t *j, const char *s)
{
    if (!s) {
        mt_json_null(j);
        return;
    }
    mt_json_string_len(j, s, strlen(s));
}

void mt_json_u64(mt_json_t *j, uint64_t v)
{
    before_item(j, false);
    fprintf(j->out, "%" PRIu64, v);
}

void mt_json_i64(mt_json_t *j, int64_t v)
{
    before_item(j, false);
    fprintf(j->out, "%" PRId64, v);
}

void mt_json_double(mt_json_t *j, double v)
{
    if (!isfinite(v)) {
        mt_json_null(j);
        return;
    }
    char buf[40];
    /* The shortest precision that reads back exactly: 1.5 stays "1.5". */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (!strpbrk(buf, ".eE"))
        strcat(buf, ".0"); /* keep it a float for typed parsers */
    before_item(j, false);
    fputs(buf, j->out);
}

void mt_json_bool(mt_json_t *j, bool v)
{
    before_item(j, false);
    fputs(v ? "true" : "false", j->out);
}

void mt_json_null(mt_json_t *j)
{
    before_item(j, false);
    fputs("null", j->out);
}

void mt_json_kv_string(mt_json_t *j, const char *key, const char *s)
{
    mt_json_key(j, key);
    mt_json_string(j, s);
}

void mt_json_kv_u64(mt_json_t *j, const char *key, uint64_t v)
{
    mt_json_key(j, key);
    mt_json_u64(j, v);
}

void mt_json_kv_double(mt_json_t *j, const char *key, double v)
{
    mt_json_key(j, key);
    mt_json_double(j, v);
}

void mt_json_kv_bool(mt_json_t *j, const char *key, bool v)
{
    mt_json_key(j, key);
    mt_json_bool(j, v);
}

int mt_json_end(mt_json_t *j)
{
    if (j->depth != 0 || j->want_value || !j->has_items[0])
        j->misuse = true;
    fputc('\n', j->out);
    return j->misuse ? MT_EINVAL : 0;
}
