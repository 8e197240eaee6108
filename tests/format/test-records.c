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
    /* Version 3: varint base, zigzag lo - base, hi - lo, first_ts, last_ts. */
    size_t len = mt__module_encode(&m, buf);
    cr_assert_eq(len, 24 + 3 + 9);
    static const uint8_t head[] = {3, 0x88, 0xef, 0x99, 0xab, 0xc5, 0xe8, 0x8c, 0x91, 0x11,
                                   0x8d, 0xde, 0xb3, 0xd6, 0x8a, 0xd1, 0x99, 0xa2, 0x22,
                                   1, 3, 4, 6, 3};
    cr_assert_arr_eq(buf, head, sizeof head);
    cr_assert_arr_eq(buf + 24, "\xab\xcd\xef/lib/x.so", 12);

    memset(&back, 0xff, sizeof back);
    back.seq = 9;
    cr_assert_eq(mt__module_decode(buf, len, &back), 0);
    cr_assert(memcmp(&back, &m, sizeof m) == 0);

    cr_assert_eq(mt__module_decode(buf, 23, &back), MT_ECORRUPT, "no build-id length");
    cr_assert_eq(mt__module_decode(buf, 26, &back), MT_ECORRUPT, "build id cut");
    cr_assert_eq(mt__module_decode(buf, 5, &back), MT_ECORRUPT, "varint cut");
    buf[23] = 41;
    cr_assert_eq(mt__module_decode(buf, len, &back), MT_ECORRUPT, "build id too long");
    buf[23] = 3, buf[0] = 4;
    cr_assert_eq(mt__module_decode(buf, len, &back), MT_ECORRUPT, "record version");

    /* Formats 2-3 wrote version 2, u64 fields: still decoded. */
    uint8_t v2[43 + 3 + 9];
    v2[0] = 2;
    mt__put_le64(v2 + 1, m.base);
    mt__put_le64(v2 + 9, m.lo);
    mt__put_le64(v2 + 17, m.hi);
    mt__put_le64(v2 + 25, m.first_ts);
    mt__put_le64(v2 + 33, m.last_ts);
    v2[41] = 6;
    v2[42] = 3;
    memcpy(v2 + 43, "\xab\xcd\xef/lib/x.so", 12);
    memset(&back, 0xff, sizeof back);
    back.seq = 9;
    cr_assert_eq(mt__module_decode(v2, sizeof v2, &back), 0);
    cr_assert(memcmp(&back, &m, sizeof m) == 0);
    cr_assert_eq(mt__module_decode(v2, 42, &back), MT_ECORRUPT);

    /* Format 1's record (version 1, no flags byte) still decodes; its times
     * are the ticks that saw the module come and go. */
    uint8_t v1[42 + 3 + 9];
    memcpy(v1, v2, 41);
    v1[0] = 1;
    v1[41] = 3;
    memcpy(v1 + 42, "\xab\xcd\xef/lib/x.so", 12);
    memset(&back, 0xff, sizeof back);
    back.seq = 9;
    cr_assert_eq(mt__module_decode(v1, sizeof v1, &back), 0);
    m.flags = MT_MODULE_SEEN_TIMES;
    cr_assert(memcmp(&back, &m, sizeof m) == 0);
}

/* A library as the shim records it: 16 bytes before the build id and the
 * path (version 2: 43), so python3's 26 modules fit meta's leaf page. */
Test(records, module_of_a_library_is_small)
{
    mt_module_t m, back;
    uint8_t buf[MT__MODULE_MAX];
    memset(&m, 0, sizeof m);
    m.base = 0x7f1234560000ull, m.lo = m.base, m.hi = m.base + 0x1c5000;
    m.flags = MT_MODULE_AT_START;
    m.build_id_len = 20;
    strcpy(m.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
    size_t len = mt__module_encode(&m, buf);
    cr_assert_eq(len, 16 + 20 + 35);
    cr_assert_eq(mt__module_decode(buf, len, &back), 0);
    cr_assert_eq(back.hi, 0x7f1234560000ull + 0x1c5000);
    cr_assert_str_eq(back.path, m.path);
}

Test(records, module_longest_path)
{
    mt_module_t m, back;
    uint8_t buf[MT__MODULE_MAX + 1];
    memset(&m, 0, sizeof m);
    memset(m.path, 'p', sizeof m.path); /* not terminated: 4095 bytes are kept */
    m.build_id_len = 40;
    size_t len = mt__module_encode(&m, buf);
    cr_assert_eq(len, 8 + 40 + 4095, "5 varints of 0: 1 byte each");
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
