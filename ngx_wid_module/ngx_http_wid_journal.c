
/*
 * Receipts: every decision of the module is appended to the journal by
 * the worker that made it.  Each worker is its own journal writer (its
 * own log in the journal directory), so appends take no cross-process
 * lock; a timer does the due checkpoints, and the fsync that the
 * "interval" policy asks for runs outside the event loop.
 *
 * The receipt key is read by the master while it parses the
 * configuration (before workers drop privileges), kept only in memory,
 * and wiped when the configuration cycle is released.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <sodium.h>

#include "ngx_http_wid.h"
#include "journal.h"
#include "journal_orphans.h"
#include "journal_syncer.h"
#include "keyfile.h"
#include "receipt.h"


#define NGX_HTTP_WID_FSYNC_ALWAYS    0
#define NGX_HTTP_WID_FSYNC_INTERVAL  1
#define NGX_HTTP_WID_FSYNC_NEVER     2


struct ngx_http_wid_journal_s {
    ngx_path_t                 *path;
    ngx_str_t                   key_file;
    wid_seckey                 *key;
    ngx_uint_t                  checkpoint_records;
    ngx_msec_t                  checkpoint_interval;
    ngx_uint_t                  fsync;
    /* per worker */
    void                       *writer;        /* wid_journal * */
    ngx_event_t                 tick;
    /* fsync=interval: the helper process that syncs, its socket, the job
     * in its hands (syncing) */
    wid_syncer                  syncer;
    ngx_connection_t           *sync_conn;
    wid_journal_sync_job        sync_job;
    ngx_uint_t                  syncing;
    /*
     * While receipts cannot be written (a full disk): the outage is
     * logged at alert once, when it starts, and once more when it ends,
     * not for every request; a writer that could not be opened is
     * opened again every NGX_HTTP_WID_REOPEN ms.
     */
    wid_reason_t                outage;        /* WID_OK: none */
    ngx_msec_t                  reopen_at;
    char                        writer_name[WID_WRITER_MAX + 1];
    wid_journal_options         opts;
};


static void ngx_http_wid_journal_key_cleanup(void *data);


