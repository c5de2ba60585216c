#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "client.h"
#include "issuer.h"
#include "krl.h"
#include "login.h"


/* Policy extension bits -> certificate extension bits (by name). */
static unsigned
ssh_login_policy_exts(unsigned bits)
{
    unsigned b, out = 0;

    for (b = 1; b < (1u << WID_SSH_EXT_COUNT); b <<= 1) {
        if (bits & b) {
            out |= ssh_extension_bit(wid_ssh_ext_name(b));
        }
    }
    return out;
}


/*
 * The policy in force: read afresh on every run (with its signature when
 * policy_signer is set).  Its hash and signer go into out for the
 * receipt, whatever is decided and whichever check decides.  Returns
 * WID_OK with *p set (NULL without a policy), or why it does not load.
 */
static wid_reason_t
ssh_login_policy_load(const ssh_conf *conf, ssh_login_result *out,
                      wid_policy **p)
{
    wid_policy_load_opts lo;
    wid_pubkey           signer;
    wid_reason_t         rc;

    *p = NULL;
    if (conf->policy_path == NULL) {
        return WID_OK;
    }
    memset(&lo, 0, sizeof(lo));
    if (conf->policy_signer_path != NULL) {
        if ((rc = wid_pubkey_load(conf->policy_signer_path, &signer))
            != WID_OK)
        {
            return rc;
        }
        lo.required_signer = &signer;
    }
    if ((rc = wid_policy_load_file(conf->policy_path, &lo, p, NULL))
        != WID_OK)
    {
        return rc;
    }
    out->have_policy = 1;
    memcpy(out->policy_hash, wid_policy_sha256(*p), 32);
    snprintf(out->policy_signer, sizeof(out->policy_signer), "%s",
             wid_policy_signer(*p));
    return WID_OK;
}


void
ssh_login_note_policy(const ssh_conf *conf, ssh_login_result *out)
{
    wid_policy *p;

    memset(out, 0, sizeof(*out));
    (void) ssh_login_policy_load(conf, out, &p);
    wid_policy_free(p);
}


/*
 * The rule the certificate was issued under, as it stands now: the
 * identity the key id names is decided for "ssh_login" with the tier
 * established at issuance, and the certificate must not grant more than
 * the rule's ssh block grants now.  p is the policy in force, or NULL
 * with prc saying why it did not load (fail closed: the login is
 * denied).  A rule that asks for source addresses gets them as
 * from="..." on the printed line, which sshd enforces.
 */
