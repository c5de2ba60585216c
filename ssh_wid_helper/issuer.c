#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "attest_result.h"
#include "cakey.h"
#include "issued.h"
#include "issuer.h"
#include "journal_orphans.h"
#include "jwtsvid.h"
#include "keyfile.h"
#include "keyid.h"
#include "pop.h"
#include "spiffe_id.h"
#include "x509svid.h"
#include "util.h"

#define SSH_OPERATION_ISSUE "ssh_issue"
#define SSH_PEER_MAX        2048
/* A receipt string holds at most WID_RECEIPT_STR_MAX bytes: a long list
 * is recorded up to a principal boundary, then "...+N" more. */
#define SSH_PRINCIPALS_CSV  (WID_RECEIPT_STR_MAX - 32)


uint64_t
ssh_now_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0) {
        return 0;
    }
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}


/* Logs of stopped processes sealed per daemon start. */
#define SSH_SEAL_MAX 8


/* The daemon logs to stderr (its service manager's journal). */
static void
ssh_seal_report(void *ctx, const wid_seal_report *r)
{
    (void) ctx;
    switch (r->outcome) {
    case WID_SEAL_CLEAN:
    case WID_SEAL_ADOPTED:
        fprintf(stderr, "ssh-wid-helper serve: sealed journal log of a "
                "stopped process %s: adopted %" PRIu64 " records\n",
                r->writer, r->rec.adopted);
        break;
    case WID_SEAL_GAP:
        fprintf(stderr, "ssh-wid-helper serve: sealed journal log of a "
                "stopped process %s: damage (%s), gap recorded\n",
                r->writer, wid_reason_code(r->reason));
        break;
    default:
        fprintf(stderr, "ssh-wid-helper serve: journal log of a stopped "
                "process %s not sealed: %s\n", r->writer,
                wid_reason_code(r->reason));
    }
}


/*
 * A starting daemon seals the logs of helper processes that died
 * without closing theirs (killed by sshd's timeout, or a crash), as an
 * nginx worker does for its peers: at most a few per start.
 */
static void
ssh_journal_seal(const ssh_conf *conf, const char *self,
                 const wid_seckey *key, const wid_journal_options *opts,
                 uint64_t now)
{
    wid_seal_scope   scope;
    wid_seal_summary sum;

    memset(&scope, 0, sizeof(scope));
    scope.prefix = "ssh-";
    scope.self = self;
    scope.max_logs = SSH_SEAL_MAX;
    scope.report = ssh_seal_report;
    (void) wid_journal_seal_orphans(conf->journal_dir, key, opts, &scope,
                                    now, &sum);
}


wid_reason_t
ssh_journal_open(const ssh_conf *conf, const char *role,
                 const unsigned char ca_pk[SSH_ED25519_PK_LEN],
                 wid_journal **out, char *err, size_t errlen)
{
    wid_journal_options  opts;
    wid_journal_recovery rec;
    wid_seckey           key;
    wid_pubkey           refuse;
    char                 writer[WID_WRITER_MAX + 1];
    uint64_t             now = ssh_now_ms();
    wid_reason_t         rc;

    *out = NULL;
    /* One log per process: the append path never takes a shared lock. */
    snprintf(writer, sizeof(writer), "ssh-%s-%ld-%" PRIu64, role,
             (long) getpid(), now);
    memset(&opts, 0, sizeof(opts));
    opts.fsync = conf->journal_fsync;
    /* The daemon's interval fsync runs from its loop between requests
     * (ssh_issuer_tick), never while a client waits for its answer. */
    opts.external_sync = strcmp(role, "serve") == 0;
    memcpy(refuse.pk, ca_pk, sizeof(refuse.pk));
    opts.refuse_keys = &refuse;         /* the receipt key is never the CA */
    opts.nrefuse_keys = 1;

    if ((rc = wid_seckey_load(conf->receipt_key_path, &key)) != WID_OK) {
        snprintf(err, errlen, "receipt_key %s: %s", conf->receipt_key_path,
                 wid_reason_code(rc));
        return rc;
    }
    rc = wid_journal_open(conf->journal_dir, writer, &key, &opts, now, out,
                          &rec);
    if (rc == WID_OK && strcmp(role, "serve") == 0) {
        ssh_journal_seal(conf, writer, &key, &opts, now);
    }
    wid_seckey_wipe(&key);
    if (rc != WID_OK) {
        snprintf(err, errlen, "journal %s: %s", conf->journal_dir,
                 wid_reason_code(rc));
    }
    return rc;
}


static int
ssh_hex_hash(const char *hex, wid_receipt_hash *h)
{
    size_t i;

    memset(h, 0, sizeof(*h));
    if (hex == NULL || strlen(hex) != 64) {
        return -1;
    }
    for (i = 0; i < 32; i++) {
        unsigned v;

        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            memset(h, 0, sizeof(*h));
            return -1;
        }
        h->h[i] = (uint8_t) v;
    }
    h->set = 1;
    return 0;
}


/*
 * The trusted_verifiers keys of a freshly loaded policy, parsed once.  A
 * keyless entry never vouches for a result and gets no slot.  A key that
 * does not parse makes the policy unusable (fail closed); the loader
 * refuses such policies already.
 */
