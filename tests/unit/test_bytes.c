/*
 * wid_read_file: whole regular files only, bounded, NUL-terminated;
 * wid_open_regular: a FIFO or directory refused at once.
 * wid_ct_equal: equality of every length, a difference in any byte and
 * any bit found.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "bytes.h"

static char tmpdir[] = "/tmp/wid-test-bytes-XXXXXX";

static void
write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void
test_reads_whole_file(void **state)
{
    char           path[256];
    unsigned char *buf;
    size_t         len;

    (void) state;
    snprintf(path, sizeof(path), "%s/a", tmpdir);
    write_file(path, "abc\0def", 7);
    assert_int_equal(wid_read_file(path, 100, &buf, &len), WID_OK);
    assert_int_equal(len, 7);
    assert_memory_equal(buf, "abc\0def", 7);
    assert_int_equal(buf[7], 0);
    free(buf);
}

static void
test_refuses_oversized_missing_and_directories(void **state)
{
    char           path[256];
    unsigned char *buf = (unsigned char *) "x";
    size_t         len = 1;

    (void) state;
    snprintf(path, sizeof(path), "%s/big", tmpdir);
    write_file(path, "0123456789", 10);
    assert_int_equal(wid_read_file(path, 9, &buf, &len), WID_R_INTERNAL_IO);
    assert_null(buf);
    assert_int_equal(len, 0);

    snprintf(path, sizeof(path), "%s/missing", tmpdir);
    assert_int_equal(wid_read_file(path, 100, &buf, &len), WID_R_INTERNAL_IO);
    assert_int_equal(wid_read_file(tmpdir, 100, &buf, &len),
                     WID_R_INTERNAL_IO);
}

/* A FIFO in a file's place is refused at once (the alarm catches a
 * reader that waits for a writer instead). */
static void
test_refuses_fifo(void **state)
{
    char           path[256];
    unsigned char *buf = (unsigned char *) "x";
    size_t         len = 1;

    (void) state;
    snprintf(path, sizeof(path), "%s/fifo", tmpdir);
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(10);
    assert_int_equal(wid_read_file(path, 100, &buf, &len), WID_R_INTERNAL_IO);
    assert_null(buf);
    errno = 0;
    assert_int_equal(wid_open_regular(path, 0, NULL), -1);
    assert_int_equal(errno, EINVAL);
    alarm(0);

    snprintf(path, sizeof(path), "%s/missing", tmpdir);
    assert_int_equal(wid_open_regular(path, 0, NULL), -1);
    assert_int_equal(errno, ENOENT);
}

static void
test_open_regular(void **state)
{
    char        path[256], link[256];
    struct stat st;
    int         fd;

    (void) state;
    snprintf(path, sizeof(path), "%s/reg", tmpdir);
    write_file(path, "hello", 5);
    fd = wid_open_regular(path, 0, &st);
    assert_true(fd >= 0);
    assert_int_equal(st.st_size, 5);
    close(fd);
    assert_int_equal(wid_open_regular(tmpdir, 0, NULL), -1);
    assert_int_equal(errno, EINVAL);
    /* Extra flags are honoured. */
    snprintf(link, sizeof(link), "%s/link", tmpdir);
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(wid_open_regular(link, O_NOFOLLOW, NULL), -1);
    assert_int_equal(errno, ELOOP);
}

static int
setup(void **state)
{
    (void) state;
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
    char cmd[300];

    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void
test_ct_equal(void **state)
{
    unsigned char a[41], b[41];
    size_t        n, i;
    unsigned      bit;

    (void) state;
    for (i = 0; i < sizeof(a); i++) {
        a[i] = (unsigned char) (i * 37 + 11);
    }
    memcpy(b, a, sizeof(a));
    for (n = 0; n <= sizeof(a); n++) {
        assert_int_equal(wid_ct_equal(a, b, n), 1);
        for (i = 0; i < n; i++) {
            for (bit = 0; bit < 8; bit++) {
                b[i] ^= (unsigned char) (1u << bit);
                assert_int_equal(wid_ct_equal(a, b, n), 0);
                /* Bytes past n do not count. */
                assert_int_equal(wid_ct_equal(a, b, i), 1);
                b[i] = a[i];
            }
        }
    }
    /* Unaligned starts. */
    assert_int_equal(wid_ct_equal(a + 1, b + 1, 33), 1);
    b[20] ^= 0x80;
    assert_int_equal(wid_ct_equal(a + 3, b + 3, 30), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_whole_file),
        cmocka_unit_test(test_refuses_oversized_missing_and_directories),
        cmocka_unit_test(test_refuses_fifo),
        cmocka_unit_test(test_open_regular),
        cmocka_unit_test(test_ct_equal),
    };
    return cmocka_run_group_tests_name("bytes", tests, setup, teardown);
}
