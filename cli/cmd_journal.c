/*
 * wid journal verify|query|export|prove|append|seal: the receipt journal from
 * the command line.  Exit codes: 0 valid/done, 1 invalid (reason code on
 * stderr or in --json), 2 usage or operational error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "bytes.h"
#include "commands.h"
#include "journal.h"
#include "journal_orphans.h"
#include "journal_read.h"
#include "keyfile.h"
#include "receipt.h"
#include "spiffe_id.h"

#define WID_MAX_REFUSE 8
#define WID_MAX_TRUSTED 4096
#define WID_CP_SUFFIX ".checkpoint"

static void
wid_journal_usage(FILE *out)
{
    fprintf(out,
        "usage: wid journal verify DIR --pubkey PUB [--accept-gaps] [--json]\n"
        "              [--allow-unsigned-tail]\n"
        "              [--trusted-checkpoint FILE|DIR]... [--save-checkpoints DIR]\n"
        "       wid journal query DIR [--spiffe-id ID | --spiffe-id-prefix P]\n"
        "              [--verdict V] [--rule R] [--surface S] [--writer W]\n"
        "              [--since T] [--until T] [--limit N] [--json]\n"
        "       wid journal export DIR [--format jsonl|ocsf]\n"
        "       wid journal prove DIR RECEIPT_ID [--out FILE]\n"
        "       wid journal append DIR --key KEY --writer NAME\n"
        "              [--fsync always|interval|never] [--checkpoint-every N]\n"
        "              [--checkpoint-ms MS] [--segment-bytes B]\n"
        "              [--origin PREFIX] [--refuse-key PUB]...  < receipts.jsonl\n"
        "       wid journal seal DIR --key KEY [--prefix P]\n"
        "              [--checkpoint-every N] [--checkpoint-ms MS]\n"
        "              [--origin PREFIX] [--refuse-key PUB]...\n"
        "T is Unix seconds or YYYY-MM-DDTHH:MM:SSZ (UTC, 1970 or later).\n");
}


static uint64_t
wid_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}


static int
wid_fail(const char *what, wid_reason_t rc)
{
    fprintf(stderr, "wid journal %s: %s (%s)\n", what, wid_reason_code(rc),
            wid_reason_text(rc));
    return WID_EXIT_USAGE;
}


/*
 * Unix seconds, or exactly YYYY-MM-DDTHH:MM:SSZ (UTC); result in ms.
 * Nothing before 1970 (receipt times are unsigned ms since the epoch)
 * and no date that does not exist (2026-02-31): the fields must come back
 * unchanged from gmtime, else timegm() would quietly move them.  NULL, or
 * why the time is refused.
 */
static const char *
wid_parse_time(const char *s, uint64_t *ms)
{
    static const char  form[] = "dddd-dd-ddTdd:dd:ddZ";
    struct tm          tm, back;
    time_t             t;
    char              *end;
    size_t             i;
    unsigned long long v;

    if (s[0] >= '0' && s[0] <= '9' && strchr(s, '-') == NULL) {
        errno = 0;
        v = strtoull(s, &end, 10);
        if (*end != '\0' || errno != 0 || v > UINT64_MAX / 1000) {
            return "not Unix seconds or YYYY-MM-DDTHH:MM:SSZ";
        }
        *ms = v * 1000;
        return NULL;
    }
    if (strlen(s) != sizeof(form) - 1) {
        return "not Unix seconds or YYYY-MM-DDTHH:MM:SSZ";
    }
    for (i = 0; form[i] != '\0'; i++) {
        if (form[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != form[i]) {
            return "not Unix seconds or YYYY-MM-DDTHH:MM:SSZ";
        }
    }
#define WID_DIGITS2(p) (((p)[0] - '0') * 10 + (p)[1] - '0')
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = WID_DIGITS2(s) * 100 + WID_DIGITS2(s + 2) - 1900;
    tm.tm_mon = WID_DIGITS2(s + 5) - 1;
    tm.tm_mday = WID_DIGITS2(s + 8);
    tm.tm_hour = WID_DIGITS2(s + 11);
    tm.tm_min = WID_DIGITS2(s + 14);
    tm.tm_sec = WID_DIGITS2(s + 17);
#undef WID_DIGITS2
    if (tm.tm_year < 70) {
        return "before 1970-01-01T00:00:00Z";
    }
    back = tm;
    t = timegm(&back);
    if (t == (time_t) -1 || gmtime_r(&t, &back) == NULL
        || back.tm_year != tm.tm_year || back.tm_mon != tm.tm_mon
        || back.tm_mday != tm.tm_mday || back.tm_hour != tm.tm_hour
        || back.tm_min != tm.tm_min || back.tm_sec != tm.tm_sec)
    {
        return "no such date or time";
    }
    *ms = (uint64_t) t * 1000;
    return NULL;
}


static int
wid_parse_u64(const char *s, uint64_t *out)
{
    char *end;

    if (s[0] < '0' || s[0] > '9') {
        return -1;
    }
    *out = strtoull(s, &end, 10);
    return *end == '\0' ? 0 : -1;
}


static int
wid_span_eq(wid_span sp, const char *s)
{
    return sp.len == strlen(s) && memcmp(sp.p, s, sp.len) == 0;
}


/* ------------------------------------------------------------ verify */

/* The latest good checkpoint of each writer log and epoch. */
typedef struct {
    char   origin[WID_ORIGIN_MAX + 1];
    char   writer[WID_WRITER_MAX + 1];
    char  *note;
    size_t len;
} wid_saved_cp;

typedef struct {
    int           json;
    json_t       *findings;
    json_t       *writers;
    wid_reason_t  first;
    wid_saved_cp *saved;
    size_t        nsaved;
    int           nomem;
} wid_vout;


static void
wid_vout_finding(void *ctx, const wid_journal_finding *f)
{
    wid_vout *o = ctx;
    char      seg[64] = "-";

    if (!f->warning && o->first == WID_OK) {
        o->first = f->reason;
    }
    if (f->segment) {
        snprintf(seg, sizeof(seg), "seg-%016llu.wjl",
                 (unsigned long long) f->segment);
    }
    if (o->json) {
        json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b}",
            "writer", f->writer, "file", seg, "kind", f->kind,
            "code", wid_reason_code(f->reason), "detail", f->detail,
            "severity", f->warning ? "warning" : "error",
            "valid", 0);

        if (j) {
            json_object_del(j, "valid");
            json_object_set_new(j, "segment",
                                json_integer((json_int_t) f->segment));
            json_object_set_new(j, "offset",
                                json_integer((json_int_t) f->offset));
            if (f->has_seq) {
                json_object_set_new(j, "seq",
                                    json_integer((json_int_t) f->seq));
            }
            json_array_append_new(o->findings, j);
        }
        return;
    }
    printf("%s %s/%s offset %llu", f->warning ? "WARNING" : "ERROR",
           f->writer, seg, (unsigned long long) f->offset);
    if (f->has_seq) {
        printf(" seq %llu", (unsigned long long) f->seq);
    }
    printf(": %s (%s): %s\n", f->kind, wid_reason_code(f->reason), f->detail);
}


