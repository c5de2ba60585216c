/*
 * Base64, the one module for every decoder and encoder of libcore and
 * the policy library.
 *
 * Standard base64 (RFC 4648 section 4) is decoded by OpenSSL's EVP
 * decoder after strict checks that OpenSSL does not make: only the
 * standard alphabet, the length a multiple of four, padding present and
 * only at the end, the unused low bits of the last character zero, and
 * no whitespace unless the caller allows it.  So every byte string has
 * exactly one accepted encoding.
 *
 * base64url (RFC 4648 section 5) is decoded in the JWS form (RFC 7515
 * section 2): no padding, canonical trailing bits, no whitespace.
 *
 * Encoders: standard with padding (OpenSSL), standard without padding
 * (OpenSSH fingerprints) and base64url without padding (JWS), the latter
 * two by libsodium; each also into a fresh string.
 */
#ifndef WID_BASE64_H
#define WID_BASE64_H

#include <stddef.h>

/* Skip ' ', '\t', '\r' and '\n' anywhere in standard base64 input. */
#define WID_B64_ALLOW_WS 0x1u
/*
 * Accept any value in the unused low bits of the last character (as
 * OpenSSL's decoder does): the attestation evidence decoders always
 * have, and keep doing so rather than refuse evidence accepted before.
 * Everything else stays strict.
 */
#define WID_B64_ANY_LAST_BITS 0x2u

/* Characters of the standard encoding of n bytes, with padding. */
#define WID_B64_ENCODED_LEN(n) (((n) + 2) / 3 * 4)
/* Characters of the encoding of n bytes without padding (either alphabet). */
#define WID_B64_UNPADDED_LEN(n) (((n) * 4 + 2) / 3)

/*
 * Strict standard base64 of in_len bytes at in into out (out_max bytes).
 * Returns 0 and sets *out_len, or -1 (not canonical base64, or more than
 * out_max bytes).  Empty input decodes to zero bytes.
 */
int wid_b64_decode(const char *in, size_t in_len, unsigned flags,
                   unsigned char *out, size_t out_max, size_t *out_len);

/*
 * The same into a fresh malloc'd buffer (the caller frees *out).  Returns
 * 0, or -1 with *out NULL (invalid, or out of memory).
 */
int wid_b64_decode_alloc(const char *in, size_t in_len, unsigned flags,
                         unsigned char **out, size_t *out_len);

/*
 * Standard base64 with padding of len bytes, NUL-terminated, into out
 * (out_max bytes, at least WID_B64_ENCODED_LEN(len) + 1).  Returns the
 * number of characters, or -1 when out is too small.
 */
int wid_b64_encode(const unsigned char *in, size_t len, char *out,
                   size_t out_max);

/* The same, into a fresh malloc'd string; NULL when out of memory. */
char *wid_b64_encode_alloc(const unsigned char *in, size_t len);

/*
 * Standard base64 without padding (OpenSSH's "SHA256:..." fingerprints),
 * NUL-terminated, into out (at least WID_B64_UNPADDED_LEN(len) + 1
 * bytes).  Returns the number of characters, or -1.
 */
int wid_b64_encode_nopad(const unsigned char *in, size_t len, char *out,
                         size_t out_max);

/*
 * Strict base64url without padding (canonical trailing bits) into out.
 * Returns 0 and sets *out_len, or -1.
 */
int wid_b64url_decode(const char *in, size_t in_len, unsigned char *out,
                      size_t out_max, size_t *out_len);

/*
 * base64url without padding (JWS), NUL-terminated, into out (at least
 * WID_B64_UNPADDED_LEN(len) + 1 bytes).  Returns the number of
 * characters, or -1.
 */
int wid_b64url_encode(const unsigned char *in, size_t len, char *out,
                      size_t out_max);

/* The same, into a fresh malloc'd string; NULL when out of memory. */
char *wid_b64url_encode_alloc(const unsigned char *in, size_t len);

#endif
