/*
 * wid attest: verify raw attestation evidence and print the normalized
 * attestation (optionally a signed attestation result).
 *
 *   wid attest challenge --kind tpm --state DIR --roots PEM --ek-cert FILE
 *       [--ek-chain PEM] --ak-public FILE --cred-out FILE [--ttl S]
 *   wid attest verify --kind KIND --evidence FILE [options] [--json]
 *
 * Exit 0 verified, 1 refused (reason code on stderr, or in --json),
 * 2 usage or operational error (unreadable configuration or state).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "attest.h"
#include "attest_state.h"
#include "attest_iid.h"
#include "attest_registry.h"
#include "attest_result.h"
#include "attest_token.h"
#include "attest_tpm.h"
#include "keyfile.h"
#include "spiffe_id.h"
#include "bytes.h"
#include "commands.h"

#define WID_ATTEST_TTL_DEFAULT 300
#define WID_ATTEST_CLI_KEYS_MAX 16

typedef struct {
    const char *kind, *evidence, *state, *roots, *ek_cert, *ek_chain;
    const char *ak_public, *cred_out, *pcr_policy, *verifier, *sign_key;
    const char *aws_cert, *jwks, *issuer, *audience, *entries;
    const char *node_result, *spiffe_id, *positional;
    const char *pubkeys[WID_ATTEST_CLI_KEYS_MAX];
    size_t      npubkeys;
    int64_t     ttl, now, max_lifetime, max_age;
    int         json;
} wid_attest_opts;

static wid_reason_t wid_attest_verify_iid(const wid_attest_opts *o,
                                          const unsigned char *ev,
                                          size_t ev_len,
                                          wid_attestation *out, char *inst);
static wid_reason_t wid_attest_verify_other(const wid_attest_opts *o,
                                            wid_attest_kind kind,
                                            const unsigned char *ev,
                                            size_t ev_len,
                                            wid_attestation *out);
static int wid_attest_finish(const wid_attest_opts *o, wid_attestation *a,
                             const char *iid_instance);
static int wid_attest_cmd_result_verify(const wid_attest_opts *o);

static void
wid_attest_usage(FILE *out)
{
    fprintf(out,
        "usage: wid attest challenge --kind tpm --state DIR --roots PEM\n"
        "           --ek-cert FILE [--ek-chain PEM] --ak-public FILE\n"
        "           --cred-out FILE [--ttl SECONDS]\n"
        "       wid attest verify --kind KIND --evidence FILE [--json]\n"
        "           [--verifier NAME] [--ttl SECONDS] [--now UNIX]\n"
        "           [--sign-key KEY] [--entries FILE [--node-result JWS"
        " --pubkey PUB]]\n"
        "         tpm:         --state DIR --roots PEM [--pcr-policy FILE]\n"
        "         aws_iid:     --aws-cert PEM --state DIR\n"
        "         k8s_psat:    --jwks FILE --issuer ISS --audience AUD\n"
        "                      [--max-lifetime SECONDS]\n"
        "         github_oidc: --jwks FILE --audience AUD [--issuer ISS]\n"
        "       wid attest result verify JWS|@FILE --pubkey PUB...\n"
        "           [--spiffe-id ID] [--max-age SECONDS] [--now UNIX]\n");
}


static int
wid_attest_exit_for(wid_reason_t rc)
{
    if (rc == WID_OK) {
        return WID_EXIT_OK;
    }
    switch (rc) {
    case WID_R_INTERNAL_NOMEM:
    case WID_R_INTERNAL_IO:
    case WID_R_INTERNAL_CONFIG:
    case WID_R_INTERNAL_CRYPTO:
    case WID_R_ATTEST_CONFIG_INVALID:
    case WID_R_ATTEST_STATE_UNAVAILABLE:
        return WID_EXIT_USAGE;
    default:
        return WID_EXIT_REJECTED;
    }
}


static int
wid_attest_report(const wid_attest_opts *o, const char *what,
                  wid_reason_t rc)
{
    json_t *j;

    if (o->json) {
        j = json_pack("{s:b,s:s,s:s}", "verified", 0,
                      "reason", wid_reason_code(rc),
                      "text", wid_reason_text(rc));
        if (j != NULL) {
            json_dumpf(j, stdout, JSON_INDENT(2));
            putchar('\n');
            json_decref(j);
        }
    }
    fprintf(stderr, "wid attest %s: %s (%s)\n", what, wid_reason_code(rc),
            wid_reason_text(rc));
    return wid_attest_exit_for(rc);
}


static int
wid_attest_int_arg(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char      *end;
    long long  v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        return -1;
    }
    *out = (int64_t) v;
    return 0;
}


/* Parse the shared options; returns 0, or -1 after printing usage. */
static int
wid_attest_parse(int argc, char **argv, int first, wid_attest_opts *o)
{
    int i;

    memset(o, 0, sizeof(*o));
    o->ttl = WID_ATTEST_TTL_DEFAULT;
    o->now = (int64_t) time(NULL);
    o->verifier = "wid";

    for (i = first; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = NULL;

        if (strcmp(a, "--json") == 0) {
            o->json = 1;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "wid attest: %s needs a value\n", a);
            return -1;
        }
        if (strcmp(a, "--kind") == 0) {
            slot = &o->kind;
        } else if (strcmp(a, "--evidence") == 0) {
            slot = &o->evidence;
        } else if (strcmp(a, "--state") == 0) {
            slot = &o->state;
        } else if (strcmp(a, "--roots") == 0) {
            slot = &o->roots;
        } else if (strcmp(a, "--ek-cert") == 0) {
            slot = &o->ek_cert;
        } else if (strcmp(a, "--ek-chain") == 0) {
            slot = &o->ek_chain;
        } else if (strcmp(a, "--ak-public") == 0) {
            slot = &o->ak_public;
        } else if (strcmp(a, "--cred-out") == 0) {
            slot = &o->cred_out;
        } else if (strcmp(a, "--pcr-policy") == 0) {
            slot = &o->pcr_policy;
        } else if (strcmp(a, "--verifier") == 0) {
            slot = &o->verifier;
        } else if (strcmp(a, "--sign-key") == 0) {
            slot = &o->sign_key;
        } else if (strcmp(a, "--aws-cert") == 0) {
            slot = &o->aws_cert;
        } else if (strcmp(a, "--jwks") == 0) {
            slot = &o->jwks;
        } else if (strcmp(a, "--issuer") == 0) {
            slot = &o->issuer;
        } else if (strcmp(a, "--audience") == 0) {
            slot = &o->audience;
        } else if (strcmp(a, "--entries") == 0) {
            slot = &o->entries;
        } else if (strcmp(a, "--node-result") == 0) {
            slot = &o->node_result;
        } else if (strcmp(a, "--spiffe-id") == 0) {
            slot = &o->spiffe_id;
        } else if (strcmp(a, "--pubkey") == 0) {
            if (o->npubkeys >= WID_ATTEST_CLI_KEYS_MAX) {
                fprintf(stderr, "wid attest: too many --pubkey\n");
                return -1;
            }
            o->pubkeys[o->npubkeys++] = v;
            i++;
            continue;
        } else if (strcmp(a, "--ttl") == 0) {
            if (wid_attest_int_arg(v, 1, 86400 * 366, &o->ttl) != 0) {
                fprintf(stderr, "wid attest: bad --ttl\n");
                return -1;
            }
            i++;
            continue;
        } else if (strcmp(a, "--max-lifetime") == 0) {
            if (wid_attest_int_arg(v, 1, 86400 * 366, &o->max_lifetime)
                != 0)
            {
                fprintf(stderr, "wid attest: bad --max-lifetime\n");
                return -1;
            }
            i++;
            continue;
        } else if (strcmp(a, "--max-age") == 0) {
            if (wid_attest_int_arg(v, 1, 86400 * 366, &o->max_age) != 0) {
                fprintf(stderr, "wid attest: bad --max-age\n");
                return -1;
            }
            i++;
            continue;
        } else if (strcmp(a, "--now") == 0) {
            if (wid_attest_int_arg(v, 0, INT64_MAX / 4, &o->now) != 0) {
                fprintf(stderr, "wid attest: bad --now\n");
                return -1;
            }
            i++;
            continue;
        } else if (a[0] != '-' && o->positional == NULL) {
            o->positional = a;
            continue;
        } else {
            fprintf(stderr, "wid attest: unknown option %s\n", a);
            return -1;
        }
        *slot = v;
        i++;
    }
    return 0;
}