char *
ngx_http_wid_journal(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_wid_main_conf_t *wmcf = conf;

    ngx_str_t               *value, s;
    ngx_int_t                n;
    ngx_uint_t               i;
    wid_reason_t             rc;
    ngx_pool_cleanup_t      *cln;
    ngx_http_wid_journal_t  *journal;

    if (wmcf->journal) {
        return "is duplicate";
    }

    value = cf->args->elts;

    journal = ngx_pcalloc(cf->pool, sizeof(ngx_http_wid_journal_t));
    if (journal == NULL) {
        return NGX_CONF_ERROR;
    }

    journal->checkpoint_records = 1000;
    journal->checkpoint_interval = 1000;
    journal->fsync = NGX_HTTP_WID_FSYNC_INTERVAL;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "key=", 4) == 0) {
            journal->key_file.data = value[i].data + 4;
            journal->key_file.len = value[i].len - 4;

            if (journal->key_file.len == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "checkpoint_records=", 19) == 0) {
            n = ngx_atoi(value[i].data + 19, value[i].len - 19);

            if (n == NGX_ERROR || n == 0 || n > 1000000) {
                goto invalid;
            }

            journal->checkpoint_records = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "checkpoint_interval=", 20) == 0) {
            s.data = value[i].data + 20;
            s.len = value[i].len - 20;

            n = ngx_parse_time(&s, 0);

            if (n == NGX_ERROR || n == 0 || n > 3600 * 1000) {
                goto invalid;
            }

            journal->checkpoint_interval = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "fsync=", 6) == 0) {
            s.data = value[i].data + 6;
            s.len = value[i].len - 6;

            if (s.len == 6 && ngx_strncmp(s.data, "always", 6) == 0) {
                journal->fsync = NGX_HTTP_WID_FSYNC_ALWAYS;

            } else if (s.len == 8 && ngx_strncmp(s.data, "interval", 8) == 0)
            {
                journal->fsync = NGX_HTTP_WID_FSYNC_INTERVAL;

            } else if (s.len == 5 && ngx_strncmp(s.data, "never", 5) == 0) {
                journal->fsync = NGX_HTTP_WID_FSYNC_NEVER;

            } else {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    if (journal->key_file.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"wid_journal\" needs the receipt signing key: "
                           "key=FILE");
        return NGX_CONF_ERROR;
    }

    if (ngx_conf_full_name(cf->cycle, &journal->key_file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* Read now, by the master, before workers drop privileges. */

    journal->key = ngx_palloc(cf->pool, sizeof(wid_seckey));
    if (journal->key == NULL) {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    sodium_memzero(journal->key, sizeof(wid_seckey));
    cln->handler = ngx_http_wid_journal_key_cleanup;
    cln->data = journal->key;

    rc = wid_seckey_load((char *) journal->key_file.data, journal->key);
    if (rc != WID_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "receipt key \"%V\": %s (%s)", &journal->key_file,
                           wid_reason_code(rc), wid_reason_text(rc));
        return NGX_CONF_ERROR;
    }

    /*
     * The directory is created like nginx's temporary paths: by the
     * master, mode 0700, owned by the worker user.
     */
    journal->path = ngx_pcalloc(cf->pool, sizeof(ngx_path_t));
    if (journal->path == NULL) {
        return NGX_CONF_ERROR;
    }

    journal->path->name = value[1];

    if (journal->path->name.len > 1
        && journal->path->name.data[journal->path->name.len - 1] == '/')
    {
        journal->path->name.len--;
    }

    if (ngx_conf_full_name(cf->cycle, &journal->path->name, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    journal->path->conf_file = cf->conf_file->file.name.data;
    journal->path->line = cf->conf_file->line;

    if (ngx_add_path(cf, &journal->path) != NGX_OK) {
        return NGX_CONF_ERROR;
    }


    wmcf->journal = journal;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


static void
ngx_http_wid_journal_key_cleanup(void *data)
{
    wid_seckey_wipe(data);
}


#define NGX_HTTP_WID_TICK        100
#define NGX_HTTP_WID_REOPEN      1000
#define NGX_HTTP_WID_PATH_MAX    1024
/* Method and operation: recorded as sent up to this, else hashed. */
#define NGX_HTTP_WID_FACT_MAX    256
#define NGX_HTTP_WID_FACT_HASHED (sizeof("sha256:") - 1 + NGX_HTTP_WID_SHA256_HEX)
#define NGX_HTTP_WID_SEAL_MAX    8


static ngx_int_t ngx_http_wid_journal_open(ngx_log_t *log,
    ngx_http_wid_journal_t *journal);
static ngx_uint_t ngx_http_wid_journal_outage(ngx_http_wid_journal_t *journal,
    wid_reason_t rc);
static void ngx_http_wid_journal_seal(ngx_log_t *log,
    ngx_http_wid_journal_t *journal, char *self, wid_journal_options *opts);
static void ngx_http_wid_journal_sealed(void *ctx, const wid_seal_report *r);
static void ngx_http_wid_journal_tick(ngx_event_t *ev);
static ngx_int_t ngx_http_wid_journal_syncer_start(ngx_log_t *log,
    ngx_http_wid_journal_t *journal);
static void ngx_http_wid_journal_syncer_stop(ngx_http_wid_journal_t *journal);
static void ngx_http_wid_journal_forget_key(void *data);
static void ngx_http_wid_journal_sync_done(ngx_event_t *ev);
static uint64_t ngx_http_wid_now_ms(void);
static ngx_int_t ngx_http_wid_fact(u_char *data, size_t len, u_char *buf,
    ngx_str_t *out);
static void ngx_http_wid_hex_hash(wid_receipt_hash *h, ngx_str_t *hex);
static const wid_receipt_head *ngx_http_wid_journal_head(
    ngx_http_wid_journal_t *journal, ngx_http_wid_ctx_t *ctx,
    ngx_http_wid_policy_t *policy, const wid_receipt *rcpt);


ngx_int_t
ngx_http_wid_journal_init_process(ngx_cycle_t *cycle,
    ngx_http_wid_journal_t *journal)
{
    wid_journal_options  *opts;

    /* Unique per process start: pid and start time in milliseconds. */
    ngx_snprintf((u_char *) journal->writer_name,
                 sizeof(journal->writer_name) - 1, "nginx-%P-%uL%Z",
                 ngx_pid, (uint64_t) ngx_http_wid_now_ms());
    journal->writer_name[sizeof(journal->writer_name) - 1] = '\0';

    opts = &journal->opts;
    ngx_memzero(opts, sizeof(wid_journal_options));

    opts->checkpoint_every_records = journal->checkpoint_records;
    opts->checkpoint_every_ms = journal->checkpoint_interval;

    switch (journal->fsync) {

    case NGX_HTTP_WID_FSYNC_ALWAYS:
        opts->fsync = WID_FSYNC_ALWAYS;
        break;

    case NGX_HTTP_WID_FSYNC_NEVER:
        opts->fsync = WID_FSYNC_NEVER;
        break;

    default:
        opts->fsync = WID_FSYNC_INTERVAL;
        /* Without its helper the writer syncs inline, on the tick. */
        opts->external_sync =
            (ngx_http_wid_journal_syncer_start(cycle->log, journal) == NGX_OK);
    }

    journal->tick.handler = ngx_http_wid_journal_tick;
    journal->tick.data = journal;
    journal->tick.log = cycle->log;
    journal->tick.cancelable = 1;

    ngx_add_timer(&journal->tick, NGX_HTTP_WID_TICK);

    return ngx_http_wid_journal_open(cycle->log, journal);
}


/*
 * Open (or recover) this worker's log.  Until it opens (a full disk, a
 * journal directory that is not there yet), requests wid would allow are
 * refused, and the tick tries again every NGX_HTTP_WID_REOPEN ms; the
 * receipt key is kept until then.
 */
static ngx_int_t
ngx_http_wid_journal_open(ngx_log_t *log, ngx_http_wid_journal_t *journal)
{
    ngx_uint_t            level;
    wid_reason_t          rc;
    wid_journal          *j;
    wid_journal_recovery  rec;

    ngx_memzero(&rec, sizeof(wid_journal_recovery));

    rc = wid_journal_open((char *) journal->path->name.data,
                          journal->writer_name, journal->key, &journal->opts,
                          ngx_http_wid_now_ms(), &j, &rec);

    if (rc != WID_OK) {
        journal->reopen_at = ngx_current_msec + NGX_HTTP_WID_REOPEN;

        if (ngx_http_wid_journal_outage(journal, rc)) {
            ngx_log_error(NGX_LOG_ALERT, log, 0,
                          "wid: journal \"%V\" writer \"%s\" not opened: "
                          "%s (%s); retried every %d ms",
                          &journal->path->name, journal->writer_name,
                          wid_reason_code(rc), wid_reason_text(rc),
                          NGX_HTTP_WID_REOPEN);
        }

        return NGX_ERROR;
    }

    journal->writer = j;

    level = journal->outage != WID_OK ? NGX_LOG_ALERT : NGX_LOG_NOTICE;

    ngx_log_error(level, log, 0,
                  "wid: journal writer \"%s\" open, origin \"%s\"",
                  journal->writer_name, wid_journal_origin(j));

    journal->outage = WID_OK;

    ngx_http_wid_journal_seal(log, journal, journal->writer_name,
                              &journal->opts);

    /* The journal keeps its own locked copy; this one is not needed. */
    wid_seckey_wipe(journal->key);

    return NGX_OK;
}


/*
 * The journal's outage is rc now (WID_OK: none).  Returns 1 when that
 * starts an outage or changes its reason: said at alert then, not again
 * for every request or tick that meets the same one.
 */
static ngx_uint_t
ngx_http_wid_journal_outage(ngx_http_wid_journal_t *journal, wid_reason_t rc)
{
    ngx_uint_t  changed;

    changed = (rc != WID_OK && rc != journal->outage);
    journal->outage = rc;

    return changed;
}


/*
 * Seal the logs of workers that are gone (killed, crashed): nothing else
 * ever reopens a log named after a dead pid, so its records after the
 * last checkpoint would stay unsigned.  Logs closed cleanly cost one stat
 * each; at most NGX_HTTP_WID_SEAL_MAX are reopened per worker start, so a
 * journal full of old logs cannot stall it (the rest wait for the next
 * start, or "wid journal seal").
 */
static void
ngx_http_wid_journal_seal(ngx_log_t *log, ngx_http_wid_journal_t *journal,
    char *self, wid_journal_options *opts)
{
    wid_reason_t      rc;
    wid_seal_scope    scope;
    wid_seal_summary  sum;

    ngx_memzero(&scope, sizeof(wid_seal_scope));

    scope.prefix = "nginx-";
    scope.self = self;
    scope.max_logs = NGX_HTTP_WID_SEAL_MAX;
    scope.report = ngx_http_wid_journal_sealed;
    scope.ctx = log;

    rc = wid_journal_seal_orphans((char *) journal->path->name.data,
                                  journal->key, opts, &scope,
                                  ngx_http_wid_now_ms(), &sum);

    if (rc != WID_OK) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "wid: journal \"%V\": logs of stopped workers not "
                      "sealed: %s (%s)", &journal->path->name,
                      wid_reason_code(rc), wid_reason_text(rc));
        return;
    }

    if (sum.deferred) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "wid: journal \"%V\": %uz more logs of stopped "
                      "workers left for a later worker start (at most %d "
                      "per start)", &journal->path->name, sum.deferred,
                      NGX_HTTP_WID_SEAL_MAX);
    }
}


static void
ngx_http_wid_journal_sealed(void *ctx, const wid_seal_report *r)
{
    ngx_log_t *log = ctx;

    const wid_journal_recovery  *rec;

    rec = &r->rec;

    switch (r->outcome) {

    case WID_SEAL_CLEAN:
    case WID_SEAL_ADOPTED:
        if (rec->torn_tail) {
            ngx_log_error(NGX_LOG_NOTICE, log, 0,
                          "wid: sealed journal log of a stopped worker "
                          "\"%s\": adopted %uL records, cut a torn write "
                          "of %uL bytes", r->writer, rec->adopted,
                          rec->torn_bytes);

        } else {
            ngx_log_error(NGX_LOG_NOTICE, log, 0,
                          "wid: sealed journal log of a stopped worker "
                          "\"%s\": adopted %uL records", r->writer,
                          rec->adopted);
        }

        break;

    case WID_SEAL_GAP:
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "wid: sealed journal log of a stopped worker \"%s\": "
                      "damage (%s) at segment %uL offset %uL left in place, "
                      "gap recorded, epoch %uD", r->writer,
                      wid_reason_code(r->reason), rec->gap_segment,
                      rec->gap_offset, rec->epoch);
        break;

    default:
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "wid: journal log of a stopped worker \"%s\" not "
                      "sealed: %s (%s)", r->writer,
                      wid_reason_code(r->reason), wid_reason_text(r->reason));
    }
}


