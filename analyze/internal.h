/* internal.h - shared helpers of mtrace-analyze, grouped by defining file.
 *
 * Conventions: helpers report a failure with `return mt_error(...)`, which
 * prints one line and returns an exit status; only main() exits. Every
 * report goes through the JSON writer or the unit formatters below so that
 * all subcommands print numbers the same way.
 */
#ifndef MT_ANALYZE_INTERNAL_H
#define MT_ANALYZE_INTERNAL_H

#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common.h" /* mt_size_parse, the table and vector */
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
/* The noun for N things: ONE when N is 1, else MANY ("1 object", "0 objects",
 * "2 entries"). Every count printed with a noun goes through it. */
static inline const char *mt_plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}
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
/* Writes S to OUT with the five XML special characters escaped (&amp; &lt;
 * &gt; &quot; &apos;): SVG and HTML text and attribute values. S must be
 * printable UTF-8 (mt_printable), so nothing else needs escaping. */
void mt_put_xml(FILE *out, const char *s);

/* ---- trace_open.c ------------------------------------------------------ */

/* Opens trace directory PATH with mt_reader_open. On failure prints one line
 * that says what is wrong and what to do, and returns MT_EXIT_ERROR. */
int mt_trace_open(const char *path, mt_reader_t **r);
/* Reports ERR, returned by a reader call while reading WHAT (e.g. "the
 * counters") of trace PATH, in the same style. Returns MT_EXIT_ERROR. */
int mt_trace_error(const char *path, const char *what, int err);

/* ---- predecode.c -------------------------------------------------------- */

/* Event blocks decoded ahead on a second thread (see predecode.c). */
typedef struct mt_predecode mt_predecode_t;
typedef struct mt_predecoded {
    mt_event_t *ev;  /* the block's events (give them back, or free them) */
    size_t n, cap;
    int rc;          /* 0, or the decoding error after the n events */
    bool opened;     /* mt_block_open accepted the block (else rc is its error) */
} mt_predecoded_t;
/* Room for NBLOCKS blocks, numbered in the order they will about be needed. */
mt_predecode_t *mt_predecode_new(size_t nblocks);
/* Block I's bytes, valid and unchanged until mt_predecode_free. */
void mt_predecode_set(mt_predecode_t *pd, size_t i, const void *data, size_t len);
/* Starts the thread. Returns 0 or pthread_create's error (then nothing is
 * decoded ahead and every take is false). */
int mt_predecode_start(mt_predecode_t *pd);
/* Block I decoded by the thread into *OUT (waiting while it is at it), or
 * false: the caller decodes it (the thread no longer will). Once per block. */
bool mt_predecode_take(mt_predecode_t *pd, size_t i, mt_predecoded_t *out);
/* Gives B's array back for the next blocks (sets B->ev to NULL). */
void mt_predecode_give_back(mt_predecode_t *pd, mt_predecoded_t *b);
/* Blocks the thread decoded so far. */
uint64_t mt_predecode_count(mt_predecode_t *pd);
/* Stops and joins the thread; frees what was not taken. */
void mt_predecode_free(mt_predecode_t *pd);

/* ---- replay.c ---------------------------------------------------------- */

/* Weighted sums. A sample of weight W (objects * MT_WEIGHT_ONE, see
 * preload/SAMPLING.md) and size S adds W to a `_w` field and S * W to a
 * `_bw` field; the helpers round them to objects and bytes. With
 * MTRACE_SAMPLE=all every W is MT_WEIGHT_ONE and the results are exact. */
typedef unsigned __int128 mt_u128;
static inline uint64_t mt_w_objects(uint64_t w) { return (w + MT_WEIGHT_ONE / 2) / MT_WEIGHT_ONE; }
static inline uint64_t mt_bw_bytes(mt_u128 bw)
{
    mt_u128 b = (bw + MT_WEIGHT_ONE / 2) / MT_WEIGHT_ONE;
    return b > UINT64_MAX ? UINT64_MAX : (uint64_t)b;
}

#define MT_GROWTH_POINTS 16   /* live bytes sampled at this many evenly spaced times */
#define MT_POOL_NONE (-1)     /* replay the malloc heap; skip pool events */
#define MT_POOL_ALL (-2)      /* replay the events of every pool, not the heap */

struct mt_replay;

