/*
 * Fuzz target: OpenSSH KRLs (ssh_krl_parse) and the update round trip
 * `ssh-wid-helper revoke` performs: parse -> revoke -> serialize -> parse.
 *
 * Input: a flags byte, a big-endian u64 serial, a NUL-terminated key id,
 * then the KRL file.  Two probe certificates are checked against every
 * stage: one with that serial and key id, one with neither.
 *
 * Beyond "no crash": a KRL that parses serializes to a KRL that parses to
 * the same bytes again (the writer's output is canonical) and revokes the
 * same probes; after revoking the serial and the key id for a CA, a
 * certificate of that CA with that serial or that key id is revoked, and
 * nothing revoked before is revoked no more.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "krl.h"
#include "ssh_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define F_OTHER_CA   0x01   /* probes are from a second CA */
#define F_PROBE_KEY  0x02   /* the probes' key is the CA key itself */

static int
reserialize(const ssh_krl *krl, ssh_wbuf *out, ssh_krl *again)
{
    ssh_wbuf_init(out, 0);
    if (ssh_krl_serialize(krl, out) != WID_OK) {
        return -1;                  /* only allocation can fail */
    }
    if (ssh_krl_parse(out->data, out->len, again) != WID_OK) {
        abort();                    /* we wrote what we cannot read */
    }
    return 0;
}

static int
revoked(const ssh_krl *krl, const ssh_cert *c)
{
    wid_reason_t rc = ssh_krl_check_cert(krl, c);

    if (rc != WID_OK && rc != WID_R_SSH_CERT_REVOKED) {
        abort();
    }
    return rc == WID_R_SSH_CERT_REVOKED;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int            init;
    static unsigned char  other_pk[SSH_ED25519_PK_LEN];
    unsigned char         other_sk[SSH_ED25519_SK_LEN], seed[32];
    const unsigned char  *ca;
    const uint8_t        *p;
    size_t                n, i;
    uint64_t              serial = 0;
    char                 *key_id, other_id[] = "fuzz-other-id";
    char                 *principals[] = { (char *) "fuzz" };
    ssh_krl               krl, krl2, krl3;
    ssh_wbuf              s1, s2, s3;
    ssh_cert              probe, plain;
    int                   r_probe, r_plain, id_ok;
    wid_reason_t          rc;

    if (!init) {
        if (fuzz_ssh_fixture_init() != 0) {
            abort();
        }
        memset(seed, 0x0d, sizeof(seed));
        crypto_sign_seed_keypair(other_pk, other_sk, seed);
        init = 1;
    }
    if (size < 9) {
        return 0;
    }
    for (i = 1; i < 9; i++) {
        serial = serial << 8 | data[i];
    }
    p = data + 9;
    n = size - 9;
    if ((key_id = fuzz_next_field(&p, &n)) == NULL) {
        return 0;
    }
    ca = (data[0] & F_OTHER_CA) ? other_pk : fuzz_ssh_ca_pk;

    memset(&probe, 0, sizeof(probe));
    memcpy(probe.ca_pk, ca, SSH_ED25519_PK_LEN);
    memcpy(probe.pk, (data[0] & F_PROBE_KEY) ? ca : other_pk,
           SSH_ED25519_PK_LEN);
    probe.type = SSH_CERT_TYPE_USER;
    probe.serial = serial;
    probe.key_id = key_id;
    probe.principals = principals;
    probe.nprincipals = 1;
    plain = probe;
    plain.serial = serial ^ 1;
    plain.key_id = other_id;
    id_ok = ssh_check_key_id(key_id) == WID_OK
            && strcmp(key_id, other_id) != 0;

    rc = ssh_krl_parse(p, n, &krl);
    if (rc != WID_OK) {
        free(key_id);
        return 0;
    }
    r_probe = revoked(&krl, &probe);
    r_plain = revoked(&krl, &plain);

    /* The writer is canonical: read back, written again, same bytes. */
    if (reserialize(&krl, &s1, &krl2) != 0) {
        goto out1;
    }
    if (reserialize(&krl2, &s2, &krl3) != 0) {
        goto out2;
    }
    if (s1.len != s2.len || memcmp(s1.data, s2.data, s1.len) != 0
        || revoked(&krl2, &probe) != r_probe
        || revoked(&krl2, &plain) != r_plain)
    {
        abort();
    }
    ssh_krl_free(&krl3);
    ssh_wbuf_free(&s2);

    /* Revoke the serial and the key id, write, read back. */
    rc = ssh_krl_revoke_serial(&krl2, ca, serial);
    if ((serial == 0) != (rc == WID_R_SSH_SERIAL_INVALID)
        || (rc != WID_OK && rc != WID_R_SSH_SERIAL_INVALID))
    {
        abort();
    }
    rc = ssh_krl_revoke_key_id(&krl2, ca, key_id);
    if ((rc == WID_OK) != (ssh_check_key_id(key_id) == WID_OK)) {
        abort();
    }
    if (reserialize(&krl2, &s3, &krl3) != 0) {
        goto out2;
    }
    if ((serial != 0 || id_ok) && !revoked(&krl3, &probe)) {
        abort();
    }
    if (r_plain && !revoked(&krl3, &plain)) {
        abort();
    }
    if (id_ok) {
        /* The key id alone revokes, whatever the serial. */
        ssh_cert by_id = probe;

        by_id.serial = ~serial;
        if (!revoked(&krl3, &by_id)) {
            abort();
        }
    }
    ssh_krl_free(&krl3);
    ssh_wbuf_free(&s3);
out2:
    ssh_krl_free(&krl2);
    ssh_wbuf_free(&s2);
out1:
    ssh_wbuf_free(&s1);
    ssh_krl_free(&krl);
    free(key_id);
    return 0;
}