static void
ngx_http_wid_journal_tick(ngx_event_t *ev)
{
    ngx_http_wid_journal_t *journal = ev->data;

    uint64_t                  now;
    wid_reason_t              rc, was;

    if (journal->writer == NULL) {
        if (!ngx_exiting
            && (ngx_msec_int_t) (ngx_current_msec - journal->reopen_at) >= 0)
        {
            (void) ngx_http_wid_journal_open(ev->log, journal);
        }

        goto next;
    }

    now = ngx_http_wid_now_ms();

    rc = wid_journal_tick(journal->writer, now);
    was = journal->outage;

    /* Said once when receipts stop being written, once when they resume. */
    if (ngx_http_wid_journal_outage(journal, rc)) {
        ngx_log_error(NGX_LOG_ALERT, ev->log, 0,
                      "wid: journal: %s (%s); requests wid would allow are "
                      "refused until %s", wid_reason_code(rc),
                      wid_reason_text(rc),
                      rc == WID_R_JOURNAL_CLOSED
                      || rc == WID_R_JOURNAL_SEGMENT_REMOVED
                      ? "nginx is reloaded" : "receipts can be written");

    } else if (rc == WID_OK && was != WID_OK) {
        ngx_log_error(NGX_LOG_ALERT, ev->log, 0,
                      "wid: journal: receipts are written again");
    }

    if (journal->opts.external_sync && !journal->syncing
        && wid_journal_sync_due(journal->writer, now))
    {
        if (journal->syncer.sock < 0) {
            /* The last one died: another (or, failing that, none). */
            (void) ngx_http_wid_journal_syncer_start(ev->log, journal);
        }

        wid_journal_sync_begin(journal->writer, now, &journal->sync_job);

        if (wid_syncer_send(&journal->syncer, &journal->sync_job) != 0) {
            /* No helper to take it: sync here rather than not at all. */
            wid_journal_sync_run(&journal->sync_job);
            (void) wid_journal_sync_end(journal->writer, &journal->sync_job);
            goto next;
        }

        journal->syncing = 1;
    }

next:

    if (!ngx_exiting) {
        ngx_add_timer(ev, NGX_HTTP_WID_TICK);
    }
}


