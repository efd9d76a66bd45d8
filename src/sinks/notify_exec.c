#include "core/compat.h"
#include "sinks/notify.h"
#include "sinks/sink.h"

static void add_env(char ***env, size_t *n, const char *name, const char *value)
{
	struct strbuf sb = STRBUF_INIT;

	if (!value || !*value)
		return;
	strbuf_addf(&sb, "%s=%s", name, value);
	(*env)[(*n)++] = strbuf_detach(&sb, NULL);
	(*env)[*n] = NULL;
}

/* The command is made per event: {user} and {account} are the event's. */
static int exec_send(struct notifier *n, const struct notify_event *ev, const char *json,
		     struct strbuf *err)
{
	struct sink_context sctx = { 0 };
	struct strbuf spec = STRBUF_INIT, input = STRBUF_INIT;
	struct sink *k;
	char **env = xcalloc(6, sizeof(*env));
	size_t ne = 0;
	int ret;

	sctx.user = ev->user;
	sctx.account = ev->account;
	sctx.exec_timeout_ms = n->ctx ? n->ctx->exec_timeout_ms : 0;
	strbuf_addf(&spec, "exec:%s", n->arg);
	k = sink_new(spec.buf, &sctx, err);
	strbuf_release(&spec);
	if (!k) {
		free(env);
		return -1;
	}
	add_env(&env, &ne, "IAMKEYS_EVENT", notify_kind_name(ev->kind));
	add_env(&env, &ne, "IAMKEYS_USER", ev->user);
	add_env(&env, &ne, "IAMKEYS_ACCOUNT", ev->account);
	add_env(&env, &ne, "IAMKEYS_OWNER", ev->owner);
	add_env(&env, &ne, "IAMKEYS_ACCESS_KEY_ID", ev->key_id);
	strbuf_addf(&input, "%s\n", json);
	ret = sink_exec_run(k, env, input.buf, input.len, err);
	strbuf_release(&input);
	sink_argv_free(env);
	sink_free(k);
	return ret;
}

static const struct notifier_vtable exec_vtable = {
	.scheme = "exec",
	.send = exec_send,
};

struct notifier *notifier_exec_new(const char *command, struct strbuf *err)
{
	struct strbuf why = STRBUF_INIT;
	char **argv;
	size_t argc;

	if (sink_split_command(command, &argv, &argc, &why)) {
		strbuf_addf(err, "exec:%s: %s", command, why.buf);
		strbuf_release(&why);
		return NULL;
	}
	sink_argv_free(argv);
	return notifier_alloc(sizeof(struct notifier), &exec_vtable, command, NULL);
}