static wid_reason_t
ssh_login_policy(const ssh_conf *conf, const ssh_login_req *req,
                 const wid_policy *p, wid_reason_t prc,
                 ssh_login_result *out)
{
    const ssh_cert        *c = req->cert;
    const wid_policy_rule *rule;
    const wid_policy_ssh  *sb;
    wid_policy_identity    pid;
    wid_policy_input       in;
    wid_policy_decision    dec;
    uint64_t               max, life;
    size_t                 i, off;
    wid_reason_t           rc;
    int                    found = 0, n;

    if (conf->policy_path == NULL) {
        return WID_OK;              /* certificate checks only */
    }
    if ((rc = ssh_key_id_parse(c->key_id, &out->kid)) != WID_OK) {
        return rc;
    }
    out->have_kid = 1;
    if (!ssh_conf_has_rule(conf, out->kid.rule)) {
        return WID_R_SSH_RULE_NOT_OFFERED;
    }
    if (p == NULL) {
        return prc;
    }

    memset(&pid, 0, sizeof(pid));
    pid.spiffe_id = out->kid.id.id;
    pid.trust_domain = out->kid.id.trust_domain;
    pid.path = out->kid.id.path;
    pid.kind = out->kid.kind;
    memset(&in, 0, sizeof(in));
    in.rule = out->kid.rule;
    in.operation = "ssh_login";
    in.identity = &pid;
    in.now = (int64_t) req->now;
    /*
     * No new attestation arrives with a login: the tier is the one the
     * CA established and signed into the key id at issuance.  A rule
     * that now asks for more denies.
     */
    in.assume_tier = 1;
    in.assumed_tier = out->kid.tier;
    rc = wid_policy_decide(p, &in, &dec);
    out->have_dec = 1;
    out->effective_tier = dec.effective_tier;
    if (rc != WID_OK) {
        return rc;
    }

    rule = wid_policy_rule_find(p, out->kid.rule);
    sb = rule != NULL ? wid_policy_rule_ssh(rule) : NULL;
    if (sb == NULL) {
        return WID_R_SSH_RULE_NO_SSH;
    }
    for (i = 0; i < sb->nprincipals; i++) {
        found |= strcmp(sb->principals[i], req->user) == 0;
    }
    if (!found) {
        return WID_R_SSH_PRINCIPAL_NOT_ALLOWED;
    }
    max = sb->max_ttl_seconds;
    if (dec.max_ttl_seconds != 0 && dec.max_ttl_seconds < max) {
        max = dec.max_ttl_seconds;
    }
    life = c->valid_before - c->valid_after;    /* parser: after < before */
    if (life > max + SSH_BACKDATE_MAX
        || (c->extensions & ~ssh_login_policy_exts(sb->extensions)) != 0
        || (sb->force_command != NULL
            && (c->force_command == NULL
                || strcmp(c->force_command, sb->force_command) != 0)))
    {
        return WID_R_SSH_CERT_EXCEEDS_RULE;
    }

    if (sb->nsource_addresses > 0) {
        off = 0;
        n = snprintf(out->options, sizeof(out->options), "from=\"");
        off = n > 0 ? (size_t) n : 0;
        for (i = 0; i < sb->nsource_addresses; i++) {
            n = snprintf(out->options + off, sizeof(out->options) - off,
                         "%s%s", i ? "," : "", sb->source_addresses[i]);
            if (n < 0 || (size_t) n >= sizeof(out->options) - off) {
                return WID_R_SSH_SOURCE_ADDRESS_INVALID;
            }
            off += (size_t) n;
        }
        if (off + 2 > sizeof(out->options)) {
            return WID_R_SSH_SOURCE_ADDRESS_INVALID;
        }
        out->options[off++] = '"';
        out->options[off] = '\0';
    }
    return WID_OK;
}


/* Everything but the policy's own verdict on the rule. */
static wid_reason_t
ssh_login_check(const ssh_conf *conf, const ssh_login_req *req,
                const wid_policy *p, wid_reason_t prc, ssh_login_result *out)
{
    const ssh_cert *c = req->cert;
    ssh_krl         krl;
    wid_reason_t    rc;
    size_t          i;

    if (c == NULL) {
        return WID_R_SSH_CERT_MALFORMED;
    }
    if (sodium_memcmp(c->ca_pk, conf->ca_pk, SSH_ED25519_PK_LEN) != 0) {
        return WID_R_SSH_CERT_WRONG_CA;
    }
    /* sshd checks validity too, but only after this command has run. */
    if (req->now < c->valid_after) {
        return WID_R_SSH_CERT_NOT_YET_VALID;
    }
    if (req->now >= c->valid_before) {
        return WID_R_SSH_CERT_EXPIRED;
    }

    /* Fail closed: no readable, well-formed KRL, no login. */
    if ((rc = ssh_krl_load(conf->krl_path, &krl)) != WID_OK) {
        return rc;
    }
    rc = ssh_krl_check_cert(&krl, c);
    ssh_krl_free(&krl);
    if (rc != WID_OK) {
        return rc;
    }

    /*
     * Print only the principal that is the login user: echoing every
     * principal back would let any certificate from this CA log into
     * any account.
     */
    for (i = 0; i < c->nprincipals; i++) {
        if (strcmp(c->principals[i], req->user) == 0) {
            out->principal = c->principals[i];
            break;
        }
    }
    if (out->principal == NULL) {
        return WID_R_SSH_PRINCIPAL_MISMATCH;
    }
    return ssh_login_policy(conf, req, p, prc, out);
}


