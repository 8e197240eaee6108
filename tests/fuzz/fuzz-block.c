/* fuzz-block.c - libFuzzer target for the event block decoder
 * (mt_block_open / mt_block_next in format/codec.c).
 *
 * Any input must decode without reading outside it (ASan) or undefined
 * behaviour (UBSan), and whatever decodes must survive a round trip: the
 * decoded events, re-encoded with mt_block_add, decode to the same events.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

#define MAX_EVENTS 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mt_event_t evs[MAX_EVENTS];
    mt_block_decoder_t dec;
    mt_event_t e;
    size_t n = 0;
    int rc;

    /* An exactly sized copy, so that ASan sees a read one byte past the end. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    if (mt_block_open(&dec, copy, size) != 0) {
        free(copy);
        return 0;
    }
    uint32_t thread = dec.thread;
    while ((rc = mt_block_next(&dec, &e)) == 1) {
        if (n < MAX_EVENTS)
            evs[n] = e;
        n++;
    }
    /* After the end or an error, the decoder stays there. */
    if (mt_block_next(&dec, &e) != rc)
        abort();
    free(copy);
    if (rc != 0 || n > MAX_EVENTS)
        return 0;

    /* Round trip: what decoded must encode, and decode back the same. */
    size_t cap = MT_BLOCK_HEADER_MAX + (n + 1) * (MT_EVENT_MAX_ENCODED + 10);
    uint8_t *buf = malloc(cap);
    mt_block_encoder_t enc;
    if (!buf)
        return 0;
    mt_block_begin(&enc, buf, cap, thread);
    for (size_t i = 0; i < n; i++)
        if (mt_block_add(&enc, &evs[i]) != 0)
            abort();
    size_t len = mt_block_finish(&enc);
    if (mt_block_open(&dec, buf, len) != 0 || dec.thread != thread || dec.count != n)
        abort();
    for (size_t i = 0; i < n; i++)
        if (mt_block_next(&dec, &e) != 1 || memcmp(&e, &evs[i], sizeof e) != 0)
            abort();
    if (mt_block_next(&dec, &e) != 0)
        abort();
    free(buf);
    return 0;
}
