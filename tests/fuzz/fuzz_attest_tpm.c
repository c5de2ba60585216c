/*
 * Fuzz target: TPM 2.0 node attestation inputs.  The first byte picks:
 *
 *   0  an evidence document (wid_tpm_verify, round 2) against one of the
 *      two real challenges of the fixture (swtpm, RSA and ECC AKs; see
 *      tests/fuzz/make-attest-seeds): a selector byte (bit 0: challenge
 *      1, bit 1: last counters given, bit 2: a PCR policy requiring the
 *      fixture's PCR 0), 16 bytes of last counters (reset, restart,
 *      clock), then the document
 *   1  an AK public area (TPM2B_PUBLIC) wid_tpm_ak_check
 *   2  a PCR policy JSON               wid_tpm_pcr_policy_parse
 *   3  a raw TPMS_ATTEST, sent as the quote of the fixture's real
 *      evidence (so it reaches unmarshalling, magic/type and signature)
 *   4  two counter records             wid_tpm_counters_check
 *
 * Beyond "no crash": verified evidence names the challenge's EK as its
 * subject, is hashed exactly, has the configured window, and its
 * counters pass the counter rule against the last ones; the counter rule
 * matches an independent statement of it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "attest_fixture.h"
#include "attest_tpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define TTL 300

static X509_STORE        *roots;
static wid_tpm_challenge  chs[2];
static wid_tpm_pcr_rule   pcr0;
static json_t            *evidence0;

static void
unhex(const char *hex, unsigned char *out, size_t max, size_t *len)
{
    size_t n;

    if (wid_attest_unhex(hex, out, max, &n) != 0) {
        abort();
    }
    if (len != NULL) {
        *len = n;
    }
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *const hexes[2][4] = {
        { tpm_ch0_nonce, tpm_ch0_secret, tpm_ch0_akName, tpm_ch0_ekSha256 },
        { tpm_ch1_nonce, tpm_ch1_secret, tpm_ch1_akName, tpm_ch1_ekSha256 },
    };
    const int64_t exp[2] = { TPM_CH0_EXPIRES, TPM_CH1_EXPIRES };
    BIO          *bio;
    X509         *x;
    json_t       *v;
    int           i;

    (void) argc;
    (void) argv;
    roots = X509_STORE_new();
    bio = BIO_new_mem_buf(tpm_roots_pem, -1);
    while (roots != NULL && bio != NULL
           && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
    {
        X509_STORE_add_cert(roots, x);
        X509_free(x);
    }
    BIO_free(bio);
    for (i = 0; i < 2; i++) {
        unhex(hexes[i][0], chs[i].nonce, sizeof(chs[i].nonce), NULL);
        unhex(hexes[i][1], chs[i].secret, sizeof(chs[i].secret), NULL);
        unhex(hexes[i][2], chs[i].ak_name, sizeof(chs[i].ak_name),
              &chs[i].ak_name_len);
        unhex(hexes[i][3], chs[i].ek_sha256, sizeof(chs[i].ek_sha256), NULL);
        chs[i].expires_at = exp[i];
    }
    evidence0 = json_loads(tpm_evidence0, 0, NULL);
    v = json_object_get(json_object_get(json_object_get(evidence0, "pcrs"),
                                        "sha256"), "0");
    if (roots == NULL || !json_is_string(v)) {
        abort();
    }
    pcr0.hash_alg = 0x000b;                   /* TPM2_ALG_SHA256 */
    pcr0.index = 0;
    unhex(json_string_value(v), pcr0.value, sizeof(pcr0.value),
          &pcr0.value_len);
    return 0;
}

static uint64_t
get_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;

    while (n-- > 0) {
        v = v << 8 | *p++;
    }
    return v;
}

static void
counters_from(const uint8_t *p, wid_tpm_counters *c)
{
    c->reset_count = (uint32_t) get_be(p, 4);
    c->restart_count = (uint32_t) get_be(p + 4, 4);
    c->clock = get_be(p + 8, 8);
}

