#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "journal_testutil.h"

void
jt_keypair(wid_seckey *sk, wid_pubkey *pk)
{
    if (sodium_init() < 0) {
        abort();
    }
    crypto_sign_keypair(sk->pub.pk, sk->sk);
    *pk = sk->pub;
}

void
jt_receipt(wid_receipt *r, unsigned i)
{
    static char ids[8][96];
    static const char *reasons[3] = { "ok", "policy.path_prefix",
                                      "x509.trust_domain_mismatch" };
    unsigned k;

    memset(r, 0, sizeof(*r));
    r->time_ms = 1700000000000ull + i * 1000ull;
    r->surface = WID_SURFACE_HTTP;
    r->verdict = i % 3 == 0 ? WID_VERDICT_DENY : WID_VERDICT_ALLOW;
    snprintf(ids[i % 8], sizeof(ids[0]),
             "spiffe://example.org/payments/worker/%u", i % 8);
    r->str[WID_RF_SPIFFE_ID] = ids[i % 8];
    r->str[WID_RF_TRUST_DOMAIN] = "example.org";
    r->str[WID_RF_REASON] = reasons[i % 3];
    r->str[WID_RF_RULE] = i % 2 ? "payments" : "admin";
    r->str[WID_RF_OPERATION] = "GET";
    r->str[WID_RF_METHOD] = "GET";
    r->str[WID_RF_HOST] = "api.example.org";
    r->str[WID_RF_REQ_PATH] = "/v1/charge";
    r->str[WID_RF_PEER] = "10.1.2.3";
    r->str[WID_RF_CREDENTIAL_KIND] = "x509_svid";
    r->policy_hash.set = 1;
    for (k = 0; k < 32; k++) {
        r->policy_hash.h[k] = (uint8_t) (k * 7);
    }
    r->not_after = 1700003600;
}

char *
jt_tmpdir(char *buf, size_t cap)
{
    snprintf(buf, cap, "/tmp/wid-jt-XXXXXX");
    if (mkdtemp(buf) == NULL) {
        abort();
    }
    return buf;
}

static int
jt_rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove(p);
}

void
jt_rmrf(const char *path)
{
    nftw(path, jt_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

typedef struct {
    size_t        errors, warnings;
    wid_reason_t  first;
    const char   *kind;
} jt_vctx;

static void
jt_vfind(void *ctx, const wid_journal_finding *f)
{
    jt_vctx *c = ctx;

    if (f->warning) {
        c->warnings++;
        return;
    }
    if (c->errors++ == 0) {
        c->first = f->reason;
        c->kind = f->kind;
    }
}

size_t
jt_verify(const char *dir, const wid_pubkey *pk, int accept_gaps,
          wid_reason_t *first, const char **first_kind, size_t *warnings)
{
    jt_vctx                   c;
    wid_journal_verify_cb     cb = { jt_vfind, NULL, &c, NULL };
    wid_journal_verify_result res;

    memset(&c, 0, sizeof(c));
    if (wid_journal_verify(dir, pk, accept_gaps, &cb, &res) != WID_OK) {
        return (size_t) -1;
    }
    if (first) {
        *first = c.first;
    }
    if (first_kind) {
        *first_kind = c.kind;
    }
    if (warnings) {
        *warnings = c.warnings;
    }
    return c.errors;
}

unsigned char *
jt_read(const char *path, size_t *len)
{
    FILE          *f = fopen(path, "rb");
    unsigned char *b;
    long           n;

    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t) n + 1);
    if (b == NULL || fread(b, 1, (size_t) n, f) != (size_t) n) {
        abort();
    }
    fclose(f);
    *len = (size_t) n;
    return b;
}

void
jt_write(const char *path, const unsigned char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL || fwrite(buf, 1, len, f) != len) {
        abort();
    }
    fclose(f);
}

size_t
jt_frames(const unsigned char *buf, size_t len, uint64_t *offs,
          uint8_t *types, size_t max)
{
    wid_frame f;
    uint64_t  off = 0;
    size_t    n = 0;

    while (off < len && n < max
           && wid_frame_parse(buf, len, off, &f) == WID_OK)
    {
        offs[n] = off;
        types[n] = f.type;
        n++;
        off = f.next;
    }
    return n;
}

void
jt_poke(const char *path, size_t off, unsigned char byte)
{
    int fd = open(path, O_WRONLY);

    if (fd < 0 || pwrite(fd, &byte, 1, (off_t) off) != 1) {
        abort();
    }
    close(fd);
}


void
jt_seg_path(char *out, size_t cap, const char *dir, const char *writer,
            unsigned n)
{
    snprintf(out, cap, "%s/%s/seg-%016u.wjl", dir, writer, n);
}