/* One bound of a time window (--from / --to), as given: nanoseconds after
 * the start of the merged timeline (the earliest trace's start), or parts
 * per million of its length (mt_time_parse's grammar, common.h). */
typedef struct mt_time_arg {
    uint64_t v;
    bool percent;             /* v is parts per million of the timeline */
    bool set;                 /* given; unset: the start (--from) or the end (--to) */
    bool from_end;            /* v is nanoseconds before the end of the timeline
                                 (serve's ?seconds=N: the last N seconds) */
} mt_time_arg_t;

typedef struct mt_replay_options {
    int64_t pool;             /* MT_POOL_NONE (default), MT_POOL_ALL, or one pool id */
    uint64_t min_size;        /* count only allocations of min_size..max_size bytes */
    uint64_t max_size;        /* 0 = no upper bound */
    bool growth;              /* fill mt_stack_stats_t.growth */
    bool progress;            /* progress line on stderr when slow (caller checks isatty) */
    /* The time window [from, to): only allocations made in it count (alloc,
     * live, peak, temp, growth); "live" is live at `to` (made in the window and
     * not freed before `to`), the peak is the largest sum of those during the
     * window. Allocations made before `from` are tracked only so that their
     * frees are recognised; events at or after `to` are not replayed. */
    mt_time_arg_t from, to;
    /* Called for every event, in merged time order, after replay's own
     * bookkeeping (numa.c uses it for mmap, policy and placement events).
     * THREAD is the shim's thread sequence. A nonzero return stops the replay
     * with that error. NULL: none. With a window it sees the events before
     * `from` too (state such as regions and pool names); hooks that count
     * check mt_replay_in_window. */
    int (*on_event)(void *ctx, struct mt_replay *rp, uint32_t trace, uint32_t thread,
                    const mt_event_t *e);
    /* Called before every event, before replay's bookkeeping, with the
     * event's time on the merged timeline: rp's totals are those just before
     * it (timeline.c cuts intervals with it). A nonzero return stops the
     * replay with that error. NULL: none. */
    int (*before_event)(void *ctx, struct mt_replay *rp, uint64_t ns);
    void *ctx;
} mt_replay_options_t;

/* What replay learned about one stack of one trace, in one address-reuse
 * epoch: a dlclose and a dlopen can put another library where the stack's
 * pcs point, so its events before and after are separate stats. */
typedef struct mt_stack_stats {
    uint32_t trace;           /* index of the trace (order of mt_replay_add) */
    uint32_t id;              /* stack id in that trace, 0 = no stack recorded */
    uint64_t alloc_w;         /* allocations */
    mt_u128 alloc_bw;
    uint64_t live_w;          /* live at the end of the replay */
    mt_u128 live_bw;
    uint64_t peak_w;          /* live at the moment total live bytes peaked */
    mt_u128 peak_bw;
    uint64_t temp_w;          /* temporary: freed by the allocating thread before
                                 that thread's next allocation */
    /* Variances of the estimates above (estimate.c); 0 when exact. */
    mt_u128 alloc_var_w, alloc_var_bw, live_var_w, live_var_bw, peak_var_bw, temp_var_w;
    uint64_t min_size, max_size; /* of its allocations (min UINT64_MAX when none) */
    uint64_t *growth;         /* MT_GROWTH_POINTS live bytes, when options.growth */
    uint32_t growth_filled;   /* internal: points recorded so far */
    uint32_t growth_steps;    /* points whose live bytes exceed the previous point's */
    uint64_t snap_gen;        /* internal: peak generation of peak_bw */
    uint64_t ts;              /* its first event's time (trace clock): the
                                 module map its pcs are symbolized with */
    uint32_t epoch;           /* internal: address-reuse epoch of its events */
} mt_stack_stats_t;

/* One trace of a replay. */
typedef struct mt_replay_trace {
    const char *path;
    mt_reader_t *reader;      /* the caller's; must stay open while rp is used */
    mt_trace_info_t info;
    uint64_t offset_ns;       /* its start on the merged timeline */
    uint64_t exact_calls;     /* exact counters of the replayed family (heap or pool) */
    uint64_t exact_bytes;
    uint64_t blocks, events;  /* replayed */
    uint64_t unknown_frees;   /* frees of pointers not live in the replay */
    void *live;               /* internal: live allocations of this address space */
    uint64_t *reuse_ts;       /* internal: unload times after which another file
                                 was mapped over the range (sorted) */
    size_t nreuse;
} mt_replay_trace_t;

