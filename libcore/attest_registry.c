/*
 * Registration entries and subset matching.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "attest_registry.h"
#include "spiffe_id.h"

#define WID_REG_ENTRIES_MAX 10000

typedef struct {
    char          id[WID_ATTEST_ID_MAX + 1];
    char          parent[WID_ATTEST_ID_MAX + 1];
    char          tier[WID_ATTEST_SEL_TYPE_MAX + 1];
    size_t        nselectors;
    wid_selector *selectors;
} wid_reg_entry;

struct wid_registry {
    wid_reg_entry *nodes;
    size_t         nnodes;
    wid_reg_entry *workloads;
    size_t         nworkloads;
};


int
wid_attest_tier_rank(const char *tier)
{
    static const char *tiers[] = { "none", "basic", "attested", "verified" };
    int i;

    for (i = 0; i < 4; i++) {
        if (strcmp(tier, tiers[i]) == 0) {
            return i;
        }
    }
    return -1;
}


/* Entry IDs follow the SPIFFE ID rules of the identity core. */
static int
wid_reg_id_ok(const char *id)
{
    return wid_spiffe_id_parse(id, strlen(id), NULL) == WID_OK;
}


static void
wid_reg_entries_free(wid_reg_entry *e, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(e[i].selectors);
    }
    free(e);
}


static int
wid_reg_parse_list(json_t *arr, int workload, wid_reg_entry **out,
                   size_t *nout)
{
    wid_reg_entry *ents;
    json_t        *e, *sels, *s, *v;
    const char    *str, *colon;
    size_t         i, j, n;

    *out = NULL;
    *nout = 0;
    if (arr == NULL) {
        return 0;
    }
    if (!json_is_array(arr) || json_array_size(arr) > WID_REG_ENTRIES_MAX) {
        return -1;
    }
    n = json_array_size(arr);
    ents = calloc(n + 1, sizeof(*ents));
    if (ents == NULL) {
        return -1;
    }
    json_array_foreach(arr, i, e) {
        wid_reg_entry *r = &ents[i];

        *nout = i + 1;
        if (!json_is_object(e)) {
            goto fail;
        }
        json_object_foreach(e, str, v) {
            if (strcmp(str, "id") != 0 && strcmp(str, "tier") != 0
                && strcmp(str, "selectors") != 0
                && !(workload && strcmp(str, "parent") == 0))
            {
                goto fail;      /* a misspelt key must not be ignored */
            }
        }
        v = json_object_get(e, "id");
        if (!json_is_string(v) || !wid_reg_id_ok(json_string_value(v))) {
            goto fail;
        }
        strcpy(r->id, json_string_value(v));
        if (workload) {
            v = json_object_get(e, "parent");
            if (!json_is_string(v) || !wid_reg_id_ok(json_string_value(v))) {
                goto fail;
            }
            strcpy(r->parent, json_string_value(v));
        }
        v = json_object_get(e, "tier");
        str = v == NULL ? "attested" : json_is_string(v)
                                       ? json_string_value(v) : "";
        if (wid_attest_tier_rank(str) < 0) {
            goto fail;
        }
        strcpy(r->tier, str);

        sels = json_object_get(e, "selectors");
        if (!json_is_array(sels) || json_array_size(sels) == 0
            || json_array_size(sels) > WID_ATTEST_SELECTORS_MAX)
        {
            goto fail;
        }
        r->selectors = calloc(json_array_size(sels), sizeof(wid_selector));
        if (r->selectors == NULL) {
            goto fail;
        }
        json_array_foreach(sels, j, s) {
            if (!json_is_string(s)) {
                goto fail;
            }
            str = json_string_value(s);
            colon = strchr(str, ':');
            if (colon == NULL || colon == str || colon[1] == '\0'
                || (size_t) (colon - str) > WID_ATTEST_SEL_TYPE_MAX
                || strlen(colon + 1) > WID_ATTEST_SEL_VALUE_MAX
                || strlen(str) != json_string_length(s))
            {
                goto fail;
            }
            memcpy(r->selectors[j].type, str, (size_t) (colon - str));
            r->selectors[j].type[colon - str] = '\0';
            strcpy(r->selectors[j].value, colon + 1);
            r->nselectors = j + 1;
        }
    }
    *out = ents;
    *nout = n;
    return 0;

fail:
    wid_reg_entries_free(ents, *nout);
    *nout = 0;
    return -1;
}


