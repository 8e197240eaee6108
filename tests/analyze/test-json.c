/* test-json.c - analyze/json.c: exact output, escaping, misuse detection. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

static char *buf;
static size_t len;
static FILE *out;
static mt_json_t j;

static void open_json(int pretty)
{
    out = open_memstream(&buf, &len);
    cr_assert(out);
    mt_json_init(&j, out, pretty);
}

/* Ends the document, expects success and returns the text. */
static const char *finish(void)
{
    cr_assert_eq(mt_json_end(&j), 0, "mt_json_end reported misuse");
    fclose(out);
    return buf;
}

static void teardown(void) { free(buf); buf = NULL; }

TestSuite(json, .fini = teardown);

Test(json, compact_nesting)
{
    open_json(MT_JSON_COMPACT);
    mt_json_begin_object(&j);
    mt_json_kv_u64(&j, "pid", 1234);
    mt_json_kv_string(&j, "command", "redis-server");
    mt_json_kv_bool(&j, "complete", true);
    mt_json_key(&j, "list");
    mt_json_begin_array(&j);
    mt_json_i64(&j, -5);
    mt_json_null(&j);
    mt_json_begin_object(&j);
    mt_json_end_object(&j);
    mt_json_begin_array(&j);
    mt_json_end_array(&j);
    mt_json_end_array(&j);
    mt_json_kv_u64(&j, "max", UINT64_MAX);
    mt_json_end_object(&j);
    cr_assert_str_eq(finish(), "{\"pid\":1234,\"command\":\"redis-server\",\"complete\":true,"
                               "\"list\":[-5,null,{},[]],\"max\":18446744073709551615}\n");
}

Test(json, pretty_layout)
{
    open_json(MT_JSON_PRETTY);
    mt_json_begin_object(&j);
    mt_json_kv_u64(&j, "a", 1);
    mt_json_key(&j, "b");
    mt_json_begin_array(&j);
    mt_json_u64(&j, 2);
    mt_json_u64(&j, 3);
    mt_json_end_array(&j);
    mt_json_key(&j, "empty");
    mt_json_begin_object(&j);
    mt_json_end_object(&j);
    mt_json_end_object(&j);
    cr_assert_str_eq(finish(), "{\n"
                               "  \"a\": 1,\n"
                               "  \"b\": [\n"
                               "    2,\n"
                               "    3\n"
                               "  ],\n"
                               "  \"empty\": {}\n"
                               "}\n");
}

Test(json, escapes_specials_and_controls)
{
    open_json(MT_JSON_COMPACT);
    mt_json_string(&j, "q\" b\\ /\b\f\n\r\t\x01\x1f\x7f end");
    cr_assert_str_eq(finish(), "\"q\\\" b\\\\ /\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f end\"\n");
}

Test(json, escapes_keys_too)
{
    open_json(MT_JSON_COMPACT);
    mt_json_begin_object(&j);
    mt_json_kv_u64(&j, "operator \"new\"", 1);
    mt_json_end_object(&j);
    cr_assert_str_eq(finish(), "{\"operator \\\"new\\\"\":1}\n");
}

Test(json, utf8_passes_through)
{
    open_json(MT_JSON_COMPACT);
    mt_json_string(&j, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    cr_assert_str_eq(finish(), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"\n");
}

Test(json, invalid_utf8_becomes_replacement)
{
    open_json(MT_JSON_COMPACT);
    mt_json_begin_array(&j);
    mt_json_string(&j, "a\xff" "b");         /* stray byte */
    mt_json_string(&j, "\xc0\xaf");           /* overlong '/' */
    mt_json_string(&j, "\xed\xa0\x80");       /* UTF-16 surrogate */
    mt_json_string(&j, "\xe2\x82");           /* truncated at the end */
    mt_json_string(&j, "\xf4\x90\x80\x80");   /* above U+10FFFF */
    mt_json_end_array(&j);
    cr_assert_str_eq(finish(), "[\"a\\ufffdb\",\"\\ufffd\\ufffd\",\"\\ufffd\\ufffd\\ufffd\","
                               "\"\\ufffd\\ufffd\",\"\\ufffd\\ufffd\\ufffd\\ufffd\"]\n");
}

Test(json, string_len_keeps_nul)
{
    open_json(MT_JSON_COMPACT);
    mt_json_string_len(&j, "a\0b", 3);
    cr_assert_str_eq(finish(), "\"a\\u0000b\"\n");
}

Test(json, doubles_are_shortest_and_floats)
{
    open_json(MT_JSON_COMPACT);
    mt_json_begin_array(&j);
    mt_json_double(&j, 1.5);
    mt_json_double(&j, 12.0);
    mt_json_double(&j, 0.1);
    mt_json_double(&j, 6.1);
    mt_json_double(&j, 1e300);
    mt_json_double(&j, -0.25);
    mt_json_double(&j, NAN);
    mt_json_double(&j, INFINITY);
    mt_json_double(&j, 1.0 / 3.0);
    mt_json_end_array(&j);
    cr_assert_str_eq(finish(),
                     "[1.5,12.0,0.1,6.1,1e+300,-0.25,null,null,0.3333333333333333]\n");
}

Test(json, null_string_is_null)
{
    open_json(MT_JSON_COMPACT);
    mt_json_string(&j, NULL);
    cr_assert_str_eq(finish(), "null\n");
}

static int misuse(void (*body)(void))
{
    open_json(MT_JSON_COMPACT);
    body();
    int rc = mt_json_end(&j);
    fclose(out);
    return rc;
}

static void value_without_key(void) { mt_json_begin_object(&j); mt_json_u64(&j, 1); mt_json_end_object(&j); }
static void key_in_array(void) { mt_json_begin_array(&j); mt_json_key(&j, "k"); mt_json_u64(&j, 1); mt_json_end_array(&j); }
static void unclosed(void) { mt_json_begin_object(&j); }
static void mismatched(void) { mt_json_begin_object(&j); mt_json_end_array(&j); }
static void key_without_value(void) { mt_json_begin_object(&j); mt_json_key(&j, "k"); mt_json_end_object(&j); }
static void two_top_values(void) { mt_json_u64(&j, 1); mt_json_u64(&j, 2); }
static void nothing(void) {}

Test(json, misuse_is_reported)
{
    cr_assert_eq(misuse(value_without_key), MT_EINVAL);
    cr_assert_eq(misuse(key_in_array), MT_EINVAL);
    cr_assert_eq(misuse(unclosed), MT_EINVAL);
    cr_assert_eq(misuse(mismatched), MT_EINVAL);
    cr_assert_eq(misuse(key_without_value), MT_EINVAL);
    cr_assert_eq(misuse(two_top_values), MT_EINVAL);
    cr_assert_eq(misuse(nothing), MT_EINVAL);
}