/* A replay: add traces, run, read stacks and totals, free. */
typedef struct mt_replay {
    mt_replay_options_t opt;
    mt_replay_trace_t *traces;
    size_t ntraces, captraces;
    mt_stack_stats_t *stacks; /* in order of first sight */
    size_t nstacks;
    /* Totals over every stack. */
    uint64_t alloc_w, live_w, peak_w, temp_w;
    mt_u128 alloc_bw, live_bw, peak_bw;
    mt_u128 live_var_w, live_var_bw, peak_var_bw, temp_var_w; /* their variances (estimate.c) */
    uint64_t peak_ns;         /* when the peak was first reached (merged timeline) */
    uint64_t span_ns;         /* end of the merged timeline */
    uint64_t frees, unknown_frees, events;
    uint64_t exact_calls, exact_bytes; /* sum of the traces' exact counters */
    bool sampled;             /* some trace has a sample interval: stacks are estimates */
    bool complete;            /* every trace ended cleanly */
    bool windowed;            /* --from or --to was given */
    uint64_t win_from, win_to; /* the window on the merged timeline (ns), resolved
                                  by mt_replay_run; win_to is span_ns without --to */
    /* Where mt_replay_run failed. */
    size_t err_trace;
    uint64_t err_block;
    void *priv;               /* internal */
} mt_replay_t;

/* Sets RP up empty. Returns 0 or ENOMEM. */
int mt_replay_init(mt_replay_t *rp, const mt_replay_options_t *opt);
/* Adds trace PATH read by R (not owned). Reads its meta and counters.
 * Returns 0 or a reader error (rp->err_trace says which trace). */
int mt_replay_add(mt_replay_t *rp, const char *path, mt_reader_t *r);
/* Replays every added trace once, merged in time order. Returns 0, ENOMEM,
 * MT_ECORRUPT (rp->err_trace / err_block name the block) or a reader error.
 * Memory: distinct stacks + live allocations + threads + 8 bytes per block. */
int mt_replay_run(mt_replay_t *rp);
/* True while mt_replay_run replays an event inside the window (for on_event
 * hooks); always true without one. */
bool mt_replay_in_window(const mt_replay_t *rp);
/* Prints the error ERR of mt_replay_add / mt_replay_run in one line.
 * Returns MT_EXIT_ERROR. */
int mt_replay_error(const mt_replay_t *rp, int err);
/* Calls FN for every allocation live at the end, with the index of its stack
 * in rp->stacks. */
void mt_replay_foreach_live(const mt_replay_t *rp,
                            void (*fn)(void *ctx, uint32_t stack, uint64_t ptr, uint64_t size,
                                       uint64_t weight),
                            void *ctx);
void mt_replay_free(mt_replay_t *rp);
/* Index in rp->stacks of stack ID of trace TRACE, created on first sight (for
 * on_event hooks that attribute other events to stacks); UINT32_MAX when out
 * of memory. Pointers into rp->stacks do not survive it. */
uint32_t mt_replay_stack_index(mt_replay_t *rp, uint32_t trace, uint32_t id);

/* ---- estimate.c -------------------------------------------------------- */

/* Error bounds of estimates (preload/SAMPLING.md, "Error bounds"). A
 * variance is kept in units of (MT_WEIGHT_ONE)^2 objects^2 or bytes^2, summed
 * over the samples of an estimate (mt_est_var_add), and turned into the
 * half-width of a MT_EST_CONFIDENCE confidence interval by mt_est_bound. */
#define MT_EST_CONFIDENCE 0.95
#define MT_EST_Z 1.959963984540054L /* the normal quantile of 1 - (1 - 0.95) / 2 */

/* Variance that a sample of weight WEIGHT (16.16) adds to an estimated
 * object count: W (W - ONE), 0 for a record made with certainty (W = ONE). */
mt_u128 mt_est_var_objects(uint64_t weight);
/* The same for an estimated byte sum, for a sample of SIZE bytes:
 * SIZE^2 W (W - ONE), saturating. */