/*
 * The helper process that runs this worker's fsyncs (libcore's
 * journal_syncer.h says why not a thread), and the event its answers
 * arrive on.
 */
static ngx_int_t
ngx_http_wid_journal_syncer_start(ngx_log_t *log,
    ngx_http_wid_journal_t *journal)
{
    ngx_connection_t  *c;

    if (wid_syncer_start(&journal->syncer, ngx_http_wid_journal_forget_key,
                         journal)
        != 0)
    {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "wid: journal: the fsync helper did not start; "
                      "fsync runs in the worker");
        return NGX_ERROR;
    }

    c = ngx_get_connection(journal->syncer.sock, log);
    if (c == NULL) {
        wid_syncer_stop(&journal->syncer);
        return NGX_ERROR;
    }

    c->data = journal;
    c->read->handler = ngx_http_wid_journal_sync_done;
    c->read->log = log;

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_free_connection(c);
        wid_syncer_stop(&journal->syncer);
        return NGX_ERROR;
    }

    journal->sync_conn = c;

    return NGX_OK;
}


static void
ngx_http_wid_journal_syncer_stop(ngx_http_wid_journal_t *journal)
{
    if (journal->sync_conn) {
        /* nginx closes the socket; the helper exits on EOF. */
        ngx_close_connection(journal->sync_conn);
        journal->sync_conn = NULL;
        journal->syncer.sock = -1;
    }

    wid_syncer_stop(&journal->syncer);
    journal->syncing = 0;
}