static void
wid_vout_writer(void *ctx, const wid_journal_writer_report *w)
{
    wid_vout *o = ctx;
    char      hex[65];

    sodium_bin2hex(hex, sizeof(hex), w->root, 32);
    if (o->json) {
        json_array_append_new(o->writers, json_pack(
            "{s:s,s:I,s:I,s:I,s:i,s:I,s:I,s:s,s:b}",
            "writer", w->writer, "segments", (json_int_t) w->segments,
            "records", (json_int_t) w->records,
            "checkpoints", (json_int_t) w->checkpoints,
            "epochs", (int) w->epochs, "tree_size", (json_int_t) w->tree_size,
            "signed_size", (json_int_t) w->signed_size, "root", hex,
            "live", w->live));
        return;
    }
    printf("writer %s: %llu segment(s), %llu receipt(s), %llu checkpoint(s),"
           " %u epoch(s), tree size %llu, signed up to %llu%s\n", w->writer,
           (unsigned long long) w->segments, (unsigned long long) w->records,
           (unsigned long long) w->checkpoints, (unsigned) w->epochs,
           (unsigned long long) w->tree_size,
           (unsigned long long) w->signed_size,
           w->live ? " (writer running)" : "");
}


static void
wid_saved_free(wid_vout *o)
{
    size_t i;

    for (i = 0; i < o->nsaved; i++) {
        free(o->saved[i].note);
    }
    free(o->saved);
    o->saved = NULL;
    o->nsaved = 0;
}


static void
wid_vout_checkpoint(void *ctx, const char *writer, const char *note,
                    size_t len, const wid_checkpoint *cp)
{
    wid_vout     *o = ctx;
    wid_saved_cp *sc = NULL, *nv;
    size_t        i;

    for (i = 0; i < o->nsaved; i++) {
        if (strcmp(o->saved[i].origin, cp->origin) == 0) {
            sc = &o->saved[i];
            break;
        }
    }
    if (sc == NULL) {
        nv = realloc(o->saved, (o->nsaved + 1) * sizeof(*nv));
        if (nv == NULL) {
            o->nomem = 1;
            return;
        }
        o->saved = nv;
        sc = &o->saved[o->nsaved++];
        memset(sc, 0, sizeof(*sc));
        snprintf(sc->origin, sizeof(sc->origin), "%s", cp->origin);
        snprintf(sc->writer, sizeof(sc->writer), "%s", writer);
    }
    free(sc->note);
    sc->note = strndup(note, len);
    sc->len = len;
    if (sc->note == NULL) {
        o->nomem = 1;
    }
}


/*
 * Write the latest checkpoint of every writer log and epoch to
 * DIR/<writer>.e<epoch>.checkpoint (replacing older ones atomically).
 */
static int
wid_save_checkpoints(const char *dir, const wid_vout *o)
{
    char     path[4096], tmp[4200], w[WID_WRITER_MAX + 1];
    uint32_t epoch;
    size_t   i;
    int      fd, ok;

    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "wid journal verify: %s: %s\n", dir,
                strerror(errno));
        return -1;
    }
    for (i = 0; i < o->nsaved; i++) {
        if (o->saved[i].note == NULL
            || wid_origin_writer(o->saved[i].origin, w, &epoch) != 0)
        {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s.e%u" WID_CP_SUFFIX, dir,
                 o->saved[i].writer, (unsigned) epoch);
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                  0644);
        ok = fd >= 0
             && write(fd, o->saved[i].note, o->saved[i].len)
                == (ssize_t) o->saved[i].len
             && fsync(fd) == 0;
        if (fd >= 0 && close(fd) != 0) {
            ok = 0;
        }
        if (!ok || rename(tmp, path) != 0) {
            fprintf(stderr, "wid journal verify: cannot write %s: %s\n",
                    path, strerror(errno));
            unlink(tmp);
            return -1;
        }
    }
    return 0;
}