wid_reason_t
wid_registry_load(const unsigned char *buf, size_t len, wid_registry **out)
{
    wid_registry *r;
    json_t       *doc, *v;
    json_error_t  err;
    const char   *key;
    int           ok;

    *out = NULL;
    doc = json_loadb((const char *) buf, len, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return WID_R_ATTEST_REG_INVALID;
    }
    json_object_foreach(doc, key, v) {
        if (strcmp(key, "nodes") != 0 && strcmp(key, "workloads") != 0) {
            json_decref(doc);
            return WID_R_ATTEST_REG_INVALID;
        }
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        json_decref(doc);
        return WID_R_INTERNAL_NOMEM;
    }
    ok = wid_reg_parse_list(json_object_get(doc, "nodes"), 0, &r->nodes,
                            &r->nnodes) == 0
         && wid_reg_parse_list(json_object_get(doc, "workloads"), 1,
                               &r->workloads, &r->nworkloads) == 0;
    json_decref(doc);
    if (!ok) {
        wid_registry_free(r);
        return WID_R_ATTEST_REG_INVALID;
    }
    *out = r;
    return WID_OK;
}


void
wid_registry_free(wid_registry *r)
{
    if (r == NULL) {
        return;
    }
    wid_reg_entries_free(r->nodes, r->nnodes);
    wid_reg_entries_free(r->workloads, r->nworkloads);
    free(r);
}


static int
wid_reg_subset(const wid_reg_entry *e, const wid_attestation *a)
{
    size_t i;

    for (i = 0; i < e->nselectors; i++) {
        if (!wid_attestation_has_selector(a, e->selectors[i].type,
                                          e->selectors[i].value))
        {
            return 0;
        }
    }
    return 1;
}


static wid_reason_t
wid_reg_match(const wid_reg_entry *ents, size_t n, const char *parent,
              wid_attestation *a)
{
    const wid_reg_entry *best = NULL;
    size_t               i;

    for (i = 0; i < n; i++) {
        if (parent != NULL && strcmp(ents[i].parent, parent) != 0) {
            continue;
        }
        if (!wid_reg_subset(&ents[i], a)) {
            continue;
        }
        if (best != NULL && strcmp(best->id, ents[i].id) != 0) {
            return WID_R_ATTEST_AMBIGUOUS;
        }
        if (best == NULL || wid_attest_tier_rank(ents[i].tier)
                            > wid_attest_tier_rank(best->tier))
        {
            best = &ents[i];
        }
    }
    if (best == NULL) {
        return WID_R_ATTEST_NO_MATCH;
    }
    strcpy(a->spiffe_id, best->id);
    strcpy(a->tier, best->tier);
    return WID_OK;
}


wid_reason_t
wid_registry_match_node(const wid_registry *r, wid_attestation *node)
{
    if (wid_attest_kind_role(node->kind) != WID_ATTEST_ROLE_NODE) {
        return WID_R_ATTEST_NODE_NOT_ATTESTED;
    }
    return wid_reg_match(r->nodes, r->nnodes, NULL, node);
}


wid_reason_t
wid_registry_match_workload(const wid_registry *r, const char *node_id,
                            wid_attestation *wl)
{
    if (node_id == NULL || node_id[0] == '\0') {
        return WID_R_ATTEST_NODE_NOT_ATTESTED;
    }
    return wid_reg_match(r->workloads, r->nworkloads, node_id, wl);
}
