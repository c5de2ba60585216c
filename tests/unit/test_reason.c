/*
 * The reason-code list is a contract: codes are unique, dotted
 * "area.name" in lowercase, and round-trip through the lookup.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "reason.h"

static void
test_codes_are_unique(void **state)
{
    (void) state;
    for (unsigned i = 0; i < WID_R__COUNT; i++) {
        for (unsigned j = i + 1; j < WID_R__COUNT; j++) {
            if (strcmp(wid_reason_code(i), wid_reason_code(j)) == 0) {
                fail_msg("duplicate reason code %s", wid_reason_code(i));
            }
        }
    }
}

static void
test_codes_are_dotted_lowercase(void **state)
{
    (void) state;
    for (unsigned i = 1; i < WID_R__COUNT; i++) {
        const char *c = wid_reason_code(i);
        const char *dot = strchr(c, '.');

        assert_non_null(dot);
        assert_true(dot > c);
        assert_true(dot[1] != '\0');
        for (; *c; c++) {
            assert_true(islower((unsigned char) *c) || isdigit((unsigned char) *c)
                        || *c == '.' || *c == '_');
        }
        assert_true(strlen(wid_reason_text(i)) > 0);
    }
}

static void
test_lookup_round_trips(void **state)
{
    (void) state;
    for (unsigned i = 0; i < WID_R__COUNT; i++) {
        assert_int_equal(wid_reason_from_code(wid_reason_code(i)), i);
    }
    assert_int_equal(wid_reason_from_code("no.such_code"), WID_R__COUNT);
    assert_string_equal(wid_reason_code(WID_OK), "ok");
    assert_string_equal(wid_reason_code((wid_reason_t) 100000),
                        "internal.unknown_reason");
}

/* Wire ids: SHA-256 of the dotted code, unique, and back again. */
static void
test_wire_ids(void **state)
{
    unsigned i, j;

    (void) state;
    /* sha256sum of the text "journal.frame_crc" begins 0efe8349. */
    assert_int_equal(wid_reason_wire_id(WID_R_JOURNAL_FRAME_CRC), 0x0efe8349U);
    for (i = 1; i < WID_R__COUNT; i++) {
        assert_int_equal(wid_reason_from_wire_id(
                             wid_reason_wire_id((wid_reason_t) i)), i);
        for (j = i + 1; j < WID_R__COUNT; j++) {
            assert_int_not_equal(wid_reason_wire_id((wid_reason_t) i),
                                 wid_reason_wire_id((wid_reason_t) j));
        }
    }
    /* Small numbers (the enum values old logs stored) are no wire ids. */
    for (i = 0; i < 4096; i++) {
        assert_int_equal(wid_reason_from_wire_id(i), WID_R__COUNT);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes_are_unique),
        cmocka_unit_test(test_codes_are_dotted_lowercase),
        cmocka_unit_test(test_lookup_round_trips),
        cmocka_unit_test(test_wire_ids),
    };
    return cmocka_run_group_tests_name("reason", tests, NULL, NULL);
}
