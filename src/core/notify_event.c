#include "core/compat.h"
#include "core/notify_event.h"
#include "core/timeutil.h"
#include "core/rotation.h"

#include <jansson.h>

static const char *const kind_names[NOTIFY__COUNT] = {
	[NOTIFY_DUE_SOON] = "due-soon", [NOTIFY_DELIVERED] = "delivered",
	[NOTIFY_BLOCKED] = "blocked",	[NOTIFY_DEACTIVATED] = "deactivated",
	[NOTIFY_DELETED] = "deleted",	[NOTIFY_ROLLED_BACK] = "rolled-back",
	[NOTIFY_FAILED] = "failed",
};

const char *notify_kind_name(enum notify_kind k)
{
	return (unsigned)k < NOTIFY__COUNT ? kind_names[k] : "";
}

int notify_kind_parse(const char *name, enum notify_kind *out)
{
	int i;

	for (i = 0; name && i < NOTIFY__COUNT; i++)
		if (!strcmp(name, kind_names[i])) {
			*out = (enum notify_kind)i;
			return 0;
		}
	return -1;
}

/* "<before>key <id><after>" ("(unknown)" for a missing id) */
static void text_key(struct strbuf *out, const char *before, const char *id, const char *after)
{
	strbuf_addf(out, "%skey %s%s", before, id && *id ? id : "(unknown)", after);
}

void notify_event_text(struct strbuf *out, const struct notify_event *ev)
{
	size_t i;

	strbuf_addf(out, "iamkeys: %s", ev->user ? ev->user : "?");
	if (ev->account && *ev->account)
		strbuf_addf(out, " (account %s)", ev->account);
	if (ev->owner && *ev->owner)
		strbuf_addf(out, ", owner %s", ev->owner);
	strbuf_addstr(out, ": ");
	switch (ev->kind) {
	case NOTIFY_DUE_SOON:
		text_key(out, "", ev->key_id, " is due for rotation");
		if (ev->due_date)
			strbuf_addf(out, " on %s", ev->due_date);
		break;
	case NOTIFY_DELIVERED:
		text_key(out, "new ", ev->new_key_id, " delivered");
		for (i = 0; ev->where && ev->where[i]; i++)
			strbuf_addf(out, "%s%s", i ? ", " : " to ", ev->where[i]);
		if (ev->key_id)
			strbuf_addf(out, "; update every application using %s", ev->key_id);
		break;
	case NOTIFY_BLOCKED:
		text_key(out, "old ", ev->key_id, " is still in use");
		if (ev->last_used_service || ev->last_used_region || ev->last_used_date)
			strbuf_addf(out, " (last used: %s, %s, %s)",
				    ev->last_used_service ? ev->last_used_service : "-",
				    ev->last_used_region ? ev->last_used_region : "-",
				    ev->last_used_date ? ev->last_used_date : "-");
		if (ev->reason)
			strbuf_addf(out, ": %s", ev->reason);
		strbuf_addstr(out, "; the rotation waits until it is not");
		break;
	case NOTIFY_DEACTIVATED:
		text_key(out, "old ", ev->key_id, " deactivated");
		break;
	case NOTIFY_DELETED:
		text_key(out, "old ", ev->key_id, " deleted");
		break;
	case NOTIFY_ROLLED_BACK:
		text_key(out, "rotation rolled back: ", ev->key_id, " active again");
		if (ev->reason)
			strbuf_addf(out, " (%s)", ev->reason);
		break;
	case NOTIFY_FAILED:
	default:
		text_key(out, "rotation of ", ev->key_id, " failed");
		if (ev->reason)
			strbuf_addf(out, ": %s", ev->reason);
		break;
	}
}

static void set_str(json_t *o, const char *name, const char *v)
{
	if (v)
		json_object_set_new(o, name, json_string(v));
}

