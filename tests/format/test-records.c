/* test-records.c - stored encodings of meta format, modules, threads,
 * counters and stacks (format/records.c): exact bytes and length checks. */
#include <criterion/criterion.h>
#include <string.h>

#include "internal.h"

Test(records, format_record)
{
    uint8_t rec[MT__FORMAT_RECORD_LEN];
    uint32_t version = 0;
    cr_assert_eq(mt__format_record_encode(rec, MT_FORMAT_VERSION), 16);
    static const uint8_t want[16] = {'M', 'T', 'R', 'A', 'C', 'E', '0', '1',
                                     4, 0, 0, 0, 64, 0, 0, 0};
    cr_assert_arr_eq(rec, want, 16);
    cr_assert_eq(mt__format_record_check(rec, 16, &version), 0);
    cr_assert_eq(version, 4);
    mt__format_record_encode(rec, 1); /* format 1 traces are still read */
    cr_assert_eq(mt__format_record_check(rec, 16, &version), 0);
    cr_assert_eq(version, 1);

    mt__format_record_encode(rec, 2); /* and format 2 */
    cr_assert_eq(mt__format_record_check(rec, 16, &version), 0);
    cr_assert_eq(version, 2);

    mt__format_record_encode(rec, 3); /* and format 3 (event blocks of version 1) */
    cr_assert_eq(mt__format_record_check(rec, 16, &version), 0);
    cr_assert_eq(version, 3);

    mt__format_record_encode(rec, 5);
    cr_assert_eq(mt__format_record_check(rec, 16, &version), MT_ENEWER);
    cr_assert_eq(version, 5);
    cr_assert_eq(mt__format_record_check(rec, 12, &version), MT_ENEWER,
                 "a newer record may have another length");
    mt__format_record_encode(rec, 0);
    cr_assert_eq(mt__format_record_check(rec, 16, &version), MT_EOLDER);

    mt__format_record_encode(rec, MT_FORMAT_VERSION);
    cr_assert_eq(mt__format_record_check(rec, 15, &version), MT_ECORRUPT);
    cr_assert_eq(mt__format_record_check(rec, 11, &version), MT_ECORRUPT);
    cr_assert_eq(mt__format_record_check(rec, 7, &version), MT_ENOTTRACE);
    rec[12] = 63; /* sizeof(mt_event_t) differs */
    cr_assert_eq(mt__format_record_check(rec, 16, &version), MT_ECORRUPT);
    rec[0] = 'X';
    cr_assert_eq(mt__format_record_check(rec, 16, &version), MT_ENOTTRACE);
}

Test(records, module_exact_bytes_and_round_trip)
{
    mt_module_t m, back;
    uint8_t buf[MT__MODULE_MAX];
    memset(&m, 0, sizeof m);
    m.seq = 9;
    m.base = 0x1122334455667788ull;
    m.lo = 1, m.hi = 2, m.first_ts = 3, m.last_ts = 4;
    m.flags = MT_MODULE_LOAD_HOOKED | MT_MODULE_UNLOAD_HOOKED;
    strcpy(m.path, "/lib/x.so");
    m.build_id_len = 3;
    memcpy(m.build_id, "\xab\xcd\xef", 3);
    size_t len = mt__module_encode(&m, buf);
    cr_assert_eq(len, 43 + 3 + 9);
    static const uint8_t head[] = {2, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
                                   1, 0, 0, 0, 0, 0, 0, 0};
    cr_assert_arr_eq(buf, head, sizeof head);
    cr_assert_eq(buf[25], 3, "first_ts");
    cr_assert_eq(buf[33], 4, "last_ts");
    cr_assert_eq(buf[41], 6, "flags");
    cr_assert_eq(buf[42], 3);
    cr_assert_arr_eq(buf + 43, "\xab\xcd\xef/lib/x.so", 12);

    memset(&back, 0xff, sizeof back);
    back.seq = 9;
    cr_assert_eq(mt__module_decode(buf, len, &back), 0);
    cr_assert(memcmp(&back, &m, sizeof m) == 0);

    cr_assert_eq(mt__module_decode(buf, 42, &back), MT_ECORRUPT);
    cr_assert_eq(mt__module_decode(buf, 45, &back), MT_ECORRUPT, "build id cut");
    buf[42] = 41;
    cr_assert_eq(mt__module_decode(buf, len, &back), MT_ECORRUPT, "build id too long");
    buf[42] = 3, buf[0] = 3;
    cr_assert_eq(mt__module_decode(buf, len, &back), MT_ECORRUPT, "record version");

    /* Format 1's record (version 1, no flags byte) still decodes; its times
     * are the ticks that saw the module come and go. */
    uint8_t v1[42 + 3 + 9];
    memcpy(v1, buf, 41);
    v1[0] = 1;
    v1[41] = 3;
    memcpy(v1 + 42, "\xab\xcd\xef/lib/x.so", 12);
    memset(&back, 0xff, sizeof back);
    back.seq = 9;
    cr_assert_eq(mt__module_decode(v1, sizeof v1, &back), 0);
    m.flags = MT_MODULE_SEEN_TIMES;
    cr_assert(memcmp(&back, &m, sizeof m) == 0);
}

