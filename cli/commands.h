/*
 * `wid` subcommands.  Each group lives in its own cli/cmd_<group>.c and
 * receives argv starting at the group name.  Exit codes are a contract:
 * 0 valid/allow/done, 1 rejected/deny/invalid, 2 usage or operational error.
 */
#ifndef WID_CLI_COMMANDS_H
#define WID_CLI_COMMANDS_H

#include "reason.h"

#define WID_EXIT_OK       0
#define WID_EXIT_REJECTED 1
#define WID_EXIT_USAGE    2

typedef int (*wid_cmd_fn)(int argc, char **argv);

/*
 * Declared weak so that a group not yet built into this binary is
 * reported as unavailable instead of breaking the link.
 */
#define WID_CMD(name) int name(int argc, char **argv) __attribute__((weak))

WID_CMD(wid_cmd_id);
WID_CMD(wid_cmd_svid);
WID_CMD(wid_cmd_bundle);
WID_CMD(wid_cmd_policy);
WID_CMD(wid_cmd_keygen);
WID_CMD(wid_cmd_journal);
WID_CMD(wid_cmd_receipt);
WID_CMD(wid_cmd_attest);
WID_CMD(wid_cmd_reasons);

#undef WID_CMD

/* 1 when the argument after the group name or after its subcommand is
 * --help or -h: the group then prints its usage to stdout and exits 0. */
int wid_cli_help(int argc, char **argv);

/*
 * The exit code for a refusal with r: 2 when nothing could be judged (an
 * internal error, a bundle unreadable, an empty directory or a directory
 * named for one trust domain), 1 when a bundle or credential was read
 * and found invalid.
 */
int wid_exit_for(wid_reason_t r);

#endif
