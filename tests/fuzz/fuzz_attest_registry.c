/*
 * Fuzz target: registration entries (attest_registry.h).  Input: the
 * entries JSON, a NUL, then the node attestation's selectors as
 * NUL-separated type, value pairs up to an empty type, then the
 * workload attestation's pairs.  The node (aws_iid) is matched in phase
 * 1, the workload (unix) in phase 2 beneath the node's bound ID.
 *
 * Beyond "no crash": both phases agree with an independent reading of
 * the same JSON: the entries whose selectors are all present (and, for
 * workloads, whose parent is the node's ID) decide; several SPIFFE IDs
 * are ambiguous, none is no match, else that ID with the highest tier
 * among its matching entries.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "attest_registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
next(const uint8_t **p, size_t *n)
{
    const uint8_t *nul;
    size_t         k;
    char          *s;

    if (*n == 0) {
        return NULL;
    }
    nul = memchr(*p, '\0', *n);
    k = nul ? (size_t) (nul - *p) : *n;
    if ((s = malloc(k + 1)) == NULL) {
        return NULL;
    }
    memcpy(s, *p, k);
    s[k] = '\0';
    *p += nul ? k + 1 : k;
    *n -= nul ? k + 1 : k;
    return s;
}

/* Selector pairs up to an empty type or the end. */
static void
selectors(wid_attestation *a, const uint8_t **p, size_t *n)
{
    char *t, *v;

    while ((t = next(p, n)) != NULL) {
        if (t[0] == '\0' || (v = next(p, n)) == NULL) {
            free(t);
            return;
        }
        (void) wid_attestation_add_selector(a, t, v);
        free(v);
        free(t);
    }
}

/* The expected outcome of matching a against the JSON list. */
static wid_reason_t
expect(const json_t *list, const char *parent, const wid_attestation *a,
       const char **id, const char **tier)
{
    const json_t *e, *s;
    const char   *sel, *colon, *t;
    char          type[WID_ATTEST_SEL_TYPE_MAX + 1];
    size_t        i, j, k;
    int           all;

    *id = NULL;
    *tier = NULL;
    json_array_foreach(list, i, e) {
        if (parent != NULL
            && strcmp(json_string_value(json_object_get(e, "parent")),
                      parent) != 0)
        {
            continue;
        }
        all = 1;
        json_array_foreach(json_object_get(e, "selectors"), j, s) {
            sel = json_string_value(s);
            colon = strchr(sel, ':');
            k = (size_t) (colon - sel);
            if (colon == NULL || k >= sizeof(type)) {
                abort();            /* the loader took a bad selector */
            }
            memcpy(type, sel, k);
            type[k] = '\0';
            all &= wid_attestation_has_selector(a, type, colon + 1);
        }
        if (!all) {
            continue;
        }
        t = json_string_value(json_object_get(e, "tier"));
        t = t ? t : "attested";
        if (*id != NULL && strcmp(*id, json_string_value(
                                         json_object_get(e, "id"))) != 0)
        {
            return WID_R_ATTEST_AMBIGUOUS;
        }
        if (*id == NULL || wid_attest_tier_rank(t)
                           > wid_attest_tier_rank(*tier))
        {
            *tier = t;
        }
        *id = json_string_value(json_object_get(e, "id"));
    }
    return *id == NULL ? WID_R_ATTEST_NO_MATCH : WID_OK;
}

static void
same(wid_reason_t rc, const wid_attestation *a, wid_reason_t want,
     const char *id, const char *tier)
{
    if (rc != want) {
        abort();
    }
    if (rc == WID_OK
        && (strcmp(a->spiffe_id, id) != 0 || strcmp(a->tier, tier) != 0))
    {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t   *nul, *p;
    size_t           n, jlen;
    wid_registry    *r;
    wid_attestation *node, *wl;
    json_t          *doc;
    const char      *id, *tier;
    wid_reason_t     rc, want;

    nul = memchr(data, '\0', size);
    jlen = nul ? (size_t) (nul - data) : size;
    if (wid_registry_load(data, jlen, &r) != WID_OK) {
        return 0;
    }
    doc = json_loadb((const char *) data, jlen, 0, NULL);
    node = malloc(sizeof(*node));
    wl = malloc(sizeof(*wl));
    if (doc == NULL || node == NULL || wl == NULL) {
        abort();
    }
    p = nul ? nul + 1 : data + size;
    n = size - (size_t) (p - data);
    wid_attestation_init(node, WID_ATTEST_AWS_IID, "fuzz");
    wid_attestation_init(wl, WID_ATTEST_UNIX, "fuzz");
    selectors(node, &p, &n);
    selectors(wl, &p, &n);

    rc = wid_registry_match_node(r, node);
    want = expect(json_object_get(doc, "nodes"), NULL, node, &id, &tier);
    same(rc, node, want, id, tier);

    /* Workload evidence never binds in phase 1. */
    if (wid_registry_match_node(r, wl) != WID_R_ATTEST_NODE_NOT_ATTESTED) {
        abort();
    }
    rc = wid_registry_match_workload(r, node->spiffe_id, wl);
    if (node->spiffe_id[0] == '\0') {
        if (rc != WID_R_ATTEST_NODE_NOT_ATTESTED) {
            abort();
        }
    } else {
        want = expect(json_object_get(doc, "workloads"), node->spiffe_id,
                      wl, &id, &tier);
        same(rc, wl, want, id, tier);
    }

    json_decref(doc);
    free(wl);
    free(node);
    wid_registry_free(r);
    return 0;
}
