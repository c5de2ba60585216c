/*
 * SPIFFE ID rules: each broken rule yields its own reason code; the
 * vectors follow the SPIFFE-ID spec and the peer suites named in the
 * research notes (go-spiffe's every-byte sweep, rust/py/java cases).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "spiffe_id.h"

static const struct {
    const char   *id;
    wid_reason_t  want;
} vectors[] = {
    { "spiffe://trustdomain", WID_OK },
    { "spiffe://trustdomain/path", WID_OK },
    { "spiffe://trustdomain/path/element", WID_OK },
    { "spiffe://example.org/ns/prod/sa/payments-worker_2", WID_OK },
    { "spiffe://a-b_c.d0/ABCxyz.-_09", WID_OK },
    { "spiffe://td/...", WID_OK },
    { "spiffe://td/.hidden/a..b", WID_OK },
    { "spiffe://192.168.1.1/svc", WID_OK },
    { "", WID_R_ID_EMPTY },
    { "spiffe://", WID_R_ID_TD_EMPTY },
    { "spiffe:///path", WID_R_ID_TD_EMPTY },
    { "http://trustdomain/path", WID_R_ID_WRONG_SCHEME },
    { "SPIFFE://trustdomain/path", WID_R_ID_WRONG_SCHEME },
    { "Spiffe://trustdomain/path", WID_R_ID_WRONG_SCHEME },
    { "spiffe:/trustdomain/path", WID_R_ID_WRONG_SCHEME },
    { "spiffe:trustdomain/path", WID_R_ID_WRONG_SCHEME },
    { "://trustdomain/path", WID_R_ID_WRONG_SCHEME },
    { "trustdomain/path", WID_R_ID_WRONG_SCHEME },
    { "spiffe://Trustdomain/path", WID_R_ID_TD_UPPERCASE },
    { "spiffe://TRUSTDOMAIN", WID_R_ID_TD_UPPERCASE },
    { "spiffe://trust$domain/path", WID_R_ID_TD_BAD_CHAR },
    { "spiffe://trust domain/path", WID_R_ID_TD_BAD_CHAR },
    { "spiffe://[::1]/path", WID_R_ID_TD_BAD_CHAR },
    { "spiffe://user@trustdomain/path", WID_R_ID_USERINFO },
    { "spiffe://user:pw@trustdomain/path", WID_R_ID_USERINFO },
    { "spiffe://trustdomain:8080/path", WID_R_ID_PORT },
    { "spiffe://trustdomain:/path", WID_R_ID_PORT },
    { "spiffe://trustdomain/pa%74h", WID_R_ID_PERCENT },
    { "spiffe://trust%64omain/path", WID_R_ID_PERCENT },
    { "spiffe://trustdomain/path?query", WID_R_ID_QUERY },
    { "spiffe://trustdomain?x", WID_R_ID_QUERY },
    { "spiffe://trustdomain/path#fragment", WID_R_ID_FRAGMENT },
    { "spiffe://trustdomain#f", WID_R_ID_FRAGMENT },
    { "spiffe://trustdomain/", WID_R_ID_PATH_TRAILING_SLASH },
    { "spiffe://trustdomain/path/", WID_R_ID_PATH_TRAILING_SLASH },
    { "spiffe://trustdomain//path", WID_R_ID_PATH_EMPTY_SEGMENT },
    { "spiffe://trustdomain/path//element", WID_R_ID_PATH_EMPTY_SEGMENT },
    { "spiffe://trustdomain/.", WID_R_ID_PATH_DOT_SEGMENT },
    { "spiffe://trustdomain/..", WID_R_ID_PATH_DOT_SEGMENT },
    { "spiffe://trustdomain/./path", WID_R_ID_PATH_DOT_SEGMENT },
    { "spiffe://trustdomain/path/../admin", WID_R_ID_PATH_DOT_SEGMENT },
    { "spiffe://trustdomain/path/.", WID_R_ID_PATH_DOT_SEGMENT },
    { "spiffe://trustdomain/pa$th", WID_R_ID_PATH_BAD_CHAR },
    { "spiffe://trustdomain/pa:th", WID_R_ID_PATH_BAD_CHAR },
    { "spiffe://trustdomain/pa@th", WID_R_ID_PATH_BAD_CHAR },
    { "spiffe://trustdomain/pa th", WID_R_ID_PATH_BAD_CHAR },
    { "spiffe://trustdomain/p\xc3\xa4th", WID_R_ID_PATH_BAD_CHAR },
};

static void
test_vectors(void **state)
{
    wid_spiffe_id id;
    size_t        i;
    wid_reason_t  r;

    (void) state;
    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        r = wid_spiffe_id_parse(vectors[i].id, strlen(vectors[i].id), &id);
        if (r != vectors[i].want) {
            fail_msg("%s: got %s, want %s", vectors[i].id,
                     wid_reason_code(r), wid_reason_code(vectors[i].want));
        }
        if (r != WID_OK) {
            assert_string_equal(id.id, "");
        }
    }
}

static void
test_parts(void **state)
{
    wid_spiffe_id id;

    (void) state;
    assert_int_equal(wid_spiffe_id_parse("spiffe://example.org/ns/a", 25,
                                         &id), WID_OK);
    assert_string_equal(id.id, "spiffe://example.org/ns/a");
    assert_string_equal(id.trust_domain, "example.org");
    assert_string_equal(id.path, "/ns/a");
    assert_int_equal(id.td_len, 11);
    assert_int_equal(id.path_len, 5);

    assert_int_equal(wid_spiffe_id_parse("spiffe://example.org", 20, &id),
                     WID_OK);
    assert_string_equal(id.path, "");
    assert_int_equal(id.path_len, 0);

    /* out may be NULL: validation only. */
    assert_int_equal(wid_spiffe_id_parse("spiffe://a/b", 12, NULL), WID_OK);
}