/* One trusted checkpoint file: it must verify with the journal key. */
static int
wid_load_trusted_file(const char *path, const wid_pubkey *pk,
                      wid_checkpoint *cps, size_t *n)
{
    unsigned char *buf;
    size_t         len;
    char           w[WID_WRITER_MAX + 1];
    uint32_t       epoch;
    wid_reason_t   rc;

    if (*n == WID_MAX_TRUSTED) {
        fprintf(stderr, "wid journal verify: more than %d trusted"
                " checkpoints\n", WID_MAX_TRUSTED);
        return -1;
    }
    rc = wid_read_file(path, WID_CHECKPOINT_MAX, &buf, &len);
    if (rc == WID_OK) {
        rc = wid_checkpoint_verify((const char *) buf, len, pk->pk, &cps[*n]);
        free(buf);
    }
    if (rc == WID_OK
        && wid_origin_writer(cps[*n].origin, w, &epoch) != 0)
    {
        rc = WID_R_JOURNAL_CHECKPOINT_ORIGIN;
    }
    if (rc != WID_OK) {
        fprintf(stderr, "wid journal verify: trusted checkpoint %s: %s (%s)\n",
                path, wid_reason_code(rc), wid_reason_text(rc));
        return -1;
    }
    (*n)++;
    return 0;
}


/* Two spellings of one directory path ("d" and "d/"). */
static int
wid_same_dir(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    while (la > 1 && a[la - 1] == '/') {
        la--;
    }
    while (lb > 1 && b[lb - 1] == '/') {
        lb--;
    }
    return la == lb && memcmp(a, b, la) == 0;
}


/*
 * FILE, or every *.checkpoint file in DIR.  A DIR that does not exist
 * yet but is also the --save-checkpoints directory is an auditor's first
 * run: nothing is trusted yet, as with an empty DIR (both say so).
 */
static int
wid_load_trusted(const char *path, const char *save, const wid_pubkey *pk,
                 wid_checkpoint *cps, size_t *n)
{
    struct stat    st;
    DIR           *d;
    struct dirent *e;
    char           p[4096];
    size_t         l, sl = strlen(WID_CP_SUFFIX), before = *n;
    int            rc = 0;

    if (stat(path, &st) != 0) {
        if (errno == ENOENT && save != NULL && wid_same_dir(path, save)) {
            fprintf(stderr, "wid journal verify: note: %s does not exist"
                    " yet: no trusted checkpoint loaded (first run);"
                    " --save-checkpoints creates it\n", path);
            return 0;
        }
        fprintf(stderr, "wid journal verify: trusted checkpoint %s: %s"
                " (%s)\n", path, strerror(errno),
                wid_reason_code(WID_R_INTERNAL_IO));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        return wid_load_trusted_file(path, pk, cps, n);
    }
    d = opendir(path);
    if (d == NULL) {
        fprintf(stderr, "wid journal verify: trusted checkpoint %s: %s"
                " (%s)\n", path, strerror(errno),
                wid_reason_code(WID_R_INTERNAL_IO));
        return -1;
    }
    while (rc == 0 && (e = readdir(d)) != NULL) {
        l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l <= sl
            || strcmp(e->d_name + l - sl, WID_CP_SUFFIX) != 0)
        {
            continue;
        }
        snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
        rc = wid_load_trusted_file(p, pk, cps, n);
    }
    closedir(d);
    if (rc == 0 && *n == before) {
        fprintf(stderr, "wid journal verify: note: no *" WID_CP_SUFFIX
                " file in %s: no trusted checkpoint loaded from it\n", path);
    }
    return rc;
}


static int
wid_journal_verify_cmd(int argc, char **argv)
{
    static const struct option opts[] = {
        { "pubkey", required_argument, NULL, 'p' },
        { "json", no_argument, NULL, 'j' },
        { "accept-gaps", no_argument, NULL, 'g' },
        { "allow-unsigned-tail", no_argument, NULL, 'u' },
        { "trusted-checkpoint", required_argument, NULL, 't' },
        { "save-checkpoints", required_argument, NULL, 's' },
        { NULL, 0, NULL, 0 }
    };
    const char               *pub = NULL, *dir, *save = NULL;
    const char               *tpaths[64];
    size_t                    ntpaths = 0, i;
    int                       c, accept = 0, status;
    wid_vout                  o;
    wid_pubkey                pk;
    wid_journal_verify_cb     cb;
    wid_journal_verify_result res;
    wid_journal_trusted       trusted;
    wid_checkpoint           *cps = NULL;
    wid_reason_t              rc;

    memset(&o, 0, sizeof(o));
    memset(&trusted, 0, sizeof(trusted));
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p': pub = optarg; break;
        case 'j': o.json = 1; break;
        case 'g': accept |= WID_JOURNAL_VERIFY_ACCEPT_GAPS; break;
        case 'u': accept |= WID_JOURNAL_VERIFY_ALLOW_UNSIGNED_TAIL; break;
        case 's': save = optarg; break;
        case 't':
            if (ntpaths == sizeof(tpaths) / sizeof(tpaths[0])) {
                wid_journal_usage(stderr);
                return WID_EXIT_USAGE;
            }
            tpaths[ntpaths++] = optarg;
            break;
        default: wid_journal_usage(stderr); return WID_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || pub == NULL) {
        wid_journal_usage(stderr);
        return WID_EXIT_USAGE;
    }
    dir = argv[optind];
    rc = wid_pubkey_load(pub, &pk);
    if (rc != WID_OK) {
        return wid_fail("verify", rc);
    }
    if (ntpaths) {
        cps = calloc(WID_MAX_TRUSTED, sizeof(*cps));
        if (cps == NULL) {
            return wid_fail("verify", WID_R_INTERNAL_NOMEM);
        }
        for (i = 0; i < ntpaths; i++) {
            if (wid_load_trusted(tpaths[i], save, &pk, cps, &trusted.n)
                != 0)
            {
                free(cps);
                return WID_EXIT_USAGE;
            }
        }
        trusted.cps = cps;
    }
    o.findings = json_array();
    o.writers = json_array();
    memset(&cb, 0, sizeof(cb));
    cb.finding = wid_vout_finding;
    cb.writer = wid_vout_writer;
    cb.checkpoint = save ? wid_vout_checkpoint : NULL;
    cb.ctx = &o;
    rc = wid_journal_verify_trusted(dir, &pk, accept, &trusted, &cb, &res);
    free(cps);
    if (rc == WID_OK && o.nomem) {
        rc = WID_R_INTERNAL_NOMEM;
    }
    if (rc != WID_OK) {
        json_decref(o.findings);
        json_decref(o.writers);
        wid_saved_free(&o);
        return wid_fail("verify", rc);
    }
    status = res.errors ? WID_EXIT_REJECTED : WID_EXIT_OK;
    /* Only checkpoints of a journal that verified are worth keeping. */
    if (save && res.errors == 0 && wid_save_checkpoints(save, &o) != 0) {
        status = WID_EXIT_USAGE;
    }
    wid_saved_free(&o);
    if (o.json) {
        json_t *r = json_pack("{s:b,s:I,s:I,s:I,s:o,s:o}",
            "valid", res.errors == 0, "errors", (json_int_t) res.errors,
            "warnings", (json_int_t) res.warnings,
            "records", (json_int_t) res.records,
            "writers", o.writers, "findings", o.findings);

        if (res.errors) {
            json_object_set_new(r, "code",
                                json_string(wid_reason_code(o.first)));
        }
        json_dumpf(r, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(r);
    } else {
        json_decref(o.findings);
        json_decref(o.writers);
        if (res.errors == 0) {
            printf("journal OK: %zu writer(s), %llu receipt(s), %zu"
                   " warning(s)\n", res.writers,
                   (unsigned long long) res.records, res.warnings);
        } else {
            printf("journal INVALID: %zu error(s), %zu warning(s)\n",
                   res.errors, res.warnings);
        }
    }
    if (res.errors) {
        fprintf(stderr, "wid journal verify: %s\n", wid_reason_code(o.first));
        if (save) {
            fprintf(stderr, "wid journal verify: journal invalid, no"
                    " checkpoints saved\n");
        }
    }
    return status;
}


