/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum
 * used to frame journal records.  It detects torn and damaged frames; it
 * is not a security check (the Merkle tree and signatures are).
 */
#ifndef WID_CRC32C_H
#define WID_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * Extend crc (0 to start) over len bytes.  The result of one call can be
 * passed back in to checksum data given in pieces.
 */
uint32_t wid_crc32c(uint32_t crc, const void *buf, size_t len);

/* The table implementation alone; tests check that both paths agree. */
uint32_t wid_crc32c_portable(uint32_t crc, const void *buf, size_t len);

#endif
