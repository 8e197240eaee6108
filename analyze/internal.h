/* internal.h - shared helpers of mtrace-analyze, grouped by defining file.
 *
 * Conventions: helpers report a failure with `return mt_error(...)`, which
 * prints one line and returns an exit status; only main() exits. Every
 * report goes through the JSON writer or the unit formatters below so that
 * all subcommands print numbers the same way.
 */
#ifndef MT_ANALYZE_INTERNAL_H
#define MT_ANALYZE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "format.h"

#define MT_PROGNAME "mtrace-analyze"

/* Exit statuses of every subcommand. */
#define MT_EXIT_OK 0
#define MT_EXIT_ERROR 1 /* the command ran and failed (bad trace, I/O error) */
#define MT_EXIT_USAGE 2 /* the command line was wrong */

#define MT__PRINTF(f, a) __attribute__((format(printf, f, a)))

/* ---- error.c ----------------------------------------------------------- */

/* Prints "mtrace-analyze: error: MESSAGE" on stderr (stdout is flushed
 * first so the two interleave in order). Returns MT_EXIT_ERROR. */
int mt_error(const char *fmt, ...) MT__PRINTF(1, 2);
/* Like mt_error for a bad command line of subcommand CMD; adds a pointer to
 * "mtrace-analyze CMD --help". Returns MT_EXIT_USAGE. */
int mt_usage_error(const char *cmd, const char *fmt, ...) MT__PRINTF(2, 3);
/* Prints "mtrace-analyze: warning: MESSAGE" on stderr. */
void mt_warning(const char *fmt, ...) MT__PRINTF(1, 2);

/* ---- json.c ------------------------------------------------------------ */

#define MT_JSON_MAX_DEPTH 32

enum { MT_JSON_COMPACT = 0, MT_JSON_PRETTY = 1 };

/* A streaming JSON writer. Strings are escaped per RFC 8259; bytes that are
 * not valid UTF-8 become U+FFFD, so the output is always valid JSON whatever
 * a traced program put in its thread names or argv. Misuse (a value where a
 * key is due, unbalanced nesting) is recorded and reported by mt_json_end. */
typedef struct mt_json {
    FILE *out;
    int pretty;
    int depth;
    bool misuse;                        /* API used out of order */
    bool want_value;                    /* a key was written, its value is due */
    bool is_object[MT_JSON_MAX_DEPTH];  /* per level: object (true) or array */
    bool has_items[MT_JSON_MAX_DEPTH];  /* per level: a comma is needed first */
} mt_json_t;

void mt_json_init(mt_json_t *j, FILE *out, int pretty);
void mt_json_begin_object(mt_json_t *j);
void mt_json_end_object(mt_json_t *j);
void mt_json_begin_array(mt_json_t *j);
void mt_json_end_array(mt_json_t *j);
/* Writes an object key; the next call must write its value. */
void mt_json_key(mt_json_t *j, const char *key);
void mt_json_string(mt_json_t *j, const char *s);
void mt_json_string_len(mt_json_t *j, const char *s, size_t len);
void mt_json_u64(mt_json_t *j, uint64_t v);
void mt_json_i64(mt_json_t *j, int64_t v);
/* Shortest form that reads back to the same double, always with a '.' or an
 * exponent so that it parses as a float; NaN and infinities become null. */
void mt_json_double(mt_json_t *j, double v);
void mt_json_bool(mt_json_t *j, bool v);
void mt_json_null(mt_json_t *j);
/* key + value in one call. */
void mt_json_kv_string(mt_json_t *j, const char *key, const char *s);
void mt_json_kv_u64(mt_json_t *j, const char *key, uint64_t v);
void mt_json_kv_double(mt_json_t *j, const char *key, double v);
void mt_json_kv_bool(mt_json_t *j, const char *key, bool v);
/* Ends the document with a newline. Returns 0, or MT_EINVAL when the calls
 * did not form one complete value. Does not flush or close OUT. */
int mt_json_end(mt_json_t *j);

/* ---- units.c ----------------------------------------------------------- */

/* Buffer size that fits every formatter's output. */
#define MT_FMT_MAX 48

/* Each formatter writes into BUF[MT_FMT_MAX] and returns BUF, so calls can
 * sit in a printf argument list. */

/* 1234567 -> "1,234,567". */
const char *mt_fmt_count(char *buf, uint64_t v);
/* Binary units, one decimal, the integer form when exact:
 * 0 -> "0 B", 1023 -> "1023 B", 524288 -> "512 KiB", 1572864 -> "1.5 MiB",
 * 12897485 -> "12.3 MiB". Never prints 1024.0 of a unit. */
const char *mt_fmt_bytes(char *buf, uint64_t v);
/* Durations: "0 ns", "850 ns", "12.5 us", "3.2 ms", "12.3 s",
 * "2 min 05 s", "1 h 02 min". */
const char *mt_fmt_duration(char *buf, uint64_t ns);
/* PART of WHOLE as a percentage with one decimal: "43.9%"; "-" when WHOLE
 * is 0. */
const char *mt_fmt_percent(char *buf, uint64_t part, uint64_t whole);

/* Length of the valid UTF-8 sequence at P (at most N bytes, N >= 1), or 0
 * when it is not valid UTF-8 (overlong forms, surrogates and code points
 * above U+10FFFF are invalid). */
size_t mt_utf8_seq_len(const unsigned char *p, size_t n);
/* Copies S into BUF[CAP] (truncating between characters) with every control
 * character (below 0x20, and 0x7f) and every byte that is not UTF-8 replaced
 * by '?', so that names taken from a trace cannot move the terminal's cursor
 * or change its state. Returns BUF. */
const char *mt_printable(char *buf, size_t cap, const char *s);

/* ---- trace_open.c ------------------------------------------------------ */

/* Opens trace directory PATH with mt_reader_open. On failure prints one line
 * that says what is wrong and what to do, and returns MT_EXIT_ERROR. */
int mt_trace_open(const char *path, mt_reader_t **r);
/* Reports ERR, returned by a reader call while reading WHAT (e.g. "the
 * counters") of trace PATH, in the same style. Returns MT_EXIT_ERROR. */
int mt_trace_error(const char *path, const char *what, int err);

#endif