static void
verify(const unsigned char *ev, size_t len, int sel,
       const wid_tpm_counters *last)
{
    wid_tpm_verify_params  p;
    wid_attestation       *a;
    wid_tpm_counters       quoted;
    unsigned char          h[32];
    char                   subject[80], hex[65];
    wid_reason_t           rc;

    memset(&p, 0, sizeof(p));
    p.roots = roots;
    p.challenge = &chs[sel & 1];
    p.pcr_policy = (sel & 4) ? &pcr0 : NULL;
    p.npcr_policy = (sel & 4) ? 1 : 0;
    p.last = last;
    p.now = TPM_NOW;
    p.ttl = TTL;
    p.verifier = "fuzz";
    if ((a = malloc(sizeof(*a))) == NULL) {
        return;
    }
    rc = wid_tpm_verify(ev, len, &p, a, &quoted);
    if (getenv("FUZZ_DEBUG") != NULL) {
        fprintf(stderr, "verify: %s\n", wid_reason_code(rc));
    }
    if (rc == WID_OK) {
        SHA256(ev, len, h);
        wid_hex(p.challenge->ek_sha256, 32, hex);
        snprintf(subject, sizeof(subject), "ek:%s", hex);
        if (a->kind != WID_ATTEST_TPM || !quoted.present
            || wid_tpm_counters_check(last, &quoted) != WID_OK
            || memcmp(a->evidence_sha256, h, 32) != 0
            || a->issued_at != p.now || a->expires_at != p.now + TTL
            || strcmp(a->subject, subject) != 0)
        {
            abort();
        }
    } else if (a->kind != WID_ATTEST_NONE || a->nselectors != 0) {
        abort();                    /* a refusal leaves nothing behind */
    }
    free(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char     name[WID_TPM_NAME_MAX];
    size_t            name_len, n, i;
    wid_tpm_pcr_rule  rules[WID_TPM_MAX_PCRS * 4];
    wid_tpm_counters  last, now;
    json_t           *ev;
    char             *b64, *text, id[65];
    wid_reason_t      rc, want;

    if (size < 1) {
        return 0;
    }
    switch (data[0] % 5) {
    case 0:
        if (size < 18) {
            return 0;
        }
        memset(&last, 0, sizeof(last));
        last.present = (data[1] & 2) != 0;
        counters_from(data + 2, &last);
        (void) wid_tpm_evidence_challenge_id(data + 18, size - 18, id);
        verify(data + 18, size - 18, data[1], &last);
        break;

    case 1:
        rc = wid_tpm_ak_check(data + 1, size - 1, name, &name_len);
        if (rc == WID_OK && (name_len < 2 || name_len > sizeof(name))) {
            abort();
        }
        break;

    case 2:
        rc = wid_tpm_pcr_policy_parse(data + 1, size - 1, rules,
                                      sizeof(rules) / sizeof(rules[0]), &n);
        if (rc == WID_OK) {
            if (n > sizeof(rules) / sizeof(rules[0])) {
                abort();
            }
            for (i = 0; i < n; i++) {
                if (rules[i].index >= WID_TPM_MAX_PCRS
                    || rules[i].value_len > sizeof(rules[i].value))
                {
                    abort();
                }
            }
        }
        break;

    case 3:
        if ((b64 = wid_attest_b64_encode(data + 1, size - 1)) == NULL) {
            return 0;
        }
        ev = json_deep_copy(evidence0);
        if (ev != NULL
            && json_object_set_new(ev, "quote", json_string(b64)) == 0
            && (text = json_dumps(ev, JSON_COMPACT)) != NULL)
        {
            verify((const unsigned char *) text, strlen(text), 0, NULL);
            free(text);
        }
        json_decref(ev);
        free(b64);
        break;

    default:
        if (size < 35) {
            return 0;
        }
        last.present = data[1] & 1;
        counters_from(data + 2, &last);
        now.present = 1;
        counters_from(data + 19, &now);
        /* The rule, stated independently: a state never seen before, or
         * strictly later in (reset, restart, clock) order, and a clock
         * never lower than the last (it survives reboots). */
        want = WID_OK;
        if (last.present) {
            if (now.reset_count < last.reset_count
                || (now.reset_count == last.reset_count
                    && now.restart_count < last.restart_count))
            {
                want = WID_R_ATTEST_TPM_COUNTER_DECREASED;
            } else if (now.reset_count == last.reset_count
                       && now.restart_count == last.restart_count
                       && now.clock <= last.clock)
            {
                want = WID_R_ATTEST_TPM_CLOCK_REPLAY;
            } else if (now.clock < last.clock) {
                want = WID_R_ATTEST_TPM_COUNTER_DECREASED;
            }
        }
        if (wid_tpm_counters_check(&last, &now) != want) {
            abort();
        }
        break;
    }
    return 0;
}
