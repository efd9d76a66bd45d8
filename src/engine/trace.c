/* iamkeys trace: who calls with an access key (see trace.h). */
#include "core/compat.h"
#include "engine/trace.h"
#include "aws/client.h"
#include "aws/cloudtrail.h"
#include "aws/ec2.h"
#include "core/ctevent.h"
#include "core/timeutil.h"

#include <pthread.h>

struct count {
	char *name;
	unsigned long n;
};

struct counts {
	struct count *v;
	size_t n, alloc;
};

struct agg {
	char *source, *user_agent;
	char *session_key; /* the derived key that signed, NULL for the key itself */
	int derived;
	unsigned long count, errors;
	time_t first, last;
	struct counts regions, sources, names;
};

struct shared {
	pthread_mutex_t lock;
	struct agg *aggs;
	size_t naggs, alloc;
	unsigned long events, malformed;
	char **issued; /* derived keys seen */
	size_t nissued, alloc_issued;
	const char *const *keep;
	size_t nkeep;
	struct trace_event *kept;
	size_t nkept, alloc_kept;
};

static void counts_add(struct counts *c, const char *name)
{
	size_t i;
	for (i = 0; i < c->n; i++)
		if (!strcmp(c->v[i].name, name)) {
			c->v[i].n++;
			return;
		}
	ALLOC_GROW(c->v, c->n + 1, c->alloc);
	c->v[c->n].name = xstrdup(name);
	c->v[c->n++].n = 1;
}

static void counts_release(struct counts *c)
{
	size_t i;
	for (i = 0; i < c->n; i++)
		free(c->v[i].name);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct count *)a)->name, ((const struct count *)b)->name);
}

static int by_count(const void *a, const void *b)
{
	const struct count *x = a, *y = b;
	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* "a,b,c" sorted by name, or "A:3,B:1" the top ones by count. */
static char *counts_join(struct counts *c, int top)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i, n = c->n;

	qsort(c->v, c->n, sizeof(*c->v), top ? by_count : by_name);
	if (top && n > TRACE_TOP_EVENTS)
		n = TRACE_TOP_EVENTS;
	for (i = 0; i < n; i++) {
		strbuf_addf(&sb, "%s%s", i ? "," : "", c->v[i].name);
		if (top)
			strbuf_addf(&sb, ":%lu", c->v[i].n);
	}
	return strbuf_detach(&sb, NULL);
}

/* Under sh->lock: e whole, when its name is one of sh->keep. */
static void keep_event(struct shared *sh, const struct ct_event *e, int derived, const char *key)
{
	struct trace_event *k;
	size_t i;

	for (i = 0; i < sh->nkeep; i++)
		if (!strcmp(sh->keep[i], e->event_name))
			break;
	if (i == sh->nkeep)
		return;
	ALLOC_GROW(sh->kept, sh->nkept + 1, sh->alloc_kept);
	k = &sh->kept[sh->nkept++];
	k->name = xstrdup(e->event_name);
	k->source = xstrdup(e->source_ip ? e->source_ip : "(unknown)");
	k->user_agent = xstrdup(e->user_agent);
	k->region = xstrdup(e->region ? e->region : "?");
	k->error_code = xstrdup_or_null(e->error_code);
	k->session_key = derived ? xstrdup(key) : NULL;
	k->time = e->time;
}

/* Under sh->lock. */
static void aggregate(struct shared *sh, const struct ct_event *e, int derived, const char *key)
{
	const char *source = e->source_ip ? e->source_ip : "(unknown)";
	struct agg *a = NULL;
	size_t i;

	for (i = 0; i < sh->naggs; i++)
		if (sh->aggs[i].derived == derived &&
		    (!derived || !strcmp(sh->aggs[i].session_key, key)) &&
		    !strcmp(sh->aggs[i].source, source) &&
		    !strcmp(sh->aggs[i].user_agent, e->user_agent)) {
			a = &sh->aggs[i];
			break;
		}
	if (!a) {
		ALLOC_GROW(sh->aggs, sh->naggs + 1, sh->alloc);
		a = &sh->aggs[sh->naggs++];
		memset(a, 0, sizeof(*a));
		a->source = xstrdup(source);
		a->user_agent = xstrdup(e->user_agent);
		a->derived = derived;
		a->session_key = derived ? xstrdup(key) : NULL;
		a->first = a->last = e->time;
	}
	a->count++;
	a->errors += e->error_code != NULL;
	if (e->time < a->first)
		a->first = e->time;
	if (e->time > a->last)
		a->last = e->time;
	counts_add(&a->regions, e->region ? e->region : "?");
	counts_add(&a->sources, e->event_source);
	counts_add(&a->names, e->event_name);
	sh->events++;
	keep_event(sh, e, derived, key);
}