static wid_reason_t
ssh_issuer_verifier_keys(ssh_issuer *is, const wid_policy *p)
{
    const wid_policy_verifier *v;
    size_t                     i, n = wid_policy_verifier_count(p);
    wid_reason_t               rc;

    free(is->vkeys);
    free(is->vkey_entry);
    is->vkeys = NULL;
    is->vkey_entry = NULL;
    is->nvkeys = 0;
    if (n == 0) {
        return WID_OK;
    }
    is->vkeys = calloc(n, sizeof(*is->vkeys));
    is->vkey_entry = calloc(n, sizeof(*is->vkey_entry));
    if (is->vkeys == NULL || is->vkey_entry == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    for (i = 0; i < n; i++) {
        v = wid_policy_verifier_at(p, i);
        if (v == NULL || v->key_pem == NULL) {
            continue;
        }
        rc = wid_pubkey_parse_pem((const unsigned char *) v->key_pem,
                                  strlen(v->key_pem),
                                  &is->vkeys[is->nvkeys]);
        if (rc != WID_OK) {
            return rc;
        }
        is->vkey_entry[is->nvkeys++] = i;
    }
    return WID_OK;
}


/* (Re)load the policy when its file (or signature) changed. */
static void
ssh_issuer_policy(ssh_issuer *is)
{
    const ssh_conf       *conf = is->conf;
    wid_policy_load_opts  lo;
    wid_policy           *p = NULL;
    struct stat           st, sst;
    char                  sig[4096];

    memset(&sst, 0, sizeof(sst));
    if (stat(conf->policy_path, &st) != 0) {
        wid_policy_free(is->policy);
        is->policy = NULL;
        is->policy_rc = WID_R_POLICY_UNREADABLE;
        memset(&is->policy_st, 0, sizeof(is->policy_st));
        return;
    }
    if (is->have_signer) {
        snprintf(sig, sizeof(sig), "%s.sig", conf->policy_path);
        (void) stat(sig, &sst);
    }
    if (is->policy != NULL
        && st.st_ino == is->policy_st.st_ino
        && st.st_dev == is->policy_st.st_dev
        && st.st_size == is->policy_st.st_size
        && st.st_mtim.tv_sec == is->policy_st.st_mtim.tv_sec
        && st.st_mtim.tv_nsec == is->policy_st.st_mtim.tv_nsec
        && sst.st_ino == is->sig_st.st_ino
        && sst.st_mtim.tv_nsec == is->sig_st.st_mtim.tv_nsec
        && sst.st_mtim.tv_sec == is->sig_st.st_mtim.tv_sec)
    {
        return;
    }
    memset(&lo, 0, sizeof(lo));
    lo.required_signer = is->have_signer ? &is->signer : NULL;
    wid_policy_free(is->policy);
    is->policy = NULL;
    /* Fail closed: a policy that does not load denies every request. */
    is->policy_rc = wid_policy_load_file(conf->policy_path, &lo, &p, NULL);
    if (is->policy_rc == WID_OK) {
        is->policy_rc = ssh_issuer_verifier_keys(is, p);
    }
    if (is->policy_rc == WID_OK) {
        is->policy = p;
        is->policy_st = st;
        is->sig_st = sst;
    } else {
        wid_policy_free(p);
    }
}


wid_reason_t
ssh_issuer_open(ssh_issuer *is, const ssh_conf *conf, const char *role,
                char *err, size_t errlen)
{
    wid_seckey   ca;
    wid_reason_t rc;
    size_t       i;
    const char  *why;

    memset(is, 0, sizeof(*is));
    is->conf = conf;
    err[0] = '\0';

    if (conf->policy_signer_path != NULL) {
        rc = wid_pubkey_load(conf->policy_signer_path, &is->signer);
        if (rc != WID_OK) {
            snprintf(err, errlen, "policy_signer %s: %s",
                     conf->policy_signer_path, wid_reason_code(rc));
            goto fail;
        }
        is->have_signer = 1;
    }
    ssh_issuer_policy(is);
    if (is->policy_rc != WID_OK) {
        rc = is->policy_rc;
        snprintf(err, errlen, "policy %s: %s", conf->policy_path,
                 wid_reason_code(rc));
        goto fail;
    }
    for (i = 0; i < conf->nrules; i++) {
        if (wid_policy_rule_find(is->policy, conf->rules[i]) == NULL) {
            rc = WID_R_POLICY_UNKNOWN_RULE;
            snprintf(err, errlen, "rule %s: not in the policy",
                     conf->rules[i]);
            goto fail;
        }
    }

    if ((is->bundles = wid_bundle_set_new()) == NULL) {
        rc = WID_R_INTERNAL_NOMEM;
        goto fail;
    }
    for (i = 0; i < conf->nbundles; i++) {
        rc = wid_bundle_set_add_arg(is->bundles, conf->bundles[i]);
        if (rc != WID_OK) {
            why = wid_bundle_arg_explain(conf->bundles[i], rc);
            snprintf(err, errlen, "bundle %s: %s%s%s", conf->bundles[i],
                     wid_reason_code(rc), why ? ": " : "", why ? why : "");
            goto fail;
        }
    }

    if ((rc = wid_seckey_load(conf->ca_key_path, &ca)) != WID_OK) {
        snprintf(err, errlen, "ca_key %s: %s", conf->ca_key_path,
                 wid_reason_code(rc));
        goto fail;
    }
    /*
     * A daemon signs many times: the CA key lives in guarded, locked
     * memory (libsodium), readable only while a certificate is signed,
     * and wiped at exit.  The file copy is wiped now.
     */
    is->ca_sk = sodium_malloc(SSH_ED25519_SK_LEN);
    if (is->ca_sk == NULL) {
        wid_seckey_wipe(&ca);
        rc = WID_R_INTERNAL_NOMEM;
        goto fail;
    }
    memcpy(is->ca_sk, ca.sk, SSH_ED25519_SK_LEN);
    memcpy(is->ca_pk, ca.pub.pk, SSH_ED25519_PK_LEN);
    wid_seckey_wipe(&ca);
    sodium_mprotect_noaccess(is->ca_sk);

    rc = ssh_ca_check_separate(is->ca_pk, conf->receipt_pubkey_path);
    if (rc != WID_OK) {
        snprintf(err, errlen, "receipt_pubkey: %s", wid_reason_code(rc));
        goto fail;
    }
    rc = ssh_journal_open(conf, role, is->ca_pk, &is->journal, err, errlen);
    if (rc != WID_OK) {
        goto fail;
    }
    return WID_OK;

fail:
    (void) ssh_issuer_close(is);
    return rc;
}


/* Make the index's appended lines durable (journal_fsync interval). */
static wid_reason_t
ssh_issuer_index_sync(ssh_issuer *is)
{
    int fd, ok;

    if (!is->index_unsynced) {
        return WID_OK;
    }
    fd = open(is->conf->index_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    ok = fd >= 0 && fsync(fd) == 0;
    if (fd >= 0) {
        close(fd);
    }
    if (!ok) {
        return WID_R_INTERNAL_IO;
    }
    is->index_unsynced = 0;
    return WID_OK;
}


wid_reason_t
ssh_issuer_close(ssh_issuer *is)
{
    wid_reason_t rc = WID_OK;

    if (is->journal != NULL) {
        rc = wid_journal_close(is->journal, ssh_now_ms());
        is->journal = NULL;
    }
    if (is->conf != NULL && ssh_issuer_index_sync(is) != WID_OK
        && rc == WID_OK)
    {
        rc = WID_R_INTERNAL_IO;
    }
    if (is->ca_sk != NULL) {
        sodium_free(is->ca_sk);             /* wipes */
        is->ca_sk = NULL;
    }
    wid_bundle_set_free(is->bundles);
    is->bundles = NULL;
    wid_policy_free(is->policy);
    is->policy = NULL;
    free(is->vkeys);
    free(is->vkey_entry);
    is->vkeys = NULL;
    is->vkey_entry = NULL;
    is->nvkeys = 0;
    return rc;
}


wid_reason_t
ssh_issuer_tick(ssh_issuer *is)
{
    wid_journal_sync_job job;
    uint64_t             now = ssh_now_ms();
    wid_reason_t         rc;

    (void) wid_bundle_set_refresh(is->bundles, (int64_t) (now / 1000));
    rc = wid_journal_tick(is->journal, now);
    if (rc == WID_OK && wid_journal_sync_due(is->journal, now)) {
        wid_journal_sync_begin(is->journal, now, &job);
        wid_journal_sync_run(&job);
        rc = wid_journal_sync_end(is->journal, &job);
        if (rc == WID_OK) {
            rc = ssh_issuer_index_sync(is);
        }
    }
    return rc;
}


/* ---- requests ---- */

static int
ssh_json_strings(json_t *a, size_t max, char ***out, size_t *n)
{
    size_t i;

    if (!json_is_array(a) || json_array_size(a) > max) {
        return -1;
    }
    *n = json_array_size(a);
    *out = calloc(*n + 1, sizeof(**out));
    if (*out == NULL) {
        return -1;
    }
    for (i = 0; i < *n; i++) {
        json_t *s = json_array_get(a, i);

        if (!json_is_string(s)
            || strlen(json_string_value(s)) != json_string_length(s)
            || ((*out)[i] = strdup(json_string_value(s))) == NULL)
        {
            return -1;
        }
    }
    return 0;
}


static int
ssh_json_str(json_t *v, char **out)
{
    if (!json_is_string(v)
        || strlen(json_string_value(v)) != json_string_length(v))
    {
        return -1;              /* embedded NUL */
    }
    *out = strdup(json_string_value(v));
    return *out == NULL ? -1 : 0;
}


/* jansson's copy of a bearer token is wiped before the tree is freed. */
static void
ssh_json_wipe_string(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (json_is_string(v)) {
        sodium_memzero((char *) json_string_value(v), json_string_length(v));
    }
}


wid_reason_t
ssh_issue_req_parse(const char *buf, size_t len, ssh_issue_req *req)
{
    json_t       *o, *v;
    const char   *k;
    wid_reason_t  rc = WID_OK;
    json_int_t    ttl;

    memset(req, 0, sizeof(*req));
    if (len > SSH_REQUEST_MAX) {
        return WID_R_SSH_REQUEST_MALFORMED;
    }
    o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return WID_R_SSH_REQUEST_MALFORMED;
    }
    json_object_foreach(o, k, v) {
        if (rc != WID_OK) {
            break;
        }
        if (strcmp(k, "version") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) != 1) {
                rc = WID_R_SSH_REQUEST_MALFORMED;
            }
        } else if (strcmp(k, "pubkey") == 0) {
            if (!json_is_string(v)
                || strlen(json_string_value(v)) != json_string_length(v))
            {
                rc = WID_R_SSH_REQUEST_MALFORMED;
            } else {
                rc = ssh_pubkey_parse_line(json_string_value(v), req->pk);
                req->have_pk = rc == WID_OK;
            }
        } else if (strcmp(k, "rule") == 0) {
            if (ssh_json_str(v, &req->rule) != 0) {
                rc = WID_R_SSH_REQUEST_MALFORMED;
            }
        } else if (strcmp(k, "principals") == 0) {
            req->have_principals = 1;
            if (json_is_array(v)
                && json_array_size(v) > SSH_CERT_MAX_PRINCIPALS)
            {
                rc = WID_R_SSH_TOO_MANY_PRINCIPALS;
            } else if (ssh_json_strings(v, SSH_CERT_MAX_PRINCIPALS,
                                        &req->principals,
                                        &req->nprincipals) != 0)
            {
                rc = WID_R_SSH_REQUEST_MALFORMED;
            }
        } else if (strcmp(k, "extensions") == 0) {
            req->have_extensions = 1;
            if (ssh_json_strings(v, 16, &req->extensions,
                                 &req->nextensions) != 0)
            {
                rc = WID_R_SSH_REQUEST_MALFORMED;
            }
        } else if (strcmp(k, "ttl") == 0) {
            /* An integer; anything else (negative, real, huge) is not a
             * lifetime.  Too large for JSON integers: refused by the
             * JSON parser already. */
            req->have_ttl = 1;
            if (!json_is_integer(v) || (ttl = json_integer_value(v)) <= 0) {
                rc = WID_R_SSH_TTL_INVALID;
            } else {
                req->ttl = (uint64_t) ttl;
            }
        } else if (strcmp(k, "jwt") == 0) {
            if (ssh_json_str(v, &req->jwt) != 0) {
                rc = WID_R_SSH_REQUEST_MALFORMED;
            }
        } else if (strcmp(k, "x509") == 0) {
            if (ssh_json_str(v, &req->x509) != 0) {
                rc = WID_R_SSH_REQUEST_MALFORMED;
            }
        } else if (strcmp(k, "proof") == 0) {
            if (ssh_json_str(v, &req->proof) != 0) {
                rc = WID_R_SSH_POP_MALFORMED;
            }
        } else if (strcmp(k, "attestation") == 0) {
            /* What it says is judged by the verifier (attest.*). */
            if (ssh_json_str(v, &req->attestation) != 0) {
                rc = WID_R_SSH_REQUEST_MALFORMED;
            }
        } else {
            /* Unknown members are refused: the protocol grows with a
             * version, never by ignoring what a client meant. */
            rc = WID_R_SSH_REQUEST_MALFORMED;
        }
    }
    ssh_json_wipe_string(o, "jwt");
    json_decref(o);
    return rc;
}