/* A certificate file in DER or PEM, as DER bytes. */
static wid_reason_t
wid_attest_cert_der(const char *path, unsigned char **der, size_t *len)
{
    unsigned char *buf, *out = NULL;
    size_t         blen;
    BIO           *bio;
    X509          *x;
    int            n;
    wid_reason_t   rc;

    rc = wid_read_file(path, 65536, &buf, &blen);
    if (rc != WID_OK) {
        return WID_R_ATTEST_CONFIG_INVALID;
    }
    if (blen > 10 && memcmp(buf, "-----BEGIN", 10) == 0) {
        bio = BIO_new_mem_buf(buf, (int) blen);
        x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        free(buf);
        n = x != NULL ? i2d_X509(x, &out) : -1;
        X509_free(x);
        if (n <= 0) {
            return WID_R_ATTEST_EVIDENCE_MALFORMED;
        }
        /* Hand back a malloc'ed copy: callers free() it. */
        buf = malloc((size_t) n);
        if (buf == NULL) {
            OPENSSL_free(out);
            return WID_R_INTERNAL_NOMEM;
        }
        memcpy(buf, out, (size_t) n);
        OPENSSL_free(out);
        blen = (size_t) n;
    }
    *der = buf;
    *len = blen;
    return WID_OK;
}


