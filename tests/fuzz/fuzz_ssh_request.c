/*
 * Fuzz target: what a client sends `ssh-wid-helper serve` over its
 * socket: the JSON request (ssh_issue_req_parse) and the X.509-SVID
 * proof-of-possession line inside it (ssh_pop_verify).
 *
 * The first byte picks the mode:
 *
 *   0  a request                 ssh_issue_req_parse
 *   1  a proof line, verified with the leaf of a fixed test key (Ed25519
 *      from a seed of 32 0x0e bytes; the seed corpus is signed with it):
 *      leaf byte, u64 now, u32 max_age, audience NUL, proof
 *   2  sign, then verify: leaf byte, u64 now, u32 max_age, u64 t,
 *      audience; the proof is made here for time t, with the fixed
 *      Ed25519 key or a P-256 key drawn at start
 *
 * Beyond "no crash": a parsed request holds only what the protocol
 * allows (principals, extensions and strings within their bounds, a
 * positive TTL); a proof verifies only when its time is fresh by
 * pop.h's rule (now - max_age <= t <= now + 30, every sum exact), and an
 * honest proof verifies exactly then, for its audience and key only.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "issuer.h"
#include "pop.h"
#include "ssh_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define POP_SEED  0x0e

static EVP_PKEY      *keys[2];
static X509          *leaves[2];
static unsigned char  ssh_pk[SSH_ED25519_PK_LEN], other_pk[SSH_ED25519_PK_LEN];

static X509 *
self_signed(EVP_PKEY *k)
{
    X509 *x = X509_new();

    if (x == NULL || X509_set_version(x, 2) != 1
        || ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1
        || X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL
        || X509_gmtime_adj(X509_getm_notAfter(x), 3600) == NULL
        || X509_set_pubkey(x, k) != 1
        || X509_sign(x, k, EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519
                              ? NULL : EVP_sha256()) <= 0)
    {
        abort();
    }
    return x;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    unsigned char seed[32], sk[64];

    (void) argc;
    (void) argv;
    if (fuzz_ssh_fixture_init() != 0) {
        abort();
    }
    memset(seed, POP_SEED, sizeof(seed));
    keys[0] = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
                                           sizeof(seed));
    keys[1] = EVP_EC_gen("P-256");
    if (keys[0] == NULL || keys[1] == NULL) {
        abort();
    }
    leaves[0] = self_signed(keys[0]);
    leaves[1] = self_signed(keys[1]);
    /* The SSH key being certified: the seed corpus uses the CA's public
     * key as the user key (any Ed25519 key will do). */
    memcpy(ssh_pk, fuzz_ssh_ca_pk, sizeof(ssh_pk));
    memset(seed, 0x0f, sizeof(seed));
    crypto_sign_seed_keypair(other_pk, sk, seed);
    return 0;
}

static uint64_t
get_u64(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    size_t   i;

    for (i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/* pop.h's freshness rule, written independently. */
static int
fresh(uint64_t t, uint64_t now, uint64_t max_age)
{
    if (now <= UINT64_MAX - SSH_POP_FUTURE_SKEW) {
        if (t > now + SSH_POP_FUTURE_SKEW) {
            return 0;
        }
    }
    return t >= now || now - t <= max_age;
}

static int
bounded(char *const *v, size_t n, size_t max)
{
    size_t i;

    if (n > max || (n > 0 && v == NULL)) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (v[i] == NULL) {
            return 0;
        }
    }
    return 1;
}

static void
request(const uint8_t *p, size_t n)
{
    ssh_issue_req req, again;
    wid_reason_t  rc;

    rc = ssh_issue_req_parse((const char *) p, n, &req);
    if (rc == WID_OK) {
        if (n > SSH_REQUEST_MAX
            || !bounded(req.principals, req.nprincipals,
                        SSH_CERT_MAX_PRINCIPALS)
            || !bounded(req.extensions, req.nextensions, 16)
            || (req.have_ttl && req.ttl == 0)
            || (!req.have_principals && req.nprincipals != 0))
        {
            abort();
        }
    }
    /* Same bytes, same answer. */
    if (ssh_issue_req_parse((const char *) p, n, &again) != rc) {
        abort();
    }
    ssh_issue_req_free(&again);
    ssh_issue_req_free(&req);
}

static void
verify_line(const uint8_t *p, size_t n)
{
    uint64_t      now, max_age, t;
    char         *aud, *proof, *end;
    X509         *leaf;
    wid_reason_t  rc;

    if (n < 13) {
        return;
    }
    leaf = leaves[p[0] & 1];
    now = get_u64(p + 1, 8);
    max_age = get_u64(p + 9, 4);
    p += 13;
    n -= 13;
    if ((aud = fuzz_next_field(&p, &n)) == NULL) {
        return;
    }
    if ((proof = fuzz_strndup(p, n)) == NULL) {
        free(aud);
        return;
    }
    rc = ssh_pop_verify(leaf, aud, ssh_pk, proof, now, max_age);
    if (rc == WID_OK) {
        /* "wid-ssh-pop-v1 <t> <sig>": the time it was fresh at. */
        t = strtoull(proof + sizeof(SSH_POP_VERSION), &end, 10);
        if (*end != ' ' || !fresh(t, now, max_age)) {
            abort();
        }
        /* Bound to the SSH key it names. */
        if (ssh_pop_verify(leaf, aud, other_pk, proof, now, max_age)
            == WID_OK)
        {
            abort();
        }
    }
    free(proof);
    free(aud);
}

static void
sign_verify(const uint8_t *p, size_t n)
{
    uint64_t      now, max_age, t;
    char         *aud, *proof = NULL;
    int           which;
    wid_reason_t  rc;

    if (n < 21) {
        return;
    }
    which = p[0] & 1;
    now = get_u64(p + 1, 8);
    max_age = get_u64(p + 9, 4);
    t = get_u64(p + 13, 8);
    if ((aud = fuzz_strndup(p + 21, n - 21)) == NULL) {
        return;
    }
    if (ssh_pop_sign(keys[which], aud, t, ssh_pk, &proof) == WID_OK) {
        rc = ssh_pop_verify(leaves[which], aud, ssh_pk, proof, now,
                            max_age);
        if ((rc == WID_OK) != fresh(t, now, max_age)) {
            abort();
        }
        if (rc != WID_OK && rc != WID_R_SSH_POP_STALE) {
            abort();
        }
        /* Another key, another audience, another leaf: never. */
        if (ssh_pop_verify(leaves[which], aud, other_pk, proof, now,
                           max_age) == WID_OK
            || ssh_pop_verify(leaves[!which], aud, ssh_pk, proof, now,
                              max_age) == WID_OK)
        {
            abort();
        }
        if (strlen(aud) < 64) {
            char other[80];

            memcpy(other, aud, strlen(aud));
            memcpy(other + strlen(aud), "x", 2);
            if (ssh_pop_verify(leaves[which], other, ssh_pk, proof, now,
                               max_age) == WID_OK)
            {
                abort();
            }
        }
    }
    free(proof);
    free(aud);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    switch (data[0] % 3) {
    case 0:
        request(data + 1, size - 1);
        break;
    case 1:
        verify_line(data + 1, size - 1);
        break;
    default:
        sign_verify(data + 1, size - 1);
        break;
    }
    return 0;
}