static void
ssh_strv_free(char **v, size_t n)
{
    size_t i;

    if (v == NULL) {
        return;
    }
    for (i = 0; i < n || (i == n && v[i] != NULL); i++) {
        free(v[i]);
    }
    free(v);
}


void
ssh_issue_req_free(ssh_issue_req *req)
{
    ssh_strv_free(req->principals, req->nprincipals);
    ssh_strv_free(req->extensions, req->nextensions);
    free(req->rule);
    ssh_wid_free_secret(req->jwt);                      /* a bearer token */
    free(req->x509);
    free(req->proof);
    free(req->attestation);
    memset(req, 0, sizeof(*req));
}


void
ssh_issue_result_free(ssh_issue_result *res)
{
    free(res->cert_line);
    free(res->key_id);
    ssh_strv_free(res->principals, res->nprincipals);
    memset(res, 0, sizeof(*res));
}


json_t *
ssh_issue_result_json(const ssh_issue_result *res)
{
    json_t *o = json_object(), *a;
    char    serial[24];
    size_t  i;

    if (o == NULL) {
        return NULL;
    }
    json_object_set_new(o, "verdict",
                        json_string(wid_verdict_name(res->verdict)));
    json_object_set_new(o, "reason",
                        json_string(wid_reason_code(res->reason)));
    if (res->receipt[0] != '\0') {
        json_object_set_new(o, "receipt", json_string(res->receipt));
    }
    if (res->cert_line != NULL) {
        snprintf(serial, sizeof(serial), "%" PRIu64, res->serial);
        json_object_set_new(o, "certificate", json_string(res->cert_line));
        json_object_set_new(o, "key_id", json_string(res->key_id));
        json_object_set_new(o, "serial", json_string(serial));
        json_object_set_new(o, "valid_after",
                            json_integer((json_int_t) res->valid_after));
        json_object_set_new(o, "valid_before",
                            json_integer((json_int_t) res->valid_before));
        a = json_array();
        for (i = 0; a != NULL && i < res->nprincipals; i++) {
            json_array_append_new(a, json_string(res->principals[i]));
        }
        json_object_set_new(o, "principals", a ? a : json_null());
    }
    return o;
}


