/*
 * CRC-32C framing checksum: standard check values (RFC 3720 appendix
 * B.4 and the "123456789" catalogue value) and agreement of the hardware
 * and table paths at every length and split.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crc32c.h"

static void
test_check_values(void **state)
{
    unsigned char buf[32];
    unsigned      i;

    (void) state;
    assert_int_equal(wid_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(wid_crc32c(0, "", 0), 0);
    memset(buf, 0, sizeof(buf));
    assert_int_equal(wid_crc32c(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, sizeof(buf));
    assert_int_equal(wid_crc32c(0, buf, 32), 0x62A8AB43u);
    for (i = 0; i < 32; i++) {
        buf[i] = (unsigned char) i;
    }
    assert_int_equal(wid_crc32c(0, buf, 32), 0x46DD794Eu);
    for (i = 0; i < 32; i++) {
        buf[i] = (unsigned char) (31 - i);
    }
    assert_int_equal(wid_crc32c(0, buf, 32), 0x113FDB5Cu);
}

static void
test_paths_agree_and_chain(void **state)
{
    unsigned char buf[300];
    size_t        n, k;
    uint32_t      whole;

    (void) state;
    for (n = 0; n < sizeof(buf); n++) {
        buf[n] = (unsigned char) (n * 131 + 7);
    }
    for (n = 0; n <= sizeof(buf); n++) {
        whole = wid_crc32c(0, buf, n);
        assert_int_equal(whole, wid_crc32c_portable(0, buf, n));
        for (k = 0; k <= n; k += 13) {
            assert_int_equal(wid_crc32c(wid_crc32c(0, buf, k), buf + k, n - k),
                             whole);
        }
    }
    /* A single flipped bit always changes the checksum. */
    whole = wid_crc32c(0, buf, sizeof(buf));
    for (n = 0; n < sizeof(buf) * 8; n++) {
        buf[n / 8] ^= (unsigned char) (1u << (n % 8));
        assert_int_not_equal(wid_crc32c(0, buf, sizeof(buf)), whole);
        buf[n / 8] ^= (unsigned char) (1u << (n % 8));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_values),
        cmocka_unit_test(test_paths_agree_and_chain),
    };
    return cmocka_run_group_tests_name("crc32c", tests, NULL, NULL);
}
