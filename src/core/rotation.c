#include "core/compat.h"
#include "core/rotation.h"
#include "core/timeutil.h"

static const char *const stage_names[] = {
	[STAGE_IDLE] = "idle",
	[STAGE_INTENT] = "intent",
	[STAGE_DELIVERED] = "delivered",
	[STAGE_DEACTIVATED] = "deactivated",
	[STAGE_ROLLED_BACK] = "rolled-back",
};

/* The index of name in names (n of them, some NULL), or -1. */
static int name_index(const char *const *names, size_t n, const char *name)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (names[i] && !strcmp(name, names[i]))
			return (int)i;
	return -1;
}

int rotation_stage_parse(const char *name, enum rotation_stage *out)
{
	int i = name_index(stage_names, ARRAY_SIZE(stage_names), name);
	if (i < 0)
		return -1;
	*out = (enum rotation_stage)i;
	return 0;
}

static const char *const kind_names[] = {
	[ROT_DELETE_KEY] = "DeleteKey",	 [ROT_TAG] = "Tag",
	[ROT_CREATE] = "CreateKey",	 [ROT_DEACTIVATE] = "Deactivate",
	[ROT_REACTIVATE] = "Reactivate", [ROT_UNTAG] = "Untag",
};

const char *rot_action_kind_name(enum rot_action_kind k)
{
	return (unsigned)k < ARRAY_SIZE(kind_names) ? kind_names[k] : NULL;
}

int rot_action_kind_parse(const char *name, enum rot_action_kind *out)
{
	int i = name_index(kind_names, ARRAY_SIZE(kind_names), name);
	if (i < 0)
		return -1;
	*out = (enum rot_action_kind)i;
	return 0;
}

const char *rotation_stage_name(enum rotation_stage s)
{
	return (unsigned)s < ARRAY_SIZE(stage_names) ? stage_names[s] : "unknown";
}

void rot_policy_defaults(struct rot_policy *p)
{
	p->rotate_after = 90LL * 86400;
	p->deactivate_after = 7LL * 86400;
	p->delete_after = 7LL * 86400;
	p->max_grace = 0;
	p->in_use_window = 24LL * 3600;
	p->skew = 300;
}

void rotation_format_compact_time(struct strbuf *out, time_t t)
{
	int y, mo, d, h, mi, s;
	utc_civil(t, &y, &mo, &d, &h, &mi, &s);
	strbuf_addf(out, "%04d%02d%02dT%02d%02d%02dZ", y, mo, d, h, mi, s);
}

int rotation_parse_compact_time(const char *s, time_t *out)
{
	int v[6], i, pos = 0;
	static const int len[6] = { 4, 2, 2, 2, 2, 2 };
	if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
		return -1;
	for (i = 0; i < 6; i++) {
		int j, n = 0;
		if (i == 3)
			pos++; /* 'T' */
		for (j = 0; j < len[i]; j++, pos++) {
			if (!isdigit((unsigned char)s[pos]))
				return -1;
			n = n * 10 + (s[pos] - '0');
		}
		v[i] = n;
	}
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 59)
		return -1;
	*out = utc_from_civil(v[0], v[1], v[2], v[3], v[4], v[5]);
	return 0;
}

int access_key_id_valid(const char *s)
{
	return access_key_id_valid_n(s, strlen(s));
}

