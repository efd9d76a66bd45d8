#include "core/compat.h"
#include "core/permissions.h"

const struct sink_scheme sink_schemes[] = {
	{ "file", "file:PATH", "a JSON file {AccessKeyId, SecretAccessKey, UserName, CreateDate}, 0600, written atomically" },
	{ "profile", "profile:NAME[@FILE]", "a profile of the shared credentials file, edited in place" },
	{ "secretsmanager", "secretsmanager:NAME", "an AWS Secrets Manager secret" },
	{ "ssm", "ssm:NAME", "an SSM Parameter Store SecureString" },
	{ "exec", "exec:COMMAND", "a command run without a shell, the JSON on its standard input" },
	{ "-", "-", "standard output (only when asked)" },
	{ NULL, NULL, NULL },
};

const struct permission permissions[] = {
	{ NULL, NULL, NULL, NULL, 0, NULL },
};

int permissions_know_command(const char *command)
{
	const struct permission *p;
	for (p = permissions; p->scope; p++)
		if (!strcmp(p->scope, command))
			return 1;
	return 0;
}

json_t *permissions_json(void)
{
	json_t *a = json_array();
	const struct permission *p;
	for (p = permissions; p->scope; p++) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b}", "scope", p->scope, "action",
				      p->action, "resource", p->resource, "when", p->when,
				      "fallback", !!(p->flags & PERM_FALLBACK));
		if (p->note)
			json_object_set_new(o, "note", json_string(p->note));
		json_array_append_new(a, o);
	}
	return a;
}

json_t *permissions_policy(const char *command, const char *sink, int org, struct strbuf *err)
{
	return NULL;
}