int notify_event_json(struct strbuf *out, const struct notify_event *ev)
{
	struct strbuf when = STRBUF_INIT, text = STRBUF_INIT;
	json_t *o;
	char *s;
	size_t i;

	if ((unsigned)ev->kind >= NOTIFY__COUNT || !ev->user || !*ev->user)
		return -1;
	o = json_object();
	json_object_set_new(o, "source", json_string("iamkeys"));
	json_object_set_new(o, "event", json_string(kind_names[ev->kind]));
	iso8601_format(&when, ev->time);
	json_object_set_new(o, "time", json_string(when.buf));
	set_str(o, "user", ev->user);
	set_str(o, "account", ev->account);
	set_str(o, "owner", ev->owner);
	set_str(o, "access_key_id", ev->key_id);
	set_str(o, "new_access_key_id", ev->new_key_id);
	if (ev->where) {
		json_t *w = json_array();
		for (i = 0; ev->where[i]; i++)
			json_array_append_new(w, json_string(ev->where[i]));
		json_object_set_new(o, "where", w);
	}
	set_str(o, "reason", ev->reason);
	if (ev->last_used_service || ev->last_used_region || ev->last_used_date) {
		json_t *l = json_object();
		set_str(l, "service", ev->last_used_service);
		set_str(l, "region", ev->last_used_region);
		set_str(l, "date", ev->last_used_date);
		json_object_set_new(o, "last_used", l);
	}
	set_str(o, "due", ev->due_date);
	notify_event_text(&text, ev);
	json_object_set_new(o, "text", json_string(text.buf));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(o);
	strbuf_release(&when);
	strbuf_release(&text);
	if (!s)
		return -1;
	strbuf_addstr(out, s);
	free(s);
	return 0;
}

int notify_record_parse(const char *value, struct notify_record *out)
{
	const char *p = value, *end;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!value || strncmp(p, "v=1 key=", 8))
		return -1;
	p += 8;
	end = strchr(p, ' ');
	n = end ? (size_t)(end - p) : 0;
	if (!n || n >= sizeof(out->key) || strncmp(end, " sent=", 6))
		goto bad;
	memcpy(out->key, p, n);
	out->key[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!((out->key[i] >= 'A' && out->key[i] <= 'Z') ||
		      (out->key[i] >= '0' && out->key[i] <= '9')))
			goto bad;
	p = end + 6;
	while (*p) {
		char name[16];
		enum notify_kind k;
		size_t len = strcspn(p, "/");

		if (!len || len >= sizeof(name))
			goto bad;
		memcpy(name, p, len);
		name[len] = '\0';
		if (notify_kind_parse(name, &k))
			goto bad;
		out->sent |= 1u << k;
		p += len;
		if (*p == '/' && !*++p)
			goto bad;
	}
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return -1;
}

void notify_record_format(struct strbuf *out, const struct notify_record *r)
{
	int i, first = 1;

	strbuf_addf(out, "v=1 key=%s sent=", r->key);
	for (i = 0; i < NOTIFY__COUNT; i++)
		if (r->sent & (1u << i)) {
			strbuf_addf(out, "%s%s", first ? "" : "/", kind_names[i]);
			first = 0;
		}
}

unsigned notify_due_events(const struct notify_state *in, const struct notify_record *rec,
			   const char **key)
{
	unsigned want = 0;
	const char *k = NULL;

	if (in->rotating && in->old_key && *in->old_key) {
		k = in->old_key;
		switch (in->stage) {
		case STAGE_DELIVERED:
			want |= 1u << NOTIFY_DELIVERED;
			if (in->blocked)
				want |= 1u << NOTIFY_BLOCKED;
			break;
		case STAGE_DEACTIVATED:
			want |= 1u << NOTIFY_DELIVERED | 1u << NOTIFY_DEACTIVATED;
			break;
		case STAGE_ROLLED_BACK:
			want |= 1u << NOTIFY_DELIVERED | 1u << NOTIFY_ROLLED_BACK;
			break;
		default:
			break;
		}
	} else if (!in->rotating && rec && rec->key[0] && !in->record_key_exists &&
		   (rec->sent & (1u << NOTIFY_DELIVERED))) {
		k = rec->key; /* the rotation of rec->key ended with its deletion */
		want |= 1u << NOTIFY_DELETED;
	} else if (!in->rotating && in->due_key) {
		k = in->due_key;
		want |= 1u << NOTIFY_DUE_SOON;
	}
	if (in->failed) {
		if (!k)
			k = in->old_key && *in->old_key ? in->old_key
			    : in->due_key		? in->due_key
							: in->active_key;
		want |= 1u << NOTIFY_FAILED;
	}
	if (rec && k && !strcmp(rec->key, k))
		want &= ~rec->sent;
	*key = k;
	return k ? want : 0;
}
