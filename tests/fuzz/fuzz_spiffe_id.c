/*
 * Fuzz target: SPIFFE IDs as they arrive in certificate SANs, JWT sub
 * claims and configuration (any bytes, NUL included).  Checks what an
 * accepted ID promises: it is the input, split into trust domain and
 * path that satisfy the rules, and it parses again to the same parts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spiffe_id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static wid_spiffe_id id, again;
    const char          *s = (const char *) data;
    wid_reason_t         r;

    r = wid_spiffe_id_parse(s, size, &id);
    if (r != wid_spiffe_id_parse(s, size, NULL)) {
        abort();        /* validating and parsing must agree */
    }
    if (r != WID_OK) {
        if (id.id[0] != '\0' || id.td_len != 0) {
            abort();    /* a failure leaves nothing behind */
        }
        return 0;
    }
    if (size > WID_SPIFFE_ID_MAX || id.td_len == 0
        || id.td_len > WID_TRUST_DOMAIN_MAX
        || 9 + id.td_len + id.path_len != size
        || memcmp(id.id, s, size) != 0 || id.id[size] != '\0'
        || memcmp(id.trust_domain, s + 9, id.td_len) != 0
        || memcmp(id.path, s + 9 + id.td_len, id.path_len) != 0
        || strlen(id.trust_domain) != id.td_len
        || strlen(id.path) != id.path_len
        || (id.path_len > 0 && id.path[0] != '/')
        || memchr(s, '\0', size) != NULL
        || wid_trust_domain_check(id.trust_domain, id.td_len) != WID_OK)
    {
        abort();
    }
    if (wid_spiffe_id_parse(id.id, size, &again) != WID_OK
        || again.td_len != id.td_len || again.path_len != id.path_len)
    {
        abort();
    }
    return 0;
}
