/*
 * Registration entries, two phases as in SPIRE: a node attests first and
 * is matched against node entries; workload evidence is matched only
 * against workload entries whose parent is that attested node's SPIFFE
 * ID.  An entry matches when every one of its selectors is present in the
 * attestation (subset); the attestation may carry more.
 *
 * File format (JSON):
 *   {"nodes":     [{"id": "spiffe://td/node/a", "tier": "verified",
 *                   "selectors": ["tpm:ek_sha256:<hex>", ...]}],
 *    "workloads": [{"id": "spiffe://td/app", "parent": "spiffe://td/node/a",
 *                   "tier": "attested", "selectors": ["unix:uid:1000"]}]}
 * A selector string is "<type>:<value>" (the value may contain ':').
 * Every entry needs at least one selector; tier is none, basic, attested
 * or verified (default attested).
 *
 * Several matching entries with the same SPIFFE ID are fine (the highest
 * tier wins); matching entries for different SPIFFE IDs are refused as
 * ambiguous rather than picking one.
 */
#ifndef WID_ATTEST_REGISTRY_H
#define WID_ATTEST_REGISTRY_H

#include <stddef.h>

#include "attest.h"
#include "reason.h"

typedef struct wid_registry wid_registry;

/* Parse entries; attest.registration_invalid on any malformed entry. */
wid_reason_t wid_registry_load(const unsigned char *json, size_t len,
                               wid_registry **out);

void wid_registry_free(wid_registry *r);

/* Phase 1: bind node->spiffe_id and node->tier (node evidence only). */
wid_reason_t wid_registry_match_node(const wid_registry *r,
                                     wid_attestation *node);

/*
 * Phase 2: bind wl->spiffe_id and wl->tier beneath the attested node
 * whose SPIFFE ID is node_id.  node_id NULL or "" gives
 * attest.node_not_attested.
 */
wid_reason_t wid_registry_match_workload(const wid_registry *r,
                                         const char *node_id,
                                         wid_attestation *wl);

/* Rank of a tier name (none 0 < basic 1 < attested 2 < verified 3), -1. */
int wid_attest_tier_rank(const char *tier);

#endif
