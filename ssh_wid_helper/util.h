/*
 * Small helpers shared by the ssh-wid-helper subcommands: strict number
 * parsing, option matching, and the exit-code contract (0 done/allow,
 * 1 rejected/deny with a reason code, 2 usage or operational error).
 */
#ifndef SSH_WID_UTIL_H
#define SSH_WID_UTIL_H

#include <stdint.h>

#include "reason.h"

/* Decimal digits only (no sign, space or leading zero); -1 on overflow. */
int ssh_wid_parse_u64(const char *s, uint64_t *v);

/*
 * When argv[*i] is name, take argv[*i + 1] as its value, advance *i and
 * return 1; return -1 when the value is missing, 0 when not this option.
 */
int ssh_wid_opt(int argc, char **argv, int *i, const char *name,
                const char **val);

/* Exit code for a reason: 2 for operational failures, else 1. */
int ssh_wid_exit_code(wid_reason_t rc);

/*
 * Print "ssh-wid-helper CMD: CODE (explanation)[: detail]" on stderr and
 * return the exit code for rc.
 */
int ssh_wid_fail(const char *cmd, wid_reason_t rc, const char *detail);

/* Usage error: message on stderr, returns 2. */
int ssh_wid_usage_error(const char *cmd, const char *msg, const char *usage);

uint64_t ssh_wid_now(void);

/* Free len bytes, or a string, that may hold a bearer token (a JWT-SVID),
 * wiped first; NULL is fine. */
void ssh_wid_free_secret_len(void *p, size_t len);
void ssh_wid_free_secret(char *s);

#endif