/* ---- ssh_login receipts handed over by `principals` ---- */

int
ssh_login_submission(const char *buf, size_t len, json_t **obj)
{
    json_t *o;

    *obj = NULL;
    if (len > SSH_REQUEST_MAX) {
        return 0;
    }
    o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o) || json_object_get(o, "login_receipt") == NULL) {
        json_decref(o);
        return 0;
    }
    *obj = o;
    return 1;
}


wid_reason_t
ssh_issuer_login_receipt(ssh_issuer *is, json_t *obj, wid_reason_t peer_rc,
                         uint64_t peer_uid, const char *peer,
                         char id[WID_RECEIPT_ID_SIZE])
{
    const ssh_conf *conf = is->conf;
    json_t         *v, *rj;
    wid_receipt     r;
    uint64_t        seq;
    size_t          i;
    int             ok = 0;
    wid_reason_t    rc;

    id[0] = '\0';
    /* Only the login helper's own user may write into this journal:
     * anyone else could fill it with made-up logins. */
    if (peer_rc != WID_OK) {
        return peer_rc;
    }
    for (i = 0; i < conf->nlogin_uids; i++) {
        ok |= conf->login_uids[i] == peer_uid;
    }
    if (!ok) {
        return WID_R_SSH_PEER_NOT_ALLOWED;
    }
    v = json_object_get(obj, "version");
    rj = json_object_get(obj, "login_receipt");
    if (json_object_size(obj) != 2 || !json_is_integer(v)
        || json_integer_value(v) != 1 || !json_is_object(rj))
    {
        return WID_R_SSH_REQUEST_MALFORMED;
    }
    if ((rc = wid_receipt_from_json(rj, &r)) != WID_OK) {
        return rc;
    }
    if (r.surface != WID_SURFACE_SSH_LOGIN) {
        return WID_R_SSH_REQUEST_MALFORMED;     /* never an issuance */
    }
    /* Who handed it over, as this daemon established it, and when:
     * the daemon's clock, not the submitter's. */
    r.str[WID_RF_PEER] = peer;
    r.time_ms = 0;
    rc = wid_journal_append(is->journal, &r, ssh_now_ms(), id, &seq);
    if (rc == WID_R_RECEIPT_FIELD_INVALID
        || rc == WID_R_RECEIPT_FIELD_TOO_LONG)
    {
        id[0] = '\0';
        return rc;                              /* refused, not recorded */
    }
    if (rc == WID_OK) {
        rc = wid_journal_tick(is->journal, ssh_now_ms());
    }
    if (rc != WID_OK) {
        id[0] = '\0';
    }
    return rc;
}


