/*
 * Many accounts in one run: selection, roles and the account workers.
 *
 * Concurrency: the command says how many accounts run at once (audit,
 * deactivate, delete: --jobs workers in all, --account-jobs or 4 of them
 * per account; users and rotate: --parallel-accounts accounts, one worker
 * each). Every account has its own clients, connections and retry quota,
 * so an account that is throttled backs off in its own worker while the
 * others go on.
 */
#include "core/compat.h"
#include "engine/org.h"
#include "aws/msg.h"
#include "aws/client.h"
#include "aws/credentials.h"
#include "aws/iam.h"

#include <jansson.h>
#include <pthread.h>

void org_opts_release(struct org_opts *o)
{
	account_list_release(&o->list);
}

int org_role_arn(const struct org_opts *o, const char *region, const char *account,
		 struct strbuf *out, struct strbuf *err)
{
	const char *p;

	if (!o->role_arn) {
		strbuf_addf(out, "arn:%s:iam::%s:role/%s", aws_partition_name(region), account,
			    o->role_name ? o->role_name : ORG_DEFAULT_ROLE);
		return 0;
	}
	for (p = o->role_arn; *p;) {
		const char *open = strchr(p, '{');
		if (!open) {
			strbuf_addstr(out, p);
			break;
		}
		strbuf_add(out, p, (size_t)(open - p));
		if (strncmp(open, "{account}", 9)) {
			strbuf_addf(err,
				    "invalid --role-arn '%s': the only placeholder is {account}",
				    o->role_arn);
			return -1;
		}
		strbuf_addstr(out, account);
		p = open + 9;
	}
	return 0;
}

/* Organizations ListAccounts */

struct accounts_page {
	struct account_list active;
	size_t inactive;
	char *next_token;
};

static void accounts_page_release(struct accounts_page *pg)
{
	account_list_release(&pg->active);
	free(pg->next_token);
	memset(pg, 0, sizeof(*pg));
}

/* Parses one page while the call can still be retried. */
static int parse_accounts_page(void *ctx, const char *body, size_t len, struct strbuf *err)
{
	struct accounts_page *pg = ctx;
	json_error_t je;
	json_t *doc, *list, *acc, *tok;
	size_t i;
	int rc = -1;

	accounts_page_release(pg);
	doc = json_loadb(body, len, 0, &je);
	if (!doc) {
		strbuf_addstr(err, "not JSON: ");
		strbuf_add_oneline(err, je.text);
		return -1;
	}
	list = json_object_get(doc, "Accounts");
	if (!json_is_array(list)) {
		strbuf_addstr(err, "no Accounts array");
		goto out;
	}
	json_array_foreach(list, i, acc)
	{
		const char *id = json_string_value(json_object_get(acc, "Id"));
		const char *status = json_string_value(json_object_get(acc, "Status"));
		if (!status) /* the newer State field */
			status = json_string_value(json_object_get(acc, "State"));
		if (!id || !account_id_valid(id, strlen(id))) {
			strbuf_addstr(err, "an account without a valid Id");
			goto out;
		}
		if (status && !strcmp(status, "ACTIVE"))
			account_list_add(&pg->active, id);
		else
			pg->inactive++;
	}
	tok = json_object_get(doc, "NextToken");
	if (json_is_string(tok) && *json_string_value(tok))
		pg->next_token = xstrdup(json_string_value(tok));
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

static int list_org_accounts(struct aws_client *c, struct account_list *out, size_t *inactive,
			     struct strbuf *err)
{
	struct accounts_page pg;
	char *token = NULL;
	unsigned pages = 0;
	int rc = -1;

	memset(&pg, 0, sizeof(pg));
	do {
		struct aws_call_opts opts = { 0 };
		struct strbuf body = STRBUF_INIT; /* parsed into pg by the validator */
		json_t *req = json_object();
		char *text;
		size_t i;
		int called;

		if (token)
			json_object_set_new(req, "NextToken", json_string(token));
		text = json_dumps(req, JSON_COMPACT);
		json_decref(req);
		opts.validate = parse_accounts_page;
		opts.validate_ctx = &pg;
		called = aws_json_call_ex(c, AWS_SVC_ORGANIZATIONS,
					  "AWSOrganizationsV20161128.ListAccounts", text, &opts,
					  &body, NULL, err);
		free(text);
		strbuf_release(&body);
		if (called < 0)
			goto out;
		for (i = 0; i < pg.active.n; i++)
			account_list_add(out, pg.active.ids[i]);
		*inactive += pg.inactive;
		free(token);
		token = pg.next_token;
		pg.next_token = NULL;
		if (++pages > 100000) {
			strbuf_addstr(err, "ListAccounts: NextToken never ends");
			goto out;
		}
	} while (token);
	rc = 0;
out:
	free(token);
	accounts_page_release(&pg);
	return rc;
}

/* The account workers */

struct org_pool {
	const struct org_opts *o;
	struct aws_client *caller;
	struct org_run *run;
	org_account_fn fn;
	void *ctx;
	size_t next;
	pthread_mutex_t lock;
};

/* A client for one account: the caller's credentials in its own account, else the role's. */
static struct aws_client *account_client(const struct org_pool *p, const char *account,
					 struct strbuf *err)
{
	struct aws_client *caller = p->caller, *c;
	struct cred_provider *prov;
	struct aws_credentials probe = { 0 };
	struct cred_env env;
	struct strbuf arn = STRBUF_INIT;

	if (p->o->caller_client ||
	    (p->run->caller_account && !strcmp(account, p->run->caller_account)))
		return aws_client_clone(caller, err);
	if (org_role_arn(p->o, caller->region, account, &arn, err) < 0)
		return NULL;
	memset(&env, 0, sizeof(env));
	env.getenv_fn = caller->getenv_fn;
	env.ctx = caller->getenv_ctx;
	env.region = caller->region;
	env.endpoint_url = caller->endpoint_url;
	env.debug = caller->verbose;
	env.now = caller->now;
	prov = cred_provider_assume_role_new(&env, cred_provider_borrow(caller->creds), arn.buf,
					     p->o->external_id, ORG_SESSION_NAME, 0, err);
	strbuf_release(&arn);
	if (!prov)
		return NULL;
	/* assume the role now, so that a denied role is this account's one error */
	if (cred_provider_get(prov, &probe, err) != 0) {
		aws_credentials_release(&probe);
		cred_provider_destroy(prov);
		return NULL;
	}
	aws_credentials_release(&probe);
	c = aws_client_new(prov, caller->region, caller->endpoint_url, NULL, err);
	if (c)
		aws_client_copy_settings(c, caller);
	return c;
}

static void run_account(struct org_pool *p, struct org_account *a)
{
	struct strbuf err = STRBUF_INIT;
	struct aws_client *c = account_client(p, a->id, &err);

	if (!c || p->fn(p->ctx, c, a, &err) < 0) {
		a->failed = 1;
		strbuf_addbuf(&a->error, &err);
		if (!a->error.len)
			strbuf_addstr(&a->error, "failed");
	}
	aws_client_free(c);
	strbuf_release(&err);
}

static void *account_worker(void *arg)
{
	struct org_pool *p = arg;

	for (;;) {
		size_t i;
		pthread_mutex_lock(&p->lock);
		i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->run->n)
			break;
		run_account(p, &p->run->accounts[i]);
	}
	return NULL;
}