struct job {
	struct aws_client *parent;
	const char *region;
	struct cloudtrail_pacer *pacer;
	const struct trace_options *o;
	char *const *keys;
	size_t nkeys;
	int derived;
	const char *key; /* the one being looked up */
	struct shared *sh;
	unsigned long calls;
	int rc;
	int denied;
	struct strbuf err;
};

static int on_event(void *ctx, const char *text, size_t len, struct strbuf *err)
{
	struct job *j = ctx;
	struct ct_event e;
	struct strbuf why = STRBUF_INIT;
	size_t i;

	(void)err;
	if (ct_event_parse(text, len, &e, &why) < 0) {
		pthread_mutex_lock(&j->sh->lock);
		j->sh->malformed++;
		pthread_mutex_unlock(&j->sh->lock);
		strbuf_release(&why);
		return 0;
	}
	pthread_mutex_lock(&j->sh->lock);
	/* LookupEvents matches the attribute; count only what the key itself signed */
	if (e.access_key_id && !strcmp(e.access_key_id, j->key)) {
		aggregate(j->sh, &e, j->derived, j->key);
		if (!j->derived && e.issued_key && !e.error_code) {
			for (i = 0; i < j->sh->nissued; i++)
				if (!strcmp(j->sh->issued[i], e.issued_key))
					break;
			if (i == j->sh->nissued) {
				ALLOC_GROW(j->sh->issued, j->sh->nissued + 1, j->sh->alloc_issued);
				j->sh->issued[j->sh->nissued++] = xstrdup(e.issued_key);
			}
		}
	}
	pthread_mutex_unlock(&j->sh->lock);
	ct_event_release(&e);
	return 0;
}

static void *run_region(void *arg)
{
	struct job *j = arg;
	struct aws_client *c = aws_client_clone_region(j->parent, j->region, &j->err);
	size_t i;

	j->rc = -1;
	if (!c)
		return NULL;
	j->rc = 0;
	for (i = 0; i < j->nkeys && !j->rc; i++) {
		j->key = j->keys[i];
		j->rc = cloudtrail_lookup_key(c, j->pacer, j->key, j->o->start, j->o->end, on_event,
					      j, &j->calls, &j->err);
	}
	if (j->rc < 0) {
		const char *code = aws_client_last_error_code(c);
		j->denied = code && (!strcmp(code, "AccessDenied") ||
				     !strcmp(code, "AccessDeniedException"));
	}
	aws_client_free(c);
	return NULL;
}

/* One pass over every region for keys. 0 / -1. */
static int pass(struct aws_client *c, const struct trace_options *o,
		struct cloudtrail_pacer *pacers, char *const *keys, size_t nkeys, int derived,
		struct shared *sh, struct trace_result *r, struct strbuf *err)
{
	struct job *jobs = xcalloc(o->nregions, sizeof(*jobs));
	pthread_t *th = xcalloc(o->nregions, sizeof(*th));
	int *started = xcalloc(o->nregions, sizeof(*started));
	size_t i;
	int rc = 0;

	for (i = 0; i < o->nregions; i++) {
		struct job *j = &jobs[i];
		j->parent = c;
		j->region = o->regions[i];
		j->pacer = &pacers[i];
		j->o = o;
		j->keys = keys;
		j->nkeys = nkeys;
		j->derived = derived;
		j->sh = sh;
		strbuf_init(&j->err, 0);
		started[i] = pthread_create(&th[i], NULL, run_region, j) == 0;
		if (!started[i])
			run_region(j);
	}
	for (i = 0; i < o->nregions; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		r->calls += jobs[i].calls;
		if (jobs[i].rc < 0 && rc)
			r->denied &= jobs[i].denied; /* denied only if every failure is */
		if (jobs[i].rc < 0 && !rc) {
			rc = -1;
			r->denied = jobs[i].denied;
			if (jobs[i].denied)
				strbuf_addf(err,
					    "%s: the caller may not call cloudtrail:LookupEvents "
					    "(%s)",
					    jobs[i].region, jobs[i].err.buf);
			else
				strbuf_addf(err, "%s: %s", jobs[i].region, jobs[i].err.buf);
		}
		strbuf_release(&jobs[i].err);
	}
	free(jobs);
	free(th);
	free(started);
	return rc;
}

static int by_events(const void *a, const void *b)
{
	const struct trace_caller *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->last != y->last)
		return x->last > y->last ? -1 : 1;
	return strcmp(x->source, y->source);
}

static int by_time(const void *a, const void *b)
{
	const struct trace_event *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return strcmp(x->name, y->name);
}

int trace_key(struct aws_client *c, const struct trace_options *o, struct trace_result *r,
	      struct strbuf *err)
{
	struct shared sh;
	struct cloudtrail_pacer *own = o->pacers ? NULL : xcalloc(o->nregions + 1, sizeof(*own));
	struct cloudtrail_pacer *pacers = o->pacers ? o->pacers : own;
	char *keys[1];
	size_t i;
	int rc;

