/*
 * CRC-32C.  No Debian package ships a C library for it, and it is framing,
 * not cryptography: a slicing-by-8 table implementation, with the SSE4.2
 * crc32 instruction used when the CPU has it (it computes exactly this
 * polynomial).  The tables are built once, on first use.
 */
#include <pthread.h>
#include <string.h>

#include "crc32c.h"

#define WID_CRC32C_POLY 0x82F63B78u

static uint32_t        wid_crc32c_table[8][256];
static pthread_once_t  wid_crc32c_once = PTHREAD_ONCE_INIT;
static int             wid_crc32c_hw;


static void
wid_crc32c_init(void)
{
    uint32_t  c;
    unsigned  i, k;

    for (i = 0; i < 256; i++) {
        c = i;
        for (k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ WID_CRC32C_POLY : c >> 1;
        }
        wid_crc32c_table[0][i] = c;
    }
    for (i = 0; i < 256; i++) {
        c = wid_crc32c_table[0][i];
        for (k = 1; k < 8; k++) {
            c = wid_crc32c_table[0][c & 0xff] ^ (c >> 8);
            wid_crc32c_table[k][i] = c;
        }
    }
#if defined(__x86_64__)
    __builtin_cpu_init();
    wid_crc32c_hw = __builtin_cpu_supports("sse4.2");
#endif
}


static uint32_t
wid_crc32c_sw(uint32_t c, const unsigned char *p, size_t len)
{
    uint64_t  w;

    while (len >= 8) {
        memcpy(&w, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        w ^= c;
        c = wid_crc32c_table[7][w & 0xff]
            ^ wid_crc32c_table[6][(w >> 8) & 0xff]
            ^ wid_crc32c_table[5][(w >> 16) & 0xff]
            ^ wid_crc32c_table[4][(w >> 24) & 0xff]
            ^ wid_crc32c_table[3][(w >> 32) & 0xff]
            ^ wid_crc32c_table[2][(w >> 40) & 0xff]
            ^ wid_crc32c_table[1][(w >> 48) & 0xff]
            ^ wid_crc32c_table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) {
        c = wid_crc32c_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    }
    return c;
}


#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t
wid_crc32c_sse42(uint32_t c, const unsigned char *p, size_t len)
{
    uint64_t  w, c64 = c;

    while (len >= 8) {
        memcpy(&w, p, 8);
        c64 = __builtin_ia32_crc32di(c64, w);
        p += 8;
        len -= 8;
    }
    c = (uint32_t) c64;
    while (len--) {
        c = __builtin_ia32_crc32qi(c, *p++);
    }
    return c;
}
#endif


uint32_t
wid_crc32c(uint32_t crc, const void *buf, size_t len)
{
    uint32_t  c = ~crc;

    pthread_once(&wid_crc32c_once, wid_crc32c_init);
#if defined(__x86_64__)
    if (wid_crc32c_hw) {
        return ~wid_crc32c_sse42(c, buf, len);
    }
#endif
    return ~wid_crc32c_sw(c, buf, len);
}


uint32_t
wid_crc32c_portable(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&wid_crc32c_once, wid_crc32c_init);
    return ~wid_crc32c_sw(~crc, buf, len);
}