Test(records, module_longest_path)
{
    mt_module_t m, back;
    uint8_t buf[MT__MODULE_MAX + 1];
    memset(&m, 0, sizeof m);
    memset(m.path, 'p', sizeof m.path); /* not terminated: 4095 bytes are kept */
    m.build_id_len = 40;
    size_t len = mt__module_encode(&m, buf);
    cr_assert_eq(len, MT__MODULE_MAX);
    cr_assert_eq(mt__module_decode(buf, len, &back), 0);
    cr_assert_eq(strlen(back.path), 4095);
    buf[len] = 'p';
    cr_assert_eq(mt__module_decode(buf, len + 1, &back), MT_ECORRUPT);
}

Test(records, thread)
{
    mt_thread_t t, back;
    uint8_t buf[MT__THREAD_MAX];
    memset(&t, 0, sizeof t);
    t.seq = 4;
    t.tid = 0x01020304;
    t.first_ts = 5;
    t.last_ts = 6;
    t.exited = 1;
    strcpy(t.name, "worker");
    size_t len = mt__thread_encode(&t, buf);
    static const uint8_t want[] = {1, 4, 3, 2, 1, 5, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0,
                                   1, 'w', 'o', 'r', 'k', 'e', 'r'};
    cr_assert_eq(len, sizeof want);
    cr_assert_arr_eq(buf, want, sizeof want);
    back.seq = 4;
    cr_assert_eq(mt__thread_decode(buf, len, &back), 0);
    cr_assert(memcmp(&back, &t, sizeof t) == 0);

    buf[21] = 2;
    cr_assert_eq(mt__thread_decode(buf, len, &back), MT_ECORRUPT, "exited is 0 or 1");
    buf[21] = 1;
    cr_assert_eq(mt__thread_decode(buf, 21, &back), MT_ECORRUPT);
    memset(t.name, 'n', sizeof t.name);
    len = mt__thread_encode(&t, buf);
    cr_assert_eq(len, MT__THREAD_MAX, "a 16-byte name keeps 15");
    uint8_t longer[MT__THREAD_MAX + 1];
    memcpy(longer, buf, len);
    longer[len] = 'n';
    cr_assert_eq(mt__thread_decode(longer, len + 1, &back), MT_ECORRUPT);
}

Test(records, counter)
{
    mt_counter_t c = {.name = "malloc", .calls = 3, .bytes = 0x100}, back;
    uint8_t buf[MT__COUNTER_LEN];
    cr_assert_eq(mt__counter_encode(&c, buf), 17);
    static const uint8_t want[] = {1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    cr_assert_arr_eq(buf, want, sizeof want);
    cr_assert_eq(mt__counter_decode(buf, 17, &back), 0);
    cr_assert_eq(back.calls, 3);
    cr_assert_eq(back.bytes, 0x100);
    cr_assert_eq(mt__counter_decode(buf, 16, &back), MT_ECORRUPT);
    buf[0] = 0;
    cr_assert_eq(mt__counter_decode(buf, 17, &back), MT_ECORRUPT);
}

Test(records, stack)
{
    uint64_t pcs[2] = {0x401000, 0x0102030405060708ull}, back[MT_MAX_FRAMES];
    uint8_t buf[8 * MT_MAX_FRAMES + 8];
    uint32_t n = 0;
    mt__stack_encode(pcs, 2, buf);
    static const uint8_t want[] = {0x00, 0x10, 0x40, 0, 0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1};
    cr_assert_arr_eq(buf, want, 16);
    cr_assert_eq(mt__stack_decode(buf, 16, back, &n), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(back[0], pcs[0]);
    cr_assert_eq(back[1], pcs[1]);
    cr_assert_eq(mt__stack_decode(buf, 0, back, &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(mt__stack_decode(buf, 15, back, &n), MT_ECORRUPT);
    memset(buf, 0, sizeof buf);
    cr_assert_eq(mt__stack_decode(buf, 8 * MT_MAX_FRAMES, back, &n), 0);
    cr_assert_eq(n, MT_MAX_FRAMES);
    cr_assert_eq(mt__stack_decode(buf, 8 * MT_MAX_FRAMES + 8, back, &n), MT_ECORRUPT);
}