static int
wid_attest_write_file(const char *path, const unsigned char *buf, size_t len)
{
    FILE *f = fopen(path, "wbx");
    int   ok;

    if (f == NULL) {
        return -1;
    }
    ok = fwrite(buf, 1, len, f) == len;
    if (fclose(f) != 0) {
        ok = 0;
    }
    return ok ? 0 : -1;
}


static int
wid_attest_cmd_challenge(const wid_attest_opts *o)
{
    unsigned char     *ek = NULL, *ak = NULL, *cred = NULL;
    size_t             ek_len = 0, ak_len = 0, cred_len = 0;
    STACK_OF(X509)    *chain = NULL;
    X509_STORE        *roots = NULL;
    wid_tpm_challenge  ch;
    char               id[65], nonce[2 * WID_TPM_NONCE_LEN + 1];
    json_t            *j;
    wid_reason_t       rc;

    if (o->kind == NULL || strcmp(o->kind, "tpm") != 0 || o->state == NULL
        || o->roots == NULL || o->ek_cert == NULL || o->ak_public == NULL
        || o->cred_out == NULL)
    {
        wid_attest_usage(stderr);
        return WID_EXIT_USAGE;
    }

    rc = wid_attest_load_store(o->roots, &roots);
    if (rc == WID_OK && o->ek_chain != NULL) {
        rc = wid_attest_load_certs(o->ek_chain, &chain);
    }
    if (rc == WID_OK) {
        rc = wid_attest_cert_der(o->ek_cert, &ek, &ek_len);
    }
    if (rc == WID_OK
        && wid_read_file(o->ak_public, 4096, &ak, &ak_len) != WID_OK)
    {
        rc = WID_R_ATTEST_EVIDENCE_MALFORMED;
    }
    if (rc == WID_OK) {
        rc = wid_tpm_challenge_new(ek, ek_len, chain, ak, ak_len, roots,
                                   o->now, o->ttl, &ch, &cred, &cred_len);
    }
    if (rc == WID_OK) {
        rc = wid_attest_state_challenge_put(o->state, &ch, id);
    }
    if (rc == WID_OK
        && wid_attest_write_file(o->cred_out, cred, cred_len) != 0)
    {
        rc = WID_R_INTERNAL_IO;
    }
    if (rc == WID_OK) {
        wid_hex(ch.nonce, sizeof(ch.nonce), nonce);
        j = json_pack("{s:s,s:s,s:s,s:I}", "challenge", id, "nonce", nonce,
                      "credential", o->cred_out,
                      "expiresAt", (json_int_t) ch.expires_at);
        if (j != NULL) {
            json_dumpf(j, stdout, JSON_INDENT(2));
            putchar('\n');
            json_decref(j);
        }
    }
    wid_tpm_challenge_wipe(&ch);
    free(ek);
    free(ak);
    free(cred);
    sk_X509_pop_free(chain, X509_free);
    X509_STORE_free(roots);
    if (rc != WID_OK) {
        return wid_attest_report(o, "challenge", rc);
    }
    return WID_EXIT_OK;
}