/* ------------------------------------------------------ query / export */

typedef struct {
    const char   *spiffe_id, *prefix, *rule;
    int           has_verdict, has_surface;
    wid_verdict_t verdict;
    wid_surface_t surface;
    uint64_t      since, until;
    int           has_since, has_until;
    uint64_t      limit, count;
    int           format;     /* 0 table, 1 json lines, 2 ocsf */
    int           failed;
} wid_query;


/* SPIFFE ID prefix on whole path segments (policy's rule, DESIGN.md). */
static int
wid_prefix_match(wid_span id, const char *prefix)
{
    size_t n = strlen(prefix);

    if (n && prefix[n - 1] == '/') {
        n--;
    }
    if (id.len < n || memcmp(id.p, prefix, n) != 0) {
        return 0;
    }
    return id.len == n || id.p[n] == '/';
}


static json_t *
wid_ocsf(const wid_receipt_view *v, json_t *full, const char *id)
{
    json_t *o, *actor, *user, *meta, *ep, *req;
    char    buf[WID_RECEIPT_STR_MAX + 1];
    int     allow = v->verdict != WID_VERDICT_DENY;
    wid_reason_t rc;

#define WID_SPAN(f) json_stringn(v->str[f].p, v->str[f].len)
    o = json_object();
    json_object_set_new(o, "class_uid", json_integer(3002));
    json_object_set_new(o, "class_name", json_string("Authorization"));
    json_object_set_new(o, "category_uid", json_integer(3));
    json_object_set_new(o, "category_name",
                        json_string("Identity & Access Management"));
    json_object_set_new(o, "activity_id", json_integer(99));
    json_object_set_new(o, "activity_name",
                        json_string(wid_surface_name(v->surface)));
    json_object_set_new(o, "type_uid", json_integer(300299));
    json_object_set_new(o, "time",
                        json_integer((json_int_t) (v->time_ms & INT64_MAX)));
    json_object_set_new(o, "severity_id", json_integer(1));
    json_object_set_new(o, "severity", json_string("Informational"));
    json_object_set_new(o, "status_id", json_integer(allow ? 1 : 2));
    json_object_set_new(o, "status", json_string(allow ? "Success"
                                                       : "Failure"));
    if (v->str[WID_RF_REASON].len) {
        json_object_set_new(o, "status_code", WID_SPAN(WID_RF_REASON));
        snprintf(buf, sizeof(buf), "%.*s", (int) v->str[WID_RF_REASON].len,
                 v->str[WID_RF_REASON].p);
        rc = wid_reason_from_code(buf);
        if (rc != WID_R__COUNT) {
            json_object_set_new(o, "status_detail",
                                json_string(wid_reason_text(rc)));
        }
    }
    snprintf(buf, sizeof(buf), "wid %s %s: %.*s", wid_surface_name(v->surface),
             wid_verdict_name(v->verdict), (int) v->str[WID_RF_SPIFFE_ID].len,
             v->str[WID_RF_SPIFFE_ID].p);
    json_object_set_new(o, "message", json_string(buf));

    actor = json_object();
    user = json_object();
    if (v->str[WID_RF_SPIFFE_ID].len) {
        json_object_set_new(user, "uid", WID_SPAN(WID_RF_SPIFFE_ID));
    }
    if (v->str[WID_RF_ID_PATH].len) {
        json_object_set_new(user, "name", WID_SPAN(WID_RF_ID_PATH));
    }
    if (v->str[WID_RF_TRUST_DOMAIN].len) {
        json_object_set_new(user, "domain", WID_SPAN(WID_RF_TRUST_DOMAIN));
    }
    json_object_set_new(user, "type_id", json_integer(99));
    json_object_set_new(user, "type", json_string("Workload"));
    json_object_set_new(actor, "user", user);
    json_object_set_new(o, "actor", actor);

    if (v->str[WID_RF_PEER].len) {
        ep = json_object();
        json_object_set_new(ep, "ip", WID_SPAN(WID_RF_PEER));
        json_object_set_new(o, "src_endpoint", ep);
    }
    if (v->str[WID_RF_HOST].len) {
        ep = json_object();
        json_object_set_new(ep, "hostname", WID_SPAN(WID_RF_HOST));
        json_object_set_new(o, "dst_endpoint", ep);
    }
    if (v->surface == WID_SURFACE_HTTP) {
        req = json_object();
        if (v->str[WID_RF_METHOD].len) {
            json_object_set_new(req, "http_method", WID_SPAN(WID_RF_METHOD));
        }
        ep = json_object();
        if (v->str[WID_RF_HOST].len) {
            json_object_set_new(ep, "hostname", WID_SPAN(WID_RF_HOST));
        }
        if (v->str[WID_RF_REQ_PATH].len) {
            json_object_set_new(ep, "path", WID_SPAN(WID_RF_REQ_PATH));
        }
        json_object_set_new(req, "url", ep);
        json_object_set_new(o, "http_request", req);
    }
    if (v->str[WID_RF_OPERATION].len) {
        json_object_set_new(o, "privileges",
                            json_pack("[o]", WID_SPAN(WID_RF_OPERATION)));
    }
    if (v->str[WID_RF_RULE].len || v->policy_hash.set) {
        ep = json_object();
        if (v->str[WID_RF_RULE].len) {
            json_object_set_new(ep, "name", WID_SPAN(WID_RF_RULE));
        }
        if (v->policy_hash.set) {
            sodium_bin2hex(buf, sizeof(buf), v->policy_hash.h, 32);
            json_object_set_new(ep, "uid", json_string(buf));
        }
        json_object_set_new(o, "policy", ep);
    }
    meta = json_object();
    json_object_set_new(meta, "version", json_string("1.3.0"));
    json_object_set_new(meta, "product",
                        json_pack("{s:s,s:s}", "name", "wid",
                                  "vendor_name", "wid"));
    json_object_set_new(meta, "uid", json_string(id));
    json_object_set_new(meta, "sequence",
                        json_integer((json_int_t) (v->seq & INT64_MAX)));
    json_object_set_new(meta, "log_name", WID_SPAN(WID_RF_WRITER));
    json_object_set_new(o, "metadata", meta);
    json_object_set_new(o, "unmapped", json_pack("{s:O}", "wid", full));
#undef WID_SPAN
    return o;
}


