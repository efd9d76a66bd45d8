/* iamkeys users: list every IAM user, every page (runbook step 1). */
#include "compat.h"
#include "commands.h"
#include "aws/iam.h"

static const struct out_column user_columns[] = {
	{ "UserName", "USER" },
	{ "UserId", "USER ID" },
	{ "Arn", "ARN" },
	{ "Path", "PATH" },
	{ "CreateDate", "CREATED" },
	{ "PasswordLastUsed", "PASSWORD LAST USED" },
};

int cmd_users(struct cli *cli, int argc, const char **argv)
{
	const char *path_prefix = NULL;
	struct option opts[] = {
		{ "path-prefix", 0, OPT_STRING, &path_prefix, "PREFIX",
		  "only users whose path starts with PREFIX (e.g. /engineering/)", 0 },
		OPT_COMMON(cli->g),
		OPT_TERMINATOR,
	};
	struct opt_list rest = { 0 };
	struct iam_user_list users = { 0 };
	struct out_table t;
	struct strbuf err = STRBUF_INIT;
	struct aws_client *c;
	size_t i;
	int rc;

	rc = cli_parse(cli, opts, argc, argv, &rest, 0);
	opt_list_release(&rest);
	if (rc >= 0)
		return rc;
	if (path_prefix && (path_prefix[0] != '/' || path_prefix[strlen(path_prefix) - 1] != '/'))
		return usage_error(cli, "invalid --path-prefix '%s': it must start and end with '/'",
				   path_prefix);
	c = cli_client(cli);
	if (!c)
		return CMD_FAILED;
	if (iam_list_users(c, path_prefix, &users, &err) < 0) {
		error("%s", err.buf);
		strbuf_release(&err);
		iam_user_list_release(&users);
		return CMD_FAILED;
	}
	out_table_init(&t, user_columns, ARRAY_SIZE(user_columns));
	for (i = 0; i < users.nusers; i++) {
		const struct iam_user *u = &users.users[i];
		size_t r = out_table_add_row(&t);
		out_set_str(&t, r, 0, u->user_name);
		out_set_str(&t, r, 1, u->user_id);
		out_set_str(&t, r, 2, u->arn);
		out_set_str(&t, r, 3, u->path);
		out_set_str(&t, r, 4, u->create_date);
		out_set_str(&t, r, 5, u->password_last_used);
	}
	rc = out_table_print(&t, cli->fmt, &cli->style, stdout) < 0 ? CMD_FAILED : CMD_OK;
	out_table_release(&t);
	iam_user_list_release(&users);
	strbuf_release(&err);
	return rc;
}
