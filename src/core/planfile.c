/*
 * The saved plan's schema, strictly: a plan is a list of what a fresh plan
 * may do, so a field this version does not know is refused rather than
 * ignored (it may be a restriction the writer meant, or a forgery).
 */
#include "core/compat.h"
#include "core/planfile.h"
#include "core/rotation.h"
#include "core/shard.h"

enum ftype { F_STRING, F_STRING_OR_NULL, F_INTEGER, F_BOOL, F_ARRAY };

struct field {
	const char *name;
	enum ftype type;
};

static const struct field top_single[] = {
	{ "Version", F_INTEGER },
	{ "GeneratedAt", F_STRING },
	{ "Account", F_STRING },
	{ "Users", F_ARRAY },
};
static const struct field top_multi[] = {
	{ "Version", F_INTEGER },
	{ "GeneratedAt", F_STRING },
	{ "Users", F_ARRAY },
	{ "FailedAccounts", F_ARRAY },
};
static const struct field user_fields[] = {
	{ "AccountId", F_STRING }, /* several accounts only */
	{ "UserName", F_STRING },    { "Stage", F_STRING }, { "Outcome", F_STRING },
	{ "Reason", F_STRING },	     { "Exempt", F_BOOL },  { "Sink", F_STRING_OR_NULL },
	{ "Tag", F_STRING_OR_NULL }, { "Keys", F_STRING },  { "Actions", F_ARRAY },
};
static const struct field action_fields[] = {
	{ "Action", F_STRING },		  { "AccessKeyId", F_STRING_OR_NULL },
	{ "TagValue", F_STRING_OR_NULL }, { "ExpectActive", F_INTEGER },
	{ "InUseGuard", F_BOOL },	  { "NotUsedSince", F_INTEGER },
	{ "Reason", F_STRING },		  { "Result", F_STRING },
	{ "Detail", F_STRING },
};
static const char *const outcomes[] = { "act", "nothing", "blocked", "failed" };
static const char *const results[] = { "planned", "done", "failed", "refused", "skipped" };

static int type_ok(json_t *v, enum ftype t)
{
	switch (t) {
	case F_STRING:
		return json_is_string(v);
	case F_STRING_OR_NULL:
		return json_is_string(v) || json_is_null(v);
	case F_INTEGER:
		return json_is_integer(v);
	case F_BOOL:
		return json_is_boolean(v);
	case F_ARRAY:
		return json_is_array(v);
	}
	return 0;
}

static const char *const type_names[] = {
	[F_STRING] = "a string",    [F_STRING_OR_NULL] = "a string or null",
	[F_INTEGER] = "an integer", [F_BOOL] = "true or false",
	[F_ARRAY] = "an array",
};

/* Exactly the fields of fs[0..n) (from first), each of its type. */
static int check_fields(json_t *obj, const struct field *fs, size_t n, const char *where,
			struct strbuf *err)
{
	const char *k;
	json_t *v;
	size_t i;

	if (!json_is_object(obj)) {
		strbuf_addf(err, "plan: %s is not an object", where);
		return -1;
	}
	json_object_foreach(obj, k, v)
	{
		for (i = 0; i < n && strcmp(k, fs[i].name); i++)
			;
		if (i == n) {
			strbuf_addf(err, "plan: %s has an unknown field '%.40s'", where, k);
			return -1;
		}
	}
	for (i = 0; i < n; i++) {
		v = json_object_get(obj, fs[i].name);
		if (!v) {
			strbuf_addf(err, "plan: %s lacks the field '%s'", where, fs[i].name);
			return -1;
		}
		if (!type_ok(v, fs[i].type)) {
			strbuf_addf(err, "plan: %s: '%s' is not %s", where, fs[i].name,
				    type_names[fs[i].type]);
			return -1;
		}
	}
	return 0;
}

static int one_of(const char *s, const char *const *list, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return 1;
	return 0;
}

static const char *str(json_t *obj, const char *name)
{
	return json_string_value(json_object_get(obj, name));
}

static int check_action(json_t *a, const char *where, struct strbuf *err)
{
	enum rot_action_kind kind;
	const char *key, *tag;
	json_int_t ea;
	struct rotation_tag t;
	struct strbuf terr = STRBUF_INIT;
	int keyed;

	if (check_fields(a, action_fields, ARRAY_SIZE(action_fields), where, err) < 0)
		return -1;
	if (rot_action_kind_parse(str(a, "Action"), &kind) < 0) {
		strbuf_addf(err, "plan: %s: unknown action '%.40s'", where, str(a, "Action"));
		return -1;
	}
	if (!one_of(str(a, "Result"), results, ARRAY_SIZE(results))) {
		strbuf_addf(err, "plan: %s: unknown result '%.40s'", where, str(a, "Result"));
		return -1;
	}
	ea = json_integer_value(json_object_get(a, "ExpectActive"));
	if (ea < -1 || ea > 1 || json_integer_value(json_object_get(a, "NotUsedSince")) < 0) {
		strbuf_addf(err, "plan: %s: ExpectActive or NotUsedSince out of range", where);
		return -1;
	}
	key = str(a, "AccessKeyId");
	keyed = kind != ROT_TAG && kind != ROT_UNTAG;
	if (keyed != (key != NULL) || (key && !access_key_id_valid(key))) {
		strbuf_addf(err, "plan: %s: %s for %s", where,
			    key ? "an invalid or unexpected AccessKeyId" : "no AccessKeyId",
			    rot_action_kind_name(kind));
		return -1;
	}
	tag = str(a, "TagValue");
	if ((kind == ROT_TAG) != (tag != NULL)) {
		strbuf_addf(err, "plan: %s: TagValue %s for %s", where, tag ? "given" : "missing",
			    rot_action_kind_name(kind));
		return -1;
	}
	if (tag && rotation_tag_parse(tag, &t, &terr) < 0) {
		strbuf_addf(err, "plan: %s: TagValue: %s", where, terr.buf);
		strbuf_release(&terr);
		return -1;
	}
	strbuf_release(&terr);
	return 0;
}

