/*
 * credential_process: a profile's command prints credentials as JSON
 * (Version 1) on stdout. The command line is split into words here
 * (cred_argv_split: simple quoting, no expansion) and run with posix_spawnp
 * -- never through a shell. stdin is /dev/null; stdout (secret) and stderr
 * are read through pipes until both close, under a timeout after which the
 * process is killed. It inherits no other descriptor: everything from 3 up
 * is closed in the child. A non-zero exit is an error quoting the first line of
 * its stderr. Every buffer that held stdout is wiped.
 */
#include "core/compat.h"
#include "aws/client.h"
#include "aws/readfile.h"
#include "aws/msg.h"
#include "aws/cred_internal.h"
#include "aws/credentials.h"
#include "core/credparse.h"

#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

struct process_provider {
	struct cred_cached c; /* base, env, cache */
	char *profile;
	char **argv; /* NULL-terminated */
};

static long ms_until(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(deadline->tv_sec - now.tv_sec) * 1000 +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000L;
}

/*
 * Reads from fd into sb (at most max bytes, then the rest is drained and
 * dropped). The buffer is allocated once up front, so it never moves.
 * 0: more to come; 1: EOF.
 */
static int read_some(int fd, struct strbuf *sb, size_t max)
{
	char scratch[4096];
	ssize_t n;

	if (sb->len < max) {
		n = read(fd, sb->buf + sb->len, max - sb->len);
		if (n > 0)
			strbuf_setlen(sb, sb->len + (size_t)n);
	} else {
		n = read(fd, scratch, sizeof(scratch));
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	return n <= 0;
}

/* Waits for pid until the deadline; then kills it. The exit status, or -1 when killed. */
static int reap(pid_t pid, const struct timespec *deadline, int *timed_out)
{
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (ms_until(deadline) <= 0) {
			*timed_out = 1;
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return -1;
		}
		{
			struct timespec ts = { 0, 10 * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
}

/* The first line of text, printable, at most 200 characters. */
static void add_first_line(struct strbuf *sb, const char *text)
{
	size_t i;

	while (*text == '\n' || *text == '\r' || *text == ' ')
		text++;
	for (i = 0; text[i] && text[i] != '\n' && text[i] != '\r' && i < 200; i++)
		strbuf_addch(sb,
			     isprint((unsigned char)text[i]) || text[i] == '\t' ? text[i] : '?');
}

/*
 * Runs argv; its stdout in out (wiped by the caller). 0, or -1 with err
 * ("cannot run", "timed out after N ms", "exited with status N: <stderr>").
 */
static int run_process(char **argv, long timeout_ms, struct strbuf *out, struct strbuf *err)
{
	posix_spawn_file_actions_t fa;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	struct strbuf errtext = STRBUF_INIT;
	struct timespec deadline;
	int status, timed_out = 0, rc, open_fds = 2, ret = -1;
	pid_t pid;

	if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		strbuf_addf(err, "cannot create a pipe: %s", strerror(errno));
		goto close;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, errp[1], STDERR_FILENO);
	/* nothing else iamkeys inherited or opened reaches the child (close_range) */
	posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	if (rc) {
		strbuf_addf(err, "cannot run '%s': %s", argv[0], strerror(rc));
		goto close;
	}

	strbuf_grow(out, LIMIT_PROCESS_STDOUT);
	strbuf_grow(&errtext, LIMIT_PROCESS_STDERR);
	aws_monotonic_deadline(&deadline, timeout_ms);
	while (open_fds) {
		struct pollfd pfd[2];
		nfds_t n = 0;
		long wait_ms = ms_until(&deadline);

		if (wait_ms <= 0)
			break;
		if (outp[0] >= 0) {
			pfd[n].fd = outp[0];
			pfd[n++].events = POLLIN;
		}
		if (errp[0] >= 0) {
			pfd[n].fd = errp[0];
			pfd[n++].events = POLLIN;
		}
		rc = poll(pfd, n, (int)(wait_ms > 1000 ? 1000 : wait_ms));
		if (rc < 0 && errno != EINTR)
			break;
		while (rc > 0 && n--) {
			int *fd = pfd[n].fd == outp[0] ? &outp[0] : &errp[0];

			if (!pfd[n].revents)
				continue;
			if (read_some(*fd, *fd == outp[0] ? out : &errtext,
				      *fd == outp[0] ? LIMIT_PROCESS_STDOUT
						     : LIMIT_PROCESS_STDERR)) {
				close(*fd);
				*fd = -1;
				open_fds--;
			}
		}
	}
	status = reap(pid, &deadline, &timed_out);
	if (timed_out || open_fds) {
		/* open_fds alone: it exited but left its output open to a child */
		strbuf_addf(err, "'%s' timed out after %ld ms", argv[0], timeout_ms);
	} else if (status < 0) {
		strbuf_addf(err, "cannot wait for '%s': %s", argv[0], strerror(errno));
	} else if (WIFSIGNALED(status)) {
		strbuf_addf(err, "'%s' was killed by signal %d", argv[0], WTERMSIG(status));
	} else if (WEXITSTATUS(status)) {
		strbuf_addf(err, "'%s' exited with status %d", argv[0], WEXITSTATUS(status));
		if (errtext.len) {
			strbuf_addstr(err, ": ");
			add_first_line(err, errtext.buf);
		}
	} else if (out->len >= LIMIT_PROCESS_STDOUT) {
		strbuf_addf(err, "'%s' printed more than %d bytes", argv[0], LIMIT_PROCESS_STDOUT);
	} else {
		ret = 0;
	}
close:
	if (outp[0] >= 0)
		close(outp[0]);
	if (errp[0] >= 0)
		close(errp[0]);
	if (outp[1] >= 0)
		close(outp[1]);
	if (errp[1] >= 0)
		close(errp[1]);
	/* stderr may echo a secret back: wipe it too */
	strbuf_release_secret(&errtext);
	return ret;
}

static int process_fetch(void *self, struct aws_credentials *out, struct strbuf *err)
{
	struct process_provider *p = self;
	struct strbuf text = STRBUF_INIT, why = STRBUF_INIT;
	int ret;

	if (p->c.env.debug)
		debug("profile '%s': running credential_process '%s'", p->profile, p->argv[0]);
	ret = run_process(p->argv, p->c.env.process_timeout_ms, &text, &why);
	if (!ret && cred_json_parse(CRED_JSON_PROCESS, text.buf, text.len, out, &why)) {
		strbuf_addf(err,
			    "profile '%s': credential_process '%s' printed bad credentials: %s",
			    p->profile, p->argv[0], why.buf);
		ret = -1;
	} else if (ret) {
		strbuf_addf(err, "profile '%s': credential_process %s", p->profile, why.buf);
	}
	strbuf_release_secret(&text);
	strbuf_release(&why);
	return ret;
}

static void process_destroy(struct cred_provider *base)
{
	struct process_provider *p = (struct process_provider *)base;

	cred_argv_free(p->argv);
	free(p->profile);
	cred_cached_free(&p->c);
}

static const struct cred_provider_vtable process_vt = {
	"credential-process",
	cred_cached_get,
	cred_cached_invalidate,
	process_destroy,
};

struct cred_provider *cred_process_new(const struct env_source *env, const char *profile,
				       const char *command_line, struct strbuf *err)
{
	struct process_provider *p;
	struct strbuf why = STRBUF_INIT;
	char **argv;
	size_t argc;

	if (cred_argv_split(command_line, &argv, &argc, &why)) {
		strbuf_addf(err, "profile '%s': credential_process: %s", profile, why.buf);
		strbuf_release(&why);
		return NULL;
	}
	p = cred_cached_new(sizeof(*p), &process_vt, env, process_fetch);
	p->profile = xstrdup(profile);
	p->argv = argv;
	return &p->c.base;
}
