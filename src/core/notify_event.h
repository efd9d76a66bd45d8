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
	NOTIFY_BLOCKED,	    /* the old key is still in use (last use) */
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
	const char *user;	  /* required */
	const char *account;	  /* 12 digits */
	const char *owner;	  /* the owner tag's value */
	const char *key_id;	  /* the key the event is about (the old key) */
	const char *new_key_id;	  /* delivered and later: the new key */
	const char *const *where; /* delivered: the targets, NULL-terminated */
	const char *reason;	  /* blocked, failed: why */
	/* blocked: the old key's last use (GetAccessKeyLastUsed) */
	const char *last_used_service, *last_used_region, *last_used_date;
	const char *due_date; /* due-soon: when --rotate-after is reached (ISO 8601) */
	time_t time;	      /* when it happened (AWS's clock) */
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

/*
 * What was sent, kept in the user tag NOTIFY_TAG so that a re-run does not
 * notify again: "v=1 key=AKIA... sent=due-soon/delivered/blocked". key is
 * the old key of the rotation the events are about (the due key before it
 * starts); a record of another key is a finished rotation's. IAM's tag
 * character set has no ',': the kinds are separated by '/'. At most
 * 4 + 4 + 128 + 6 + 66 characters, under IAM's 256.
 */
#define NOTIFY_TAG "iamkeys:notified"
struct notify_record {
	char key[128 + 1];
	unsigned sent; /* 1u << enum notify_kind */
};
/* 0, or -1 for a malformed value (*out is then empty). */
int notify_record_parse(const char *value, struct notify_record *out);
void notify_record_format(struct strbuf *out, const struct notify_record *r);

/*
 * Which events a user's state calls for, after a rotate run. The events of
 * a rotation follow from its stage, so a run that died between a step and
 * its notification sends it on the next run:
 *   stage delivered: delivered (+ blocked when the run found the old key in use)
 *   stage deactivated: delivered, deactivated
 *   stage rolled-back: delivered, rolled-back
 *   no rotation, and the record's key is gone: deleted (the rotation ended)
 *   no rotation, an active key due within the warning: due-soon (of that key)
 *   a step failed: failed
 * minus those the record already holds for the same key. *key is the key
 * the events are about (points into in or rec). The result is a mask of
 * 1u << kind.
 */
struct notify_state {
	int rotating;	     /* a rotation tag names a stage */
	int stage;	     /* enum rotation_stage (core/rotation.h) when rotating */
	const char *old_key; /* the rotation's old key when rotating */
	int blocked, failed;
	const char *due_key;	/* not rotating: an active key due soon, or NULL */
	const char *active_key; /* failed outside a rotation: the oldest active key */
	int record_key_exists;	/* the record's key is still one of the user's keys */
};
unsigned notify_due_events(const struct notify_state *in, const struct notify_record *rec,
			   const char **key);

#endif