/* min to max characters (of s's n), each a digit or a letter that is_letter accepts */
static int id_valid(const char *s, size_t n, size_t min, size_t max, int (*is_letter)(int))
{
	size_t i;
	if (n < min || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_letter((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

int access_key_id_valid_n(const char *s, size_t n)
{
	return id_valid(s, n, 16, ROTATION_KEY_ID_MAX, isupper);
}

/* Control characters (a newline in a message is two lines): never in an IAM tag value. */
static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/*
 * The next space-separated field of *p into field (size bytes), *p moved
 * past it: its length, 0 at the end, -1 when it does not fit (*p unmoved).
 */
static long next_field(const char **p, char *field, size_t size)
{
	const char *end;
	size_t n;

	while (**p == ' ')
		(*p)++;
	if (!**p)
		return 0;
	end = strchr(*p, ' ');
	if (!end)
		end = *p + strlen(*p);
	n = (size_t)(end - *p);
	if (n >= size)
		return -1;
	memcpy(field, *p, n);
	field[n] = '\0';
	*p = end;
	return (long)n;
}

/* 8 to ROTATION_RUN_ID_MAX lower-case letters and digits */
static int run_id_valid(const char *s)
{
	return id_valid(s, strlen(s), 8, ROTATION_RUN_ID_MAX, islower);
}

int rotation_tag_parse(const char *value, struct rotation_tag *out, struct strbuf *err)
{
	const char *p = value;
	int have_v = 0, have_t = 0;
	memset(out, 0, sizeof(*out));
	out->stage = STAGE_IDLE;
	if (!value || !*value) {
		strbuf_addstr(err, "empty rotation tag");
		return -1;
	}
	if (has_control(value)) {
		strbuf_addstr(err, "rotation tag holds a control character");
		return -1;
	}
	for (;;) {
		const char *eq;
		char field[ROTATION_KEY_ID_MAX + 8];
		long n = next_field(&p, field, sizeof(field));
		if (!n)
			break;
		if (n < 0) {
			strbuf_addstr(err, "rotation tag field too long");
			return -1;
		}
		eq = strchr(field, '=');
		if (!eq) {
			strbuf_addf(err, "rotation tag field '%s' has no '='", field);
			return -1;
		}
		if (!strncmp(field, "v=", 2)) {
			if (strcmp(field + 2, "1")) {
				strbuf_addf(err, "rotation tag version '%s' is not supported",
					    field + 2);
				return -1;
			}
			have_v = 1;
		} else if (!strncmp(field, "stage=", 6)) {
			const char *st = field + 6;
			if (!strcmp(st, "intent"))
				out->stage = STAGE_INTENT;
			else if (!strcmp(st, "delivered"))
				out->stage = STAGE_DELIVERED;
			else if (!strcmp(st, "deactivated"))
				out->stage = STAGE_DEACTIVATED;
			else if (!strcmp(st, "rolled-back"))
				out->stage = STAGE_ROLLED_BACK;
			else {
				strbuf_addf(err, "unknown rotation stage '%s'", st);
				return -1;
			}
		} else if (!strncmp(field, "old=", 4) || !strncmp(field, "new=", 4)) {
			char *dst = field[0] == 'o' ? out->old_key : out->new_key;
			if (!access_key_id_valid(field + 4)) {
				strbuf_addf(err, "invalid key id in rotation tag field '%.40s'",
					    field);
				return -1;
			}
			memcpy(dst, field + 4, strlen(field + 4) + 1);
		} else if (!strncmp(field, "run=", 4)) {
			if (!run_id_valid(field + 4)) {
				strbuf_addf(err, "invalid run id in rotation tag field '%s'",
					    field);
				return -1;
			}
			memcpy(out->run, field + 4, strlen(field + 4) + 1);
		} else if (!strncmp(field, "t=", 2)) {
			if (rotation_parse_compact_time(field + 2, &out->t) < 0) {
				strbuf_addf(err, "invalid time in rotation tag field '%s'", field);
				return -1;
			}
			have_t = 1;
		} else {
			strbuf_addf(err, "unknown rotation tag field '%.40s'", field);
			return -1;
		}
	}
	if (!have_v || out->stage == STAGE_IDLE || !out->old_key[0] || !have_t) {
		strbuf_addstr(err, "rotation tag lacks v, stage, old or t");
		return -1;
	}
	if (out->stage != STAGE_INTENT && !out->new_key[0]) {
		strbuf_addstr(err, "rotation tag lacks the new key");
		return -1;
	}
	return 0;
}

void create_mark_format(struct strbuf *out, const struct create_mark *m)
{
	strbuf_addf(out, "v=1 run=%s t=", m->run);
	rotation_format_compact_time(out, m->t);
	strbuf_addf(out, " sink=%s", m->sink);
}

/*
 * Reads the fields of a create mark or a key change record (what names it
 * in errors): "v=1" and "t=TIME", once each, are taken here (into have_v,
 * have_t and *t); mark_next returns the others.
 */
struct mark_reader {
	const char *what;
	const char *p;
	char field[64];
	int have_v, have_t;
	time_t *t;
};

/* 0 with r set up for value (NULL is ""), -1 with err when it holds a control character. */
static int mark_start(struct mark_reader *r, const char *what, const char *value, time_t *t,
		      struct strbuf *err)
{
	memset(r, 0, sizeof(*r));
	r->what = what;
	r->p = value ? value : "";
	r->t = t;
	if (has_control(r->p)) {
		strbuf_addf(err, "%s holds a control character", what);
		return -1;
	}
	return 0;
}

/* The next field in r->field that is not one taken here: its length, 0 at the end, -1 with err. */
static long mark_next(struct mark_reader *r, struct strbuf *err)
{
	for (;;) {
		long ln = next_field(&r->p, r->field, sizeof(r->field));
		if (ln < 0)
			strbuf_addf(err, "%s field '%.20s...' is too long", r->what, r->p);
		if (ln <= 0)
			return ln;
		if (!strcmp(r->field, "v=1") && !r->have_v)
			r->have_v = 1;
		else if (!strncmp(r->field, "t=", 2) && !r->have_t &&
			 rotation_parse_compact_time(r->field + 2, r->t) == 0)
			r->have_t = 1;
		else
			return ln;
	}
}

int create_mark_parse(const char *value, struct create_mark *out, struct strbuf *err)
{
	struct mark_reader r;
	long ln;

	memset(out, 0, sizeof(*out));
	if (mark_start(&r, "create mark", value, &out->t, err))
		return -1;
	while ((ln = mark_next(&r, err)) > 0) {
		const char *field = r.field;
		size_t n = (size_t)ln, i;
		if (!strncmp(field, "run=", 4) && !out->run[0] && run_id_valid(field + 4)) {
			memcpy(out->run, field + 4, n - 4 + 1);
		} else if (!strncmp(field, "sink=", 5) && !out->sink[0] &&
			   n - 5 == CREATE_MARK_SINK_HEX) {
			for (i = 5; i < n; i++)
				if (!isdigit((unsigned char)field[i]) &&
				    (field[i] < 'a' || field[i] > 'f'))
					break;
			if (i < n) {
				strbuf_addf(err, "invalid create mark field '%s'", field);
				return -1;
			}
			memcpy(out->sink, field + 5, CREATE_MARK_SINK_HEX + 1);
		} else {
			strbuf_addf(err, "invalid create mark field '%s'", field);
			return -1;
		}
	}
	if (ln < 0)
		return -1;
	if (!r.have_v || !out->run[0] || !r.have_t || !out->sink[0]) {
		strbuf_addstr(err, "create mark lacks v, run, t or sink");
		return -1;
	}
	return 0;
}

void keys_changed_format(struct strbuf *out, time_t t)
{
	strbuf_addstr(out, "v=1 t=");
	rotation_format_compact_time(out, t);
}

int keys_changed_parse(const char *value, time_t *t, struct strbuf *err)
{
	struct mark_reader r;
	long ln;

	*t = 0;
	if (mark_start(&r, "key change record", value, t, err))
		return -1;
	ln = mark_next(&r, err);
	if (ln > 0)
		strbuf_addf(err, "invalid key change record field '%s'", r.field);
	else if (!ln && r.have_v && r.have_t)
		return 0;
	else if (!ln)
		strbuf_addstr(err, "key change record lacks v or t");
	*t = 0;
	return -1;
}

void rotation_tag_format(struct strbuf *out, const struct rotation_tag *t)
{
	strbuf_addf(out, "v=1 stage=%s", rotation_stage_name(t->stage));
	if (t->run[0])
		strbuf_addf(out, " run=%s", t->run);
	strbuf_addf(out, " old=%s", t->old_key);
	if (t->new_key[0])
		strbuf_addf(out, " new=%s", t->new_key);
	strbuf_addstr(out, " t=");
	rotation_format_compact_time(out, t->t);
}

/* IAM's TagUser Value: ^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$, 0 to 256 characters; we only
 * ever write ASCII, so anything else is refused rather than classified. */
int rotation_tag_value_valid(const char *s)
{
	size_t n = 0;
	for (; *s; s++, n++) {
		unsigned char ch = (unsigned char)*s;
		if (!isalnum(ch) && ch != ' ' && !strchr("_.:/=+-@", ch))
			return 0;
	}
	return n <= ROTATION_TAG_MAX;
}

char *rotation_tag_join(const char *main, const char *new_id)
{
	struct strbuf sb = STRBUF_INIT;
	const char *t;
	if (!main)
		return NULL;
	t = new_id ? strstr(main, " t=") : NULL;
	if (!t || strstr(main, " new=")) {
		strbuf_addstr(&sb, main);
	} else {
		/* the new key goes where rotation_tag_format puts it: before t= */
		strbuf_add(&sb, main, (size_t)(t - main));
		strbuf_addf(&sb, " new=%s", new_id);
		strbuf_addstr(&sb, t);
	}
	return strbuf_detach(&sb, NULL);
}

int rotation_tag_split(const char *value, char **main, char **new_id, struct strbuf *err)
{
	struct strbuf m = STRBUF_INIT;
	const char *nw = strstr(value, " new=");
	*main = *new_id = NULL;
	if (nw) {
		const char *end = strchr(nw + 1, ' ');
		size_t n = end ? (size_t)(end - nw - 5) : strlen(nw + 5);
		strbuf_add(&m, value, (size_t)(nw - value));
		if (end)
			strbuf_addstr(&m, end);
		*new_id = xmemdupz(nw + 5, n);
	} else {
		strbuf_addstr(&m, value);
	}
	*main = strbuf_detach(&m, NULL);
	if (!rotation_tag_value_valid(*main) ||
	    (*new_id && (!**new_id || !rotation_tag_value_valid(*new_id)))) {
		strbuf_addf(err, "rotation tag '%.60s' is not a valid IAM tag value", value);
		free(*main);
		free(*new_id);
		*main = *new_id = NULL;
		return -1;
	}
	return 0;
}

void rot_plan_init(struct rot_plan *p)
{
	memset(p, 0, sizeof(*p));
	strbuf_init(&p->reason, 0);
}

void rot_plan_release(struct rot_plan *p)
{
	size_t i;
	for (i = 0; i < p->nactions; i++) {
		strbuf_release(&p->actions[i].tag_value);
		strbuf_release(&p->actions[i].reason);
	}
	free(p->actions);
	strbuf_release(&p->reason);
	rot_plan_init(p);
}

static void clear_actions(struct rot_plan *p)
{
	size_t i;
	for (i = 0; i < p->nactions; i++) {
		strbuf_release(&p->actions[i].tag_value);
		strbuf_release(&p->actions[i].reason);
	}
	p->nactions = 0;
}

static struct rot_action *add_action(struct rot_plan *p, enum rot_action_kind kind,
				     const char *key_id)
{
	struct rot_action *a;
	ALLOC_GROW(p->actions, p->nactions + 1, p->alloc);
	a = &p->actions[p->nactions++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->expect_active = -1;
	strbuf_init(&a->tag_value, 0);
	strbuf_init(&a->reason, 0);
	if (key_id) {
		size_t n = strlen(key_id);
		if (n >= sizeof(a->key_id))
			n = sizeof(a->key_id) - 1;
		memcpy(a->key_id, key_id, n);
		a->key_id[n] = '\0';
	}
	p->outcome = ROT_ACT;
	return a;
}

static void set_outcome(struct rot_plan *p, enum rot_outcome o, const char *fmt, ...)
	PRINTF_LIKE(3, 4);
static void set_outcome(struct rot_plan *p, enum rot_outcome o, const char *fmt, ...)
{
	va_list ap;
	p->outcome = o;
	strbuf_reset(&p->reason);
	va_start(ap, fmt);
	strbuf_vaddf(&p->reason, fmt, ap);
	va_end(ap);
}

/* Nothing before due: p->next_due = due and the outcome o, its reason fmt's words then due. */
static void wait_until(struct rot_plan *p, enum rot_outcome o, time_t due, const char *fmt, ...)
	PRINTF_LIKE(4, 5);
static void wait_until(struct rot_plan *p, enum rot_outcome o, time_t due, const char *fmt, ...)
{
	va_list ap;
	p->next_due = due;
	p->outcome = o;
	strbuf_reset(&p->reason);
	va_start(ap, fmt);
	strbuf_vaddf(&p->reason, fmt, ap);
	va_end(ap);
	iso8601_format(&p->reason, due);
}

static const struct rot_key *find_key(const struct rot_user *u, const char *id)
{
	size_t i;
	for (i = 0; i < u->nkeys; i++)
		if (!strcmp(u->keys[i].id, id))
			return &u->keys[i];
	return NULL;
}

static void add_days(struct strbuf *sb, long long seconds)
{
	strbuf_addf(sb, "%lld days", seconds / 86400);
}

static void describe_use(struct strbuf *sb, const struct rot_key *k, time_t now)
{
	if (!k->last_used) {
		strbuf_addstr(sb, "never used");
		return;
	}
	strbuf_addstr(sb, "last used ");
	iso8601_format(sb, k->last_used);
	if (k->last_service)
		strbuf_addf(sb, " (%s, %s)", k->last_service,
			    k->last_region ? k->last_region : "-");
	(void)now;
}

/* idle (or intent after cleanup): is the user due, and can we make room? */
static void plan_due(const struct rot_user *u, const struct rot_policy *pol, time_t now,
		     struct rot_plan *p)
{
	const struct rot_key *active = NULL, *inactive = NULL;
	size_t i, nactive = 0, nkeys = 0;
	struct rot_action *a;
	struct rotation_tag tag;

	for (i = 0; i < u->nkeys; i++) {
		nkeys++;
		if (u->keys[i].active) {
			nactive++;
			active = &u->keys[i];
		} else {
			inactive = &u->keys[i];
		}
	}
	if (nactive == 0) {
		set_outcome(p, ROT_NOTHING, "no active key");
		return;
	}
	if (nactive > 1) {
		set_outcome(p, ROT_BLOCKED,
			    "two active keys: deactivate one first (iamkeys deactivate)");
		return;
	}
	if ((long long)now - (long long)active->created <= pol->rotate_after) {
		wait_until(p, ROT_NOTHING, active->created + (time_t)pol->rotate_after,
			   "key %s is %lld days old; due ", active->id,
			   ((long long)now - (long long)active->created) / 86400);
		return;
	}
	if (nkeys > 1) {
		/* make room: only an Inactive key past delete_after may go */
		long long inactive_for = (long long)now - (long long)inactive->created;
		if (inactive->last_used &&
		    (long long)now - (long long)inactive->last_used < inactive_for)
			inactive_for = (long long)now - (long long)inactive->last_used;
		if (inactive_for <= pol->delete_after) {
			set_outcome(
				p, ROT_BLOCKED,
				"no room for a new key: inactive key %s is not past --delete-after",
				inactive->id);
			return;
		}
		a = add_action(p, ROT_DELETE_KEY, inactive->id);
		a->expect_active = 0;
		a->in_use_guard = 1;
		strbuf_addf(&a->reason, "make room: inactive key, ");
		describe_use(&a->reason, inactive, now);
	}
	memset(&tag, 0, sizeof(tag));
	tag.stage = STAGE_INTENT;
	if (strlen(active->id) > ROTATION_KEY_ID_MAX) {
		set_outcome(p, ROT_BLOCKED, "key id %.40s... is longer than %d characters",
			    active->id, ROTATION_KEY_ID_MAX);
		return;
	}
	memcpy(tag.old_key, active->id, strlen(active->id) + 1);
	tag.t = now;
	a = add_action(p, ROT_TAG, NULL);
	rotation_tag_format(&a->tag_value, &tag);
	strbuf_addstr(&a->reason, "mark the intent before creating a key");
	a = add_action(p, ROT_CREATE, active->id);
	strbuf_addf(&a->reason, "key %s is ", active->id);
	add_days(&a->reason, (long long)now - (long long)active->created);
	strbuf_addstr(&a->reason, " old"); /* the why; the step itself says the what */
	strbuf_reset(&p->reason);
	strbuf_addf(&p->reason, "due: key %s is ", active->id);
	add_days(&p->reason, (long long)now - (long long)active->created);
	strbuf_addstr(&p->reason, " old");
}

static void move_actions(struct rot_plan *dst, struct rot_plan *src)
{
	size_t i;
	for (i = 0; i < src->nactions; i++) {
		ALLOC_GROW(dst->actions, dst->nactions + 1, dst->alloc);
		dst->actions[dst->nactions++] = src->actions[i];
	}
	src->nactions = 0;
}

static void plan_intent(const struct rot_user *u, const struct rot_policy *pol, time_t now,
			struct rot_plan *p)
{
	const struct rotation_tag *t = &p->tag;
	const struct rot_key *old = find_key(u, t->old_key);
	struct rot_key *rest;
	struct rot_user ru = *u;
	struct rot_plan again;
	size_t i, n = 0;

	if (t->run[0] && (long long)now - (long long)t->t < ROTATION_LEASE + pol->skew) {
		wait_until(p, ROT_BLOCKED, t->t + (time_t)(ROTATION_LEASE + pol->skew),
			   "another run (run %s) is rotating this user; if it died, recovery "
			   "starts after ",
			   t->run);
		return;
	}
	if (!old || !old->active) {
		/* the old key is gone or disabled: nothing safe to continue */
		set_outcome(
			p, ROT_BLOCKED,
			"rotation intent for key %s, which is %s: fix by hand, then remove tag %s",
			t->old_key, old ? "Inactive" : "gone", ROTATION_TAG);
		return;
	}
	rest = xcalloc(u->nkeys + 1, sizeof(*rest));
	for (i = 0; i < u->nkeys; i++) {
		const struct rot_key *k = &u->keys[i];
		struct rot_action *a;
		if (k == old || (long long)k->created < (long long)t->t - pol->skew) {
			if (k != old && k->active) {
				clear_actions(p);
				set_outcome(
					p, ROT_BLOCKED,
					"unexpected active key %s created before the rotation started",
					k->id);
				free(rest);
				return;
			}
			rest[n++] = *k;
			continue;
		}
		if (!u->sink_known) {
			clear_actions(p);
			set_outcome(
				p, ROT_BLOCKED,
				"key %s was created after the intent mark and the sink cannot tell "
				"whether it holds it (%s): nothing deleted",
				k->id, u->sink_why ? u->sink_why : "not asked");
			free(rest);
			return;
		}
		if (u->sink_key && !strcmp(u->sink_key, k->id)) {
			/* delivered but not recorded: adopt it (delivered at the latest
			 * when it was created, so the old key's later uses count) */
			struct rotation_tag d = *t;
			clear_actions(p);
			d.stage = STAGE_DELIVERED;
			memcpy(d.new_key, k->id, strlen(k->id) + 1);
			d.t = k->created;
			a = add_action(p, ROT_TAG, NULL);
			rotation_tag_format(&a->tag_value, &d);
			strbuf_addf(&a->reason, "the sink holds %s: record it as delivered", k->id);
			strbuf_reset(&p->reason);
			strbuf_addf(&p->reason,
				    "interrupted rotation: the sink holds the new key %s", k->id);
			free(rest);
			return;
		}
		a = add_action(p, ROT_DELETE_KEY, k->id);
		strbuf_addstr(&a->reason,
			      "created after the intent mark, never recorded as delivered, and the "
			      "sink does not hold it: its secret is lost");
	}
	/* start again with what is left */
	ru.keys = rest;
	ru.nkeys = n;
	rot_plan_init(&again);
	plan_due(&ru, pol, now, &again);
	free(rest);
	if (again.outcome == ROT_ACT) {
		move_actions(p, &again);
		p->outcome = ROT_ACT;
		strbuf_reset(&p->reason);
		strbuf_addf(&p->reason, "interrupted rotation, start again: %s", again.reason.buf);
	} else {
		struct rot_action *a = add_action(p, ROT_UNTAG, NULL);
		strbuf_addf(&a->reason, "drop the intent mark (%s)", again.reason.buf);
		if (again.outcome == ROT_BLOCKED) {
			strbuf_reset(&p->reason);
			strbuf_addf(&p->reason, "interrupted rotation cleaned up; then blocked: %s",
				    again.reason.buf);
		}
	}
	rot_plan_release(&again);
}

static void plan_delivered(const struct rot_user *u, const struct rot_policy *pol, time_t now,
			   struct rot_plan *p)
{
	const struct rotation_tag *t = &p->tag;
	const struct rot_key *old = find_key(u, t->old_key), *nk = find_key(u, t->new_key);
	long long new_age, since = (long long)now - (long long)t->t;
	struct rot_action *a;
	struct rotation_tag next;
	time_t base;

	if (!nk) {
		set_outcome(p, ROT_BLOCKED, "the new key %s of this rotation is gone", t->new_key);
		return;
	}
	if (!nk->active) {
		set_outcome(p, ROT_BLOCKED, "the new key %s is Inactive", t->new_key);
		return;
	}
	if (!old) {
		a = add_action(p, ROT_UNTAG, NULL);
		strbuf_addf(&a->reason, "old key %s is already gone: rotation complete",
			    t->old_key);
		return;
	}
	next = *t;
	next.stage = STAGE_DEACTIVATED;
	next.t = now;
	if (!old->active) {
		a = add_action(p, ROT_TAG, NULL);
		rotation_tag_format(&a->tag_value, &next);
		strbuf_addf(&a->reason, "old key %s was deactivated outside iamkeys", old->id);
		return;
	}
	/*
	 * The old key is watched for deactivate_after from the delivery, or
	 * from a later re-entry into this stage (rotate --resume, a reactivated
	 * old key): each gets the whole window.
	 */
	base = nk->created > t->t ? nk->created : t->t;
	new_age = (long long)now - (long long)base;
	if (new_age < pol->deactivate_after) {
		wait_until(p, ROT_NOTHING, base + (time_t)pol->deactivate_after,
			   "new key %s delivered; old key %s is deactivated after ", nk->id,
			   old->id);
		return;
	}
	if (old->last_used && old->last_used >= t->t) {
		if (pol->max_grace && since > pol->max_grace) {
			a = add_action(p, ROT_DEACTIVATE, old->id);
			a->expect_active = 1;
			strbuf_addf(&a->reason, "still in use, but --max-grace passed; ");
			describe_use(&a->reason, old, now);
		} else {
			struct strbuf use = STRBUF_INIT;
			describe_use(&use, old, now);
			set_outcome(p, ROT_BLOCKED, "old key %s is still in use since delivery: %s",
				    old->id, use.buf);
			strbuf_release(&use);
			return;
		}
	} else {
		a = add_action(p, ROT_DEACTIVATE, old->id);
		a->expect_active = 1;
		a->not_used_since = t->t;
		strbuf_addf(&a->reason, "new key %lld days old; old key not used since delivery",
			    new_age / 86400);
	}
	a = add_action(p, ROT_TAG, NULL);
	rotation_tag_format(&a->tag_value, &next);
	strbuf_addstr(&a->reason, "record the deactivation");
	strbuf_addf(&p->reason, "new key %s delivered %lld days ago: deactivate old key %s", nk->id,
		    since / 86400, old->id);
}

static void plan_deactivated(const struct rot_user *u, const struct rot_policy *pol, time_t now,
			     struct rot_plan *p)
{
	const struct rotation_tag *t = &p->tag;
	const struct rot_key *old = find_key(u, t->old_key);
	struct rot_action *a;

	if (!old) {
		a = add_action(p, ROT_UNTAG, NULL);
		strbuf_addf(&a->reason, "old key %s is already gone: rotation complete",
			    t->old_key);
		return;
	}
	if (old->active) {
		struct rotation_tag back = *t;
		back.stage = STAGE_DELIVERED;
		back.t = now;
		a = add_action(p, ROT_TAG, NULL);
		rotation_tag_format(&a->tag_value, &back);
		strbuf_addf(&a->reason, "old key %s was reactivated: back to delivered", old->id);
		return;
	}
	if ((long long)now - (long long)t->t <= pol->delete_after) {
		wait_until(p, ROT_NOTHING, t->t + (time_t)pol->delete_after,
			   "old key %s inactive; deleted after ", old->id);
		return;
	}
	a = add_action(p, ROT_DELETE_KEY, old->id);
	a->expect_active = 0;
	a->not_used_since = t->t;
	strbuf_addf(&a->reason, "inactive for ");
	add_days(&a->reason, (long long)now - (long long)t->t);
	a = add_action(p, ROT_UNTAG, NULL);
	strbuf_addstr(&a->reason, "rotation complete");
	strbuf_addf(&p->reason, "old key %s inactive for %lld days: delete it", old->id,
		    ((long long)now - (long long)t->t) / 86400);
}

/* rolled-back: paused until a person resumes or aborts it */
static void plan_rolled_back(const struct rot_user *u, const struct rot_policy *pol, time_t now,
			     struct rot_plan *p)
{
	struct strbuf when = STRBUF_INIT;
	iso8601_format(&when, p->tag.t);
	set_outcome(p, ROT_BLOCKED,
		    "rotation paused by a rollback on %s: 'iamkeys rotate --resume --user %s' "
		    "continues it, 'iamkeys rotate --abort --user %s' drops the new key %s",
		    when.buf, u->name, u->name, p->tag.new_key);
	strbuf_release(&when);
}

/* What each stage of the rotation tag plans next. */
static void (*const stage_planners[])(const struct rot_user *, const struct rot_policy *, time_t,
				      struct rot_plan *) = {
	[STAGE_IDLE] = plan_due,
	[STAGE_INTENT] = plan_intent,
	[STAGE_DELIVERED] = plan_delivered,
	[STAGE_DEACTIVATED] = plan_deactivated,
	[STAGE_ROLLED_BACK] = plan_rolled_back,
};

int rotation_plan_user(const struct rot_user *u, const struct rot_policy *pol, time_t now,
		       struct rot_plan *p)
{
	struct strbuf err = STRBUF_INIT;

	p->outcome = ROT_NOTHING;
	p->stage = STAGE_IDLE;
	if (u->tag_value) {
		if (rotation_tag_parse(u->tag_value, &p->tag, &err) < 0) {
			set_outcome(p, ROT_BLOCKED, "cannot read tag %s: %s", ROTATION_TAG,
				    err.buf);
			strbuf_release(&err);
			return 0;
		}
		p->stage = p->tag.stage;
	}
	strbuf_release(&err);
	stage_planners[p->stage](u, pol, now, p);
	if (p->outcome == ROT_ACT && !p->reason.len)
		strbuf_addf(&p->reason, "stage %s", rotation_stage_name(p->stage));
	return 0;
}

/* The tag of a user for rollback/resume/abort: 0 with p->tag and p->stage, or -1 (outcome set). */
static int read_tag(const struct rot_user *u, struct rot_plan *p)
{
	struct strbuf err = STRBUF_INIT;
	p->outcome = ROT_NOTHING;
	p->stage = STAGE_IDLE;
	if (!u->tag_value) {
		set_outcome(p, ROT_NOTHING, "no rotation in progress");
		return -1;
	}
	if (rotation_tag_parse(u->tag_value, &p->tag, &err) < 0) {
		set_outcome(p, ROT_BLOCKED, "cannot read tag %s: %s", ROTATION_TAG, err.buf);
		strbuf_release(&err);
		return -1;
	}
	strbuf_release(&err);
	p->stage = p->tag.stage;
	return 0;
}

static void add_tag_action(struct rot_plan *p, enum rotation_stage stage, time_t now,
			   const char *why)
{
	struct rotation_tag t = p->tag;
	struct rot_action *a = add_action(p, ROT_TAG, NULL);
	t.stage = stage;
	t.t = now;
	rotation_tag_format(&a->tag_value, &t);
	strbuf_addstr(&a->reason, why);
}

int rotation_plan_rollback(const struct rot_user *u, time_t now, struct rot_plan *p)
{
	const struct rot_key *old;
	struct rot_action *a;

	if (read_tag(u, p) < 0) {
		if (!u->tag_value)
			p->outcome = ROT_BLOCKED; /* nothing to roll back is not success */
		return 0;
	}
	if (p->stage == STAGE_INTENT) {
		set_outcome(p, ROT_BLOCKED,
			    "rotation is in stage intent: no new key was delivered, "
			    "nothing to roll back (rotate --abort drops the mark)");
		return 0;
	}
	old = find_key(u, p->tag.old_key);
	if (!old) {
		set_outcome(p, ROT_BLOCKED, "old key %s is already deleted", p->tag.old_key);
		return 0;
	}
	if (!old->active) {
		a = add_action(p, ROT_REACTIVATE, old->id);
		a->expect_active = 0;
		strbuf_addstr(&a->reason, "rollback: reactivate the old key");
	}
	if (p->stage != STAGE_ROLLED_BACK)
		add_tag_action(p, STAGE_ROLLED_BACK, now,
			       "pause the rotation: nothing more happens until rotate --resume or "
			       "rotate --abort");
	if (p->outcome == ROT_ACT)
		strbuf_addstr(&p->reason, "rollback");
	else
		set_outcome(p, ROT_NOTHING,
			    "already rolled back: old key %s is Active, the rotation "
			    "is paused",
			    old->id);
	return 0;
}

int rotation_plan_resume(const struct rot_user *u, time_t now, struct rot_plan *p)
{
	const struct rot_key *nk;

	if (read_tag(u, p) < 0)
		return 0;
	if (p->stage != STAGE_ROLLED_BACK) {
		set_outcome(p, ROT_NOTHING, "not paused by a rollback (stage %s)",
			    rotation_stage_name(p->stage));
		return 0;
	}
	nk = find_key(u, p->tag.new_key);
	if (!nk || !nk->active) {
		set_outcome(p, ROT_BLOCKED,
			    "the new key %s is %s: nothing to resume (rotate --abort "
			    "ends the rotation)",
			    p->tag.new_key, nk ? "Inactive" : "gone");
		return 0;
	}
	add_tag_action(p, STAGE_DELIVERED, now,
		       "back to delivered: the old key is deactivated once the new key is "
		       "--deactivate-after old and the old key is unused since now");
	strbuf_addstr(&p->reason, "resume");
	return 0;
}

static void add_abort_delete(struct rot_plan *p, const struct rot_key *k, int force,
			     const char *why)
{
	struct rot_action *a = add_action(p, ROT_DELETE_KEY, k->id);
	a->sink_guard = !force;
	if (!force)
		a->not_used_since = k->created + ROT_VERIFY_WINDOW;
	strbuf_addstr(&a->reason, why);
	if (force)
		strbuf_addstr(&a->reason, " (--force: even if used or held by the sink)");
}

int rotation_plan_abort(const struct rot_user *u, const struct rot_policy *pol, time_t now,
			int force, struct rot_plan *p)
{
	const struct rot_key *old, *nk;
	struct rot_action *a;
	size_t i;

	(void)now;
	if (read_tag(u, p) < 0) {
		/* an unreadable mark: removable when nothing else needs cleaning */
		if (u->tag_value && u->nkeys == 1 && u->keys[0].active) {
			clear_actions(p);
			a = add_action(p, ROT_UNTAG, NULL);
			strbuf_addf(&a->reason, "drop the unreadable tag (%s)", p->reason.buf);
			strbuf_reset(&p->reason);
			strbuf_addstr(&p->reason, "abort");
		}
		return 0;
	}
	old = find_key(u, p->tag.old_key);
	if (!old) {
		set_outcome(p, ROT_BLOCKED, "old key %s is gone: nothing to go back to",
			    p->tag.old_key);
		return 0;
	}
	if (p->stage == STAGE_INTENT) {
		if (!old->active) {
			set_outcome(p, ROT_BLOCKED,
				    "old key %s is Inactive: fix by hand, then remove "
				    "tag %s",
				    old->id, ROTATION_TAG);
			return 0;
		}
		for (i = 0; i < u->nkeys; i++) {
			const struct rot_key *k = &u->keys[i];
			if (k == old)
				continue;
			if ((long long)k->created < (long long)p->tag.t - pol->skew) {
				if (!k->active)
					continue;
				clear_actions(p);
				set_outcome(p, ROT_BLOCKED,
					    "unexpected active key %s created before "
					    "the rotation started",
					    k->id);
				return 0;
			}
			add_abort_delete(
				p, k, force,
				"created after the intent mark, never recorded as delivered");
		}
	} else {
		nk = find_key(u, p->tag.new_key);
		if (!old->active) {
			a = add_action(p, ROT_REACTIVATE, old->id);
			a->expect_active = 0;
			strbuf_addstr(&a->reason, "the old key is the user's key again");
		}
		if (nk)
			add_abort_delete(p, nk, force, "the new key of this rotation goes");
	}
	a = add_action(p, ROT_UNTAG, NULL);
	strbuf_addstr(&a->reason, "the rotation is over");
	strbuf_reset(&p->reason);
	strbuf_addf(&p->reason, "abort the rotation in stage %s: keep old key %s",
		    rotation_stage_name(p->stage), old->id);
	return 0;
}
