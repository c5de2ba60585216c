/*
 * Fuzz target: policy files (YAML loader, schema compiler) and one
 * decision on whatever compiles.  A policy is operator input, but a
 * loader that crashes on a malformed one is a denial of service for
 * every consumer that reloads it.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const wid_policy_identity id = {
        "spiffe://example.org/frontend/web", "example.org", "/frontend/web",
        WID_CRED_X509_SVID
    };
    wid_policy          *p;
    wid_diags            d;
    wid_policy_input     in;
    wid_policy_decision  dec;

    if (wid_policy_load_bytes(data, size, &p, &d) != WID_OK) {
        return 0;
    }
    memset(&in, 0, sizeof(in));
    in.identity = &id;
    in.operation = "GET";
    for (size_t i = 0; i < wid_policy_rule_count(p); i++) {
        in.rule = wid_policy_rule_name(wid_policy_rule_at(p, i));
        (void) wid_policy_decide(p, &in, &dec);
        (void) wid_policy_rule_ssh(wid_policy_rule_at(p, i));
    }
    wid_policy_free(p);
    return 0;
}
