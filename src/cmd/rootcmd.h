#ifndef IAMKEYS_ROOTCMD_H
#define IAMKEYS_ROOTCMD_H
/*
 * The command-line side of root access keys across the organization
 * (engine/rootkeys.h): delete --root, and audit's --root-via assume-root.
 */
#include "cmd/keycmd.h"
#include "engine/rootkeys.h"

/*
 * delete --root after cli_parse: checks the arguments (exit 2 with one
 * line), the preconditions (one line each that failed, exit 1), then one
 * line per account; a cmd_result (4 when some accounts failed).
 */
int root_delete_run(struct cli *cli, struct key_command *kc);

/*
 * The preconditions of AssumeRoot with c: CMD_CONTINUE when all hold, else
 * CMD_FAILED after one "iamkeys: error: ..." line per failed check.
 * *caller_account (may be NULL) gets the caller's account (caller frees).
 */
int root_preconditions_cli(struct aws_client *c, char **caller_account);

/* One account's root keys as one line (no account prefix, no newline). */
void root_account_format(struct strbuf *out, const struct root_account *r, enum root_mode mode);

#endif