/* ---- deciding ---- */

/* A signed attestation result presented with the request. */
typedef struct {
    int                     present;    /* the request carried one */
    int                     verified;   /* its signature verified */
    wid_attest_result       r;
    wid_policy_attestation  pa;         /* for the decision, when OK */
} ssh_issue_att;


typedef struct {
    wid_identity         id;
    int                  have_id;
    ssh_issue_att        att;
    wid_policy_decision  dec;
    int                  have_dec;
    const char          *rule;
    ssh_cert             cert;
    int                  have_cert;
    char                 principals_csv[SSH_PRINCIPALS_CSV + 32];
    char                 key_fp[64];
} ssh_issue_state;


/*
 * Runtime attestation: the request's signed attestation result (JWS from
 * `wid attest verify ... --sign-key`), verified with the keys of the
 * policy's trusted_verifiers only.  The entry whose key verified it sets
 * the maximum age and the allowed types; the result must bind exactly
 * the SPIFFE ID the SVID proved (a conflict denies).  What the result is
 * worth is the policy's business: the claim is handed to the decision
 * with verified_by = that entry, and the entry's effective_tier applies,
 * never a tier the result claims for itself.  No result: no evidence (a
 * rule that asks for a tier denies with policy.attestation_missing).  A
 * result that fails any check denies, whatever the rule requires.
 */
static wid_reason_t
ssh_issue_attestation(ssh_issuer *is, const ssh_issue_req *req,
                      const wid_identity *id, uint64_t now,
                      ssh_issue_att *att)
{
    const wid_policy_verifier *v, *e;
    wid_attest_result         *r = &att->r;
    wid_tier_t                 claimed;
    size_t                     i, k;
    int64_t                    age;
    wid_reason_t               rc;

    if (req->attestation == NULL) {
        return WID_OK;
    }
    att->present = 1;
    if (is->nvkeys == 0) {
        /* No key, no trust: a keyless entry never vouches for a result. */
        return WID_R_ATTEST_UNTRUSTED_VERIFIER;
    }
    rc = wid_attest_result_verify(req->attestation, strlen(req->attestation),
                                  is->vkeys, is->nvkeys, (int64_t) now, 0, r);
    if (rc != WID_OK) {
        return rc;
    }
    att->verified = 1;

    /*
     * When several entries share the key that verified, the one naming
     * this result's schema and verifier is the one the policy will pick,
     * so its limits apply; otherwise the first with the key (the policy
     * then reports the mismatch).
     */
    k = r->key_index;
    v = wid_policy_verifier_at(is->policy, is->vkey_entry[k]);
    for (i = k; i < is->nvkeys; i++) {
        if (sodium_memcmp(is->vkeys[i].pk, is->vkeys[k].pk,
                          sizeof(is->vkeys[k].pk)) != 0)
        {
            continue;
        }
        e = wid_policy_verifier_at(is->policy, is->vkey_entry[i]);
        if (e != NULL && strcmp(e->schema, WID_ATTEST_RESULT_SCHEMA) == 0
            && strcmp(e->verifier, r->verifier) == 0
            && e->verifier_family == NULL)
        {
            v = e;
            break;
        }
    }
    if (v == NULL) {
        return WID_R_INTERNAL_CONFIG;
    }
    /* issued_at <= now after verification: no underflow. */
    age = (int64_t) now - r->issued_at;
    if (age > (int64_t) v->max_evidence_age_seconds) {
        return WID_R_ATTEST_EVIDENCE_STALE;
    }
    rc = wid_attest_result_check(r, id->spiffe_id, v->attestation_types,
                                 v->nattestation_types);
    if (rc != WID_OK) {
        return rc;
    }
    if (wid_tier_from_name(r->tier, &claimed) != 0) {
        claimed = WID_TIER_NONE;
    }
    att->pa.schema = WID_ATTEST_RESULT_SCHEMA;
    att->pa.verifier = r->verifier;
    att->pa.verifier_family = NULL;
    att->pa.issued_at = r->issued_at;
    att->pa.expires_at = r->expires_at;
    att->pa.attestation_type = r->type;
    att->pa.workload_id = r->spiffe_id;
    att->pa.claimed_tier = claimed;         /* recorded, never trusted */
    att->pa.verified_by = v->name;
    return WID_OK;
}