/* In the helper, right after fork: it signs nothing, so keeps no key. */
static void
ngx_http_wid_journal_forget_key(void *data)
{
    ngx_http_wid_journal_t *journal = data;

    wid_seckey_wipe(journal->key);
}


static void
ngx_http_wid_journal_sync_done(ngx_event_t *ev)
{
    ngx_connection_t        *c = ev->data;

    ngx_int_t                n;
    ngx_uint_t               syncing;
    wid_reason_t             rc;
    ngx_http_wid_journal_t  *journal;

    journal = c->data;

    n = wid_syncer_answer(&journal->syncer, &journal->sync_job);

    if (n == 0) {
        return;
    }

    syncing = journal->syncing;
    journal->syncing = 0;

    if (n < 0) {
        /* A job in its hands counts as failed: nothing says it synced. */
        ngx_log_error(NGX_LOG_ALERT, ev->log, 0,
                      "wid: journal: the fsync helper exited; "
                      "another starts at the next sync");
        ngx_http_wid_journal_syncer_stop(journal);
    }

    if (!syncing || journal->writer == NULL) {
        return;
    }

    rc = wid_journal_sync_end(journal->writer, &journal->sync_job);
    if (rc != WID_OK) {
        ngx_log_error(NGX_LOG_ALERT, ev->log, 0,
                      "wid: journal fsync: %s (%s)", wid_reason_code(rc),
                      wid_reason_text(rc));
    }
}