mt_u128 mt_est_var_bytes(uint64_t size, uint64_t weight);
/* A + B, saturating. */
mt_u128 mt_est_var_add(mt_u128 a, mt_u128 b);
/* Half-width of the confidence interval of an estimate whose summed
 * variance is VAR: ceil(MT_EST_Z * sqrt(VAR) / ONE) objects or bytes; 0 when
 * VAR is 0 (exact). */
uint64_t mt_est_bound(mt_u128 var);
/* BYTES (mt_fmt_bytes) or COUNT (mt_fmt_count) followed by " ± BOUND" when
 * VAR is not 0, into BUF[MT_FMT_MAX]: "12.3 MiB ± 1.1 MiB", "567 ± 40". */
const char *mt_fmt_bytes_est(char *buf, uint64_t bytes, mt_u128 var);
const char *mt_fmt_count_est(char *buf, uint64_t count, mt_u128 var);
/* The same from a bound already taken (0: the value alone). */
const char *mt_fmt_bytes_pm(char *buf, uint64_t bytes, uint64_t bound);
const char *mt_fmt_count_pm(char *buf, uint64_t count, uint64_t bound);
/* Writes KEY: mt_est_bound(VAR) (0 for an exact number). */
void mt_json_kv_error(mt_json_t *j, const char *key, mt_u128 var);

/* ---- symbolize.c ------------------------------------------------------- */

/* One source-level frame. A recorded pc gives one frame per function inlined
 * at it, innermost first, then the function it was inlined into. Strings are
 * owned by the symbolizer and live as long as it. */
typedef struct mt_frame {
    const char *function;     /* demangled name; NULL when no symbol covers it */
    const char *file;         /* source file; NULL without line information */
    uint32_t line;            /* 0 when unknown */
    bool inlined;             /* inlined into the next frame */
    const char *module;       /* module path; NULL when no module covers it */
    uint64_t address;         /* the recorded pc (a return address) */
    uint64_t offset;          /* pc - symbol start when function is set and file
                                 is not; else pc - module load bias */
} mt_frame_t;

typedef struct mt_symbolizer mt_symbolizer_t;

mt_symbolizer_t *mt_sym_new(void);
void mt_sym_free(mt_symbolizer_t *s);
/* Adds module M of trace TRACE (an address space). Files are opened lazily,
 * on the first lookup. Returns 0 or ENOMEM. */
int mt_sym_add_module(mt_symbolizer_t *s, uint32_t trace, const mt_module_t *m);
/* Sets the modules of TRACE to those of R (again after a refresh: files and
 * cached lookups are kept). Returns 0, ENOMEM or a reader error. */
int mt_sym_add_trace(mt_symbolizer_t *s, uint32_t trace, mt_reader_t *r);
/* Where PC of TRACE is, independent of the load address: *FILE identifies the
 * module file (UINT32_MAX when no module covers PC) and *REL is pc - bias. */
void mt_sym_locate(mt_symbolizer_t *s, uint32_t trace, uint64_t pc, uint32_t *file,
                   uint64_t *rel);
/* Frames of return address PC (looked up at PC - 1) in TRACE into
 * OUT[CAP], innermost first. Returns how many (>= 1 when CAP >= 1; never
 * fails: unknown parts are NULL). Results are cached per module and address. */
size_t mt_sym_pc(mt_symbolizer_t *s, uint32_t trace, uint64_t pc, mt_frame_t *out, size_t cap);
/* True when PC of TRACE is inside libmtrace.so (frames to drop). */
bool mt_sym_is_self(mt_symbolizer_t *s, uint32_t trace, uint64_t pc);
/* The same three at time TS of TRACE's clock (an event's ts): PC is looked
 * up in the module that was mapped there then (dlclose and dlopen reuse
 * addresses). The forms without TS use MT_SYM_LATEST: the module mapped
 * there last. */
#define MT_SYM_LATEST UINT64_MAX
void mt_sym_locate_at(mt_symbolizer_t *s, uint32_t trace, uint64_t pc, uint64_t ts,
                      uint32_t *file, uint64_t *rel);
size_t mt_sym_pc_at(mt_symbolizer_t *s, uint32_t trace, uint64_t pc, uint64_t ts, mt_frame_t *out,
                    size_t cap);
bool mt_sym_is_self_at(mt_symbolizer_t *s, uint32_t trace, uint64_t pc, uint64_t ts);
/* The module record that held PC of TRACE at time TS (as mt_sym_pc_at
 * finds it): its range, load bias, path and build-id (owned by the
 * symbolizer), and FILE as mt_sym_locate gives it. False when none did. */
