/*
 * Shared by the SSH fuzz targets: the fixed test CA (an Ed25519 key from
 * a seed of 32 0x0c bytes; a test key, never a real one; the seed
 * corpora made by tests/fuzz/make-ssh-seeds are signed with it), the
 * time the seeds are valid at, and re-signing of fuzzed certificate
 * bodies so that mutations reach the checks behind the signature.
 */
#ifndef WID_FUZZ_SSH_FIXTURE_H
#define WID_FUZZ_SSH_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sshbuf.h"
#include "sshcert.h"

#define FUZZ_SSH_NOW        UINT64_C(1800000000)   /* 2027-01-15T08:00:00Z */
#define FUZZ_SSH_CA_SEED    0x0c
#define FUZZ_SSH_SIG_BLOCK  (4 + 4 + 11 + 4 + SSH_ED25519_SIG_LEN)

static unsigned char fuzz_ssh_ca_pk[SSH_ED25519_PK_LEN];
static unsigned char fuzz_ssh_ca_sk[SSH_ED25519_SK_LEN];

static int
fuzz_ssh_fixture_init(void)
{
    unsigned char seed[32];

    if (sodium_init() < 0) {
        return -1;
    }
    memset(seed, FUZZ_SSH_CA_SEED, sizeof(seed));
    return crypto_sign_seed_keypair(fuzz_ssh_ca_pk, fuzz_ssh_ca_sk, seed);
}

/*
 * body || string(string("ssh-ed25519") || string(sig)), the signature by
 * the fixed CA over body: a certificate whose signature verifies (when
 * its signature-key field names the fixed CA).  Caller frees *out.
 */
static int
fuzz_ssh_resign(const unsigned char *body, size_t len, unsigned char **out,
                size_t *out_len)
{
    unsigned char sig[SSH_ED25519_SIG_LEN];
    ssh_wbuf      b, inner;
    int           rc = -1;

    *out = NULL;
    *out_len = 0;
    crypto_sign_ed25519_detached(sig, NULL, body, len, fuzz_ssh_ca_sk);
    ssh_wbuf_init(&b, 0);
    ssh_wbuf_init(&inner, 0);
    ssh_wbuf_put(&b, body, len);
    ssh_wbuf_put_cstring(&inner, SSH_ED25519_NAME);
    ssh_wbuf_put_string(&inner, sig, sizeof(sig));
    ssh_wbuf_put_wbuf(&b, &inner);
    if (ssh_wbuf_error(&b) == 0 && (*out = malloc(b.len ? b.len : 1))) {
        memcpy(*out, b.data, b.len);
        *out_len = b.len;
        rc = 0;
    }
    ssh_wbuf_free(&inner);
    ssh_wbuf_free(&b);
    return rc;
}

/* A NUL-terminated copy of n bytes (NULL on allocation failure). */
static char *
fuzz_strndup(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);

    if (s != NULL) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/* Split off the next NUL-terminated field of (p, n) (NULL when none). */
static char *
fuzz_next_field(const uint8_t **p, size_t *n)
{
    const uint8_t *nul = memchr(*p, '\0', *n);
    size_t         k;
    char          *s;

    if (nul == NULL) {
        return NULL;
    }
    k = (size_t) (nul - *p);
    s = fuzz_strndup(*p, k);
    *p += k + 1;
    *n -= k + 1;
    return s;
}

#endif
