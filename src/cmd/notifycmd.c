#include "core/compat.h"
#include "cmd/notifycmd.h"
#include "aws/msg.h"

int notify_opts_check(struct cli *cli, struct notify_opts *n)
{
	struct strbuf err = STRBUF_INIT;
	size_t i;
	int rc = CMD_CONTINUE;

	if ((n->best_effort || n->owner_tag) && !n->targets.n)
		return usage_error(cli, "--%s is for --notify",
				   n->best_effort ? "notify-best-effort" : "owner-tag");
	if (!n->targets.n)
		return CMD_CONTINUE;
	n->notifiers = xcalloc(n->targets.n, sizeof(*n->notifiers));
	for (i = 0; i < n->targets.n; i++) {
		strbuf_reset(&err);
		n->notifiers[i] = notifier_new(n->targets.items[i], &n->ctx, &err);
		if (!n->notifiers[i]) {
			rc = usage_error(cli, "%s", err.buf);
			break;
		}
	}
	strbuf_release(&err);
	return rc;
}

int notify_opts_run(struct notify_opts *n, struct aws_client *c, struct notify_run_options *o,
		    const struct rotate_report *r, int rc)
{
	struct notify_run_result res = { 0 };

	n->ctx.client = c;
	o->targets = n->notifiers;
	o->ntargets = n->targets.n;
	o->ctx = &n->ctx;
	o->owner_tag = n->owner_tag;
	strbuf_init(&res.errors, 0);
	if (notify_after_rotate(c, o, r, &res) < 0 || res.failed) {
		/* one line each; the command's steps stand, the next run retries */
		if (res.errors.len)
			error("%s", res.errors.buf);
		if (!n->best_effort && rc == CMD_OK)
			rc = CMD_FINDINGS;
	}
	notify_run_result_release(&res);
	return rc;
}

void notify_opts_release(struct notify_opts *n)
{
	size_t i;
	for (i = 0; n->notifiers && i < n->targets.n; i++)
		notifier_free(n->notifiers[i]);
	free(n->notifiers);
	n->notifiers = NULL;
	opt_list_release(&n->targets);
}