typedef struct mt_sym_module {
    uint64_t lo, hi, base;
    const char *path;
    const uint8_t *build_id;
    uint32_t build_id_len;
    uint32_t file;
} mt_sym_module_t;
bool mt_sym_module_at(mt_symbolizer_t *s, uint32_t trace, uint64_t pc, uint64_t ts,
                      mt_sym_module_t *out);
/* Display name of a module path: its base name. */
const char *mt_sym_basename(const char *path);
/* How many times the symbolizer scanned a whole symbol table (one
 * dwfl_module_addrinfo call each): distinct functions, not addresses. */
uint64_t mt_sym_symtab_scans(const mt_symbolizer_t *s);
/* Starts a thread that prepares the module files the first stacks of the
 * traces READERS[N] use (opens them, reads their debug sections and symbol
 * tables) while the caller replays; the symbolizer waits for a file only
 * when it needs one the thread is at. Returns 0 or ENOMEM. */
int mt_sym_prefetch(mt_symbolizer_t *s, mt_reader_t **readers, size_t n);
/* An id of what PC of TRACE at time TS prints as (the frames of
 * mt_sym_pc_at: functions, files, lines, inlined flags, modules, offsets):
 * two pcs print alike exactly when their ids are equal. UINT32_MAX when out
 * of memory. */
uint32_t mt_sym_pc_id_at(mt_symbolizer_t *s, uint32_t trace, uint64_t pc, uint64_t ts);
/* mt_sym_pc_id_at and mt_sym_is_self_at (*SELF; then the id is 0) at once,
 * remembered per (TRACE, PC) when they do not depend on TS. */
uint32_t mt_sym_pc_class_at(mt_symbolizer_t *s, uint32_t trace, uint64_t pc, uint64_t ts,
                            bool *self);
/* Files the prefetch thread prepared so far. */
uint64_t mt_sym_prefetched(mt_symbolizer_t *s);
/* Work of lines.c over all files: units decoded, lookups left to libdw. */
void mt_sym_line_counts(const mt_symbolizer_t *s, uint64_t *decoded, uint64_t *asked_libdw);
/* Work of scopes.c over all files: DIEs read, and addresses left to libdw. */
void mt_sym_scope_counts(const mt_symbolizer_t *s, uint64_t *dies_read, uint64_t *libdw_walks);
/* How many DWARF abbreviations the scope index asked libdw about (scopes.c). */
uint64_t mt_sym_scope_abbrevs_probed(const mt_symbolizer_t *s);
/* How many steps to a DIE's sibling the scope index left to libdw. */
uint64_t mt_sym_scope_libdw_siblings(const mt_symbolizer_t *s);

/* ---- report.c ---------------------------------------------------------- */

/* One entry of a stack report: the stacks of rp that symbolize to the
 * same frames (the same stack in a parent and its fork children), or with
 * --by function, that allocate from the same function. */
typedef struct mt_row {
    mt_stack_stats_t agg;     /* sums over its stacks; trace and id: the first one */
    uint32_t nstacks;
    uint64_t *key;            /* internal: grouping key */
    size_t nkey;
    mt_frame_t *frames;       /* after mt_report_frames; innermost first */
    size_t nframes;
    void *extra;              /* per-command data (leaks: sizes), freed with the row */
} mt_row_t;

typedef struct mt_report {
    mt_replay_t *rp;
    mt_symbolizer_t *sym;
    bool by_function;
    mt_row_t *rows;
    size_t nrows;
    uint32_t *row_of_stack;   /* per rp->stacks index; UINT32_MAX when not in a row.
                                 Valid until mt_report_match or mt_report_sort. */
} mt_report_t;

/* Groups the stacks of RP for which KEEP (may be NULL) is true into rows,
 * symbolizing with SYM. Returns 0, ENOMEM or a reader error. */
int mt_report_build(mt_report_t *rep, mt_replay_t *rp, mt_symbolizer_t *sym, bool by_function,
                    bool (*keep)(const mt_stack_stats_t *st));
/* Symbolizes ROW's frames (once). Returns 0 or ENOMEM. */
int mt_report_frames(mt_report_t *rep, mt_row_t *row);
/* Drops the rows none of whose frames has a function, file or module that
 * matches RE. Returns 0 or ENOMEM. */
