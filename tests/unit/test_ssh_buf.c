/*
 * SSH wire buffers: the writer stops at its cap and remembers failure,
 * the reader never reads past its input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../ssh_wid_helper/sshbuf.h"

static void
test_writer_encodes_big_endian_and_strings(void **state)
{
    static const unsigned char want[] = {
        0x01,
        0x00, 0x00, 0x01, 0x02,
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
        0x00, 0x00, 0x00, 0x03, 'a', 'b', 'c',
        0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x03, 'x', 'y', 'z',
    };
    ssh_wbuf b, inner;

    (void) state;
    ssh_wbuf_init(&b, 0);
    ssh_wbuf_put_u8(&b, 1);
    ssh_wbuf_put_u32(&b, 0x102);
    ssh_wbuf_put_u64(&b, 0x100000002ULL);
    ssh_wbuf_put_cstring(&b, "abc");
    ssh_wbuf_init(&inner, 0);
    ssh_wbuf_put_cstring(&inner, "xyz");
    ssh_wbuf_put_wbuf(&b, &inner);
    ssh_wbuf_free(&inner);
    assert_int_equal(ssh_wbuf_error(&b), 0);
    assert_int_equal(b.len, sizeof(want));
    assert_memory_equal(b.data, want, sizeof(want));
    ssh_wbuf_free(&b);
    assert_null(b.data);
}

static void
test_writer_cap_is_sticky(void **state)
{
    ssh_wbuf b;

    (void) state;
    ssh_wbuf_init(&b, 8);
    ssh_wbuf_put_u32(&b, 1);
    ssh_wbuf_put_u32(&b, 2);
    assert_int_equal(ssh_wbuf_error(&b), 0);
    ssh_wbuf_put_u8(&b, 3);                       /* 9 bytes > cap 8 */
    assert_int_equal(ssh_wbuf_error(&b), -1);
    ssh_wbuf_put_u8(&b, 4);                       /* stays failed */
    assert_int_equal(ssh_wbuf_error(&b), -1);
    assert_int_equal(b.len, 8);
    ssh_wbuf_free(&b);
}

static void
test_reader_refuses_short_input(void **state)
{
    /* a string claiming 5 bytes with only 2 present */
    static const unsigned char in[] = { 0, 0, 0, 5, 'a', 'b' };
    static const unsigned char huge[] = { 0xff, 0xff, 0xff, 0xff, 'a' };
    const unsigned char *p;
    ssh_rbuf r;
    uint64_t v64;
    size_t n;

    (void) state;
    ssh_rbuf_init(&r, in, sizeof(in));
    assert_int_equal(ssh_rbuf_get_string(&r, &p, &n), -1);
    assert_int_equal(r.len, sizeof(in));          /* nothing consumed */
    assert_int_equal(ssh_rbuf_get_u64(&r, &v64), -1);

    ssh_rbuf_init(&r, huge, sizeof(huge));
    assert_int_equal(ssh_rbuf_get_string(&r, &p, &n), -1);
}

static void
test_reader_cstring_rules(void **state)
{
    static const unsigned char nul[] = { 0, 0, 0, 3, 'a', 0, 'b' };
    static const unsigned char ok[] = { 0, 0, 0, 3, 'a', 'b', 'c' };
    ssh_rbuf r;
    char *s;

    (void) state;
    ssh_rbuf_init(&r, nul, sizeof(nul));
    assert_int_equal(ssh_rbuf_get_cstring(&r, 100, &s), -1);
    assert_null(s);

    ssh_rbuf_init(&r, ok, sizeof(ok));
    assert_int_equal(ssh_rbuf_get_cstring(&r, 2, &s), -1);   /* too long */
    assert_int_equal(ssh_rbuf_get_cstring(&r, 3, &s), 0);
    assert_string_equal(s, "abc");
    assert_int_equal(r.len, 0);
    free(s);

    ssh_rbuf_init(&r, ok, sizeof(ok));
    assert_int_equal(ssh_rbuf_expect_cstring(&r, "abd"), -1);
    assert_int_equal(ssh_rbuf_expect_cstring(&r, "ab"), -1);
    assert_int_equal(ssh_rbuf_expect_cstring(&r, "abc"), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_encodes_big_endian_and_strings),
        cmocka_unit_test(test_writer_cap_is_sticky),
        cmocka_unit_test(test_reader_refuses_short_input),
        cmocka_unit_test(test_reader_cstring_rules),
    };
    return cmocka_run_group_tests_name("ssh_buf", tests, NULL, NULL);
}