wid_reason_t
ssh_login_decide(const ssh_conf *conf, const ssh_login_req *req,
                 ssh_login_result *out)
{
    wid_policy   *p;
    wid_reason_t  prc, rc;

    memset(out, 0, sizeof(*out));
    /* First, so that every receipt names the policy in force, also one
     * refused before the rule is looked at. */
    prc = ssh_login_policy_load(conf, out, &p);
    rc = ssh_login_check(conf, req, p, prc, out);
    wid_policy_free(p);
    if (rc != WID_OK) {
        out->principal = NULL;
        out->options[0] = '\0';
    }
    return rc;
}


static json_t *
ssh_login_json(const ssh_login_req *req, wid_reason_t rc)
{
    const ssh_cert *c = req->cert;
    char            serial[24], fp[64];
    json_t         *o, *pr;
    size_t          i;

    o = json_object();
    if (o == NULL) {
        return NULL;
    }
    json_object_set_new(o, "time", json_integer((json_int_t) req->now));
    json_object_set_new(o, "surface", json_string("ssh_login"));
    json_object_set_new(o, "verdict", json_string(rc == WID_OK ? "allow"
                                                               : "deny"));
    json_object_set_new(o, "reason", json_string(wid_reason_code(rc)));
    json_object_set_new(o, "user", req->user ? json_string(req->user)
                                             : json_null());
    if (c != NULL) {
        snprintf(serial, sizeof(serial), "%" PRIu64, c->serial);
        json_object_set_new(o, "serial", json_string(serial));
        json_object_set_new(o, "key_id", json_string(c->key_id));
        pr = json_array();
        for (i = 0; pr != NULL && i < c->nprincipals; i++) {
            json_array_append_new(pr, json_string(c->principals[i]));
        }
        json_object_set_new(o, "principals", pr ? pr : json_null());
        ssh_pubkey_fingerprint(c->pk, fp);
        json_object_set_new(o, "key_fp", json_string(fp));
        ssh_pubkey_fingerprint(c->ca_pk, fp);
        json_object_set_new(o, "ca_fp", json_string(fp));
        json_object_set_new(o, "valid_after",
                            json_integer((json_int_t) (c->valid_after
                                                       & INT64_MAX)));
        json_object_set_new(o, "valid_before",
                            json_integer((json_int_t) (c->valid_before
                                                       & INT64_MAX)));
    }
    return o;
}


/* How long `principals` waits for the daemon (sshd waits for us). */
#define SSH_LOGIN_SOCKET_TIMEOUT_MS 1000


/*
 * Hand the receipt to the `serve` daemon's journal writer (one long-lived
 * writer instead of a new writer log per run).  On success id is the
 * receipt id the daemon assigned.
 */
