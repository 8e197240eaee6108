/* varint.c - unsigned LEB128: 7 bits per byte, low bits first, high bit = more.
 *
 * A u64 takes at most 10 bytes; the decoder rejects longer encodings and a
 * 10th byte carrying bits above 63. Non-minimal encodings are accepted.
 * The encoder, mt_varint_put, is inline in format.h (the codec's hot path).
 */
#include "format.h"

size_t mt_varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    size_t avail = end > p ? (size_t)(end - p) : 0;
    uint64_t x = 0;
    for (size_t i = 0; i < avail && i < 10; i++) {
        uint8_t b = p[i];
        if (i == 9 && b > 1)
            return 0; /* bit 64 or beyond, or an 11th byte announced */
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return i + 1;
        }
    }
    return 0;
}
