#ifndef IAMKEYS_COMMANDS_H
#define IAMKEYS_COMMANDS_H
/* One function per subcommand (src/cmd/cmd_<name>.c); the table is in src/main.c. */
#include "cmd/cli.h"

int cmd_users(struct cli *cli, int argc, const char **argv);
int cmd_audit(struct cli *cli, int argc, const char **argv);
int cmd_deactivate(struct cli *cli, int argc, const char **argv);
int cmd_create(struct cli *cli, int argc, const char **argv);
int cmd_update(struct cli *cli, int argc, const char **argv);
int cmd_delete(struct cli *cli, int argc, const char **argv);
int cmd_rotate(struct cli *cli, int argc, const char **argv);
int cmd_rollback(struct cli *cli, int argc, const char **argv);
int cmd_revoke(struct cli *cli, int argc, const char **argv);
int cmd_policy(struct cli *cli, int argc, const char **argv);
int cmd_trace(struct cli *cli, int argc, const char **argv);

#endif