int mt_report_match(mt_report_t *rep, const void *re /* regex_t */);
/* True when a frame of ROW (symbolized) has a function, file or module that
 * matches RE. */
bool mt_row_matches(const mt_row_t *row, const void *re /* regex_t */);
/* Frees what ROW owns (a row dropped from rep->rows). */
void mt_row_free(mt_row_t *row);
/* KEEP for mt_report_build: the stacks that allocated. */
bool mt_keep_allocating(const mt_stack_stats_t *st);
/* Order of a descending sort on one weighted sum: -1 when A comes first. */
static inline int mt_cmp_desc(mt_u128 a, mt_u128 b)
{
    return a > b ? -1 : a < b;
}
/* Sorts the rows with CMP, ties broken by the first stack's order. */
void mt_report_sort(mt_report_t *rep, int (*cmp)(const mt_row_t *a, const mt_row_t *b));
/* Prints at most DEPTH (0 = all) frames of ROW, indented, one per line. */
void mt_report_print_frames(const mt_row_t *row, size_t depth);
/* Writes "frames": [{function, file, line, module, address, inlined, offset}]. */
void mt_report_json_frames(mt_json_t *j, const mt_row_t *row, size_t depth);
/* Prints "... N more ONE|MANY (-n 0 shows all)" when SHOWN < TOTAL. */
void mt_report_print_more(size_t shown, size_t total, const char *one, const char *many);
/* The largest sample interval of RP's traces (0: every call recorded). */
uint64_t mt_report_sample_interval(const mt_replay_t *rp);
/* The --json header keys shared by the reports: estimated, sample_interval,
 * complete, traces: [{trace, pid, command, complete, sample_interval}], and
 * with a window (--from / --to) window: {from_ns, to_ns, span_ns}. */
void mt_report_json_traces(mt_json_t *j, const mt_replay_t *rp);
/* With a window, prints the line "window FROM .. TO of SPAN: ..." (text). */
void mt_report_print_window(const mt_replay_t *rp);
void mt_report_free(mt_report_t *rep);

/* ---- cmd-leaks.c (for summary.c) ------------------------------------------ */

/* KEEP for mt_report_build: the stacks with live allocations at the end. */
bool mt_leaks_keep(const mt_stack_stats_t *st);
/* leaks --sort growth's order (needs replay's growth): more intervals with
 * an increase first, then the larger increase, then live bytes. */
int mt_leaks_cmp_growth(const mt_row_t *a, const mt_row_t *b);

/* ---- cli.c: the traces of one report command --------------------------- */

typedef struct mt_session {
    int ntraces;
    char **paths;
    mt_reader_t **readers;
    mt_symbolizer_t *sym;
    mt_replay_t rp;
    bool replayed;
    bool prefetch; /* the report symbolizes: prefetch module files (mt_sym_prefetch) */
} mt_session_t;

/* Opens every trace of PATHS[N] (all of them, reporting each bad one) and a
 * symbolizer. Returns an exit status; on failure nothing stays open. */
int mt_session_open(mt_session_t *s, int n, char **paths);
/* Replays the traces with OPT (dropping a previous replay) and reloads their
 * module maps. Returns an exit status, after printing any error. */
int mt_session_replay(mt_session_t *s, const mt_replay_options_t *opt);
/* Takes a fresh snapshot of every trace (live mode). Returns an exit status. */
int mt_session_refresh(mt_session_t *s);
void mt_session_close(mt_session_t *s);

/* ---- cli.c: the frame of a report subcommand ---------------------------- */

/* One option of a subcommand, written once: getopt_long's row, the short
 * option string and the line of --help all come from it (model: git's
 * parse-options.h, usage_with_options). */
typedef struct mt_opt {
    int val;          /* what the handlers see (getopt_long's val) */
    char shrt;        /* the short option letter, or 0 for a long one only */
    const char *name; /* the long name, without "--" */
    int has_arg;      /* no_argument, required_argument, optional_argument */
    const char *arg;  /* the value in the help: "N"; optional ones "[=pretty|compact]" */
    const char *help; /* lines separated by '\n'; --help indents the ones after the first */
} mt_opt_t;