void
ngx_http_wid_journal_exit_process(ngx_cycle_t *cycle,
    ngx_http_wid_journal_t *journal)
{
    wid_reason_t  rc;

    wid_seckey_wipe(journal->key);

    if (journal->writer == NULL) {
        return;
    }

    /* Final checkpoint and fsync: a clean shutdown leaves nothing open. */
    rc = wid_journal_close(journal->writer, ngx_http_wid_now_ms());
    journal->writer = NULL;

    if (rc != WID_OK) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "wid: journal close: %s (%s)", wid_reason_code(rc),
                      wid_reason_text(rc));
    }

    ngx_http_wid_journal_syncer_stop(journal);
}


/* A receipt string field: pointer and byte length (no copy, no strlen). */
#define ngx_http_wid_rf(f, p, n)                                              \
    rcpt.str[f] = (const char *) (p);                                         \
    len[f] = (n)

#define ngx_http_wid_rf_cstr(f, s)                                            \
    rcpt.str[f] = (s);                                                        \
    len[f] = rcpt.str[f] ? ngx_strlen(rcpt.str[f]) : 0


/*
 * The receipt head of an identity kept on the connection: made at its
 * second request (a connection that sends one request never pays for
 * it), then reused while its requests are judged under one policy; NULL:
 * the receipt is encoded whole.
 */
static const wid_receipt_head *
ngx_http_wid_journal_head(ngx_http_wid_journal_t *journal,
    ngx_http_wid_ctx_t *ctx, ngx_http_wid_policy_t *policy,
    const wid_receipt *rcpt)
{
    size_t                     size;
    wid_receipt_head           head;
    ngx_http_wid_conn_keep_t  *keep;

    keep = ctx->keep;

    if (keep == NULL || ctx->ident == NULL) {
        return NULL;
    }

    if (keep->receipt_head != NULL && keep->receipt_policy != policy) {
        /* A location under another policy: the head names the policy. */
        ngx_free(keep->receipt_head);
        keep->receipt_head = NULL;
    }

    if (keep->receipt_head == NULL) {
        if (wid_journal_receipt_head(journal->writer, rcpt, &head) != WID_OK)
        {
            return NULL;
        }

        size = wid_receipt_head_size(&head);

        keep->receipt_head = ngx_alloc(size, ngx_cycle->log);
        if (keep->receipt_head == NULL) {
            return NULL;
        }

        ngx_memcpy(keep->receipt_head, &head, size);
        keep->receipt_policy = policy;
    }

    return keep->receipt_head;
}