/* A NUL byte (possible in a certificate SAN) never truncates the check. */
static void
test_embedded_nul(void **state)
{
    static const char path_nul[] = "spiffe://td/ok\0/../admin";
    static const char td_nul[] = "spiffe://td\0evil/x";

    (void) state;
    assert_int_equal(wid_spiffe_id_parse(path_nul, sizeof(path_nul) - 1,
                                         NULL), WID_R_ID_PATH_BAD_CHAR);
    assert_int_equal(wid_spiffe_id_parse(td_nul, sizeof(td_nul) - 1, NULL),
                     WID_R_ID_TD_BAD_CHAR);
}

/* Every byte value in the trust domain and in a path segment. */
static void
test_every_byte(void **state)
{
    char         buf[64];
    unsigned     c;
    int          td_ok, path_ok;
    wid_reason_t r;

    (void) state;
    for (c = 0; c < 256; c++) {
        td_ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                || c == '.' || c == '-' || c == '_';
        path_ok = td_ok || (c >= 'A' && c <= 'Z');

        memcpy(buf, "spiffe://t", 10);
        buf[10] = (char) c;
        memcpy(buf + 11, "d/p", 3);
        r = wid_spiffe_id_parse(buf, 14, NULL);
        if (c == '/') {
            /* "spiffe://t/d/p": trust domain "t", path "/d/p". */
            td_ok = 1;
        }
        if (td_ok ? r != WID_OK : r == WID_OK) {
            fail_msg("trust domain byte 0x%02x: %s", c, wid_reason_code(r));
        }

        memcpy(buf, "spiffe://td/p", 13);
        buf[13] = (char) c;
        r = wid_spiffe_id_parse(buf, 14, NULL);
        if (c == '/') {
            assert_int_equal(r, WID_R_ID_PATH_TRAILING_SLASH);
        } else if (path_ok ? r != WID_OK : r == WID_OK) {
            fail_msg("path byte 0x%02x: %s", c, wid_reason_code(r));
        }
    }
}

static void
test_lengths(void **state)
{
    char td[300], id[WID_SPIFFE_ID_MAX + 16];
    size_t n;

    (void) state;
    /* Trust domain: 255 bytes accepted, 256 refused. */
    memset(td, 'a', sizeof(td));
    memcpy(id, "spiffe://", 9);
    memcpy(id + 9, td, 255);
    assert_int_equal(wid_spiffe_id_parse(id, 9 + 255, NULL), WID_OK);
    memcpy(id + 9, td, 256);
    assert_int_equal(wid_spiffe_id_parse(id, 9 + 256, NULL),
                     WID_R_ID_TD_TOO_LONG);
    assert_int_equal(wid_trust_domain_check(td, 256), WID_R_ID_TD_TOO_LONG);

    /* Whole ID: 2048 bytes accepted, 2049 refused. */
    memcpy(id, "spiffe://td/", 12);
    for (n = 12; n < sizeof(id); n++) {
        id[n] = (n % 64 == 0) ? '/' : 'x';
    }
    id[WID_SPIFFE_ID_MAX - 1] = 'x';
    assert_int_equal(wid_spiffe_id_parse(id, WID_SPIFFE_ID_MAX, NULL),
                     WID_OK);
    assert_int_equal(wid_spiffe_id_parse(id, WID_SPIFFE_ID_MAX + 1, NULL),
                     WID_R_ID_TOO_LONG);
}

static void
test_trust_domain_names(void **state)
{
    (void) state;
    assert_int_equal(wid_trust_domain_check("example.org", 11), WID_OK);
    assert_int_equal(wid_trust_domain_check("", 0), WID_R_ID_TD_EMPTY);
    assert_int_equal(wid_trust_domain_check(NULL, 0), WID_R_ID_TD_EMPTY);
    assert_int_equal(wid_trust_domain_check("Example.org", 11),
                     WID_R_ID_TD_UPPERCASE);
    assert_int_equal(wid_trust_domain_check("a/b", 3), WID_R_ID_TD_BAD_CHAR);
    assert_int_equal(wid_trust_domain_check("a:1", 3), WID_R_ID_PORT);
    assert_int_equal(wid_trust_domain_check("u@a", 3), WID_R_ID_USERINFO);
    assert_int_equal(wid_trust_domain_check("a%2e", 4), WID_R_ID_PERCENT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_parts),
        cmocka_unit_test(test_embedded_nul),
        cmocka_unit_test(test_every_byte),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_trust_domain_names),
    };
    return cmocka_run_group_tests_name("spiffe_id", tests, NULL, NULL);
}
