/*
 * The commands, one function each (argc/argv start at the command name;
 * the return value is the exit code). Only the dispatcher (main.c) includes
 * this: a command never calls another command.
 */
#ifndef ZKVAULT_COMMANDS_H
#define ZKVAULT_COMMANDS_H

#include "cli.h"

int cli_cmd_generate(cli *c, int argc, char **argv);
int cli_cmd_init(cli *c, int argc, char **argv);
int cli_cmd_add(cli *c, int argc, char **argv);
int cli_cmd_get(cli *c, int argc, char **argv);
int cli_cmd_list(cli *c, int argc, char **argv);
int cli_cmd_search(cli *c, int argc, char **argv);
int cli_cmd_edit(cli *c, int argc, char **argv);
int cli_cmd_rm(cli *c, int argc, char **argv);
int cli_cmd_history(cli *c, int argc, char **argv);
int cli_cmd_export(cli *c, int argc, char **argv);
int cli_cmd_import(cli *c, int argc, char **argv);
int cli_cmd_register(cli *c, int argc, char **argv);
int cli_cmd_login(cli *c, int argc, char **argv);
int cli_cmd_kit(cli *c, int argc, char **argv);
int cli_cmd_sync(cli *c, int argc, char **argv);
int cli_cmd_passwd(cli *c, int argc, char **argv);
int cli_cmd_devices(cli *c, int argc, char **argv);
int cli_cmd_revoke(cli *c, int argc, char **argv);
int cli_cmd_link(cli *c, int argc, char **argv);
int cli_cmd_restore(cli *c, int argc, char **argv);
int cli_cmd_totp(cli *c, int argc, char **argv);
int cli_cmd_clip(cli *c, int argc, char **argv);
int cli_cmd_audit(cli *c, int argc, char **argv);
int cli_cmd_shell(cli *c, int argc, char **argv);
int cli_cmd_logout(cli *c, int argc, char **argv);
int cli_cmd_delete_account(cli *c, int argc, char **argv);


#endif