wid_reason_t
ngx_http_wid_journal_record(ngx_http_request_t *r,
    ngx_http_wid_journal_t *journal, ngx_http_wid_loc_conf_t *wlcf,
    ngx_http_wid_ctx_t *ctx)
{
    ngx_uint_t               level;
    u_char                   op_buf[NGX_HTTP_WID_FACT_HASHED];
    u_char                   method_buf[NGX_HTTP_WID_FACT_HASHED];
    size_t                   len[WID_RECEIPT_NSTR];
    uint64_t                 seq, now;
    ngx_str_t                hex, host, fact;
    wid_reason_t             rc;
    wid_receipt              rcpt;
    ngx_http_wid_ident_t    *ident;
    const wid_receipt_head  *head;

    if (journal == NULL) {
        return WID_R_HTTP_JOURNAL_UNAVAILABLE;
    }

    if (journal->writer == NULL) {
        /* Said at alert when the open failed; each request at info. */
        ctx->journal_quiet = 1;
        return WID_R_HTTP_JOURNAL_UNAVAILABLE;
    }

    ngx_memzero(&rcpt, sizeof(wid_receipt));
    ngx_memzero(len, sizeof(len));

    /*
     * Every string goes to the encoder as pointer and length, straight
     * from the request, the configuration and the identity: the encoder
     * checks each is UTF-8 without NUL, as the receipt format demands.
     */
    rcpt.str_len = len;

    now = ngx_http_wid_now_ms();
    rcpt.time_ms = now;
    rcpt.surface = WID_SURFACE_HTTP;

    if (wlcf->mode == NGX_HTTP_WID_OBSERVE) {
        rcpt.verdict = WID_VERDICT_OBSERVE;

    } else if (ctx->verdict == NGX_HTTP_WID_VERDICT_ALLOW) {
        rcpt.verdict = WID_VERDICT_ALLOW;

    } else {
        rcpt.verdict = WID_VERDICT_DENY;
    }

    if (ctx->decided && ctx->decision.soft_evaluated) {
        rcpt.prefer = ctx->decision.soft_matched ? WID_PREFER_MATCHED
                                                 : WID_PREFER_UNMATCHED;
    }

    ngx_http_wid_rf_cstr(WID_RF_REASON, wid_reason_code(ctx->reason));
    ngx_http_wid_rf(WID_RF_RULE, wlcf->rule.data, wlcf->rule.len);
    ngx_http_wid_rf_cstr(WID_RF_POLICY_SIGNER,
                         ngx_http_wid_policy_signer(wlcf->policy));

    if (ngx_http_wid_fact(ctx->operation.data, ctx->operation.len, op_buf,
                          &fact)
        != NGX_OK)
    {
        return WID_R_INTERNAL_CRYPTO;
    }

    ngx_http_wid_rf(WID_RF_OPERATION, fact.data, fact.len);

    rcpt.policy_hash.set = 1;
    ngx_memcpy(rcpt.policy_hash.h, ngx_http_wid_policy_sha256(wlcf->policy),
               NGX_HTTP_WID_SHA256_LEN);

    ident = ctx->ident;

    if (ident) {
        rcpt.not_after = ident->not_after > 0 ? (uint64_t) ident->not_after
                                              : 0;
        ngx_http_wid_rf(WID_RF_SPIFFE_ID, ident->spiffe_id.data,
                        ident->spiffe_id.len);
        ngx_http_wid_rf(WID_RF_TRUST_DOMAIN, ident->trust_domain.data,
                        ident->trust_domain.len);
        ngx_http_wid_rf(WID_RF_ID_PATH, ident->path.data, ident->path.len);

        if (ident->fingerprint.len) {
            ngx_http_wid_rf(WID_RF_CREDENTIAL_ID, ident->fingerprint.data,
                            ident->fingerprint.len);

        } else {
            ngx_http_wid_rf(WID_RF_CREDENTIAL_ID, ident->serial.data,
                            ident->serial.len);
        }

        rcpt.bundle_hash.set = 1;
        ngx_memcpy(rcpt.bundle_hash.h, ident->bundle_sha256,
                   NGX_HTTP_WID_SHA256_LEN);
    }

    if (ctx->credential) {
        ngx_http_wid_rf_cstr(WID_RF_CREDENTIAL_KIND,
                             ngx_http_wid_cred_name(ctx->credential));
    }

    ngx_http_wid_rf_cstr(WID_RF_ATT_TIER,
                         ctx->decided && ctx->decision.tier
                         ? ctx->decision.tier : "none");

    if (ctx->attest) {
        /*
         * A verified result: the receipt names the verifier that signed
         * it, the result's schema and the hash of the raw evidence the
         * verifier checked.
         */
        ngx_http_wid_rf_cstr(WID_RF_ATT_SCHEMA, ngx_http_wid_attest_schema());

        if (wid_receipt_text_ok(ctx->attest->verifier.data,
                                ctx->attest->verifier.len))
        {
            ngx_http_wid_rf(WID_RF_ATT_VERIFIER, ctx->attest->verifier.data,
                            ctx->attest->verifier.len);
        }

        rcpt.evidence_hash.set = 1;
        ngx_memcpy(rcpt.evidence_hash.h, ctx->attest->evidence_sha256,
                   NGX_HTTP_WID_SHA256_LEN);

    } else if (ctx->has_evidence) {
        /* Refused or never verified: the hash of the header as sent. */
        hex.data = ctx->evidence_sha256;
        hex.len = NGX_HTTP_WID_SHA256_HEX;
        ngx_http_wid_hex_hash(&rcpt.evidence_hash, &hex);
    }

    /* Request facts, never the query string. */

    if (ngx_http_wid_fact(r->method_name.data, r->method_name.len,
                          method_buf, &fact)
        != NGX_OK)
    {
        return WID_R_INTERNAL_CRYPTO;
    }

    ngx_http_wid_rf(WID_RF_METHOD, fact.data, fact.len);

    host = r->headers_in.server;

    if (host.len && host.len <= NGX_HTTP_WID_PATH_MAX
        && wid_receipt_text_ok(host.data, host.len))
    {
        ngx_http_wid_rf(WID_RF_HOST, host.data, host.len);
    }

    if (r->uri.len <= NGX_HTTP_WID_PATH_MAX
        && wid_receipt_text_ok(r->uri.data, r->uri.len))
    {
        ngx_http_wid_rf(WID_RF_REQ_PATH, r->uri.data, r->uri.len);

    } else {
        /* Too long or not UTF-8: the receipt keeps its SHA-256. */
        hex.data = r->uri.data;
        hex.len = r->uri.len;

        if (ngx_http_wid_sha256(rcpt.path_hash.h, &hex, 1) != NGX_OK) {
            return WID_R_INTERNAL_CRYPTO;
        }

        rcpt.path_hash.set = 1;
    }

    ngx_http_wid_rf(WID_RF_PEER, r->connection->addr_text.data,
                    r->connection->addr_text.len);

    head = ngx_http_wid_journal_head(journal, ctx, wlcf->policy, &rcpt);

    rc = wid_journal_append_after(journal->writer, head, &rcpt, now,
                                  ctx->receipt_leaf, &seq);
    if (rc != WID_OK) {
        /*
         * The first refused append of an outage at alert, the rest at
         * info: a full disk must not also fill the error log.  The tick
         * says when receipts are written again.
         */
        ctx->journal_quiet = (journal->outage != WID_OK);
        level = ctx->journal_quiet ? NGX_LOG_INFO : NGX_LOG_ALERT;

        ngx_log_error(level, r->connection->log, 0,
                      "wid: receipt not appended: %s (%s)",
                      wid_reason_code(rc), wid_reason_text(rc));

        if (!ctx->journal_quiet) {
            journal->outage = rc;
        }

        return WID_R_HTTP_JOURNAL_UNAVAILABLE;
    }

    ctx->recorded = 1;

    return WID_OK;
}