static int
wid_query_cb(void *ctx, const wid_journal_rec *r)
{
    wid_query        *q = ctx;
    wid_receipt_view  v;
    char              id[WID_RECEIPT_ID_SIZE];
    json_t           *j, *out;
    char             *s;

    if (r->type != WID_REC_RECEIPT
        || wid_receipt_decode(r->data, r->len, &v) != WID_OK)
    {
        return 0;
    }
    if ((q->has_verdict && v.verdict != q->verdict)
        || (q->has_surface && v.surface != q->surface)
        || (q->has_since && v.time_ms < q->since)
        || (q->has_until && v.time_ms > q->until)
        || (q->spiffe_id && !wid_span_eq(v.str[WID_RF_SPIFFE_ID],
                                         q->spiffe_id))
        || (q->prefix && !wid_prefix_match(v.str[WID_RF_SPIFFE_ID],
                                           q->prefix))
        || (q->rule && !wid_span_eq(v.str[WID_RF_RULE], q->rule)))
    {
        return 0;
    }
    wid_receipt_id(r->data, r->len, id);
    if (q->format == 0) {
        time_t    secs = (time_t) (v.time_ms / 1000);
        struct tm tm;
        char      tb[32];

        gmtime_r(&secs, &tm);
        strftime(tb, sizeof(tb), "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("%-20s %-7s %-9s %-16.*s %-28.*s %.*s %s\n", tb,
               wid_verdict_name(v.verdict), wid_surface_name(v.surface),
               (int) v.str[WID_RF_RULE].len, v.str[WID_RF_RULE].p,
               (int) v.str[WID_RF_REASON].len, v.str[WID_RF_REASON].p,
               (int) v.str[WID_RF_SPIFFE_ID].len, v.str[WID_RF_SPIFFE_ID].p,
               id);
    } else {
        j = wid_receipt_view_json(&v, id);
        if (j == NULL) {
            q->failed = 1;
            return 1;
        }
        out = q->format == 2 ? wid_ocsf(&v, j, id) : json_incref(j);
        s = json_dumps(out, JSON_COMPACT);
        if (s) {
            fputs(s, stdout);
            putchar('\n');
            free(s);
        } else {
            q->failed = 1;
        }
        json_decref(out);
        json_decref(j);
    }
    q->count++;
    return q->limit && q->count >= q->limit;
}


/*
 * --spiffe-id must be a SPIFFE ID, --spiffe-id-prefix one with an
 * optional trailing '/'; 1 (after saying why, with the id.* code) if not.
 */
static int
wid_query_id_bad(const char *opt, const char *id, int prefix)
{
    size_t       n;
    wid_reason_t rc;

    if (id == NULL) {
        return 0;
    }
    n = strlen(id);
    if (prefix && n > 0 && id[n - 1] == '/') {
        n--;
    }
    rc = wid_spiffe_id_parse(id, n, NULL);
    if (rc == WID_OK) {
        return 0;
    }
    fprintf(stderr, "wid journal: %s '%s' is not a SPIFFE ID: %s (%s)\n",
            opt, id, wid_reason_code(rc), wid_reason_text(rc));
    return 1;
}


