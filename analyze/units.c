/* units.c - human-readable text for reports: thousands separators, binary
 * byte units, durations, percentages, trace strings made safe for a
 * terminal, and XML escaping for the SVG reports. Numbers are ASCII and locale-independent so golden outputs stay
 * stable.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *mt_fmt_count(char *buf, uint64_t v)
{
    char digits[24];
    int n = snprintf(digits, sizeof(digits), "%" PRIu64, v);
    char *o = buf;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            *o++ = ',';
        *o++ = digits[i];
    }
    *o = '\0';
    return buf;
}

const char *mt_fmt_bytes(char *buf, uint64_t v)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (v < 1024) {
        snprintf(buf, MT_FMT_MAX, "%" PRIu64 " B", v);
        return buf;
    }
    unsigned u = 0;
    uint64_t div = 1;
    /* Pick the unit in which the value rounded to tenths stays below 1024,
     * so 1048575 prints "1.0 MiB", not "1024.0 KiB". */
    while (u + 1 < sizeof(units) / sizeof(units[0]) &&
           (v / div >= 1024 || (double)v / (double)div >= 1023.95))
        div <<= 10, u++;
    if (v % div == 0)
        snprintf(buf, MT_FMT_MAX, "%" PRIu64 " %s", v / div, units[u]);
    else
        snprintf(buf, MT_FMT_MAX, "%.1f %s", (double)v / (double)div, units[u]);
    return buf;
}

const char *mt_fmt_duration(char *buf, uint64_t ns)
{
    const uint64_t us = 1000, ms = 1000 * us, s = 1000 * ms;
    if (ns < us)
        snprintf(buf, MT_FMT_MAX, "%" PRIu64 " ns", ns);
    else if (ns < ms - us / 20) /* thresholds keep "1000.0 us" from printing */
        snprintf(buf, MT_FMT_MAX, "%.1f us", (double)ns / (double)us);
    else if (ns < s - ms / 20)
        snprintf(buf, MT_FMT_MAX, "%.1f ms", (double)ns / (double)ms);
    else if (ns < 60 * s - s / 20)
        snprintf(buf, MT_FMT_MAX, "%.1f s", (double)ns / (double)s);
    else if (ns < 3600 * s - s / 2) {
        uint64_t secs = (ns + s / 2) / s;
        snprintf(buf, MT_FMT_MAX, "%" PRIu64 " min %02" PRIu64 " s", secs / 60, secs % 60);
    } else {
        uint64_t mins = (ns + 30 * s) / (60 * s);
        snprintf(buf, MT_FMT_MAX, "%" PRIu64 " h %02" PRIu64 " min", mins / 60, mins % 60);
    }
    return buf;
}

const char *mt_fmt_percent(char *buf, uint64_t part, uint64_t whole)
{
    if (whole == 0)
        snprintf(buf, MT_FMT_MAX, "-");
    else
        snprintf(buf, MT_FMT_MAX, "%.1f%%", 100.0 * (double)part / (double)whole);
    return buf;
}

size_t mt_utf8_seq_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

const char *mt_printable(char *buf, size_t cap, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0, o = 0;
    if (cap == 0)
        return buf;
    while (i < len && o + 1 < cap) {
        size_t n = mt_utf8_seq_len(p + i, len - i);
        if (n == 0 || (n == 1 && (p[i] < 0x20 || p[i] == 0x7f))) {
            buf[o++] = '?';
            i++;
            continue;
        }
        if (o + n >= cap)
            break; /* never cut a character in half */
        memcpy(buf + o, p + i, n);
        o += n;
        i += n;
    }
    buf[o] = '\0';
    return buf;
}

void mt_put_xml(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&apos;", out); break;
        default: fputc(*s, out);
        }
    }
}
