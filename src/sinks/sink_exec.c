#include "core/compat.h"
#include "sinks/sink.h"
#include "core/strbuf.h"

#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>

/*
 * exec:COMMAND: COMMAND (split into words by sink_split_command, no
 * shell) is started with posix_spawnp, the JSON document written to its
 * standard input (a pipe, then closed). Its standard output and error both
 * go to our standard error, so nothing it prints lands in our output; it
 * inherits no other descriptor (every one from 3 up is closed in the
 * child: no HTTP connection of ours reaches it). Its environment is an
 * allow-list: PATH, HOME, LANG, LC_*, TZ, TMPDIR, USER and LOGNAME from
 * ours, then IAMKEYS_USER, IAMKEYS_ACCESS_KEY_ID, IAMKEYS_ACCOUNT (when
 * known), IAMKEYS_CREATE_DATE and the context's exec_env, which iamkeys
 * sets; never the secret (a variable whose value holds it is dropped).
 * A user name that starts with '-' (IAM allows it) must not reach the
 * command as an option: a word that begins with it is refused unless a
 * "--" word comes before (the name is in IAMKEYS_USER either way). The
 * command must exit 0 within the timeout (60 s by default), or it is
 * killed and the delivery fails.
 */

#define DEFAULT_TIMEOUT_MS 60000

static const struct sink_vtable exec_vtable;

struct exec_sink {
	struct sink base;
	char **argv;
	char **extra_env; /* NAME=VALUE from the context */
	char *account;
	int timeout_ms;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The variables of ours the command gets (LC_* by prefix). */
static const char *const kept_vars[] = {
	"PATH", "HOME", "LANG", "TZ", "TMPDIR", "USER", "LOGNAME"
};

/* Is the variable "NAME=VALUE" kept from our environment? */
static int env_kept(const char *var, char *const *added, size_t nadded)
{
	const char *eq = strchr(var, '=');
	size_t len = eq ? (size_t)(eq - var) : strlen(var), i;
	int kept = 0;

	if (!eq)
		return 0;
	for (i = 0; i < ARRAY_SIZE(kept_vars); i++)
		if (len == strlen(kept_vars[i]) && !memcmp(var, kept_vars[i], len))
			kept = 1;
	if (len > 3 && !memcmp(var, "LC_", 3))
		kept = 1;
	for (i = 0; kept && i < nadded; i++)
		if (!strncmp(added[i], var, len + 1)) /* replaced by ours */
			kept = 0;
	return kept;
}

static void add_var(char ***vars, size_t *n, size_t *alloc, const char *name, const char *value)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s=%s", name, value);
	ALLOC_GROW(*vars, *n + 1, *alloc);
	(*vars)[(*n)++] = strbuf_detach(&sb, NULL);
}

/*
 * The child's environment, NULL-terminated (free with sink_argv_free): the
 * kept variables of ours, then ours (NAME=VALUE, NULL-terminated), then the
 * context's exec_env (ours win); never a variable holding forbidden.
 */
static char **build_env(const struct exec_sink *e, char *const *ours, const char *forbidden)
{
	char **added = NULL, **env = NULL;
	size_t nadded = 0, aalloc = 0, n = 0, alloc = 0, i;
	char **var;

	for (i = 0; ours && ours[i]; i++) {
		ALLOC_GROW(added, nadded + 1, aalloc);
		added[nadded++] = xstrdup(ours[i]);
	}
	for (i = 0; e->extra_env && e->extra_env[i]; i++) {
		const char *x = e->extra_env[i];
		size_t j, len = (size_t)(strchr(x, '=') - x) + 1;
		for (j = 0; j < nadded; j++)
			if (!strncmp(added[j], x, len))
				break;
		if (j < nadded)
			continue; /* ours win */
		ALLOC_GROW(added, nadded + 1, aalloc);
		added[nadded++] = xstrdup(x);
	}

	for (var = environ; var && *var; var++)
		if (env_kept(*var, added, nadded)) {
			ALLOC_GROW(env, n + 1, alloc);
			env[n++] = xstrdup(*var);
		}
	for (i = 0; i < nadded; i++) {
		ALLOC_GROW(env, n + 1, alloc);
		env[n++] = added[i];
	}
	free(added);
	ALLOC_GROW(env, n + 1, alloc);
	env[n] = NULL;

	/* whatever got in, never the secret */
	for (i = 0; forbidden && *forbidden && i < n; i++)
		while (env[i] && strstr(env[i], forbidden)) {
			free(env[i]);
			env[i] = env[--n];
			env[n] = NULL;
		}
	return env;
}