static int
wid_journal_query_cmd(int argc, char **argv, int export)
{
    static const struct option opts[] = {
        { "spiffe-id", required_argument, NULL, 'i' },
        { "spiffe-id-prefix", required_argument, NULL, 'P' },
        { "verdict", required_argument, NULL, 'v' },
        { "rule", required_argument, NULL, 'r' },
        { "surface", required_argument, NULL, 's' },
        { "writer", required_argument, NULL, 'w' },
        { "since", required_argument, NULL, 'S' },
        { "until", required_argument, NULL, 'U' },
        { "limit", required_argument, NULL, 'l' },
        { "json", no_argument, NULL, 'j' },
        { "format", required_argument, NULL, 'f' },
        { NULL, 0, NULL, 0 }
    };
    wid_query    q;
    const char  *writer = NULL, *bad;
    int          c;
    size_t       skipped = 0;
    wid_reason_t rc;

    memset(&q, 0, sizeof(q));
    q.format = export ? 1 : 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'i': q.spiffe_id = optarg; break;
        case 'P': q.prefix = optarg; break;
        case 'r': q.rule = optarg; break;
        case 'w': writer = optarg; break;
        case 'j': q.format = 1; break;
        case 'v':
            if (wid_verdict_parse(optarg, &q.verdict) != 0) {
                fprintf(stderr, "wid journal: bad verdict '%s'\n", optarg);
                return WID_EXIT_USAGE;
            }
            q.has_verdict = 1;
            break;
        case 's':
            if (wid_surface_parse(optarg, &q.surface) != 0) {
                fprintf(stderr, "wid journal: bad surface '%s'\n", optarg);
                return WID_EXIT_USAGE;
            }
            q.has_surface = 1;
            break;
        case 'S':
        case 'U':
            bad = wid_parse_time(optarg, c == 'S' ? &q.since : &q.until);
            if (bad != NULL) {
                fprintf(stderr, "wid journal: bad time '%s' for %s: %s\n",
                        optarg, c == 'S' ? "--since" : "--until", bad);
                return WID_EXIT_USAGE;
            }
            *(c == 'S' ? &q.has_since : &q.has_until) = 1;
            break;
        case 'l':
            /* 0 would read as "no limit": say so instead of guessing. */
            if (wid_parse_u64(optarg, &q.limit) != 0 || q.limit == 0) {
                fprintf(stderr, "wid journal: --limit '%s': a number of"
                        " receipts, at least 1\n", optarg);
                return WID_EXIT_USAGE;
            }
            break;
        case 'f':
            if (!export) {
                wid_journal_usage(stderr);
                return WID_EXIT_USAGE;
            }
            if (strcmp(optarg, "jsonl") == 0) {
                q.format = 1;
            } else if (strcmp(optarg, "ocsf") == 0) {
                q.format = 2;
            } else {
                fprintf(stderr, "wid journal export: format is jsonl or"
                        " ocsf\n");
                return WID_EXIT_USAGE;
            }
            break;
        default:
            wid_journal_usage(stderr);
            return WID_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || (q.spiffe_id && q.prefix)
        || (writer && !wid_journal_writer_name_ok(writer)))
    {
        wid_journal_usage(stderr);
        return WID_EXIT_USAGE;
    }
    /* An ID that can never be on a receipt would only list nothing. */
    if (wid_query_id_bad(q.spiffe_id ? "--spiffe-id" : "--spiffe-id-prefix",
                         q.spiffe_id ? q.spiffe_id : q.prefix,
                         q.prefix != NULL))
    {
        return WID_EXIT_USAGE;
    }
    rc = wid_journal_scan(argv[optind], writer, wid_query_cb, &q, &skipped);
    fflush(stdout);
    if (rc != WID_OK) {
        return wid_fail(export ? "export" : "query", rc);
    }
    if (q.failed) {
        return wid_fail(export ? "export" : "query", WID_R_INTERNAL_NOMEM);
    }
    if (skipped) {
        fprintf(stderr, "wid journal: %zu damaged segment(s) read only up"
                " to the damage; run wid journal verify\n", skipped);
    }
    return WID_EXIT_OK;
}


/* ------------------------------------------------------------- prove */

static int
wid_journal_prove_cmd(int argc, char **argv)
{
    static const struct option opts[] = {
        { "out", required_argument, NULL, 'o' },
        { NULL, 0, NULL, 0 }
    };
    const char  *outp = NULL;
    json_t      *proof;
    int          c, rcw;
    wid_reason_t rc;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'o') {
            wid_journal_usage(stderr);
            return WID_EXIT_USAGE;
        }
        outp = optarg;
    }
    if (optind + 2 != argc) {
        wid_journal_usage(stderr);
        return WID_EXIT_USAGE;
    }
    rc = wid_journal_prove(argv[optind], argv[optind + 1], &proof);
    if (rc == WID_R_JOURNAL_NOT_FOUND || rc == WID_R_JOURNAL_NOT_COVERED) {
        fprintf(stderr, "wid journal prove: %s (%s)\n", wid_reason_code(rc),
                wid_reason_text(rc));
        return WID_EXIT_REJECTED;
    }
    if (rc != WID_OK) {
        return wid_fail("prove", rc);
    }
    rcw = outp ? json_dump_file(proof, outp, JSON_INDENT(2))
               : json_dumpf(proof, stdout, JSON_INDENT(2));
    if (!outp) {
        putchar('\n');
    }
    json_decref(proof);
    if (rcw != 0) {
        return wid_fail("prove", WID_R_INTERNAL_IO);
    }
    return WID_EXIT_OK;
}


/* ------------------------------------------------------------ append */

/* --refuse-key PUB: one more public key the journal must never be
 * written with.  0, or the exit code. */
static int
wid_journal_refuse_key(const char *cmd, const char *path,
                       wid_journal_options *o, wid_pubkey *refuse)
{
    wid_reason_t rc;

    if (o->nrefuse_keys == WID_MAX_REFUSE) {
        wid_journal_usage(stderr);
        return WID_EXIT_USAGE;
    }
    rc = wid_pubkey_load(path, &refuse[o->nrefuse_keys]);
    if (rc != WID_OK) {
        return wid_fail(cmd, rc);
    }
    o->nrefuse_keys++;
    return 0;
}