static wid_reason_t
wid_attest_verify_tpm(const wid_attest_opts *o, const unsigned char *ev,
                      size_t ev_len, wid_attestation *out)
{
    wid_tpm_verify_params  p;
    wid_tpm_challenge      ch;
    wid_tpm_counters       last, quoted;
    wid_tpm_pcr_rule       rules[64];
    wid_attest_node_lock   lk;
    X509_STORE            *roots = NULL;
    unsigned char         *pol;
    size_t                 pol_len, nrules = 0;
    char                   id[65];
    wid_reason_t           rc;

    if (o->state == NULL || o->roots == NULL) {
        return WID_R_ATTEST_CONFIG_INVALID;
    }
    rc = wid_attest_load_store(o->roots, &roots);
    if (rc != WID_OK) {
        return rc;
    }
    if (o->pcr_policy != NULL) {
        if (wid_read_file(o->pcr_policy, 65536, &pol, &pol_len) != WID_OK) {
            X509_STORE_free(roots);
            return WID_R_ATTEST_CONFIG_INVALID;
        }
        rc = wid_tpm_pcr_policy_parse(pol, pol_len, rules,
                                      sizeof(rules) / sizeof(rules[0]),
                                      &nrules);
        free(pol);
        if (rc != WID_OK) {
            X509_STORE_free(roots);
            return rc;
        }
    }

    /* The challenge is consumed before anything else: a second answer
     * to it, right or wrong, finds nothing. */
    rc = wid_tpm_evidence_challenge_id(ev, ev_len, id);
    if (rc == WID_OK) {
        rc = wid_attest_state_challenge_take(o->state, id, &ch);
    }
    if (rc != WID_OK) {
        X509_STORE_free(roots);
        return rc;
    }

    rc = wid_attest_state_node_begin(o->state, ch.ek_sha256, &lk, &last);
    if (rc == WID_OK) {
        memset(&p, 0, sizeof(p));
        p.roots = roots;
        p.challenge = &ch;
        p.pcr_policy = rules;
        p.npcr_policy = nrules;
        p.last = &last;
        p.now = o->now;
        p.ttl = o->ttl;
        p.verifier = o->verifier;
        rc = wid_tpm_verify(ev, ev_len, &p, out, &quoted);
        if (rc == WID_OK) {
            rc = wid_attest_state_node_commit(&lk, &quoted);
        }
        wid_attest_state_node_end(&lk);
    }
    wid_tpm_challenge_wipe(&ch);
    X509_STORE_free(roots);
    return rc;
}


static int
wid_attest_cmd_verify(const wid_attest_opts *o)
{
    wid_attestation *att;
    wid_attest_kind  kind;
    unsigned char   *ev = NULL;
    size_t           ev_len = 0;
    char             inst[WID_IID_INSTANCE_MAX + 1] = "";
    wid_reason_t     rc;
    int              ret;

    if (o->kind == NULL || o->evidence == NULL) {
        wid_attest_usage(stderr);
        return WID_EXIT_USAGE;
    }
    kind = wid_attest_kind_from_name(o->kind);
    if (kind == WID_ATTEST_NONE) {
        return wid_attest_report(o, "verify", WID_R_ATTEST_KIND_UNKNOWN);
    }
    att = calloc(1, sizeof(*att));
    if (att == NULL) {
        return wid_attest_report(o, "verify", WID_R_INTERNAL_NOMEM);
    }

    rc = wid_read_file(o->evidence, WID_ATTEST_EVIDENCE_MAX, &ev, &ev_len);
    if (rc != WID_OK) {
        fprintf(stderr, "wid attest verify: cannot read %s\n", o->evidence);
        free(att);
        return WID_EXIT_USAGE;
    }

    switch (kind) {
    case WID_ATTEST_TPM:
        rc = wid_attest_verify_tpm(o, ev, ev_len, att);
        break;
    case WID_ATTEST_AWS_IID:
        rc = wid_attest_verify_iid(o, ev, ev_len, att, inst);
        break;
    default:
        rc = wid_attest_verify_other(o, kind, ev, ev_len, att);
        break;
    }
    free(ev);

    if (rc == WID_OK) {
        ret = wid_attest_finish(o, att,
                                kind == WID_ATTEST_AWS_IID ? inst : NULL);
    } else {
        ret = wid_attest_report(o, "verify", rc);
    }
    free(att);
    return ret;
}