static uint64_t
ngx_http_wid_now_ms(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (uint64_t) tp->sec * 1000 + tp->msec;
}


/*
 * A request fact (method, operation) as sent or, when it is longer than
 * NGX_HTTP_WID_FACT_MAX or not UTF-8, "sha256:" and the hex SHA-256 of
 * its bytes in buf: what any client sends is recorded, never refused by
 * the receipt format, and stays comparable with what it sent.
 */
static ngx_int_t
ngx_http_wid_fact(u_char *data, size_t len, u_char *buf, ngx_str_t *out)
{
    u_char     h[NGX_HTTP_WID_SHA256_LEN];
    ngx_str_t  in;

    if (len <= NGX_HTTP_WID_FACT_MAX && wid_receipt_text_ok(data, len)) {
        out->data = data;
        out->len = len;
        return NGX_OK;
    }

    in.data = data;
    in.len = len;

    if (ngx_http_wid_sha256(h, &in, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    out->data = buf;
    out->len = ngx_hex_dump(ngx_cpymem(buf, "sha256:", sizeof("sha256:") - 1),
                            h, sizeof(h))
               - buf;

    return NGX_OK;
}


/* 64 hex digits into a receipt hash; anything else leaves it unset. */
static void
ngx_http_wid_hex_hash(wid_receipt_hash *h, ngx_str_t *hex)
{
    h->set = hex->len == NGX_HTTP_WID_SHA256_HEX
             && ngx_http_wid_hex_decode(h->h, hex->data,
                                        NGX_HTTP_WID_SHA256_LEN)
                == NGX_OK;
}