/* A subcommand's --help, printed by mt_help_print:
 *   usage: mtrace-analyze CMD SYNOPSIS / ABOUT / Options: (OPTS) /
 *   JSON keys: (JSON, wrapped; then JSON_NOTES) / EXTRA / Exit status.
 * JSON lists every key --json may print, in the grammar
 *   keys := key (", " key)* ; key := NAME | NAME ": {" keys "}" |
 *   NAME ": [{" keys "}]" | NAME ": [...]" ; "*" is any name (a map);
 * tests/e2e/test-json-keys.c checks it against what is printed. */
typedef struct mt_help {
    const char *synopsis;   /* "[options] TRACE..." */
    const char *about;      /* what the command does, wrapped, ending in '\n' */
    const mt_opt_t *opts;   /* ends with a row whose name is NULL */
    const char *json;       /* the keys of --json; NULL: no --json */
    const char *json_notes; /* what the keys mean, wrapped; may be NULL */
    void (*extra)(FILE *out); /* more help (fit's class tables); may be NULL */
    const char *exit_status; /* NULL: the usual line */
} mt_help_t;

/* Rows of the options the report subcommands share (cli.c handles them),
 * each with the command's own help text. */
#define MT_OPT_TOP(help) {'n', 'n', "top", required_argument, "N", help}
#define MT_OPT_MATCH(help) {'m', 'm', "match", required_argument, "REGEX", help}
#define MT_OPT_DEPTH(help) {'d', 'd', "depth", required_argument, "D", help}
#define MT_OPT_BY(help) {'y', 0, "by", required_argument, "function|stack", help}
#define MT_OPT_POOL(help) {'p', 0, "pool", required_argument, "NAME", help}
/* Values of long-only shared options, out of the range of option letters. */
#define MT_OPTV_FROM 0x1001
#define MT_OPTV_TO 0x1002
#define MT_OPT_FROM {MT_OPTV_FROM, 0, "from", required_argument, "T", \
    "only allocations made at or after T: 1.5s, 200ms,\n" \
    "3m, 2 (seconds) from the trace's start, or 25%\n" \
    "of its length (several traces: the earliest start)"}
#define MT_OPT_TO {MT_OPTV_TO, 0, "to", required_argument, "T", \
    "only allocations made before T; live means still\n" \
    "live at T (made in the window, not yet freed)"}
#define MT_OPT_JSON(help) {'j', 0, "json", optional_argument, "[=pretty|compact]", help}
#define MT_OPT_HELP {'h', 'h', "help", no_argument, NULL, "show this help"}
#define MT_OPT_END {0, 0, NULL, 0, NULL, NULL}

/* Prints the --help of subcommand CMD described by H to OUT. */
void mt_help_print(const mt_help_t *h, const char *cmd, FILE *out);

/* The options every report subcommand shares, and its TRACE arguments. */
typedef struct mt_cli {
    const char *cmd;          /* the subcommand ("top"), named in messages */
    const mt_help_t *help;    /* its options and --help */
    long top;                 /* -n: entries shown, 0 = all (default 10) */
    long depth;               /* --depth: frames shown, -1 = the command's default */
    bool by_function;         /* --by function */
    bool has_match;           /* --match: MATCH holds a compiled regex */
    regex_t match;
    int json;                 /* --json: -1 text, else MT_JSON_PRETTY or MT_JSON_COMPACT */
    long interval_ms;         /* -i: live mode period, 0 = report once */
    mt_replay_options_t ro;   /* --pool, and the command's own replay options */
    const char *pool_arg;     /* --pool as given (a name, an id or "all"), for titles */
    int ntraces;              /* the TRACE arguments, set by mt_cli_parse */
    char **traces;
    char **found;             /* traces chosen by mt_cli_need_traces when none were given */
} mt_cli_t;

/* What an OWN option handler returns for an option it leaves to the shared
 * ones. */
#define MT_CLI_SHARED (-2)

/* Sets C to the defaults for subcommand CMD with options and help HELP. */
void mt_cli_init(mt_cli_t *c, const char *cmd, const mt_help_t *help);
/* Parses ARGV with getopt_long by c->help->opts. Each option goes
 * to OWN(CTX, OPT, OPTARG) first when OWN is not NULL; what it returns
 * MT_CLI_SHARED for is handled here: -n, -m, -d, --by, --pool, --from, --to,
 * --json, -h,
 * a missing value, an unknown option. Sets c->ntraces and c->traces to the
 * arguments left. Returns 0, -1 when --help was printed, or a usage error's
 * exit status (after printing it). */
