/*
 * wid_read_file: whole regular files only, bounded, NUL-terminated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_whole_file),
        cmocka_unit_test(test_refuses_oversized_missing_and_directories),
    };
    return cmocka_run_group_tests_name("bytes", tests, setup, teardown);
}
