#include <string.h>

#include "reason.h"

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