int
wid_cmd_attest(int argc, char **argv)
{
    wid_attest_opts o;

    if (wid_cli_help(argc, argv)) {
        wid_attest_usage(stdout);
        return WID_EXIT_OK;
    }
    if (argc < 2) {
        wid_attest_usage(stderr);
        return WID_EXIT_USAGE;
    }
    if (sodium_init() < 0) {
        return WID_EXIT_USAGE;
    }
    if (strcmp(argv[1], "result") == 0) {
        if (argc < 3 || strcmp(argv[2], "verify") != 0
            || wid_attest_parse(argc, argv, 3, &o) != 0)
        {
            wid_attest_usage(stderr);
            return WID_EXIT_USAGE;
        }
        return wid_attest_cmd_result_verify(&o);
    }
    if (wid_attest_parse(argc, argv, 2, &o) != 0) {
        wid_attest_usage(stderr);
        return WID_EXIT_USAGE;
    }
    if (strcmp(argv[1], "challenge") == 0) {
        return wid_attest_cmd_challenge(&o);
    }
    if (strcmp(argv[1], "verify") == 0) {
        return wid_attest_cmd_verify(&o);
    }
    wid_attest_usage(stderr);
    return WID_EXIT_USAGE;
}


/*
 * The document's instance id goes to inst: its first use is recorded by
 * wid_attest_finish, once everything else passed (binding, signing), so
 * a refused verification never spends it.
 */
static wid_reason_t
wid_attest_verify_iid(const wid_attest_opts *o, const unsigned char *ev,
                      size_t ev_len, wid_attestation *out, char *inst)
{
    wid_iid_params  p;
    STACK_OF(X509) *pinned = NULL;
    wid_reason_t    rc;

    if (o->aws_cert == NULL || o->state == NULL) {
        return WID_R_ATTEST_CONFIG_INVALID;
    }
    rc = wid_attest_load_certs(o->aws_cert, &pinned);
    if (rc != WID_OK) {
        return rc;
    }
    memset(&p, 0, sizeof(p));
    p.pinned = pinned;
    p.now = o->now;
    p.ttl = o->ttl;
    p.verifier = o->verifier;
    rc = wid_iid_verify(ev, ev_len, &p, out, inst);
    sk_X509_pop_free(pinned, X509_free);
    return rc;
}


/* A document has no nonce: only its first use counts. */
static wid_reason_t
wid_attest_iid_first_use(const wid_attest_opts *o, const char *inst)
{
    char note[128];

    snprintf(note, sizeof(note), "{\"firstUse\":%lld}\n",
             (long long) o->now);
    return wid_attest_state_first_use(o->state, "aws_iid", inst, note,
                                      WID_R_ATTEST_IID_REPLAYED);
}


static wid_reason_t
wid_attest_verify_token(const wid_attest_opts *o, wid_attest_kind kind,
                        const unsigned char *ev, size_t ev_len,
                        wid_attestation *out)
{
    wid_token_params  p;
    unsigned char    *jwks = NULL;
    size_t            jwks_len, len = ev_len;
    wid_reason_t      rc;

    if (o->jwks == NULL || o->audience == NULL
        || (kind == WID_ATTEST_K8S_PSAT && o->issuer == NULL))
    {
        return WID_R_ATTEST_CONFIG_INVALID;
    }
    if (wid_read_file(o->jwks, 1024 * 1024, &jwks, &jwks_len) != WID_OK) {
        return WID_R_ATTEST_CONFIG_INVALID;
    }
    /* A token file usually ends with a newline. */
    while (len > 0 && (ev[len - 1] == '\n' || ev[len - 1] == '\r')) {
        len--;
    }
    memset(&p, 0, sizeof(p));
    p.issuer = o->issuer != NULL ? o->issuer : WID_GITHUB_OIDC_ISSUER;
    p.audience = o->audience;
    p.now = o->now;
    p.leeway = 30;
    p.max_lifetime = o->max_lifetime;
    p.ttl = o->ttl;
    p.verifier = o->verifier;
    rc = wid_token_verify(kind, ev, len, jwks, jwks_len, &p, out);
    free(jwks);
    return rc;
}


