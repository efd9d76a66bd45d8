#ifndef IAMKEYS_NOTIFY_H
#define IAMKEYS_NOTIFY_H
/*
 * Where owner notifications go (--notify TARGET), one vtable each:
 *   sns:TOPIC_ARN        SNS Publish: the event JSON as the message, Subject
 *                        "iamkeys <event> <user>", String message attributes
 *                        iamkeys.event, iamkeys.user (and iamkeys.owner)
 *   webhook:https://...  POST of the event JSON (Content-Type application/json);
 *                        its "text" member is what Slack and Microsoft Teams
 *                        incoming webhooks show. https only; the server's
 *                        certificate is verified (AWS_CA_BUNDLE is honoured)
 *   exec:COMMAND         COMMAND run as the exec sink runs it (no shell, the
 *                        same environment allow-list, {user}/{account}
 *                        placeholders, timeout), the event JSON on its stdin,
 *                        IAMKEYS_EVENT, IAMKEYS_USER, IAMKEYS_ACCOUNT,
 *                        IAMKEYS_OWNER, IAMKEYS_ACCESS_KEY_ID in its environment
 * An event never holds a secret (core/notify_event.h). A webhook URL is a
 * credential of its own: messages name only its scheme and host.
 */
#include "core/notify_event.h"
#include "core/strbuf.h"

struct aws_client;

struct notify_context {
	struct aws_client *client; /* sns: the client to publish with; webhook: AWS_CA_BUNDLE */
	int exec_timeout_ms;	   /* exec: 0 = the exec sink's default */
};

struct notifier;
struct notifier_vtable {
	const char *scheme;
	/* Sends ev (json: notify_event_json of it). 0, or -1 with a one-line message in err. */
	int (*send)(struct notifier *n, const struct notify_event *ev, const char *json,
		    struct strbuf *err);
	/* Optional: frees what the kind adds (notifier_free frees the base's fields and n). */
	void (*release)(struct notifier *n);
};
struct notifier {
	const struct notifier_vtable *vt;
	const struct notify_context *ctx; /* borrowed; outlives the notifier */
	char *spec;			  /* as given */
	char *name; /* for messages: "webhook:https://hooks.example.com/..." */
	char *arg;  /* spec's part after the scheme: the topic ARN, the URL, the command */
};

/*
 * Parses spec. NULL with a one-line message in err for an unknown scheme,
 * an SNS ARN that is not a topic ARN, a webhook URL that is not https:// with
 * a host, or an exec: command that does not split into words. Nothing is
 * sent and nothing is run.
 */
struct notifier *notifier_new(const char *spec, const struct notify_context *ctx,
			      struct strbuf *err);
/* Builds the event's JSON and sends it. 0, or -1 with "<name>: ..." in err. */
int notifier_send(struct notifier *n, const struct notify_event *ev, struct strbuf *err);
void notifier_free(struct notifier *n);

/* For the implementations (src/sinks/notify_*.c). Each takes spec's part
 * after the scheme; they fill n->name themselves. */
struct notifier *notifier_sns_new(const char *arn, struct strbuf *err);
struct notifier *notifier_webhook_new(const char *url, struct strbuf *err);
struct notifier *notifier_exec_new(const char *command, struct strbuf *err);
/* A new notifier of size bytes (the kind's struct, struct notifier first): vt, a
 * copy of arg and name (owned; NULL: "<scheme>:<arg>") set, the rest zero. */
void *notifier_alloc(size_t size, const struct notifier_vtable *vt, const char *arg, char *name);

#endif
