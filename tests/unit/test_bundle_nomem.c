/*
 * A refresh that fails half-way (out of memory while reading a later
 * source) rolls back: the trust domains in force keep their content,
 * and the bundle hash they report for their X.509 authorities (the
 * bundle_sha256 of receipts) must be the hash of that content, not of
 * the newer version a source had already read and that never took
 * effect.
 *
 * This binary is linked with -Wl,--wrap=calloc (a rule of its own in
 * the Makefile): __wrap_calloc fails one call on demand, armed from the
 * bundle set's stat hook just before the failing source is parsed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "bundle.h"
#include "identity_support.h"

void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);

static int         fail_next;
static const char *trap_path;
static int         trap_stats;
static char        dir[256];

void *
__wrap_calloc(size_t n, size_t size)
{
    if (fail_next) {
        fail_next = 0;
        return NULL;
    }
    return __real_calloc(n, size);
}

/*
 * A refresh stats each source once, then reads a changed one between
 * two more stats; the third stat of the trapped path is the last step
 * before its bytes are parsed, and parsing starts with a calloc.
 */
static int
trap_stat(const char *path, struct stat *st)
{
    if (trap_path != NULL && strcmp(path, trap_path) == 0
        && ++trap_stats == 3)
    {
        fail_next = 1;
    }
    return stat(path, st);
}

static void
file_sha(const char *path, char hex[WID_SHA256_HEX + 1])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    char         *b;
    size_t        len;

    b = idt_slurp(path, &len);
    assert_non_null(b);
    SHA256((unsigned char *) b, len, md);
    wid_hex(md, sizeof(md), hex);
    free(b);
}

static const char *
a_hash(const wid_bundle_set *s)
{
    const wid_bundle *b = wid_bundle_set_find(s, "a.org", 5);

    assert_non_null(b);
    assert_true(wid_bundle_x509_count(b) >= 1);
    /* The hash of the source in force and of each authority agree. */
    assert_string_equal(wid_bundle_x509_source(b, 0),
                        wid_bundle_source_sha256(b, 0));
    return wid_bundle_x509_source(b, 0);
}

static void
test_rollback_keeps_hash(void **state)
{
    wid_bundle_set *s = wid_bundle_set_new();
    char            a[512], b[512], h2[WID_SHA256_HEX + 1];
    char            h3[WID_SHA256_HEX + 1];

    (void) state;
    snprintf(a, sizeof(a), "%s/a.pem", dir);
    snprintf(b, sizeof(b), "%s/b.pem", dir);
    assert_int_equal(idt_run("cat %s/pki/a.org.pem > %s", dir, a), 0);
    assert_int_equal(idt_run("cat %s/pki/b.org.pem > %s", dir, b), 0);
    wid_bundle_set_rehash_window(s, 0);
    wid_bundle_set_stat_fn(s, trap_stat);
    assert_int_equal(wid_bundle_set_add(s, "a.org", a), WID_OK);
    assert_int_equal(wid_bundle_set_add(s, "b.org", b), WID_OK);

    /* A good rewrite of a.org's file takes effect (version 2). */
    assert_int_equal(idt_run("cat %s/pki/a.org.pem %s/pki/b.org.pem > %s",
                             dir, dir, a), 0);
    assert_int_equal(wid_bundle_set_refresh(s, 1), WID_OK);
    file_sha(a, h2);
    assert_string_equal(a_hash(s), h2);

    /*
     * Version 3 of a.org's file is read, then reading b.org's new
     * version runs out of memory: the refresh rolls back and a.org
     * stays at version 2, hash included.
     */
    assert_int_equal(idt_run("cat %s/pki/b.org.pem %s/pki/a.org.pem"
                             " %s/pki/b.org.pem > %s", dir, dir, dir, a), 0);
    assert_int_equal(idt_run("cat %s/pki/a.org.pem %s/pki/b.org.pem > %s",
                             dir, dir, b), 0);
    trap_path = b;
    trap_stats = 0;
    assert_int_equal(wid_bundle_set_refresh(s, 2), WID_R_INTERNAL_NOMEM);
    trap_path = NULL;
    assert_int_equal(fail_next, 0);      /* the trap did fire */
    assert_string_equal(a_hash(s), h2);
    assert_int_equal(wid_bundle_x509_count(wid_bundle_set_find(s, "a.org",
                                                               5)), 2);

    /* The next refresh puts version 3 in force, with its hash. */
    assert_int_equal(wid_bundle_set_refresh(s, 3), WID_OK);
    file_sha(a, h3);
    assert_string_not_equal(h2, h3);
    assert_string_equal(a_hash(s), h3);
    wid_bundle_set_free(s);
}

static int
setup(void **state)
{
    const char *t = idt_tools_dir();

    (void) state;
    if (idt_mkdtemp(dir, sizeof(dir), "bundle-nomem") != 0
        || idt_run("%s/widpki td %s/pki a.org >/dev/null", t, dir) != 0
        || idt_run("%s/widpki td %s/pki b.org >/dev/null", t, dir) != 0)
    {
        return -1;
    }
    return 0;
}

static int
teardown(void **state)
{
    (void) state;
    idt_rmtree(dir);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rollback_keeps_hash),
    };
    return cmocka_run_group_tests_name("bundle_nomem", tests, setup,
                                       teardown);
}