static wid_reason_t
wid_attest_verify_other(const wid_attest_opts *o, wid_attest_kind kind,
                        const unsigned char *ev, size_t ev_len,
                        wid_attestation *out)
{
    switch (kind) {
    case WID_ATTEST_K8S_PSAT:
    case WID_ATTEST_GITHUB_OIDC:
        return wid_attest_verify_token(o, kind, ev, ev_len, out);
    default:
        /* unix attests a socket peer: a library call for the helper. */
        return WID_R_ATTEST_KIND_UNKNOWN;
    }
}


static wid_reason_t
wid_attest_load_pubkeys(const wid_attest_opts *o, wid_pubkey *keys)
{
    size_t i;

    if (o->npubkeys == 0) {
        return WID_R_ATTEST_CONFIG_INVALID;
    }
    for (i = 0; i < o->npubkeys; i++) {
        if (wid_pubkey_load(o->pubkeys[i], &keys[i]) != WID_OK) {
            return WID_R_ATTEST_CONFIG_INVALID;
        }
    }
    return WID_OK;
}


/* JWS text from an argument: the token itself or @FILE. */
static wid_reason_t
wid_attest_jws_arg(const char *arg, char **out, size_t *len)
{
    unsigned char *buf;
    size_t         n;

    if (arg[0] != '@') {
        *out = strdup(arg);
        *len = strlen(arg);
        return *out != NULL ? WID_OK : WID_R_INTERNAL_NOMEM;
    }
    if (wid_read_file(arg + 1, WID_ATTEST_RESULT_MAX, &buf, &n) != WID_OK) {
        return WID_R_ATTEST_CONFIG_INVALID;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        buf[--n] = '\0';
    }
    *out = (char *) buf;
    *len = n;
    return WID_OK;
}


/* Phase 1 or 2 of registration, from --entries (and --node-result). */
static wid_reason_t
wid_attest_bind(const wid_attest_opts *o, wid_attestation *a)
{
    wid_registry      *reg = NULL;
    wid_attest_result  node;
    wid_pubkey         keys[WID_ATTEST_CLI_KEYS_MAX];
    unsigned char     *buf;
    char              *jws = NULL;
    size_t             len;
    wid_reason_t       rc;

    if (wid_read_file(o->entries, WID_FILE_MAX, &buf, &len) != WID_OK) {
        return WID_R_ATTEST_CONFIG_INVALID;
    }
    rc = wid_registry_load(buf, len, &reg);
    free(buf);
    if (rc != WID_OK) {
        return rc;
    }
    if (wid_attest_kind_role(a->kind) == WID_ATTEST_ROLE_NODE) {
        rc = wid_registry_match_node(reg, a);
    } else if (o->node_result == NULL) {
        rc = WID_R_ATTEST_NODE_NOT_ATTESTED;
    } else {
        /* The node's own signed result says which node this is. */
        rc = wid_attest_load_pubkeys(o, keys);
        if (rc == WID_OK) {
            rc = wid_attest_jws_arg(o->node_result, &jws, &len);
        }
        if (rc == WID_OK) {
            rc = wid_attest_result_verify(jws, len, keys, o->npubkeys,
                                          o->now, o->max_age, &node);
            /*
             * Only node evidence (a TPM quote, an instance identity
             * document) attests a node: a workload's own result, signed
             * by the same verifier, must not parent other workloads.
             */
            if (rc != WID_OK
                || wid_attest_kind_role(wid_attest_kind_from_name(node.type))
                   != WID_ATTEST_ROLE_NODE)
            {
                rc = WID_R_ATTEST_NODE_NOT_ATTESTED;
            }
        }
        if (rc == WID_OK) {
            rc = wid_registry_match_workload(reg, node.spiffe_id, a);
        }
        free(jws);
    }
    wid_registry_free(reg);
    return rc;
}


