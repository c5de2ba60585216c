#include <string.h>

#include "verdict.h"

static const char *const wid_verdict_names[] = {
    NULL, "allow", "deny", "observe"
};


const char *
wid_verdict_name(wid_verdict_t v)
{
    return (v >= WID_VERDICT_ALLOW && v <= WID_VERDICT_OBSERVE)
           ? wid_verdict_names[v] : "?";
}


int
wid_verdict_parse(const char *s, wid_verdict_t *out)
{
    int i;

    for (i = WID_VERDICT_ALLOW; i <= WID_VERDICT_OBSERVE; i++) {
        if (s && strcmp(s, wid_verdict_names[i]) == 0) {
            *out = (wid_verdict_t) i;
            return 0;
        }
    }
    return -1;
}