static wid_reason_t
ssh_login_submit(const ssh_conf *conf, wid_receipt *r,
                 char id[WID_RECEIPT_ID_SIZE])
{
    uint8_t           buf[WID_RECEIPT_MAX];
    size_t            len;
    wid_receipt_view  v;
    json_t           *rj, *o, *a;
    const char       *verdict, *rid, *reason;
    char             *req = NULL, *resp = NULL;
    wid_reason_t      rc;

    id[0] = '\0';
    rc = wid_receipt_encode(r, "login", 0, buf, sizeof(buf), &len);
    if (rc == WID_R_RECEIPT_FIELD_INVALID
        || rc == WID_R_RECEIPT_FIELD_TOO_LONG)
    {
        /* Hostile text from sshd's arguments: without it. */
        r->str[WID_RF_SSH_PRINCIPALS] = NULL;
        rc = wid_receipt_encode(r, "login", 0, buf, sizeof(buf), &len);
    }
    if (rc != WID_OK || (rc = wid_receipt_decode(buf, len, &v)) != WID_OK) {
        return rc;
    }
    rj = wid_receipt_view_json(&v, NULL);
    o = rj != NULL ? json_object() : NULL;
    if (o == NULL
        || json_object_set_new(o, "version", json_integer(1)) != 0
        || json_object_set_new(o, "login_receipt", rj) != 0
        || (req = json_dumps(o, JSON_COMPACT)) == NULL)
    {
        if (o == NULL) {
            json_decref(rj);
        }
        json_decref(o);
        return WID_R_INTERNAL_NOMEM;
    }
    json_decref(o);
    rc = ssh_socket_call(conf->journal_socket, req,
                         SSH_LOGIN_SOCKET_TIMEOUT_MS, &resp);
    free(req);
    if (rc != WID_OK) {
        return rc;
    }
    a = json_loads(resp, 0, NULL);
    free(resp);
    verdict = json_string_value(json_object_get(a, "verdict"));
    rid = json_string_value(json_object_get(a, "receipt"));
    reason = json_string_value(json_object_get(a, "reason"));
    if (verdict != NULL && strcmp(verdict, "recorded") == 0 && rid != NULL
        && strlen(rid) < WID_RECEIPT_ID_SIZE)
    {
        memcpy(id, rid, strlen(rid) + 1);
        rc = WID_OK;
    } else {
        rc = reason != NULL ? wid_reason_from_code(reason) : WID_R__COUNT;
        if (rc == WID_OK || rc == WID_R__COUNT) {
            rc = WID_R_INTERNAL_IO;
        }
    }
    json_decref(a);
    return rc;
}


/* The ssh_login receipt. */
static wid_reason_t
ssh_login_receipt(const ssh_conf *conf, const ssh_login_req *req,
                  const ssh_login_result *res, wid_reason_t rc,
                  char id[WID_RECEIPT_ID_SIZE])
{
    const ssh_cert *c = req->cert;
    wid_journal    *j;
    wid_receipt     r;
    char            fp[64], err[256];
    uint64_t        seq;
    wid_reason_t    jrc;

    memset(&r, 0, sizeof(r));
    r.surface = WID_SURFACE_SSH_LOGIN;
    r.verdict = rc == WID_OK ? WID_VERDICT_ALLOW : WID_VERDICT_DENY;
    r.str[WID_RF_REASON] = wid_reason_code(rc);
    r.str[WID_RF_OPERATION] = "ssh_login";
    r.str[WID_RF_SSH_PRINCIPALS] = req->user;   /* the principal asked for */
    if (c != NULL) {
        ssh_pubkey_fingerprint(c->pk, fp);
        r.str[WID_RF_SSH_KEY_FP] = fp;
        r.ssh_serial = c->serial;
        r.ssh_valid_after = c->valid_after;
        r.ssh_valid_before = c->valid_before;
    }
    if (res != NULL && res->have_kid) {
        r.str[WID_RF_RULE] = res->kid.rule;
        r.str[WID_RF_SPIFFE_ID] = res->kid.id.id;
        r.str[WID_RF_TRUST_DOMAIN] = res->kid.id.trust_domain;
        r.str[WID_RF_ID_PATH] = res->kid.id.path;
        r.str[WID_RF_CREDENTIAL_KIND] = wid_cred_kind_name(res->kid.kind);
        /* The credential at login is the certificate; its issuance
         * receipt names the SVID that justified it. */
        r.str[WID_RF_CREDENTIAL_ID] = res->kid.receipt;
    }
    /* The policy in force, on every receipt once it was read. */
    if (res != NULL && res->have_policy) {
        r.policy_hash.set = 1;
        memcpy(r.policy_hash.h, res->policy_hash, 32);
        r.str[WID_RF_POLICY_SIGNER] = res->policy_signer;
    }
    if (res != NULL && res->have_dec) {
        r.str[WID_RF_ATT_TIER] = wid_tier_name(res->effective_tier);
    }
    if (req->user != NULL && strlen(req->user) > WID_RECEIPT_STR_MAX) {
        r.str[WID_RF_SSH_PRINCIPALS] = NULL;
    }

    if (conf->journal_socket != NULL) {
        jrc = ssh_login_submit(conf, &r, id);
        if (jrc == WID_OK || conf->journal_dir == NULL) {
            return jrc;
        }
        /* The daemon is down or refused: record it ourselves. */
        syslog(LOG_AUTHPRIV | LOG_WARNING, "journal_socket %s: %s: writing the receipt "
               "to an own writer log", conf->journal_socket,
               wid_reason_code(jrc));
    }
    jrc = ssh_journal_open(conf, "login", conf->ca_pk, &j, err, sizeof(err));
    if (jrc != WID_OK) {
        return jrc;
    }
    jrc = wid_journal_append(j, &r, ssh_now_ms(), id, &seq);
    if (jrc == WID_R_RECEIPT_FIELD_INVALID || jrc == WID_R_RECEIPT_FIELD_TOO_LONG) {
        /* Hostile text from sshd's arguments: record the decision
         * without it rather than not at all. */
        r.str[WID_RF_SSH_PRINCIPALS] = NULL;
        jrc = wid_journal_append(j, &r, ssh_now_ms(), id, &seq);
    }
    if (jrc != WID_OK) {
        (void) wid_journal_close(j, ssh_now_ms());
        return jrc;
    }
    /* The final checkpoint makes this receipt verifiable at once. */
    return wid_journal_close(j, ssh_now_ms());
}