static int
wid_journal_append_cmd(int argc, char **argv)
{
    static const struct option opts[] = {
        { "key", required_argument, NULL, 'k' },
        { "writer", required_argument, NULL, 'w' },
        { "fsync", required_argument, NULL, 'f' },
        { "checkpoint-every", required_argument, NULL, 'n' },
        { "checkpoint-ms", required_argument, NULL, 't' },
        { "segment-bytes", required_argument, NULL, 'b' },
        { "origin", required_argument, NULL, 'o' },
        { "refuse-key", required_argument, NULL, 'R' },
        { NULL, 0, NULL, 0 }
    };
    wid_journal_options  o;
    wid_journal_recovery rec;
    int                  ex;
    wid_pubkey           refuse[WID_MAX_REFUSE];
    wid_seckey           key;
    wid_journal         *j;
    wid_receipt          r;
    const char          *keyp = NULL, *writer = NULL;
    char                 line[65536], id[WID_RECEIPT_ID_SIZE];
    json_t              *obj;
    json_error_t         err;
    uint64_t             seq, lineno = 0;
    int                  c, status = WID_EXIT_OK;
    wid_reason_t         rc;

    memset(&o, 0, sizeof(o));
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k': keyp = optarg; break;
        case 'w': writer = optarg; break;
        case 'o': o.origin_prefix = optarg; break;
        case 'f':
            if (strcmp(optarg, "always") == 0) {
                o.fsync = WID_FSYNC_ALWAYS;
            } else if (strcmp(optarg, "interval") == 0) {
                o.fsync = WID_FSYNC_INTERVAL;
            } else if (strcmp(optarg, "never") == 0) {
                o.fsync = WID_FSYNC_NEVER;
            } else {
                wid_journal_usage(stderr);
                return WID_EXIT_USAGE;
            }
            break;
        case 'n':
        case 't':
        case 'b':
            if (wid_parse_u64(optarg, c == 'n' ? &o.checkpoint_every_records
                                     : c == 't' ? &o.checkpoint_every_ms
                                     : &o.segment_max_bytes) != 0)
            {
                wid_journal_usage(stderr);
                return WID_EXIT_USAGE;
            }
            break;
        case 'R':
            ex = wid_journal_refuse_key("append", optarg, &o, refuse);
            if (ex != 0) {
                return ex;
            }
            break;
        default:
            wid_journal_usage(stderr);
            return WID_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || keyp == NULL || writer == NULL) {
        wid_journal_usage(stderr);
        return WID_EXIT_USAGE;
    }
    o.refuse_keys = refuse;
    rc = wid_seckey_load(keyp, &key);
    if (rc != WID_OK) {
        return wid_fail("append", rc);
    }
    rc = wid_journal_open(argv[optind], writer, &key, &o, wid_now_ms(), &j,
                          &rec);
    wid_seckey_wipe(&key);
    if (rc != WID_OK) {
        return wid_fail("append", rc);
    }
    if (rec.torn_tail) {
        fprintf(stderr, "wid journal append: recovered: torn tail of %llu"
                " byte(s) cut at segment %llu offset %llu\n",
                (unsigned long long) rec.torn_bytes,
                (unsigned long long) rec.torn_segment,
                (unsigned long long) rec.torn_offset);
    }
    if (rec.adopted) {
        fprintf(stderr, "wid journal append: recovered: %llu unsigned"
                " record(s) after the last checkpoint adopted and signed"
                " (recovery record written)\n",
                (unsigned long long) rec.adopted);
    }
    if (rec.gap) {
        fprintf(stderr, "wid journal append: recovered: damage (%s) at"
                " segment %llu offset %llu left in place; gap recorded,"
                " epoch %u\n", wid_reason_code(rec.gap_reason),
                (unsigned long long) rec.gap_segment,
                (unsigned long long) rec.gap_offset, (unsigned) rec.epoch);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof(line), stdin) != NULL) {
        lineno++;
        if (line[0] == '\n' || line[0] == '\0') {
            continue;
        }
        obj = json_loads(line, 0, &err);
        rc = obj ? wid_receipt_from_json(obj, &r)
                 : WID_R_RECEIPT_FIELD_INVALID;
        if (rc == WID_OK) {
            rc = wid_journal_append(j, &r, wid_now_ms(), id, &seq);
        }
        json_decref(obj);
        if (rc != WID_OK) {
            fprintf(stderr, "wid journal append: line %llu: %s (%s)\n",
                    (unsigned long long) lineno, wid_reason_code(rc),
                    wid_reason_text(rc));
            /* A line that is no receipt: 1; a journal not written: 2. */
            if (status < wid_exit_for(rc)) {
                status = wid_exit_for(rc);
            }
            continue;
        }
        /* Printed once handed to the kernel: an id on stdout outlives
         * this process.  A full disk holds it in memory, unprinted. */
        rc = wid_journal_tick(j, wid_now_ms());
        if (rc != WID_OK && wid_journal_unwritten(j) > 0) {
            fprintf(stderr, "wid journal append: line %llu: seq %llu id %s "
                    "not written yet: %s (%s)\n",
                    (unsigned long long) lineno, (unsigned long long) seq,
                    id, wid_reason_code(rc), wid_reason_text(rc));
            status = WID_EXIT_USAGE;
            continue;
        }
        /* Written; a stall after it (no next segment) refuses the next. */
        printf("%llu %s\n", (unsigned long long) seq, id);
    }
    rc = wid_journal_close(j, wid_now_ms());
    if (rc != WID_OK) {
        return wid_fail("append", rc);
    }
    return status;
}


/* -------------------------------------------------------------- seal */

typedef struct {
    wid_reason_t first;         /* first gap or refusal, for stderr */
} wid_seal_ctx;

