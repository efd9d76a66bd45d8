#ifndef IAMKEYS_NOTIFY_EVENT_H
#define IAMKEYS_NOTIFY_EVENT_H
/*
 * An owner notification (--notify): what happened to whose key, as the
 * JSON document every notify target receives and as one line of text (the
 * "text" field chat webhooks show). Pure: the caller supplies the time.
 * Nothing here ever holds a secret: an event names access key ids only.
 */
#include <time.h>
#include "core/strbuf.h"

enum notify_kind {
	NOTIFY_DUE_SOON,    /* the key reaches --rotate-after within --warn */
	NOTIFY_DELIVERED,   /* a new key was created and delivered (where) */
	NOTIFY_BLOCKED,     /* the old key is still in use (last use) */
	NOTIFY_DEACTIVATED, /* the old key was deactivated */
	NOTIFY_DELETED,	    /* the old key was deleted */
	NOTIFY_ROLLED_BACK, /* the old key was re-activated, the new one removed */
	NOTIFY_FAILED,	    /* a rotation step failed (why) */
	NOTIFY__COUNT
};

/* "due-soon", "delivered", ... ("" for a bad kind). */
const char *notify_kind_name(enum notify_kind k);
/* The kind of a name: 0, or -1 when it is not one. */
int notify_kind_parse(const char *name, enum notify_kind *out);

/* Every string borrowed and optional (NULL: left out) unless marked. */
struct notify_event {
	enum notify_kind kind;
	const char *user;	 /* required */
	const char *account;	 /* 12 digits */
	const char *owner;	 /* the owner tag's value */
	const char *key_id;	 /* the key the event is about (the old key) */
	const char *new_key_id;	 /* delivered and later: the new key */
	const char *const *where; /* delivered: the targets, NULL-terminated */
	const char *reason;	 /* blocked, failed: why */
	/* blocked: the old key's last use (GetAccessKeyLastUsed) */
	const char *last_used_service, *last_used_region, *last_used_date;
	const char *due_date;	 /* due-soon: when --rotate-after is reached (ISO 8601) */
	time_t time;		 /* when it happened (AWS's clock) */
};

/*
 * The event as one JSON object (compact, keys in a fixed order):
 * {"source":"iamkeys","event":"blocked","time":"...Z","user":"alice",
 *  "account":"...","owner":"...","access_key_id":"AKIA...","new_access_key_id":"...",
 *  "where":[...],"reason":"...","last_used":{"service","region","date"},
 *  "due":"...","text":"<notify_event_text>"}. Appended to out. 0, or -1 (bad kind, no user).
 */
int notify_event_json(struct strbuf *out, const struct notify_event *ev);
/* One line for people: "iamkeys: alice (owner: team-a): key AKIA... still in use
 * (s3, eu-west-1, 2026-01-02T...Z): rotation waits". Appended to out. */
void notify_event_text(struct strbuf *out, const struct notify_event *ev);

#endif