static int
wid_attest_finish(const wid_attest_opts *o, wid_attestation *a,
                  const char *iid_instance)
{
    wid_seckey    key;
    json_t       *j;
    char         *jws = NULL;
    wid_reason_t  rc;

    if (o->entries != NULL) {
        rc = wid_attest_bind(o, a);
        if (rc != WID_OK) {
            return wid_attest_report(o, "verify", rc);
        }
    } else if (o->spiffe_id != NULL) {
        /* The operator binds the identity explicitly (verifier bridge
         * for a workload whose SVID is known). */
        if (wid_spiffe_id_parse(o->spiffe_id, strlen(o->spiffe_id), NULL)
            != WID_OK
            || wid_attest_strlcpy(a->spiffe_id, o->spiffe_id,
                                  sizeof(a->spiffe_id)) != 0)
        {
            fprintf(stderr, "wid attest verify: bad --spiffe-id\n");
            return WID_EXIT_USAGE;
        }
    }

    j = wid_attestation_to_json(a);
    if (j == NULL) {
        return wid_attest_report(o, "verify", WID_R_INTERNAL_NOMEM);
    }
    if (o->sign_key != NULL) {
        if (a->spiffe_id[0] == '\0') {
            json_decref(j);
            fprintf(stderr, "wid attest verify: --sign-key needs a bound"
                            " SPIFFE ID (--entries or --spiffe-id)\n");
            return WID_EXIT_USAGE;
        }
        rc = wid_seckey_load(o->sign_key, &key);
        if (rc == WID_OK) {
            rc = wid_attest_result_sign(a, &key, &jws);
            wid_seckey_wipe(&key);
        }
        if (rc != WID_OK) {
            json_decref(j);
            fprintf(stderr, "wid attest verify: %s: %s\n", o->sign_key,
                    wid_reason_code(rc));
            return WID_EXIT_USAGE;
        }
        json_object_set_new(j, "result", json_string(jws));
        free(jws);
    }
    if (iid_instance != NULL) {
        /* Last: only a verification that succeeds spends the document. */
        rc = wid_attest_iid_first_use(o, iid_instance);
        if (rc != WID_OK) {
            json_decref(j);
            return wid_attest_report(o, "verify", rc);
        }
    }
    json_object_set_new(j, "verified", json_true());
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    putchar('\n');
    json_decref(j);
    return WID_EXIT_OK;
}


static int
wid_attest_cmd_result_verify(const wid_attest_opts *o)
{
    wid_pubkey         keys[WID_ATTEST_CLI_KEYS_MAX];
    wid_attest_result  r;
    char              *jws = NULL, hex[65];
    const char        *type;
    size_t             len;
    json_t            *j;
    wid_reason_t       rc;

    if (o->positional == NULL || o->npubkeys == 0) {
        wid_attest_usage(stderr);
        return WID_EXIT_USAGE;
    }
    rc = wid_attest_load_pubkeys(o, keys);
    if (rc == WID_OK) {
        rc = wid_attest_jws_arg(o->positional, &jws, &len);
    }
    if (rc == WID_OK) {
        rc = wid_attest_result_verify(jws, len, keys, o->npubkeys, o->now,
                                      o->max_age, &r);
    }
    free(jws);
    if (rc == WID_OK && o->spiffe_id != NULL) {
        type = r.type;
        rc = wid_attest_result_check(&r, o->spiffe_id, &type, 1);
    }
    if (rc != WID_OK) {
        return wid_attest_report(o, "result verify", rc);
    }
    wid_hex(r.evidence_sha256, 32, hex);
    j = json_pack("{s:b,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s}",
                  "verified", 1, "verifier", r.verifier,
                  "attestationType", r.type, "spiffeId", r.spiffe_id,
                  "tier", r.tier, "kid", r.kid,
                  "issuedAt", (json_int_t) r.issued_at,
                  "expiresAt", (json_int_t) r.expires_at,
                  "evidenceSha256", hex);
    if (j != NULL) {
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        putchar('\n');
        json_decref(j);
    }
    return WID_EXIT_OK;
}
