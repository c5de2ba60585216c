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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes_are_unique),
        cmocka_unit_test(test_codes_are_dotted_lowercase),
        cmocka_unit_test(test_lookup_round_trips),
    };
    return cmocka_run_group_tests_name("reason", tests, NULL, NULL);
}
