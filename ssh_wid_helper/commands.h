/*
 * ssh-wid-helper subcommands, one file each (issue, serve, principals,
 * revoke, pubkey).  Same exit-code contract as the wid CLI.
 */
#ifndef SSH_WID_COMMANDS_H
#define SSH_WID_COMMANDS_H

typedef int (*ssh_wid_cmd_fn)(int argc, char **argv);

#define SSH_WID_CMD(name) int name(int argc, char **argv) __attribute__((weak))

SSH_WID_CMD(ssh_wid_cmd_issue);
SSH_WID_CMD(ssh_wid_cmd_serve);
SSH_WID_CMD(ssh_wid_cmd_principals);
SSH_WID_CMD(ssh_wid_cmd_revoke);
SSH_WID_CMD(ssh_wid_cmd_pubkey);

#undef SSH_WID_CMD

#endif
