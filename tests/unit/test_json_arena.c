/*
 * The per-thread JSON arena behind the JWT claims: claims of any size
 * parse (an arena that overflows falls back to the heap), a second tree
 * while the arena is held uses the heap, trees made outside it are
 * freed normally, and the arena is reusable after it is given back.
 * Under ASan a wrong free or a leak in any of these fails the run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "json_arena.h"
#include "jwt_claims.h"

static const char small[] =
    "{\"aud\":[\"wid-test\",\"other\"],\"exp\":1790000000,"
    "\"iat\":1780000000,\"sub\":\"spiffe://a.org/workload\"}";

static void
test_claims_read_and_reuse(void **state)
{
    wid_jwt_claims c;
    int            i;

    (void) state;
    for (i = 0; i < 3; i++) {
        assert_int_equal(wid_jwt_claims_read((const unsigned char *) small,
                                             strlen(small), 16, "wid-test",
                                             8, &c), WID_OK);
        assert_true(c.arena);
        assert_int_equal(c.sub_len, strlen("spiffe://a.org/workload"));
        assert_memory_equal(c.sub, "spiffe://a.org/workload", c.sub_len);
        assert_int_equal(c.exp.value, 1790000000);
        assert_int_equal(c.aud, WID_OK);
        wid_jwt_claims_clear(&c);
    }
}

static void
test_overflow_falls_back_to_heap(void **state)
{
    wid_jwt_claims c;
    char          *big;
    size_t         n = 0, cap = 64 * 1024;
    int            i;

    (void) state;
    big = malloc(cap);
    assert_non_null(big);
    n += (size_t) snprintf(big + n, cap - n,
                           "{\"sub\":\"spiffe://a.org/w\",\"aud\":\"x\"");
    /* Far more members than 4 KiB of arena holds. */
    for (i = 0; i < 400; i++) {
        n += (size_t) snprintf(big + n, cap - n,
                               ",\"claim%03d\":\"value-%03d-padding\"", i, i);
    }
    n += (size_t) snprintf(big + n, cap - n, "}");
    assert_true(n < cap);
    assert_int_equal(wid_jwt_claims_read((unsigned char *) big, n, 16, "x",
                                         1, &c), WID_OK);
    assert_non_null(json_object_get(c.json, "claim399"));
    assert_memory_equal(c.sub, "spiffe://a.org/w", c.sub_len);
    wid_jwt_claims_clear(&c);
    free(big);
}

static void
test_second_tree_uses_heap(void **state)
{
    wid_jwt_claims a, b;

    (void) state;
    assert_int_equal(wid_jwt_claims_read((const unsigned char *) small,
                                         strlen(small), 16, "wid-test", 8,
                                         &a), WID_OK);
    assert_int_equal(wid_jwt_claims_read((const unsigned char *) small,
                                         strlen(small), 16, "wid-test", 8,
                                         &b), WID_OK);
    assert_true(a.arena);
    assert_false(b.arena);
    /* Both trees intact and independent. */
    assert_memory_equal(a.sub, b.sub, a.sub_len);
    assert_ptr_not_equal(a.sub, b.sub);
    wid_jwt_claims_clear(&b);
    wid_jwt_claims_clear(&a);
    /* Given back: the next tree has it again. */
    assert_int_equal(wid_jwt_claims_read((const unsigned char *) small,
                                         strlen(small), 16, "wid-test", 8,
                                         &a), WID_OK);
    assert_true(a.arena);
    wid_jwt_claims_clear(&a);
}

static void
test_trees_outside_the_arena(void **state)
{
    json_t        *before, *after;
    wid_jwt_claims c;

    (void) state;
    before = json_pack("{s:s}", "k", "made before any arena use");
    assert_non_null(before);
    assert_int_equal(wid_jwt_claims_read((const unsigned char *) small,
                                         strlen(small), 16, "wid-test", 8,
                                         &c), WID_OK);
    /* Made while the arena is held but not active: the heap. */
    after = json_pack("{s:[i,i]}", "k", 1, 2);
    assert_non_null(after);
    wid_jwt_claims_clear(&c);
    json_decref(before);
    json_decref(after);
}

static void
test_bad_claims_release_the_arena(void **state)
{
    wid_jwt_claims c;
    static const char dup[] = "{\"sub\":\"a\",\"sub\":\"b\"}";

    (void) state;
    assert_int_equal(wid_jwt_claims_read((const unsigned char *) dup,
                                         strlen(dup), 16, "x", 1, &c),
                     WID_R_JWT_DUPLICATE_KEY);
    wid_jwt_claims_clear(&c);
    assert_int_equal(wid_json_arena_take(), 1);
    wid_json_arena_stop();
    wid_json_arena_give();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claims_read_and_reuse),
        cmocka_unit_test(test_overflow_falls_back_to_heap),
        cmocka_unit_test(test_second_tree_uses_heap),
        cmocka_unit_test(test_trees_outside_the_arena),
        cmocka_unit_test(test_bad_claims_release_the_arena),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