int org_run(struct aws_client *caller, const struct org_opts *o, int parallel, org_account_fn fn,
	    void *ctx, struct org_run *run, struct strbuf *err)
{
	struct account_list sel = { 0 };
	struct sts_caller_identity id = { 0 };
	struct org_pool pool;
	pthread_t *th = NULL;
	size_t i, before, inactive = 0;
	int started = 0, rc = -1;

	memset(run, 0, sizeof(*run));
	if (sts_get_caller_identity(caller, &id, err) < 0) {
		sts_caller_identity_release(&id);
		goto out;
	}
	run->caller_account = xstrdup_or_null(id.account);
	sts_caller_identity_release(&id);
	if (o->org) {
		if (list_org_accounts(caller, &sel, &inactive, err) < 0)
			goto out;
		account_list_sort_unique(&sel);
	} else {
		for (i = 0; i < o->list.n; i++)
			account_list_add(&sel, o->list.ids[i]);
	}
	before = sel.n;
	account_list_shard(&sel, &o->sh);
	if (!sel.n && o->sh.count)
		warning("shard %s has none of the %zu selected accounts: nothing to do", o->shard,
			before);
	else if (!sel.n)
		warning("no ACTIVE account selected: nothing to do");
	run->accounts = xcalloc(sel.n + 1, sizeof(*run->accounts));
	run->n = sel.n;
	for (i = 0; i < sel.n; i++) {
		memcpy(run->accounts[i].id, sel.ids[i], sizeof(run->accounts[i].id));
		strbuf_init(&run->accounts[i].error, 0);
	}

	memset(&pool, 0, sizeof(pool));
	pool.o = o;
	pool.caller = caller;
	pool.run = run;
	pool.fn = fn;
	pool.ctx = ctx;
	pthread_mutex_init(&pool.lock, NULL);
	if (parallel < 1)
		parallel = 1;
	if ((size_t)parallel > run->n)
		parallel = (int)run->n;
	th = xcalloc((size_t)parallel + 1, sizeof(*th));
	for (i = 0; i < (size_t)parallel; i++) {
		if (pthread_create(&th[i], NULL, account_worker, &pool))
			break;
		started++;
	}
	if (!started)
		account_worker(&pool); /* no thread: this one does the work */
	for (i = 0; i < (size_t)started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&pool.lock);
	for (i = 0; i < run->n; i++)
		run->nfailed += (size_t)run->accounts[i].failed;
	rc = 0;
out:
	free(th);
	account_list_release(&sel);
	return rc;
}

void org_run_release(struct org_run *run, void (*free_result)(void *))
{
	size_t i;
	for (i = 0; i < run->n; i++) {
		if (free_result && run->accounts[i].result)
			free_result(run->accounts[i].result);
		strbuf_release(&run->accounts[i].error);
	}
	free(run->accounts);
	free(run->caller_account);
	memset(run, 0, sizeof(*run));
}

json_t *org_failed_json(const struct org_run *run)
{
	json_t *arr = json_array();
	size_t i;
	for (i = 0; i < run->n; i++) {
		json_t *o, *e;
		if (!run->accounts[i].failed)
			continue;
		o = json_object();
		json_object_set_new(o, "AccountId", json_string(run->accounts[i].id));
		e = json_string(run->accounts[i].error.buf);
		json_object_set_new(o, "Error", e ? e : json_string("(the message is not UTF-8)"));
		json_array_append_new(arr, o);
	}
	return arr;
}