static wid_reason_t
ssh_issue_record(ssh_issuer *is, const ssh_issue_state *st, wid_reason_t rc,
                 const char *peer, char id_out[WID_RECEIPT_ID_SIZE])
{
    wid_receipt  r;
    uint64_t     seq;
    wid_reason_t jrc;

    memset(&r, 0, sizeof(r));
    r.surface = WID_SURFACE_SSH_ISSUE;
    r.verdict = rc == WID_OK ? WID_VERDICT_ALLOW : WID_VERDICT_DENY;
    r.str[WID_RF_REASON] = wid_reason_code(rc);
    r.str[WID_RF_RULE] = st->rule;
    r.str[WID_RF_OPERATION] = SSH_OPERATION_ISSUE;
    r.str[WID_RF_HOST] = is->conf->audience;
    r.str[WID_RF_PEER] = peer;
    /* The policy in force goes on every receipt, also on a refusal
     * decided before the policy was asked (bad evidence, bad request). */
    if (is->policy != NULL) {
        r.policy_hash.set = 1;
        memcpy(r.policy_hash.h, wid_policy_sha256(is->policy), 32);
        r.str[WID_RF_POLICY_SIGNER] = wid_policy_signer(is->policy);
    }
    if (st->have_dec) {
        if (st->dec.policy_hash != NULL) {
            r.policy_hash.set = 1;
            memcpy(r.policy_hash.h, st->dec.policy_hash, 32);
        }
        r.str[WID_RF_POLICY_SIGNER] = st->dec.signer;
        r.str[WID_RF_ATT_TIER] = wid_tier_name(st->dec.effective_tier);
        r.prefer = !st->dec.soft_evaluated ? WID_PREFER_NONE
                   : st->dec.soft_matched ? WID_PREFER_MATCHED
                   : WID_PREFER_UNMATCHED;
    }
    if (st->have_id) {
        r.str[WID_RF_SPIFFE_ID] = st->id.spiffe_id;
        r.str[WID_RF_TRUST_DOMAIN] = st->id.trust_domain;
        r.str[WID_RF_ID_PATH] = st->id.path;
        r.str[WID_RF_CREDENTIAL_KIND] = wid_cred_kind_name(st->id.kind);
        /* As nginx names it: an X.509 leaf by its SHA-256 fingerprint. */
        r.str[WID_RF_CREDENTIAL_ID] = st->id.kind == WID_CRED_X509_SVID
                                      ? st->id.fingerprint : st->id.serial;
        r.not_after = st->id.not_after > 0 ? (uint64_t) st->id.not_after : 0;
        (void) ssh_hex_hash(st->id.bundle_sha256, &r.bundle_hash);
    }
    if (st->att.verified) {
        /* What was presented, also when it was refused afterwards. */
        r.str[WID_RF_ATT_SCHEMA] = WID_ATTEST_RESULT_SCHEMA;
        r.str[WID_RF_ATT_VERIFIER] = st->att.r.verifier;
        r.evidence_hash.set = 1;
        memcpy(r.evidence_hash.h, st->att.r.evidence_sha256, 32);
    }
    if (st->key_fp[0] != '\0') {
        r.str[WID_RF_SSH_KEY_FP] = st->key_fp;
    }
    if (rc == WID_OK && st->have_cert) {
        r.str[WID_RF_SSH_PRINCIPALS] = st->principals_csv;
        r.ssh_serial = st->cert.serial;
        r.ssh_valid_after = st->cert.valid_after;
        r.ssh_valid_before = st->cert.valid_before;
    }
    jrc = wid_journal_append(is->journal, &r, ssh_now_ms(), id_out, &seq);
    if (jrc == WID_OK) {
        /* Into the kernel before anything is returned: a crash of this
         * process after the reply cannot lose the receipt. */
        jrc = wid_journal_tick(is->journal, ssh_now_ms());
    }
    return jrc;
}


/* Evidence -> verified identity. */
static wid_reason_t
ssh_issue_identity(ssh_issuer *is, const ssh_issue_req *req, uint64_t now,
                   wid_identity *id)
{
    X509            *leaf = NULL;
    STACK_OF(X509)  *rest = NULL;
    wid_reason_t     rc;

    if ((req->jwt != NULL) == (req->x509 != NULL)) {
        return WID_R_SSH_EVIDENCE_MISSING;
    }
    if (req->jwt != NULL) {
        if (req->proof != NULL) {
            return WID_R_SSH_REQUEST_MALFORMED;
        }
        return wid_jwtsvid_verify(is->bundles, req->jwt, strlen(req->jwt),
                                  is->conf->audience, (int64_t) now,
                                  SSH_JWT_LEEWAY, id);
    }
    /* Without proof of possession a certificate is just public data. */
    if (req->proof == NULL) {
        return WID_R_SSH_POP_MISSING;
    }
    rc = wid_x509_chain_parse((const unsigned char *) req->x509,
                              strlen(req->x509), &leaf, &rest);
    if (rc != WID_OK) {
        return rc;
    }
    rc = wid_x509svid_verify(is->bundles, leaf, rest, (int64_t) now,
                             SSH_JWT_LEEWAY, id);
    if (rc == WID_OK) {
        rc = ssh_pop_verify(leaf, is->conf->audience, req->pk, req->proof,
                            now, is->conf->pop_max_age);
    }
    X509_free(leaf);
    sk_X509_pop_free(rest, X509_free);
    return rc;
}


static int
ssh_in_list(const char *const *list, size_t n, const char *s)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(list[i], s) == 0) {
            return 1;
        }
    }
    return 0;
}