/*
 * Writes data to the non-blocking pipe fd before the deadline. SIGPIPE is
 * blocked in this thread meanwhile (a reader that went away is EPIPE, not
 * the end of iamkeys), and a SIGPIPE raised here is consumed. 0, or -1
 * with errno (ETIMEDOUT at the deadline).
 */
static int write_pipe(int fd, const char *data, size_t len, long long deadline)
{
	sigset_t pipe_set, old, pending;
	int was_pending, ret = 0, saved;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);

	while (len) {
		ssize_t n = write(fd, data, len);
		if (n >= 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			struct pollfd pfd = { fd, POLLOUT, 0 };
			long long left = deadline - now_ms();
			if (left <= 0) {
				errno = ETIMEDOUT;
				ret = -1;
				break;
			}
			if (poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left) < 0 &&
			    errno != EINTR) {
				ret = -1;
				break;
			}
			continue;
		}
		ret = -1;
		break;
	}
	saved = errno;
	if (ret && saved == EPIPE && !was_pending) {
		struct timespec zero = { 0, 0 };
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return ret;
}

/* Waits for pid until the deadline, then kills it. 0 and *status, or 1 after a kill. */
static int wait_child(pid_t pid, long long deadline, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR) {
			*status = 0;
			return 0; /* cannot happen: pid is our child */
		}
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			return 1;
		}
		nanosleep(&ts, NULL);
	}
}

/*
 * Runs the command with input on its standard input and the environment of
 * build_env(e, ours, forbidden); what names the input in a message ("the
 * secret"). 0, or -1 with "<target>: ..." in err.
 */
static int run_command(struct exec_sink *e, char *const *ours, const char *forbidden,
		       const char *input, size_t input_len, const char *what, struct strbuf *err)
{
	struct sink *k = &e->base;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	char **env;
	int fds[2], rc, status = 0, killed, write_errno = 0, ret = -1;
	long long deadline;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC)) {
		strbuf_addf(err, "%s: cannot create a pipe: %s", k->target, strerror(errno));
		return -1;
	}
	env = build_env(e, ours, forbidden);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
	posix_spawn_file_actions_adddup2(&fa, 2, 1);
	/* nothing else of ours: libcurl's sockets, files opened without O_CLOEXEC */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&attr);
	/* default dispositions and no blocked signals (we may ignore SIGPIPE) */
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	rc = posix_spawnp(&pid, e->argv[0], &fa, &attr, e->argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	sink_argv_free(env);
	close(fds[0]);
	if (rc) {
		strbuf_addf(err, "%s: cannot run '%s': %s", k->target, e->argv[0], strerror(rc));
		close(fds[1]);
		return -1;
	}

	deadline = now_ms() + e->timeout_ms;
	fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
	if (write_pipe(fds[1], input, input_len, deadline))
		write_errno = errno;
	close(fds[1]);

	killed = wait_child(pid, deadline, &status);
	if (killed)
		strbuf_addf(err, "%s: timed out after %d s (killed)", k->target,
			    (e->timeout_ms + 999) / 1000);
	else if (WIFSIGNALED(status))
		strbuf_addf(err, "%s: killed by signal %d", k->target, WTERMSIG(status));
	else if (WIFEXITED(status) && WEXITSTATUS(status))
		strbuf_addf(err, "%s: exited with status %d", k->target, WEXITSTATUS(status));
	else if (write_errno == EPIPE)
		strbuf_addf(err, "%s: exited without reading %s", k->target, what);
	else if (write_errno)
		strbuf_addf(err, "%s: cannot write to the command: %s", k->target,
			    strerror(write_errno));
	else
		ret = 0;
	return ret;
}

static void add_pair(char ***vars, size_t *n, size_t *alloc, const char *name, const char *value)
{
	add_var(vars, n, alloc, name, value);
	ALLOC_GROW(*vars, *n + 1, *alloc);
	(*vars)[*n] = NULL;
}

