
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
#include "keyfile.h"


#if defined(__has_include)
#if __has_include("journal.h") && __has_include("receipt.h")
#define NGX_HTTP_WID_HAVE_JOURNAL  1
#endif
#endif


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


#if (NGX_HTTP_WID_HAVE_JOURNAL)

#error "journal landed: wire ngx_http_wid_journal.c to it"

#else

/*
 * Without the journal nothing can be recorded, so nothing is allowed:
 * every decision is reported as unrecordable and the access handler
 * withholds each allow (http.journal_unavailable).
 */

ngx_int_t
ngx_http_wid_journal_init_process(ngx_cycle_t *cycle,
    ngx_http_wid_journal_t *journal)
{
    ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                  "wid: built without the receipt journal");

    return NGX_ERROR;
}


void
ngx_http_wid_journal_exit_process(ngx_cycle_t *cycle,
    ngx_http_wid_journal_t *journal)
{
    wid_seckey_wipe(journal->key);
}


wid_reason_t
ngx_http_wid_journal_record(ngx_http_request_t *r,
    ngx_http_wid_journal_t *journal, ngx_http_wid_loc_conf_t *wlcf,
    ngx_http_wid_ctx_t *ctx)
{
    return WID_R_HTTP_JOURNAL_UNAVAILABLE;
}

#endif
