#include "core/compat.h"
#include "core/policy.h"

#include <ctype.h>
#include <fnmatch.h>

static const struct {
	unsigned bit;
	const char *name;
} finding_names[FINDING_COUNT] = {
	/* most severe first */
	{ FINDING_QUARANTINED, "quarantined" },
	{ FINDING_ROOT_KEY, "root-key" },
	{ FINDING_OLD, "old" },
	{ FINDING_TWO_ACTIVE, "two-active" },
	{ FINDING_UNUSED, "unused" },
	{ FINDING_INACTIVE_STALE, "inactive-stale" },
	{ FINDING_EXPIRING, "expiring" },
};

const char *finding_name(unsigned bit)
{
	size_t i;
	for (i = 0; i < FINDING_COUNT; i++)
		if (finding_names[i].bit == bit)
			return finding_names[i].name;
	return NULL;
}

void findings_format(struct strbuf *out, unsigned bits)
{
	size_t i;
	int first = 1;
	for (i = 0; i < FINDING_COUNT; i++) {
		if (!(bits & finding_names[i].bit))
			continue;
		if (!first)
			strbuf_addch(out, ',');
		strbuf_addstr(out, finding_names[i].name);
		first = 0;
	}
}

int fail_on_parse(const char *s, unsigned *mask)
{
	size_t i;
	unsigned m = 0;
	if (!strcmp(s, "none")) {
		*mask = 0;
		return 0;
	}
	if (!strcmp(s, "any")) {
		*mask = (1u << FINDING_COUNT) - 1;
		return 0;
	}
	for (i = 0; i < FINDING_COUNT; i++) {
		m |= finding_names[i].bit;
		if (!strcmp(s, finding_names[i].name)) {
			*mask = m;
			return 0;
		}
	}
	return -1;
}

void audit_policy_defaults(struct audit_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->max_age = 90LL * 86400;
	p->warn = 7LL * 86400;
	p->unused = 45LL * 86400;
	p->inactive_grace = 30LL * 86400;
	p->exempt_tag_key = "iamkeys:exempt";
	p->exempt_tag_value = "true";
}

int policy_is_quarantine_arn(const char *arn)
{
	static const char prefix[] = ":iam::aws:policy/AWSCompromisedKeyQuarantine";
	const char *p;

	if (!arn || strncmp(arn, "arn:", 4))
		return 0;
	p = strchr(arn + 4, ':'); /* after the partition */
	if (!p || strncmp(p, prefix, sizeof(prefix) - 1))
		return 0;
	p += sizeof(prefix) - 1;
	if (!*p)
		return 1;
	/* a version: V and digits (V2, V3, V4 so far) */
	if (*p++ != 'V' || !isdigit((unsigned char)*p))
		return 0;
	while (isdigit((unsigned char)*p))
		p++;
	return !*p;
}

unsigned policy_key_findings(const struct audit_policy *p, const struct key_facts *k,
			     int active_keys, time_t now)
{
	unsigned f = 0;
	long long age = (long long)now - (long long)k->created;

	if (!k->active) {
		if (age > p->inactive_grace)
			f |= FINDING_INACTIVE_STALE;
		return f;
	}
	if (age > p->max_age)
		f |= FINDING_OLD;
	else if (age > p->max_age - p->warn)
		f |= FINDING_EXPIRING;
	if (k->last_used) {
		if ((long long)now - (long long)k->last_used > p->unused)
			f |= FINDING_UNUSED;
	} else if (age > p->unused) {
		f |= FINDING_UNUSED; /* never used, and older than the window */
	}
	if (active_keys >= 2)
		f |= FINDING_TWO_ACTIVE;
	return f;
}

int policy_exempt_by_name(const struct audit_policy *p, const char *name, const char *path,
			  struct strbuf *reason)
{
	size_t i;
	for (i = 0; i < p->nexclude; i++)
		if (!fnmatch(p->exclude[i], name, 0)) {
			if (reason)
				strbuf_addf(reason, "excluded by --exclude '%s'", p->exclude[i]);
			return 1;
		}
	for (i = 0; path && i < p->nexempt_paths; i++)
		if (!strncmp(path, p->exempt_paths[i], strlen(p->exempt_paths[i]))) {
			if (reason)
				strbuf_addf(reason, "path %s", p->exempt_paths[i]);
			return 1;
		}
	return 0;
}

int policy_user_exempt(const struct audit_policy *p, const struct user_facts *u,
		       struct strbuf *reason)
{
	size_t i, j;
	if (policy_exempt_by_name(p, u->name, u->path, reason))
		return 1;
	if (p->exempt_tag_key && u->tag_keys)
		for (i = 0; i < u->ntags; i++)
			if (!strcmp(u->tag_keys[i], p->exempt_tag_key) &&
			    (!p->exempt_tag_value ||
			     !strcasecmp(u->tag_values[i] ? u->tag_values[i] : "",
					 p->exempt_tag_value))) {
				if (reason)
					strbuf_addf(reason, "tag %s=%s", u->tag_keys[i],
						    u->tag_values[i] ? u->tag_values[i] : "");
				return 1;
			}
	if (u->groups)
		for (i = 0; i < p->nexempt_groups; i++)
			for (j = 0; j < u->ngroups; j++)
				if (!strcmp(u->groups[j], p->exempt_groups[i])) {
					if (reason)
						strbuf_addf(reason, "group %s", u->groups[j]);
					return 1;
				}
	return 0;
}

int policy_needs_tags(const struct audit_policy *p)
{
	return p->exempt_tag_key != NULL;
}

int policy_needs_groups(const struct audit_policy *p)
{
	return p->nexempt_groups > 0;
}
