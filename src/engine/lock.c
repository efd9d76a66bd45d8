/*
 * The per-account lock: a local flock, and optionally a DynamoDB lease
 * (see lock.h for the protocol and docs/safety.md for what it guarantees).
 */
#include "core/compat.h"
#include "engine/lock.h"
#include "engine/audit.h"
#include "aws/client.h"
#include "aws/dynamodb.h"
#include "aws/process.h"
#include "core/timeutil.h"

#include <pthread.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/random.h>

#define HOLDER_MAX 512

void lock_options_init(struct lock_options *o)
{
	memset(o, 0, sizeof(*o));
	o->lease = -1;
}

/* DynamoDB table names: 3 to 255 of [a-zA-Z0-9_.-]. */
static int table_name_valid(const char *s)
{
	size_t i, n = strlen(s);
	if (n < 3 || n > 255)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return 0;
	return 1;
}

static const char *dynamodb_table(const struct lock_options *o)
{
	return o->lock && !strncmp(o->lock, "dynamodb:", 9) ? o->lock + 9 : NULL;
}

int lock_options_check(const struct lock_options *o, struct strbuf *err)
{
	const char *table = dynamodb_table(o);

	if (o->lock && strcmp(o->lock, "local") && !table) {
		strbuf_addf(err, "invalid --lock '%s': use local or dynamodb:TABLE", o->lock);
		return -1;
	}
	if (table && !table_name_valid(table)) {
		strbuf_addf(err,
			    "invalid --lock '%s': a DynamoDB table name is 3 to 255 letters, "
			    "digits, '_', '-' or '.'",
			    o->lock);
		return -1;
	}
	if (o->lease >= 0 && !table) {
		strbuf_addstr(err, "--lock-lease is for --lock dynamodb:TABLE");
		return -1;
	}
	if (o->lease >= 0 && o->lease < LOCK_MIN_LEASE) {
		strbuf_addf(err, "invalid --lock-lease: at least %ds", LOCK_MIN_LEASE);
		return -1;
	}
	if (o->dir && !*o->dir) {
		strbuf_addstr(err, "--lock-dir is empty");
		return -1;
	}
	return 0;
}

/* ---- the local lock */

static int lock_dir_path(const struct lock_options *o, struct strbuf *out, struct strbuf *err)
{
	const char *env = getenv("IAMKEYS_LOCK_DIR");
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (o->dir) {
		strbuf_addstr(out, o->dir);
		return 0;
	}
	if (env && *env) {
		strbuf_addstr(out, env);
		return 0;
	}
	if (geteuid() == 0) {
		strbuf_addstr(out, "/run/lock/iamkeys");
		return 0;
	}
	/* the passwd entry, not $HOME or XDG_*: cron and a login shell must agree */
	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) || !res || !res->pw_dir ||
	    res->pw_dir[0] != '/') {
		strbuf_addstr(err, "cannot find the home directory for the lock: give --lock-dir");
		return -1;
	}
	strbuf_addf(out, "%s/.cache/iamkeys/locks", res->pw_dir);
	return 0;
}

/* Creates what is missing of path (0700), then checks the last directory is ours alone. */
static int prepare_dir(const char *path, struct strbuf *err)
{
	struct strbuf p = STRBUF_INIT;
	struct stat st;
	size_t i;
	int rc = -1;

	strbuf_addstr(&p, path);
	for (i = 1; i <= p.len; i++) {
		if (i < p.len && p.buf[i] != '/')
			continue;
		p.buf[i] = '\0';
		if (mkdir(p.buf, 0700) < 0 && errno != EEXIST) {
			strbuf_addf(err, "cannot create the lock directory '%s': %s", p.buf,
				    strerror(errno));
			goto out;
		}
		if (i < p.len)
			p.buf[i] = '/';
	}
	if (lstat(path, &st) < 0) {
		strbuf_addf(err, "cannot use the lock directory '%s': %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		strbuf_addf(err, "the lock directory '%s' is not a directory", path);
		goto out;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 022)) {
		strbuf_addf(err,
			    "the lock directory '%s' must be owned by this user and writable "
			    "by nobody else (it is mode %03o, owner %ld)",
			    path, (unsigned)(st.st_mode & 0777), (long)st.st_uid);
		goto out;
	}
	rc = 0;
out:
	strbuf_release(&p);
	return rc;
}