int mt_cli_parse(mt_cli_t *c, int argc, char **argv,
                 int (*own)(void *ctx, int opt, const char *arg), void *ctx);
/* Parses OPT's value S as a whole number from MIN to MAX (LONG_MAX: no
 * upper bound) into *V. Returns 0 or
 * MT_EXIT_USAGE (printed). */
int mt_cli_long(const mt_cli_t *c, const char *opt, const char *s, long min, long max, long *v);
/* Returns 0 when some TRACE was given, else prints a usage error and
 * returns MT_EXIT_USAGE. */
int mt_cli_need_traces(mt_cli_t *c);
/* How many of N entries -n shows. */
size_t mt_cli_shown(const mt_cli_t *c, size_t n);
/* How many frames per entry --depth shows; DFLT without it (0 = all). */
size_t mt_cli_depth(const mt_cli_t *c, size_t dflt);
/* Checks that TRACEs were given, opens them, replays them with c->ro and
 * calls REPORT(CTX, SESSION) to print: once, or with -i every
 * c->interval_ms ms until SIGINT or SIGTERM, re-reading the traces each
 * time. Returns an exit status. */
int mt_cli_run(mt_cli_t *c, int (*report)(void *ctx, mt_session_t *s), void *ctx);
/* Frees C and turns the status RC of the calls above into the command's
 * exit status. */
int mt_cli_end(mt_cli_t *c, int rc);

/* The rows a report lists: the stacks of S's replay for which KEEP is true,
 * grouped by stack or --by function, given per-row data by FILL(REP, CTX)
 * (NULL: none; returns 0 or an errno), kept when --match matches, sorted with
 * CMP; the first *NSHOW (-n) of them symbolized. Returns an exit status,
 * after printing any error; free REP with mt_report_free either way. */
int mt_cli_rows(const mt_cli_t *c, mt_session_t *s, mt_report_t *rep,
                bool (*keep)(const mt_stack_stats_t *st),
                int (*fill)(mt_report_t *rep, void *ctx), void *ctx,
                int (*cmp)(const mt_row_t *a, const mt_row_t *b), size_t *nshow);

/* Starts the --json document on stdout: its top-level object (compact in
 * live mode, one line per refresh). */
void mt_cli_json_begin(mt_json_t *j, const mt_cli_t *c);
/* Closes that object and ends the document; reports malformed output. */
void mt_cli_json_end(mt_json_t *j, const mt_cli_t *c);

/* Parses --pool: "all", a pool id (a number), or a pool name, whose id is
 * mt_pool_id(NAME) (mtrace/mtrace.h). MT_EINVAL for "" or "-...". */
int mt_parse_pool(const char *s, int64_t *pool);

/* ---- discover.c ---------------------------------------------------------- */

/* The identity of a trace found in a directory. */
typedef struct mt_found_trace {
    char *path;
    uint64_t pid, ppid, parent_pid; /* parent_pid: set in a fork child's trace */
    uint64_t start_ns, duration_ns; /* wall clock start; length so far */
    bool ended;                     /* the trace ended cleanly */
    bool exec;                      /* ... by exec: the same pid goes on in a new trace */
} mt_found_trace_t;

/* Marks in CHOSEN[N] the newest run among the traces T[N]: the root of the
 * trace that started last and all of that root's descendants (fork, exec and
 * fork+exec children). Returns how many are chosen. */
size_t mt_discover_pick(const mt_found_trace_t *t, size_t n, bool *chosen);
/* Finds the newest run among the trace directories in DIR, says on stderr
 * which it chose, and returns them in *PATHS (malloc'd, *COUNT of them,
 * oldest first). Returns 0; MT_EXIT_USAGE after one line when there is no
 * trace; MT_EXIT_ERROR when the directory cannot be read. */
int mt_discover_traces(const char *dir, char ***paths, size_t *count);
/* The same without a word: *COUNT 0 (and *PATHS NULL) when DIR holds no
 * trace. Returns 0, ENOMEM or the errno of reading DIR. */
int mt_discover_scan(const char *dir, char ***paths, size_t *count);

#endif