wid_reason_t
ssh_login_record(const ssh_conf *conf, const ssh_login_req *req,
                 wid_reason_t rc)
{
    char id[WID_RECEIPT_ID_SIZE];

    return ssh_login_record_result(conf, req, NULL, rc, id);
}


wid_reason_t
ssh_login_record_result(const ssh_conf *conf, const ssh_login_req *req,
                        const ssh_login_result *res, wid_reason_t rc,
                        char receipt[WID_RECEIPT_ID_SIZE])
{
    json_t      *o;
    char        *line;
    size_t       len;
    ssize_t      w;
    int          fd;
    wid_reason_t out = WID_OK, jrc;

    receipt[0] = '\0';
    if (conf != NULL
        && (conf->journal_dir != NULL || conf->journal_socket != NULL))
    {
        jrc = ssh_login_receipt(conf, req, res, rc, receipt);
        if (jrc != WID_OK) {
            receipt[0] = '\0';
            out = jrc;
        }
    }

    /* The line says what sshd is told: an allow whose receipt could not
     * be written is refused, with the journal's reason. */
    if (rc == WID_OK && out != WID_OK) {
        rc = out;
    }
    o = ssh_login_json(req, rc);
    if (o != NULL && receipt[0] != '\0') {
        json_object_set_new(o, "receipt", json_string(receipt));
    }
    if (o != NULL && res != NULL && res->have_kid) {
        json_object_set_new(o, "rule", json_string(res->kid.rule));
        json_object_set_new(o, "spiffe_id", json_string(res->kid.id.id));
    }
    line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (line == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }

    /* sshd discards our stderr: syslog is the operator's view. */
    openlog("ssh-wid-helper", LOG_PID, LOG_AUTHPRIV);
    syslog(rc == WID_OK ? LOG_INFO : LOG_NOTICE, "%s", line);
    closelog();

    if (conf != NULL && conf->log_path != NULL) {
        len = strlen(line);
        line[len] = '\n';
        fd = open(conf->log_path,
                  O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                  0640);
        if (fd < 0) {
            out = out != WID_OK ? out : WID_R_INTERNAL_IO;
        } else {
            do {
                w = write(fd, line, len + 1);
            } while (w < 0 && errno == EINTR);
            if (w != (ssize_t) (len + 1)) {
                out = out != WID_OK ? out : WID_R_INTERNAL_IO;
            }
            close(fd);
        }
    }
    free(line);
    return out;
}
