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

#include "krl.h"
#include "login.h"


/*
 * INTEGRATION POINT (policy): re-evaluate the rule's ssh block as it
 * stands now (principals allowed for this user, max TTL, source-address,
 * force-command, extensions) against req->cert and the SPIFFE ID its key
 * id carries; on allow, fill out->options with per-principal
 * authorized_keys options (e.g. from="..."); return a policy.* code on
 * deny.  Until the policy engine lands, the certificate's own checks
 * above are the whole decision.
 */
static wid_reason_t
ssh_login_policy(const ssh_conf *conf, const ssh_login_req *req,
                 ssh_login_result *out)
{
    (void) conf;
    (void) req;
    (void) out;
    return WID_OK;
}


wid_reason_t
ssh_login_decide(const ssh_conf *conf, const ssh_login_req *req,
                 ssh_login_result *out)
{
    const ssh_cert *c = req->cert;
    ssh_krl         krl;
    wid_reason_t    rc;
    size_t          i;

    memset(out, 0, sizeof(*out));
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

    rc = ssh_login_policy(conf, req, out);
    if (rc != WID_OK) {
        out->principal = NULL;
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


/*
 * INTEGRATION POINT (journal): append an ssh_login receipt carrying the
 * same facts as the JSON line below; a journal write failure denies.
 */
wid_reason_t
ssh_login_record(const ssh_conf *conf, const ssh_login_req *req,
                 wid_reason_t rc)
{
    json_t      *o;
    char        *line;
    size_t       len;
    ssize_t      w;
    int          fd;
    wid_reason_t out = WID_OK;

    o = ssh_login_json(req, rc);
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
            out = WID_R_INTERNAL_IO;
        } else {
            do {
                w = write(fd, line, len + 1);
            } while (w < 0 && errno == EINTR);
            if (w != (ssize_t) (len + 1)) {
                out = WID_R_INTERNAL_IO;
            }
            close(fd);
        }
    }
    free(line);
    return out;
}