	memset(r, 0, sizeof(*r));
	memset(&sh, 0, sizeof(sh));
	pthread_mutex_init(&sh.lock, NULL);
	sh.keep = o->keep;
	sh.nkeep = o->nkeep;
	keys[0] = (char *)o->key_id;
	rc = pass(c, o, pacers, keys, 1, 0, &sh, r, err);
	if (!rc && sh.nissued)
		rc = pass(c, o, pacers, sh.issued, sh.nissued, 1, &sh, r, err);
	r->events = sh.events;
	r->malformed = sh.malformed;
	r->derived_keys = sh.issued;
	r->nderived = sh.nissued;
	r->callers = xcalloc(sh.naggs + 1, sizeof(*r->callers));
	for (i = 0; i < sh.naggs; i++) {
		struct agg *a = &sh.aggs[i];
		struct trace_caller *t = &r->callers[r->ncallers++];
		t->source = a->source;
		t->user_agent = a->user_agent;
		t->derived = a->derived;
		t->session_key = a->session_key;
		t->count = a->count;
		t->errors = a->errors;
		t->first = a->first;
		t->last = a->last;
		t->regions = counts_join(&a->regions, 0);
		t->event_sources = counts_join(&a->sources, 0);
		t->top_events = counts_join(&a->names, 1);
		counts_release(&a->regions);
		counts_release(&a->sources);
		counts_release(&a->names);
	}
	qsort(r->callers, r->ncallers, sizeof(*r->callers), by_events);
	if (sh.nkept)
		qsort(sh.kept, sh.nkept, sizeof(*sh.kept), by_time);
	r->kept = sh.kept;
	r->nkept = sh.nkept;
	free(sh.aggs);
	free(own);
	pthread_mutex_destroy(&sh.lock);
	return rc;
}

int trace_enabled_regions(struct aws_client *c, char ***regions, const char ***view, size_t *n,
			  struct strbuf *note, struct strbuf *err)
{
	struct strbuf why = STRBUF_INIT;
	const char *const *builtin;
	size_t i;
	int rc = ec2_enabled_regions(c, regions, n, &why);

	if (rc < 0) {
		strbuf_addbuf(err, &why);
	} else if (rc > 0) {
		builtin = aws_partition_regions(c->region, n);
		*regions = xcalloc(*n + 1, sizeof(**regions));
		for (i = 0; i < *n; i++)
			(*regions)[i] = xstrdup(builtin[i]);
		strbuf_addf(note,
			    "%s is denied (%s): searching the %zu regions of partition %s "
			    "that need no opt-in",
			    EC2_DESCRIBE_REGIONS_PERMISSION, why.buf, *n,
			    aws_partition_name(c->region));
		rc = 0;
	}
	if (!rc && view) {
		*view = xcalloc(*n + 1, sizeof(**view));
		for (i = 0; i < *n; i++)
			(*view)[i] = (*regions)[i];
	}
	strbuf_release(&why);
	return rc;
}

void trace_regions_free(char **regions, size_t n)
{
	free_strings(regions, n);
}

static void trace_caller_release(struct trace_caller *c)
{
	FREE_ALL(c->source, c->session_key, c->user_agent, c->regions, c->event_sources,
		 c->top_events);
}

static void trace_event_release(struct trace_event *e)
{
	FREE_ALL(e->name, e->source, e->user_agent, e->region, e->error_code, e->session_key);
}

void trace_result_release(struct trace_result *r)
{
	FREE_ARRAY(r->callers, r->ncallers, trace_caller_release);
	free_strings(r->derived_keys, r->nderived);
	FREE_ARRAY(r->kept, r->nkept, trace_event_release);
	memset(r, 0, sizeof(*r));
}

void trace_result_free(struct trace_result *r)
{
	if (!r)
		return;
	trace_result_release(r);
	free(r);
}

void trace_callers_describe(struct strbuf *sb, const struct trace_result *r, size_t max)
{
	size_t i;

	for (i = 0; i < r->ncallers && i < max; i++) {
		const struct trace_caller *t = &r->callers[i];
		size_t ua = strcspn(t->user_agent, " ");
		strbuf_addf(sb, "%s%s %.*s last ", i ? "; " : "", t->source, ua ? (int)ua : 1,
			    ua ? t->user_agent : "-");
		iso8601_format(sb, t->last);
	}
}

json_t *trace_callers_json(const struct trace_result *r, size_t max)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < r->ncallers && i < max; i++) {
		const struct trace_caller *t = &r->callers[i];
		strbuf_reset(&sb);
		iso8601_format(&sb, t->last);
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:I,s:b}", "Source", t->source,
						   "UserAgent", t->user_agent, "LastSeen", sb.buf,
						   "Events", (json_int_t)t->count, "Derived",
						   t->derived));
	}
	strbuf_release(&sb);
	return a;
}