static void
wid_seal_print(void *ctx, const wid_seal_report *r)
{
    wid_seal_ctx               *c = ctx;
    const wid_journal_recovery *rec = &r->rec;

    switch (r->outcome) {
    case WID_SEAL_CLEAN:
    case WID_SEAL_ADOPTED:
        printf("sealed %s: adopted %llu record(s)", r->writer,
               (unsigned long long) rec->adopted);
        if (rec->torn_tail) {
            printf(", torn write of %llu byte(s) cut at segment %llu"
                   " offset %llu", (unsigned long long) rec->torn_bytes,
                   (unsigned long long) rec->torn_segment,
                   (unsigned long long) rec->torn_offset);
        }
        putchar('\n');
        return;
    case WID_SEAL_GAP:
        printf("sealed %s: damage (%s) at segment %llu offset %llu left in"
               " place; gap recorded, epoch %u\n", r->writer,
               wid_reason_code(r->reason),
               (unsigned long long) rec->gap_segment,
               (unsigned long long) rec->gap_offset, (unsigned) rec->epoch);
        break;
    default:
        printf("not sealed %s: %s (%s)\n", r->writer,
               wid_reason_code(r->reason), wid_reason_text(r->reason));
        break;
    }
    if (c->first == WID_OK) {
        c->first = r->outcome == WID_SEAL_GAP ? WID_R_JOURNAL_GAP : r->reason;
    }
}


static int
wid_journal_seal_cmd(int argc, char **argv)
{
    static const struct option opts[] = {
        { "key", required_argument, NULL, 'k' },
        { "prefix", required_argument, NULL, 'p' },
        { "checkpoint-every", required_argument, NULL, 'n' },
        { "checkpoint-ms", required_argument, NULL, 't' },
        { "origin", required_argument, NULL, 'o' },
        { "refuse-key", required_argument, NULL, 'R' },
        { NULL, 0, NULL, 0 }
    };
    wid_journal_options  o;
    wid_pubkey           refuse[WID_MAX_REFUSE];
    wid_seckey           key;
    wid_seal_scope       scope;
    int                  ex;
    wid_seal_summary     sum;
    wid_seal_ctx         c;
    const char          *keyp = NULL;
    int                  ch;
    wid_reason_t         rc;

    memset(&o, 0, sizeof(o));
    memset(&scope, 0, sizeof(scope));
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'k': keyp = optarg; break;
        case 'o': o.origin_prefix = optarg; break;
        case 'p':
            if (!wid_journal_writer_name_ok(optarg)) {
                fprintf(stderr, "wid journal seal: a prefix is 1-64 of"
                        " [A-Za-z0-9._-]\n");
                return WID_EXIT_USAGE;
            }
            scope.prefix = optarg;
            break;
        case 'n':
        case 't':
            if (wid_parse_u64(optarg, ch == 'n' ? &o.checkpoint_every_records
                                                : &o.checkpoint_every_ms)
                != 0)
            {
                wid_journal_usage(stderr);
                return WID_EXIT_USAGE;
            }
            break;
        case 'R':
            ex = wid_journal_refuse_key("seal", optarg, &o, refuse);
            if (ex != 0) {
                return ex;
            }
            break;
        default:
            wid_journal_usage(stderr);
            return WID_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || keyp == NULL) {
        wid_journal_usage(stderr);
        return WID_EXIT_USAGE;
    }
    o.refuse_keys = refuse;
    rc = wid_seckey_load(keyp, &key);
    if (rc != WID_OK) {
        return wid_fail("seal", rc);
    }
    memset(&c, 0, sizeof(c));
    scope.report = wid_seal_print;
    scope.ctx = &c;
    setvbuf(stdout, NULL, _IOLBF, 0);
    rc = wid_journal_seal_orphans(argv[optind], &key, &o, &scope,
                                  wid_now_ms(), &sum);
    wid_seckey_wipe(&key);
    if (rc != WID_OK) {
        return wid_fail("seal", rc);
    }
    fprintf(stderr, "wid journal seal: %zu log(s) sealed (%llu record(s)"
            " adopted, %zu with a gap); %zu closed, %zu running, %zu"
            " empty; %zu of another key, %zu failed\n", sum.sealed,
            (unsigned long long) sum.adopted, sum.gaps, sum.closed,
            sum.live, sum.empty, sum.foreign, sum.failed);
    if (sum.failed) {
        return WID_EXIT_USAGE;
    }
    if (sum.gaps || sum.foreign) {
        fprintf(stderr, "wid journal seal: %s (%s)\n",
                wid_reason_code(c.first), wid_reason_text(c.first));
        return WID_EXIT_REJECTED;
    }
    return WID_EXIT_OK;
}


int
wid_cmd_journal(int argc, char **argv)
{
    if (wid_cli_help(argc, argv)) {
        wid_journal_usage(stdout);
        return WID_EXIT_OK;
    }
    if (argc < 2) {
        wid_journal_usage(stderr);
        return WID_EXIT_USAGE;
    }
    optind = 1;
    argc--;
    argv++;
    if (strcmp(argv[0], "verify") == 0) {
        return wid_journal_verify_cmd(argc, argv);
    }
    if (strcmp(argv[0], "query") == 0) {
        return wid_journal_query_cmd(argc, argv, 0);
    }
    if (strcmp(argv[0], "export") == 0) {
        return wid_journal_query_cmd(argc, argv, 1);
    }
    if (strcmp(argv[0], "prove") == 0) {
        return wid_journal_prove_cmd(argc, argv);
    }
    if (strcmp(argv[0], "append") == 0) {
        return wid_journal_append_cmd(argc, argv);
    }
    if (strcmp(argv[0], "seal") == 0) {
        return wid_journal_seal_cmd(argc, argv);
    }
    wid_journal_usage(stderr);
    return WID_EXIT_USAGE;
}
