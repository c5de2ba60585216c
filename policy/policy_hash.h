/*
 * A policy's identity is the SHA-256 of its exact bytes: what was signed,
 * what was loaded and what every receipt names are the same thing.
 */
#ifndef WID_POLICY_HASH_H
#define WID_POLICY_HASH_H

#include <stddef.h>

#define WID_POLICY_HASH_LEN 32

void wid_policy_hash(const unsigned char *bytes, size_t len,
                     unsigned char out[WID_POLICY_HASH_LEN]);

#endif