static int check_user(json_t *u, size_t row, int several_accounts, struct strbuf *err)
{
	const struct field *fs = several_accounts ? user_fields : user_fields + 1;
	size_t n = ARRAY_SIZE(user_fields) - (several_accounts ? 0 : 1), i;
	struct strbuf where = STRBUF_INIT;
	enum rotation_stage stage;
	const char *id;
	json_t *a;
	int rc = -1;

	strbuf_addf(&where, "row %zu", row);
	if (json_is_object(u) && str(u, "UserName"))
		strbuf_addf(&where, " (%.64s)", str(u, "UserName"));
	if (several_accounts && json_is_object(u)) {
		id = str(u, "AccountId");
		if (!id || !account_id_valid(id, strlen(id))) {
			strbuf_addf(
				err,
				"row %zu of the plan has no AccountId: a plan for several "
				"accounts comes from rotate --plan-out with --org or --accounts",
				row);
			goto out;
		}
	}
	if (!several_accounts && json_is_object(u) && json_object_get(u, "AccountId")) {
		strbuf_addf(err,
			    "plan: %s has an AccountId: a plan for several accounts is applied "
			    "with --org or --accounts",
			    where.buf);
		goto out;
	}
	if (check_fields(u, fs, n, where.buf, err) < 0)
		goto out;
	if (!*str(u, "UserName")) {
		strbuf_addf(err, "plan: %s has an empty UserName", where.buf);
		goto out;
	}
	if (rotation_stage_parse(str(u, "Stage"), &stage) < 0 ||
	    !one_of(str(u, "Outcome"), outcomes, ARRAY_SIZE(outcomes))) {
		strbuf_addf(err, "plan: %s: unknown Stage or Outcome", where.buf);
		goto out;
	}
	json_array_foreach(json_object_get(u, "Actions"), i, a)
	{
		size_t len = where.len;
		strbuf_addf(&where, " action %zu", i + 1);
		if (check_action(a, where.buf, err) < 0)
			goto out;
		strbuf_setlen(&where, len);
	}
	rc = 0;
out:
	strbuf_release(&where);
	return rc;
}

int plan_file_check(json_t *doc, int several_accounts, struct strbuf *err)
{
	json_t *users, *u, *v, *seen;
	size_t i;

	if (!json_is_object(doc)) {
		strbuf_addstr(err, "plan: not a JSON object");
		return -1;
	}
	v = json_object_get(doc, "Version");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		strbuf_addstr(err, "plan: not a version 1 plan");
		return -1;
	}
	if (!several_accounts && !json_object_get(doc, "Account") &&
	    json_object_get(doc, "FailedAccounts")) {
		strbuf_addstr(err, "plan: a plan for several accounts is applied with --org or "
				   "--accounts");
		return -1;
	}
	if (several_accounts && json_object_get(doc, "Account") &&
	    !json_object_get(doc, "FailedAccounts")) {
		/* a one-account plan: its rows have no AccountId (said as check_user says it) */
		users = json_object_get(doc, "Users");
		if (json_is_array(users) && json_array_size(users))
			return check_user(json_array_get(users, 0), 1, 1, err);
		strbuf_addstr(err,
			      "plan: made for one account: apply it without --org or --accounts");
		return -1;
	}
	if (several_accounts
		    ? check_fields(doc, top_multi, ARRAY_SIZE(top_multi), "the plan", err)
		    : check_fields(doc, top_single, ARRAY_SIZE(top_single), "the plan", err))
		return -1;
	if (!several_accounts) {
		const char *acc = str(doc, "Account");
		if (!account_id_valid(acc, strlen(acc))) {
			strbuf_addf(err, "plan: Account '%.20s' is not an account id", acc);
			return -1;
		}
	}
	users = json_object_get(doc, "Users");
	seen = json_object();
	json_array_foreach(users, i, u)
	{
		struct strbuf id = STRBUF_INIT;
		json_t *first;
		if (check_user(u, i + 1, several_accounts, err) < 0) {
			json_decref(seen);
			return -1;
		}
		strbuf_addf(&id, "%s/%s", several_accounts ? str(u, "AccountId") : "",
			    str(u, "UserName"));
		first = json_object_get(seen, id.buf);
		if (first) {
			strbuf_addf(err,
				    "plan: rows %" JSON_INTEGER_FORMAT
				    " and %zu are both user %.64s",
				    json_integer_value(first), i + 1, str(u, "UserName"));
			strbuf_release(&id);
			json_decref(seen);
			return -1;
		}
		json_object_set_new(seen, id.buf, json_integer((json_int_t)i + 1));
		strbuf_release(&id);
	}
	json_decref(seen);
	return 0;
}

json_t *plan_file_parse(const char *text, size_t len, int several_accounts, struct strbuf *err)
{
	json_error_t je;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);

	if (!doc) {
		strbuf_addf(err, "plan: line %d: ", je.line);
		strbuf_add_oneline(err, je.text);
		return NULL;
	}
	if (plan_file_check(doc, several_accounts, err) < 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}