static int exec_deliver(struct sink *k, const struct new_secret *s, struct strbuf *err)
{
	struct exec_sink *e = (struct exec_sink *)k;
	const char *account = s->account_id && *s->account_id ? s->account_id : e->account;
	struct strbuf json = STRBUF_INIT;
	char **ours = NULL;
	size_t n = 0, alloc = 0;
	int ret;

	add_pair(&ours, &n, &alloc, "IAMKEYS_USER", s->user_name ? s->user_name : "");
	add_pair(&ours, &n, &alloc, "IAMKEYS_ACCESS_KEY_ID", s->access_key_id);
	if (account && *account)
		add_pair(&ours, &n, &alloc, "IAMKEYS_ACCOUNT", account);
	add_pair(&ours, &n, &alloc, "IAMKEYS_CREATE_DATE", s->create_date ? s->create_date : "");
	new_secret_json(&json, s);
	strbuf_addch(&json, '\n');
	ret = run_command(e, ours, s->secret_access_key, json.buf, json.len, "the secret", err);
	strbuf_release_secret(&json);
	sink_argv_free(ours);
	return ret;
}

int sink_exec_run(struct sink *k, char *const *env, const char *input, size_t len,
		  struct strbuf *err)
{
	struct exec_sink *e = (struct exec_sink *)k;

	if (!k || k->vt != &exec_vtable) {
		strbuf_addstr(err, "not an exec: target");
		return -1;
	}
	return run_command(e, env, NULL, input, len, "its input", err);
}

/* Can posix_spawnp run name: a path with '/' as is, else found in $PATH? */
static int command_runnable(const char *name)
{
	const char *path = getenv("PATH"), *p;

	if (strchr(name, '/')) {
		struct stat st;
		return !stat(name, &st) && S_ISREG(st.st_mode) && !access(name, X_OK);
	}
	if (!path || !*path)
		path = "/bin:/usr/bin";
	for (p = path;;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		struct strbuf full = STRBUF_INIT;
		struct stat st;
		int ok;

		strbuf_addf(&full, "%.*s/%s", (int)len, len ? p : ".", name);
		ok = !stat(full.buf, &st) && S_ISREG(st.st_mode) && !access(full.buf, X_OK);
		strbuf_release(&full);
		if (ok)
			return 1;
		if (!colon)
			return 0;
		p = colon + 1;
	}
}

/* Before the key exists: the command must be found. Nothing is held. */
static int exec_preflight(struct sink *k, char **held_key_id, struct strbuf *err)
{
	struct exec_sink *e = (struct exec_sink *)k;

	if (command_runnable(e->argv[0]))
		return 0;
	strbuf_addf(err, "%s: cannot run '%s': no such executable", k->target, e->argv[0]);
	return 1;
}

static void exec_release(struct sink *k)
{
	struct exec_sink *e = (struct exec_sink *)k;
	sink_argv_free(e->argv);
	sink_argv_free(e->extra_env);
	free(e->account);
}

static const struct sink_vtable exec_vtable = {
	.scheme = "exec",
	.deliver = exec_deliver,
	.release = exec_release,
	.preflight = exec_preflight,
};

struct sink *sink_exec_new(char **argv, const struct sink_context *ctx, char *target,
			   struct strbuf *err)
{
	struct exec_sink *e;
	size_t n = 0, alloc = 0, i;

	for (i = 0; ctx->exec_env && ctx->exec_env[i]; i++) {
		const char *eq = strchr(ctx->exec_env[i], '=');
		if (!eq || eq == ctx->exec_env[i]) {
			strbuf_addf(err, "%s: environment entry '%s' is not NAME=VALUE", target,
				    ctx->exec_env[i]);
			sink_argv_free(argv);
			free(target);
			return NULL;
		}
	}
	/* a user name such as "--config=x.y" must not become an option of the command */
	if (ctx->user && ctx->user[0] == '-') {
		size_t ul = strlen(ctx->user);
		for (i = 1; argv[i] && strcmp(argv[i], "--"); i++)
			if (!strncmp(argv[i], ctx->user, ul)) {
				strbuf_addf(
					err,
					"%s: user name '%s' would reach the command as an option "
					"(put {user} after '--', or read IAMKEYS_USER)",
					target, ctx->user);
				sink_argv_free(argv);
				free(target);
				return NULL;
			}
	}
	e = sink_alloc(sizeof(*e), &exec_vtable, target, NULL);
	e->argv = argv;
	e->account = xstrdup_or_null(ctx->account);
	e->timeout_ms = ctx->exec_timeout_ms > 0 ? ctx->exec_timeout_ms : DEFAULT_TIMEOUT_MS;
	for (i = 0; ctx->exec_env && ctx->exec_env[i]; i++) {
		ALLOC_GROW(e->extra_env, n + 2, alloc);
		e->extra_env[n++] = xstrdup(ctx->exec_env[i]);
		e->extra_env[n] = NULL;
	}
	return &e->base;
}
