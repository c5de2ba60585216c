#include <string.h>

#include "reason.h"
#include "sha256.h"

static const struct {
    const char *code;
    const char *text;
} wid_reasons[WID_R__COUNT] = {
    [WID_OK] = { "ok", "no error" },
#define WID_REASON(sym, code, text) [WID_R_##sym] = { code, text },
#include "reasons/all.def"
#undef WID_REASON
};

const char *
wid_reason_code(wid_reason_t r)
{
    if ((unsigned) r >= WID_R__COUNT) {
        return "internal.unknown_reason";
    }
    return wid_reasons[r].code;
}

const char *
wid_reason_text(wid_reason_t r)
{
    if ((unsigned) r >= WID_R__COUNT) {
        return "unknown reason code";
    }
    return wid_reasons[r].text;
}

wid_reason_t
wid_reason_from_code(const char *code)
{
    for (unsigned i = 0; i < WID_R__COUNT; i++) {
        if (strcmp(wid_reasons[i].code, code) == 0) {
            return (wid_reason_t) i;
        }
    }
    return WID_R__COUNT;
}

uint32_t
wid_reason_wire_id(wid_reason_t r)
{
    const char *code = wid_reason_code(r);
    uint8_t     md[WID_SHA256_LEN];

    wid_sha256(code, strlen(code), md);
    return (uint32_t) md[0] << 24 | (uint32_t) md[1] << 16
           | (uint32_t) md[2] << 8 | md[3];
}

wid_reason_t
wid_reason_from_wire_id(uint32_t id)
{
    unsigned i;

    /* Only verifiers call this, once per gap record: a scan will do. */
    for (i = 1; i < WID_R__COUNT; i++) {
        if (wid_reason_wire_id((wid_reason_t) i) == id) {
            return (wid_reason_t) i;
        }
    }
    return WID_R__COUNT;
}