/* Policy extension bits -> certificate extension bits (by name). */
static unsigned
ssh_policy_exts(unsigned bits)
{
    unsigned b, out = 0;

    for (b = 1; b != 0 && b < (1u << WID_SSH_EXT_COUNT); b <<= 1) {
        if (bits & b) {
            out |= ssh_extension_bit(wid_ssh_ext_name(b));
        }
    }
    return out;
}


/* The certificate the rule's ssh block allows for this request. */
static wid_reason_t
ssh_issue_build(ssh_issuer *is, const ssh_issue_req *req,
                const wid_policy_ssh *sb, ssh_issue_state *st, uint64_t now,
                char ***principals_out, char **source_out)
{
    ssh_cert     *c = &st->cert;
    char        **pv;
    char         *src = NULL;
    size_t        i, n, len = 0, off;
    unsigned      granted, bit;
    uint64_t      ttl, max;
    wid_reason_t  rc;

    /* Principals: the request may narrow the rule's list, never widen. */
    if (req->have_principals) {
        if (req->nprincipals == 0) {
            return WID_R_SSH_PRINCIPALS_EMPTY;
        }
        for (i = 0; i < req->nprincipals; i++) {
            if ((rc = ssh_check_principal(req->principals[i])) != WID_OK) {
                return rc;
            }
            if (!ssh_in_list(sb->principals, sb->nprincipals,
                             req->principals[i]))
            {
                return WID_R_SSH_PRINCIPAL_NOT_ALLOWED;
            }
        }
        n = req->nprincipals;
    } else {
        n = sb->nprincipals;
    }
    if ((pv = calloc(n + 1, sizeof(*pv))) == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    *principals_out = pv;
    off = 0;
    for (i = 0; i < n; i++) {
        pv[i] = (char *) (req->have_principals ? req->principals[i]
                                               : sb->principals[i]);
        if ((rc = ssh_check_principal(pv[i])) != WID_OK) {
            return rc;
        }
        if (off != SIZE_MAX) {
            if (off + strlen(pv[i]) + 1 > SSH_PRINCIPALS_CSV) {
                snprintf(st->principals_csv + off, 32, "%s...+%zu",
                         i ? "," : "", n - i);
                off = SIZE_MAX;
            } else {
                off += (size_t) snprintf(st->principals_csv + off,
                                         SSH_PRINCIPALS_CSV + 32 - off,
                                         "%s%s", i ? "," : "", pv[i]);
            }
        }
    }

    /* Extensions: none unless the rule grants them. */
    granted = ssh_policy_exts(sb->extensions);
    if (req->have_extensions) {
        c->extensions = 0;
        for (i = 0; i < req->nextensions; i++) {
            if ((bit = ssh_extension_bit(req->extensions[i])) == 0) {
                return WID_R_SSH_EXTENSION_UNKNOWN;
            }
            if ((granted & bit) == 0) {
                return WID_R_SSH_EXTENSION_NOT_GRANTED;
            }
            c->extensions |= bit;
        }
    } else {
        c->extensions = granted;
    }

    /* Lifetime: the smallest of the request, the rule, the tier profile
     * (dec.max_ttl_seconds) and the credential's own expiry. */
    max = sb->max_ttl_seconds;
    if (st->dec.max_ttl_seconds != 0 && st->dec.max_ttl_seconds < max) {
        max = st->dec.max_ttl_seconds;
    }
    if (req->have_ttl && req->ttl == 0) {
        return WID_R_SSH_TTL_INVALID;
    }
    ttl = req->have_ttl && req->ttl < max ? req->ttl : max;
    rc = ssh_cert_validity(now, is->conf->backdate, ttl, max,
                           st->id.not_after > 0
                           ? (uint64_t) st->id.not_after : 1,
                           &c->valid_after, &c->valid_before);
    if (rc != WID_OK) {
        return rc;
    }

    /* source-address and force-command exactly as the rule says. */
    for (i = 0; i < sb->nsource_addresses; i++) {
        len += strlen(sb->source_addresses[i]) + 1;
    }
    if (len > 0) {
        if ((src = malloc(len)) == NULL) {
            return WID_R_INTERNAL_NOMEM;
        }
        off = 0;
        for (i = 0; i < sb->nsource_addresses; i++) {
            off += (size_t) snprintf(src + off, len - off, "%s%s",
                                     i ? "," : "", sb->source_addresses[i]);
        }
        *source_out = src;
        c->source_address = src;
    }
    c->force_command = (char *) sb->force_command;
    c->type = SSH_CERT_TYPE_USER;
    c->principals = pv;
    c->nprincipals = n;
    memcpy(c->pk, req->pk, SSH_ED25519_PK_LEN);
    c->serial = ssh_cert_random_serial();
    return WID_OK;
}


wid_reason_t
ssh_issuer_handle(ssh_issuer *is, const ssh_issue_req *req,
                  wid_reason_t parse_rc, const char *peer,
                  ssh_issue_result *res)
{
    ssh_issue_state         *st;
    const wid_policy_rule   *rule;
    const wid_policy_ssh    *sb;
    wid_policy_identity      pid;
    wid_policy_input         in;
    char                   **pv = NULL, *src = NULL, *line = NULL;
    char                     key_id[SSH_KEY_ID_MAX + 1];
    ssh_wbuf                 blob;
    uint64_t                 now = ssh_now_ms() / 1000;
    wid_reason_t             rc = parse_rc, jrc, src_rc;
    size_t                   i;

    memset(res, 0, sizeof(*res));
    res->verdict = WID_VERDICT_DENY;
    ssh_wbuf_init(&blob, 0);
    if ((st = calloc(1, sizeof(*st))) == NULL) {
        res->reason = WID_R_INTERNAL_NOMEM;
        return res->reason;
    }

    if (rc == WID_OK && req == NULL) {
        rc = WID_R_SSH_REQUEST_MALFORMED;
    }
    if (rc == WID_OK && !req->have_pk) {
        rc = WID_R_SSH_PUBKEY_MALFORMED;
    }
    if (rc == WID_OK) {
        ssh_pubkey_fingerprint(req->pk, st->key_fp);
        st->rule = req->rule != NULL ? req->rule : is->conf->rules[0];
        if (!ssh_conf_has_rule(is->conf, st->rule)) {
            st->rule = NULL;            /* not recorded: client-chosen text */
            rc = WID_R_SSH_RULE_NOT_OFFERED;
        }
    }
    if (rc == WID_OK) {
        rc = ssh_issue_identity(is, req, now, &st->id);
        st->have_id = rc == WID_OK;
    }

    if (rc == WID_OK) {
        ssh_issuer_policy(is);
        rc = is->policy_rc;
    }
    if (rc == WID_OK) {
        rc = ssh_issue_attestation(is, req, &st->id, now, &st->att);
    }
    if (rc == WID_OK) {
        memset(&pid, 0, sizeof(pid));
        pid.spiffe_id = st->id.spiffe_id;
        pid.trust_domain = st->id.trust_domain;
        pid.path = st->id.path;
        pid.kind = st->id.kind;
        memset(&in, 0, sizeof(in));
        in.rule = st->rule;
        in.operation = SSH_OPERATION_ISSUE;
        in.identity = &pid;
        in.attestation = st->att.present ? &st->att.pa : NULL;
        in.now = (int64_t) now;
        rc = wid_policy_decide(is->policy, &in, &st->dec);
        st->have_dec = 1;
    }
    if (rc == WID_OK) {
        rule = wid_policy_rule_find(is->policy, st->rule);
        sb = rule != NULL ? wid_policy_rule_ssh(rule) : NULL;
        rc = sb == NULL ? WID_R_SSH_RULE_NO_SSH
             : ssh_issue_build(is, req, sb, st, now, &pv, &src);
        st->have_cert = rc == WID_OK;
    }

    /* Every certificate check, with a key id of the final length. */
    if (rc == WID_OK) {
        if (ssh_key_id_format(key_id, sizeof(key_id), st->id.spiffe_id,
                              SSH_RECEIPT_ID_PLACEHOLDER, st->rule,
                              st->id.kind, st->dec.effective_tier) != 0)
        {
            rc = WID_R_SSH_KEY_ID_INVALID;
        } else {
            st->cert.key_id = key_id;
            rc = ssh_cert_check(&st->cert);
        }
    }

    /* The receipt, allow or deny, before anything is signed or sent. */
    jrc = ssh_issue_record(is, st, rc, peer, res->receipt);
    if (jrc != WID_OK) {
        res->receipt[0] = '\0';
        rc = jrc;
        goto done;
    }
    if (rc != WID_OK) {
        goto done;
    }

    (void) ssh_key_id_format(key_id, sizeof(key_id), st->id.spiffe_id,
                             res->receipt, st->rule, st->id.kind,
                             st->dec.effective_tier);
    sodium_mprotect_readonly(is->ca_sk);
    rc = ssh_cert_sign(&st->cert, is->ca_sk, &blob);
    sodium_mprotect_noaccess(is->ca_sk);

    /* Recorded before it is handed out: revocation can always find it. */
    if (rc == WID_OK) {
        /* Durable like the receipts (journal_fsync). */
        rc = ssh_issued_append_sync(is->conf->index_path, &st->cert,
                                    is->conf->journal_fsync
                                    == WID_FSYNC_ALWAYS);
        if (rc == WID_OK
            && is->conf->journal_fsync == WID_FSYNC_INTERVAL)
        {
            is->index_unsynced = 1;
        }
    }
    if (rc == WID_OK) {
        rc = ssh_format_line(SSH_ED25519_CERT_NAME, blob.data, blob.len,
                             key_id, &line);
    }
    if (rc != WID_OK) {
        /* Signed but not handed out: say so in the journal too. */
        st->have_cert = 0;
        src_rc = ssh_issue_record(is, st, rc, peer, res->receipt);
        if (src_rc != WID_OK) {
            res->receipt[0] = '\0';
        }
        goto done;
    }

    res->cert_line = line;
    line = NULL;
    res->key_id = strdup(key_id);
    res->principals = calloc(st->cert.nprincipals + 1, sizeof(char *));
    if (res->key_id == NULL || res->principals == NULL) {
        ssh_issue_result_free(res);
        rc = WID_R_INTERNAL_NOMEM;
        goto done;
    }
    for (i = 0; i < st->cert.nprincipals; i++) {
        if ((res->principals[i] = strdup(st->cert.principals[i])) == NULL) {
            ssh_issue_result_free(res);
            rc = WID_R_INTERNAL_NOMEM;
            goto done;
        }
        res->nprincipals++;
    }
    res->serial = st->cert.serial;
    res->valid_after = st->cert.valid_after;
    res->valid_before = st->cert.valid_before;
    res->verdict = WID_VERDICT_ALLOW;

done:
    res->reason = rc;
    ssh_wbuf_free(&blob);
    free(line);
    free(pv);
    free(src);
    sodium_memzero(st, sizeof(*st));
    free(st);
    return rc;
}