/* "pid=N host=H since=T command=C": the value of name, or "?". */
static void holder_field(struct strbuf *out, const char *info, const char *name)
{
	size_t n = strlen(name);
	const char *p = info;

	while ((p = strstr(p, name))) {
		if ((p == info || p[-1] == ' ') && p[n] == '=') {
			p += n + 1;
			strbuf_add(out, p, strcspn(p, " \n"));
			return;
		}
		p += n;
	}
	strbuf_addch(out, '?');
}

/* The line of a run that finds the lock taken (lease: "; its lease ... until T"). */
static void holder_message(struct strbuf *err, const char *account, const char *since,
			   const char *pid, const char *host, const char *lease)
{
	strbuf_addf(err,
		    "another iamkeys run holds the lock for account %s since %s (pid %s, "
		    "host %s%s)",
		    account, since, pid, host, lease ? lease : "");
}

/* 0 taken (*fd), LOCK_HELD (err), -1 error. */
static int local_try(int dfd, const char *dir, const char *account, const char *info, int *fd,
		     struct strbuf *err)
{
	struct strbuf name = STRBUF_INIT;
	struct stat st;
	int f, rc = -1;

	strbuf_addf(&name, "account-%s.lock", account);
	f = openat(dfd, name.buf, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (f < 0) {
		strbuf_addf(err, "cannot open the lock file '%s/%s': %s", dir, name.buf,
			    strerror(errno));
		goto out;
	}
	if (fstat(f, &st) < 0 || !S_ISREG(st.st_mode)) {
		strbuf_addf(err, "the lock file '%s/%s' is not a regular file", dir, name.buf);
		close(f);
		goto out;
	}
	if (flock(f, LOCK_EX | LOCK_NB) < 0) {
		char buf[HOLDER_MAX];
		ssize_t n = 0;
		int tries;
		struct strbuf since = STRBUF_INIT, pid = STRBUF_INIT, host = STRBUF_INIT;

		if (errno != EWOULDBLOCK) {
			strbuf_addf(err, "cannot lock '%s/%s': %s", dir, name.buf, strerror(errno));
			close(f);
			goto out;
		}
		/* the holder writes its line right after taking the lock: give it a moment */
		for (tries = 0; tries < 50; tries++) {
			n = pread(f, buf, sizeof(buf) - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			if (n > 0 && buf[n - 1] == '\n')
				break;
			aws_sleep_ms(2);
		}
		holder_field(&since, buf, "since");
		holder_field(&pid, buf, "pid");
		holder_field(&host, buf, "host");
		holder_message(err, account, since.buf, pid.buf, host.buf, NULL);
		strbuf_release(&since);
		strbuf_release(&pid);
		strbuf_release(&host);
		close(f);
		rc = LOCK_HELD;
		goto out;
	}
	/* ours: say who holds it, for the run that finds it taken */
	if (pwrite(f, info, strlen(info), 0) != (ssize_t)strlen(info) ||
	    ftruncate(f, (off_t)strlen(info)) < 0) {
		strbuf_addf(err, "cannot write the lock file '%s/%s': %s", dir, name.buf,
			    strerror(errno));
		close(f);
		goto out;
	}
	*fd = f;
	rc = 0;
out:
	strbuf_release(&name);
	return rc;
}

/* ---- the DynamoDB lease */

struct lease {
	struct aws_client *c; /* a clone: this thread until the renewer starts, then the renewer */
	const char *table;    /* points into the options */
	char lock_id[64];
	char owner[33];
	long long lease_s;
	pthread_t th;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	double renewed_ms; /* monotonic time when the last successful write was sent */
	int lost;
};

static time_t lease_now(const struct lease *l)
{
	return aws_client_now(l->c);
}

static json_t *lease_key(const struct lease *l)
{
	return json_pack("{s:o}", "LockID", ddb_s(l->lock_id));
}

static int is_condition_failure(const struct aws_client *c)
{
	return !strcmp(aws_client_last_error_code(c), DDB_CONDITION_FAILED);
}

/* GetItem, strongly consistent: the item (new reference) or NULL when there is none. -1 on error. */
static int lease_read(struct lease *l, json_t **item, struct strbuf *err)
{
	json_t *req = json_pack("{s:s, s:o, s:b}", "TableName", l->table, "Key", lease_key(l),
				"ConsistentRead", 1);
	json_t *out = NULL;
	int rc = dynamodb_call(l->c, "GetItem", req, &out, err);

	json_decref(req);
	*item = NULL;
	if (rc < 0)
		return -1;
	*item = json_incref(json_object_get(out, "Item"));
	json_decref(out);
	return 0;
}

/* 0 taken, LOCK_HELD (err), -1 error. */
static int lease_try(struct lease *l, const char *account, const char *command, struct strbuf *err)
{
	struct strbuf since = STRBUF_INIT;
	char host[256];
	time_t now = lease_now(l);
	json_t *req, *item = NULL;
	double t_send;
	int rc = -1, tries;

	if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	iso8601_format(&since, now);
	req = json_pack("{s:s, s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o}, s:s, s:{s:s}, s:{s:o}}",
			"TableName", l->table, "Item", "LockID", ddb_s(l->lock_id), "Owner",
			ddb_s(l->owner), "Expires", ddb_n((long long)now + l->lease_s), "Since",
			ddb_s(since.buf), "Host", ddb_s(host), "Pid", ddb_n((long long)getpid()),
			"Command", ddb_s(command), "ConditionExpression",
			"attribute_not_exists(LockID) OR #expires < :now",
			"ExpressionAttributeNames", "#expires", "Expires",
			"ExpressionAttributeValues", ":now", ddb_n((long long)now));
	/* twice at most: the holder may have released it between our PutItem and GetItem */
	for (tries = 0; tries < 2; tries++) {
		struct strbuf e = STRBUF_INIT;
		t_send = aws_monotonic_ms();
		if (!dynamodb_call(l->c, "PutItem", req, NULL, &e)) {
			l->renewed_ms = t_send;
			strbuf_release(&e);
			rc = 0;
			break;
		}
		if (!is_condition_failure(l->c)) {
			strbuf_addf(err, "cannot take the lock in DynamoDB table '%s': %s",
				    l->table, e.buf);
			strbuf_release(&e);
			break;
		}
		strbuf_release(&e);
		strbuf_reset(&e);
		if (lease_read(l, &item, &e) < 0) {
			strbuf_addf(err, "cannot read the lock in DynamoDB table '%s': %s",
				    l->table, e.buf);
			strbuf_release(&e);
			break;
		}
		strbuf_release(&e);
		if (!item)
			continue;
		if (ddb_get(item, "Owner") && !strcmp(ddb_get(item, "Owner"), l->owner)) {
			/* our own earlier attempt, whose reply was lost */
			l->renewed_ms = t_send;
			rc = 0;
			break;
		}
		{
			struct strbuf tail = STRBUF_INIT;
			const char *exp = ddb_get(item, "Expires");
			long long until = exp ? strtoll(exp, NULL, 10) : 0;
			strbuf_addf(&tail, "; its lease in DynamoDB table %s runs until ",
				    l->table);
			if (until > 0)
				iso8601_format(&tail, (time_t)until);
			else
				strbuf_addch(&tail, '?');
			holder_message(err, account,
				       ddb_get(item, "Since") ? ddb_get(item, "Since") : "?",
				       ddb_get(item, "Pid") ? ddb_get(item, "Pid") : "?",
				       ddb_get(item, "Host") ? ddb_get(item, "Host") : "?",
				       tail.buf);
			strbuf_release(&tail);
		}
		rc = LOCK_HELD;
		break;
	}
	if (tries == 2)
		strbuf_addf(err,
			    "cannot take the lock in DynamoDB table '%s': it changes hands too "
			    "fast",
			    l->table);
	json_decref(item);
	json_decref(req);
	strbuf_release(&since);
	return rc;
}

static void *lease_renewer(void *arg)
{
	struct lease *l = arg;
	long interval_ms = (long)(l->lease_s * 1000 / 3);

	pthread_mutex_lock(&l->mu);
	while (!l->stop && !l->lost) {
		struct timespec ts;
		json_t *req;
		struct strbuf e = STRBUF_INIT;
		double t_send;
		int rc;

		aws_monotonic_deadline(&ts, interval_ms);
		while (!l->stop && pthread_cond_timedwait(&l->cv, &l->mu, &ts) == 0)
			;
		if (l->stop)
			break;
		pthread_mutex_unlock(&l->mu);
		req = json_pack("{s:s, s:o, s:s, s:s, s:{s:s, s:s}, s:{s:o, s:o}}", "TableName",
				l->table, "Key", lease_key(l), "UpdateExpression",
				"SET #expires = :expires", "ConditionExpression", "#owner = :owner",
				"ExpressionAttributeNames", "#expires", "Expires", "#owner",
				"Owner", "ExpressionAttributeValues", ":expires",
				ddb_n((long long)lease_now(l) + l->lease_s), ":owner",
				ddb_s(l->owner));
		t_send = aws_monotonic_ms();
		rc = dynamodb_call(l->c, "UpdateItem", req, NULL, &e);
		json_decref(req);
		pthread_mutex_lock(&l->mu);
		if (!rc)
			l->renewed_ms = t_send;
		else if (is_condition_failure(l->c))
			l->lost = 1; /* taken over, or deleted: it is not ours */
		/* other errors: try again next time; account_lock_valid watches the age */
		strbuf_release(&e);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

static int lease_valid(struct lease *l)
{
	int ok;
	pthread_mutex_lock(&l->mu);
	ok = !l->lost && aws_monotonic_ms() - l->renewed_ms < (double)l->lease_s * 1000.0 * 2 / 3;
	pthread_mutex_unlock(&l->mu);
	return ok;
}

static void lease_free(struct lease *l)
{
	if (!l)
		return;
	aws_client_free(l->c);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l);
}

static int lease_release(struct lease *l, const char *account, struct strbuf *err)
{
	json_t *req;
	struct strbuf e = STRBUF_INIT;
	int rc = 0, lost;

	if (l->started) {
		pthread_mutex_lock(&l->mu);
		l->stop = 1;
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->th, NULL);
	}
	lost = l->lost;
	req = json_pack("{s:s, s:o, s:s, s:{s:s}, s:{s:o}}", "TableName", l->table, "Key",
			lease_key(l), "ConditionExpression", "#owner = :owner",
			"ExpressionAttributeNames", "#owner", "Owner", "ExpressionAttributeValues",
			":owner", ddb_s(l->owner));
	if (dynamodb_call(l->c, "DeleteItem", req, NULL, &e) < 0) {
		if (lost || is_condition_failure(l->c))
			strbuf_addf(err,
				    "the lease of account %s in DynamoDB table %s was taken over "
				    "by another run before this one ended",
				    account, l->table);
		else
			strbuf_addf(err,
				    "cannot release the lease of account %s (it expires by "
				    "itself): %s",
				    account, e.buf);
		rc = -1;
	}
	json_decref(req);
	strbuf_release(&e);
	return rc;
}

/* ---- the lock */

struct account_lock {
	char account[16];
	int fd;
	struct lease *lease;
};

static void random_hex(char *out, size_t nbytes)
{
	unsigned char b[32];
	size_t i;

	if (nbytes > sizeof(b))
		nbytes = sizeof(b);
	if (getrandom(b, nbytes, 0) != (ssize_t)nbytes) {
		/* no entropy source: time and pid still tell two runs apart */
		unsigned long long x = (unsigned long long)aws_monotonic_ms() * 1000003ULL ^
				       (unsigned long long)getpid() << 32 ^
				       (unsigned long long)time(NULL);
		for (i = 0; i < nbytes;
		     i++, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
			b[i] = (unsigned char)(x >> 56);
	}
	for (i = 0; i < nbytes; i++) {
		out[2 * i] = "0123456789abcdef"[b[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[b[i] & 15];
	}
	out[2 * nbytes] = '\0';
}

/* Sleeps up to ms, in slices, unless a SIGINT/SIGTERM came. 0, or LOCK_STOPPED. */
static int wait_slice(long ms)
{
	while (ms > 0) {
		long s = ms > 100 ? 100 : ms;
		if (interrupt_signal())
			return LOCK_STOPPED;
		aws_sleep_ms(s);
		ms -= s;
	}
	return interrupt_signal() ? LOCK_STOPPED : 0;
}

struct local_args {
	int dfd;
	const char *dir, *account, *info;
	int *fd;
};

static int local_try_once(void *ctx, struct strbuf *err)
{
	struct local_args *a = ctx;

	return local_try(a->dfd, a->dir, a->account, a->info, a->fd, err);
}

struct lease_args {
	struct lease *l;
	const char *account, *command;
};

static int lease_try_once(void *ctx, struct strbuf *err)
{
	struct lease_args *a = ctx;

	return lease_try(a->l, a->account, a->command, err);
}

/*
 * Tries again, every slice_ms, while another holds the lock, until the
 * deadline or a SIGINT/SIGTERM (LOCK_STOPPED); e holds the last try's message.
 */
static int try_until(int (*try_once)(void *ctx, struct strbuf *err), void *ctx, double deadline,
		     long slice_ms, struct strbuf *e)
{
	int rc;

	for (;;) {
		strbuf_reset(e);
		rc = try_once(ctx, e);
		if (rc != LOCK_HELD || aws_monotonic_ms() >= deadline)
			return rc;
		if (wait_slice(slice_ms) == LOCK_STOPPED)
			return LOCK_STOPPED;
	}
}

int account_lock_take(const struct lock_options *o, struct aws_client *c, const char *account,
		      const char *command, struct account_lock **out, struct strbuf *err)
{
	struct account_lock *lk = xcalloc(1, sizeof(*lk));
	struct strbuf dir = STRBUF_INIT, info = STRBUF_INIT, e = STRBUF_INIT;
	const char *table = dynamodb_table(o);
	double deadline = aws_monotonic_ms() + (double)(o->wait > 0 ? o->wait : 0) * 1000.0;
	struct local_args local;
	struct lease_args lease;
	char host[256];
	int dfd = -1, rc = -1;

	*out = NULL;
	lk->fd = -1;
	if (strlen(account) >= sizeof(lk->account) || !*account) {
		strbuf_addf(err, "cannot lock account '%s': not an account id", account);
		goto out;
	}
	memcpy(lk->account, account, strlen(account) + 1);
	if (lock_dir_path(o, &dir, err) < 0 || prepare_dir(dir.buf, err) < 0)
		goto out;
	dfd = open(dir.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0) {
		strbuf_addf(err, "cannot open the lock directory '%s': %s", dir.buf,
			    strerror(errno));
		goto out;
	}
	if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	strbuf_addf(&info, "pid=%ld host=%s since=", (long)getpid(), *host ? host : "?");
	iso8601_format(&info, aws_clock_now());
	strbuf_addf(&info, " command=%s\n", command);
	local.dfd = dfd;
	local.dir = dir.buf;
	local.account = account;
	local.info = info.buf;
	local.fd = &lk->fd;
	rc = try_until(local_try_once, &local, deadline, 200, &e);
	if (rc) {
		strbuf_addbuf(err, &e);
		goto out;
	}
	if (table) {
		struct lease *l = xcalloc(1, sizeof(*l));
		pthread_condattr_t ca;

		lk->lease = l;
		pthread_mutex_init(&l->mu, NULL);
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&l->cv, &ca);
		pthread_condattr_destroy(&ca);
		l->table = table;
		l->lease_s = o->lease >= LOCK_MIN_LEASE ? o->lease : LOCK_DEFAULT_LEASE;
		snprintf(l->lock_id, sizeof(l->lock_id), "iamkeys/%s", account);
		random_hex(l->owner, 16);
		l->c = aws_client_clone(c, err);
		if (!l->c)
			goto out;
		lease.l = l;
		lease.account = account;
		lease.command = command;
		rc = try_until(lease_try_once, &lease, deadline, 1000, &e);
		if (rc) {
			strbuf_addbuf(err, &e);
			goto out;
		}
		if (pthread_create(&l->th, NULL, lease_renewer, l)) {
			strbuf_reset(&e);
			lease_release(l, account, &e);
			strbuf_addstr(err, "cannot start the thread that renews the lease");
			rc = -1;
			goto out;
		}
		l->started = 1;
	}
	*out = lk;
	lk = NULL;
	rc = 0;
out:
	if (lk) {
		lease_free(lk->lease);
		if (lk->fd >= 0)
			close(lk->fd);
		free(lk);
	}
	if (dfd >= 0)
		close(dfd);
	strbuf_release(&dir);
	strbuf_release(&info);
	strbuf_release(&e);
	return rc;
}

int account_lock_valid(struct account_lock *l)
{
	return !l || !l->lease || lease_valid(l->lease);
}

int account_lock_release(struct account_lock *l, struct strbuf *err)
{
	int rc = 0;

	if (!l)
		return 0;
	if (l->lease) {
		rc = lease_release(l->lease, l->account, err);
		lease_free(l->lease);
	}
	if (l->fd >= 0)
		close(l->fd); /* the flock goes with the last descriptor */
	free(l);
	return rc;
}
