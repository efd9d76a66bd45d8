#include "core/compat.h"
#include "cmd/cli.h"
#include "aws/readfile.h"
#include "aws/msg.h"
#include "aws/client.h"
#include "aws/credentials.h"
#include "core/awsconfig.h"
#include "core/permissions.h"
#include "core/timeutil.h"
#include "sinks/sink.h"

#include <sys/ioctl.h>
#include <curl/curl.h>
#include <jansson.h>
#include <libxml/xmlversion.h>
#include <libxml/parser.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <pthread.h>

int usage_error(const struct cli *cli, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (cli && cli->cmd)
		msg_line("%s (see 'iamkeys %s --help')", sb.buf, cli->cmd->name);
	else
		msg_line("%s (see 'iamkeys --help')", sb.buf);
	strbuf_release(&sb);
	return CMD_USAGE;
}

static void print_help(const struct cli *cli, const struct option *opts)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, "usage: ");
	/* continuation lines under the command's first option */
	options_add_wrapped(&sb, cli->cmd->usage,
			    strlen("usage: iamkeys ") + strlen(cli->cmd->name) + 1);
	strbuf_addf(&sb, "\n%s\n\noptions:\n", cli->cmd->summary);
	options_usage(opts, &sb);
	strbuf_addstr(&sb, "  -h, --help                  show this help\n");
	fputs(sb.buf, stdout);
	strbuf_release(&sb);
}

/*
 * What a shell completes after an option that takes a value (scripts/gendoc.py
 * writes the completion scripts from it): a list of words, or one of
 * "sink" (the schemes of core/permissions.c), "profile" (the profiles of
 * ~/.aws/config), "file". An option not named here completes a file when
 * its placeholder is FILE or PATH, and nothing otherwise.
 */
static const char *const source_values[] = { "report", "api", NULL };
static const char *const status_values[] = { "Active", "Inactive", NULL };
static const struct {
	const char *long_name;
	const char *complete;
	const char *const *values;
} option_completions[] = {
	{ "output", NULL, output_format_names },
	{ "source", NULL, source_values },
	{ "status", NULL, status_values },
	{ "fail-on", "findings", NULL },
	{ "to", "sink", NULL },
	{ "profile", "profile", NULL },
};

static json_t *strings_json(const char *const *v)
{
	json_t *a = json_array();
	for (; *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static json_t *findings_json(void)
{
	json_t *a = json_array();
	int i;
	for (i = FINDING_COUNT - 1; i >= 0; i--)
		json_array_append_new(a, json_string(finding_name(1u << i)));
	json_array_append_new(a, json_string("any"));
	json_array_append_new(a, json_string("none"));
	return a;
}

static void dump_command(const struct cli *cli, const struct option *opts)
{
	static const char *const kinds[] = { [OPT_BOOL] = "bool",
					     [OPT_STRING] = "string",
					     [OPT_STRLIST] = "list",
					     [OPT_DURATION] = "duration",
					     [OPT_INT] = "int" };
	json_t *c = json_object(), *a = json_array(), *flags = json_array();
	size_t i;

	for (; opts->kind != OPT_END; opts++) {
		json_t *o;
		const char *complete = NULL;
		if (!opts->help)
			continue;
		o = json_pack("{s:s, s:s, s:s}", "long", opts->long_name, "kind", kinds[opts->kind],
			      "help", opts->help);
		if (opts->short_name)
			json_object_set_new(o, "short", json_sprintf("%c", opts->short_name));
		if (opts->kind != OPT_BOOL)
			json_object_set_new(o, "argh",
					    json_string(opts->argh ? opts->argh : "VALUE"));
		json_object_set_new(o, "repeatable", json_boolean(opts->kind == OPT_STRLIST));
		if (opts->kind != OPT_BOOL && opts->argh &&
		    (!strcmp(opts->argh, "FILE") || !strcmp(opts->argh, "PATH")))
			complete = "file";
		for (i = 0; i < ARRAY_SIZE(option_completions); i++) {
			if (strcmp(option_completions[i].long_name, opts->long_name) ||
			    opts->kind == OPT_BOOL)
				continue;
			complete = option_completions[i].complete;
			if (option_completions[i].values)
				json_object_set_new(o, "values",
						    strings_json(option_completions[i].values));
		}
		if (complete && !strcmp(complete, "findings"))
			json_object_set_new(o, "values", findings_json());
		else if (complete)
			json_object_set_new(o, "complete", json_string(complete));
		json_array_append_new(a, o);
	}
	if (cli->cmd->flags & NEEDS_CREDS)
		json_array_append_new(flags, json_string("needs-creds"));
	if (cli->cmd->flags & MUTATES)
		json_array_append_new(flags, json_string("mutates"));
	json_object_set_new(c, "name", json_string(cli->cmd->name));
	json_object_set_new(c, "summary", json_string(cli->cmd->summary));
	json_object_set_new(c, "usage", json_string(cli->cmd->usage));
	json_object_set_new(c, "flags", flags);
	json_object_set_new(c, "options", a);
	json_array_append_new(cli->dump, c);
}

void cli_dump_tables(json_t *doc)
{
	json_t *sinks = json_array();
	const struct sink_scheme *k;
	for (k = sink_schemes; k->scheme; k++)
		json_array_append_new(sinks, json_pack("{s:s, s:s, s:s}", "scheme", k->scheme,
						       "form", k->form, "help", k->help));
	json_object_set_new(doc, "sinks", sinks);
	json_object_set_new(doc, "permissions", permissions_json());
}

/* Columns of the terminal on standard output ($COLUMNS first, as less and
 * ls read it), or 0 when it is not a terminal. */
static size_t terminal_width(void)
{
	const char *cols = getenv("COLUMNS");
	struct winsize ws;
	long n;

	if (!isatty(STDOUT_FILENO))
		return 0;
	if (cols && *cols && (n = strtol(cols, NULL, 10)) > 0 && n < 10000)
		return (size_t)n;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* --quiet with table output: the real standard output, set aside (-1: not) */
static int quiet_stdout = -1;

/* --quiet: the table goes to /dev/null; the real standard output is kept
 * for a secret asked for with --to -. */
static int quiet_table(void)
{
	int null;

	fflush(stdout);
	quiet_stdout = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (quiet_stdout < 0 || null < 0 || dup2(null, STDOUT_FILENO) < 0)
		return error("--quiet: cannot set standard output aside: %s", strerror(errno));
	close(null);
	return 0;
}

int cli_stdout_for_secret_only(void)
{
	int fd;

	fflush(stdout);
	if (quiet_stdout >= 0) {
		/* the table already goes nowhere; the secret to the real stdout */
		sink_stdout_use_fd(quiet_stdout);
		quiet_stdout = -1;
		return 0;
	}
	fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		return error("cannot set standard output aside for the secret: %s",
			     strerror(errno));
	sink_stdout_use_fd(fd);
	return 0;
}

void cli_print_version(FILE *f, int details)
{
	const curl_version_info_data *cv;
	int xml;

	fprintf(f, "iamkeys %s\n", IAMKEYS_VERSION);
	if (!details)
		return;
	cv = curl_version_info(CURLVERSION_NOW);
	fprintf(f, "libcurl %s (built with %s)%s%s\n", cv->version, LIBCURL_VERSION,
		cv->ssl_version ? ", " : "", cv->ssl_version ? cv->ssl_version : "");
	fprintf(f, "OpenSSL %s (built with %s)\n", OpenSSL_version(OPENSSL_VERSION_STRING),
		OPENSSL_VERSION_TEXT);
	xml = (int)strtol(xmlParserVersion, NULL, 10); /* "20914" */
	fprintf(f, "libxml2 %d.%d.%d (built with %s)\n", xml / 10000, xml / 100 % 100, xml % 100,
		LIBXML_DOTTED_VERSION);
	fprintf(f, "jansson %s (built with %s)\n", jansson_version_str(), JANSSON_VERSION);
}

/*
 * A timeout option as the AWS CLI's --cli-connect-timeout/--cli-read-timeout
 * take it: whole seconds, 0 meaning no limit; a duration with a unit ("30s",
 * "2m") is accepted too. The AWS CLI and SDKs have no environment variable or
 * config-file setting for these, so iamkeys' own: without the option, the
 * variable env (empty = unset). Neither leaves *ms 0 (the default). 0, or -1
 * after a usage error naming where the bad value came from.
 */
static int parse_timeout(const struct cli *cli, const char *name, const char *env, const char *v,
			 long *ms)
{
	struct strbuf err = STRBUF_INIT;
	long long secs = -1;
	char *end;

	*ms = 0;
	if (!v) {
		v = getenv(env);
		if (!v || !*v)
			return 0;
		name = env;
	}
	if (*v && strspn(v, "0123456789") == strlen(v)) {
		errno = 0;
		secs = strtoll(v, &end, 10);
		if (errno)
			secs = -1;
	} else if (*v && !isdigit((unsigned char)v[strlen(v) - 1]) &&
		   duration_parse(v, &secs, &err) < 0) {
		secs = -1;
	}
	strbuf_release(&err);
	if (secs < 0 || secs > 3600) {
		usage_error(cli, "invalid %s '%.64s': use seconds from 0 to 3600 (0: no limit)",
			    name, v);
		return -1;
	}
	*ms = secs ? (long)secs * 1000 : -1;
	return 0;
}

int cli_parse(struct cli *cli, struct option *opts, int argc, const char **argv,
	      struct opt_list *rest, int max_positional)
{
	struct strbuf err = STRBUF_INIT;
	int help = 0;
	const char *no_color, *term;

	if (cli->dump) {
		dump_command(cli, opts);
		return CMD_OK;
	}
	if (options_parse(opts, argc, argv, rest, &help, &err) < 0) {
		usage_error(cli, "%s", err.buf);
		strbuf_release(&err);
		return CMD_USAGE;
	}
	strbuf_release(&err);
	if (help) {
		print_help(cli, opts);
		return CMD_OK;
	}
	if (cli->g.version) {
		cli_print_version(stdout, 0);
		return CMD_OK;
	}
	if (rest->n > (size_t)max_positional)
		return usage_error(cli, "unexpected argument '%s'", rest->items[max_positional]);
	cli->fmt = OUTPUT_TABLE;
	if (cli->g.output && output_format_parse(cli->g.output, &cli->fmt) < 0)
		return usage_error(cli, "invalid --output '%s': use table, json or csv",
				   cli->g.output);
	if (cli->g.quiet && (cli->g.verbose || cli->g.debug))
		return usage_error(cli, "--quiet and --%s contradict each other",
				   cli->g.verbose ? "verbose" : "debug");
	msg_set_level(cli->g.quiet		       ? MSG_QUIET
		      : cli->g.verbose || cli->g.debug ? MSG_VERBOSE
						       : MSG_NORMAL);
	if (cli->g.quiet && cli->fmt == OUTPUT_TABLE && quiet_table() < 0)
		return CMD_FAILED;
	if (cli->g.no_headers && cli->fmt == OUTPUT_JSON)
		return usage_error(cli, "--no-headers is for table and csv output, not json");
	cli->style.no_headers = cli->g.no_headers;
	no_color = getenv("NO_COLOR");
	term = getenv("TERM");
	cli->style.color = isatty(STDOUT_FILENO) && !(no_color && *no_color) &&
			   !(term && !strcmp(term, "dumb")) && cli->fmt == OUTPUT_TABLE;
	if (cli->g.wide && cli->fmt != OUTPUT_TABLE)
		return usage_error(cli, "--wide is for table output");
	cli->style.width = cli->g.wide || cli->fmt != OUTPUT_TABLE ? 0 : terminal_width();
	if (cli->g.region && !aws_region_valid(cli->g.region))
		return usage_error(cli,
				   "invalid --region '%.64s': expected a region such as "
				   "us-east-1",
				   cli->g.region);
	if (cli->g.endpoint_url) {
		strbuf_reset(&err);
		if (aws_endpoint_url_check(cli->g.endpoint_url, "--endpoint-url", &err) < 0) {
			usage_error(cli, "%s", err.buf);
			strbuf_release(&err);
			return CMD_USAGE;
		}
		strbuf_release(&err);
	}
	if (parse_timeout(cli, "--connect-timeout", "IAMKEYS_CONNECT_TIMEOUT",
			  cli->g.connect_timeout, &cli->g.connect_timeout_ms) < 0 ||
	    parse_timeout(cli, "--read-timeout", "IAMKEYS_READ_TIMEOUT", cli->g.read_timeout,
			  &cli->g.read_timeout_ms) < 0)
		return CMD_USAGE;
	{
		struct strbuf e = STRBUF_INIT;
		if (lock_options_check(&cli->lock, &e) < 0) {
			usage_error(cli, "%s", e.buf);
			strbuf_release(&e);
			return CMD_USAGE;
		}
		strbuf_release(&e);
	}
	return CMD_CONTINUE;
}

static int parse_exempt_tag(struct audit_policy *p, const char *spec, struct strbuf *tagbuf)
{
	const char *eq = strchr(spec, '=');
	if (!strcmp(spec, "none")) {
		p->exempt_tag_key = NULL;
		return 0;
	}
	if (!*spec || eq == spec)
		return -1;
	strbuf_reset(tagbuf);
	strbuf_addstr(tagbuf, spec);
	if (eq) {
		tagbuf->buf[eq - spec] = '\0';
		p->exempt_tag_value = tagbuf->buf + (eq - spec) + 1;
	} else {
		p->exempt_tag_value = NULL; /* any value */
	}
	p->exempt_tag_key = tagbuf->buf;
	return 0;
}

int exemption_opts_given(const struct exemption_opts *e)
{
	return e->exclude.n || e->paths.n || e->groups.n || e->tag;
}

void exemption_opts_release(struct exemption_opts *e)
{
	opt_list_release(&e->exclude);
	opt_list_release(&e->paths);
	opt_list_release(&e->groups);
	strbuf_release(&e->tagbuf);
}

int cli_exemptions(struct cli *cli, struct audit_policy *p, struct exemption_opts *e)
{
	size_t i;
	if (e->tag && parse_exempt_tag(p, e->tag, &e->tagbuf) < 0)
		return usage_error(cli, "invalid --exempt-tag '%s': use KEY or KEY=VALUE", e->tag);
	for (i = 0; i < e->paths.n; i++)
		if (e->paths.items[i][0] != '/')
			return usage_error(cli, "invalid --exempt-path '%s': paths start with '/'",
					   e->paths.items[i]);
	p->exclude = e->exclude.items;
	p->nexclude = e->exclude.n;
	p->exempt_paths = e->paths.items;
	p->nexempt_paths = e->paths.n;
	p->exempt_groups = e->groups.items;
	p->nexempt_groups = e->groups.n;
	return CMD_CONTINUE;
}

static int is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

char *cli_default_config(const char *name)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	const char *sys = getenv("IAMKEYS_SYSTEM_CONFIG_DIR");
	struct strbuf path = STRBUF_INIT;

	/* XDG: a relative XDG_CONFIG_HOME is ignored */
	if (xdg && *xdg == '/')
		strbuf_addf(&path, "%s/iamkeys/%s", xdg, name);
	else if (home && *home == '/')
		strbuf_addf(&path, "%s/.config/iamkeys/%s", home, name);
	if (path.len && is_file(path.buf))
		return strbuf_detach(&path, NULL);
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/%s", sys && *sys ? sys : IAMKEYS_SYSCONFDIR "/iamkeys", name);
	if (is_file(path.buf))
		return strbuf_detach(&path, NULL);
	strbuf_release(&path);
	return NULL;
}

#define DEFAULT_READ_TIMEOUT_MS 60000L
#define MAX_TRANSFER_MS (15 * 60 * 1000L)

/* The selected profile's settings of the shared config file that the
 * client needs: region and ca_bundle (each NULL when absent, or when there
 * is no config file). -1 with err when the file cannot be read or is over
 * its limit. */
struct profile_settings {
	char *region;
	char *ca_bundle;
};

static int profile_settings_read(struct profile_settings *ps, const char *profile,
				 struct strbuf *err)
{
	struct aws_file_locations loc = { 0 };
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct strbuf perr = STRBUF_INIT, text = STRBUF_INIT;
	const struct aws_profile *p;
	const char *v;
	int rc = 0;

	ps->region = ps->ca_bundle = NULL;

	if (aws_file_locations_resolve(&loc, NULL, NULL, "linux", NULL, profile, &perr) < 0)
		goto out;
	rc = read_file(loc.config_file, LIMIT_AWS_SHARED_FILE, NULL, &text, err);
	if (rc) {
		rc = rc < 0 ? -1 : 0;
		goto out;
	}
	if (aws_profiles_parse(&set, AWS_FILE_CONFIG, text.buf, text.len, loc.config_file, &perr) <
	    0)
		goto out;
	p = aws_profile_find(&set, loc.profile);
	if (p && (v = aws_profile_get(p, "region")) && *v)
		ps->region = xstrdup(v);
	if (p && (v = aws_profile_get(p, "ca_bundle")) && *v)
		ps->ca_bundle = xstrdup(v);
out:
	aws_profile_set_release(&set);
	aws_file_locations_release(&loc);
	strbuf_release_secret(&text);
	strbuf_release(&perr);
	return rc;
}

void cli_format_skew(struct strbuf *out, long seconds)
{
	unsigned long s = seconds < 0 ? 0UL - (unsigned long)seconds : (unsigned long)seconds;

	if (s >= 3600 - 30)
		s = (s + 30) / 60 * 60; /* to the minute: the offset is known to a second or two */
	if (s >= 86400)
		strbuf_addf(out, "%lud %luh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		strbuf_addf(out, "%luh %lum", s / 3600, s % 3600 / 60);
	else
		strbuf_addf(out, "%lum %lus", s / 60, s % 60);
}

static void clock_warning(void *ctx, long offset)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static int warned;
	struct strbuf d = STRBUF_INIT;

	(void)ctx;
	pthread_mutex_lock(&lock); /* accounts of --org learn it in several threads */
	if (!warned) {
		warned = 1;
		cli_format_skew(&d, offset);
		/* offset is AWS minus ours: negative when we are ahead */
		warning("local clock is %s %s AWS; decisions use AWS time", d.buf,
			offset < 0 ? "ahead of" : "behind");
	}
	pthread_mutex_unlock(&lock);
	strbuf_release(&d);
}

/*
 * A long wait (a new key's propagation): one line under --verbose when it
 * starts; on a terminal (stderr) a progress line "verifying AKIA... of
 * alice (12 s)" rewritten in place and cleared at the end; never on a pipe,
 * never under --quiet.
 */
static pthread_mutex_t wait_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t wait_shown; /* columns of the progress line on screen */
static int wait_said;	  /* the --verbose line of this wait is out */

static void wait_progress(void *ctx, const char *what, long elapsed_ms)
{
	static int tty = -1;
	char line[160];
	int n;

	(void)ctx;
	pthread_mutex_lock(&wait_lock);
	if (tty < 0)
		tty = isatty(STDERR_FILENO) && msg_get_level() != MSG_QUIET;
	if (!what) {
		if (wait_shown)
			fprintf(stderr, "\r%*s\r", (int)wait_shown, "");
		wait_shown = 0;
		wait_said = 0;
	} else {
		if (!wait_said) {
			if (wait_shown)
				fputc('\n', stderr); /* keep another wait's line */
			wait_shown = 0;
			verbose("%s: waiting until the new key works", what);
			wait_said = 1;
		}
		n = tty ? snprintf(line, sizeof(line), "%s (%ld s)", what, elapsed_ms / 1000) : 0;
		if (n > 0) {
			size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
			fprintf(stderr, "\r%s%*s", line,
				wait_shown > len ? (int)(wait_shown - len) : 0, "");
			wait_shown = len;
		}
	}
	fflush(stderr);
	pthread_mutex_unlock(&wait_lock);
}

void cli_watch_clock(struct aws_client *c)
{
	c->clock_warn = clock_warning;
	c->clock_warn_ctx = NULL;
	c->wait_hook = wait_progress;
	c->wait_ctx = NULL;
}

struct aws_client *cli_client(struct cli *cli)
{
	struct cred_env env = { 0 };
	struct cred_provider *creds;
	struct aws_client_config cfg = { 0 };
	struct profile_settings ps;
	struct strbuf err = STRBUF_INIT;

	if (cli->client)
		return cli->client;
	env.profile = cli->g.profile;
	/* role and web-identity providers call STS in the same region and endpoint */
	env.region = cli->g.region;
	env.endpoint_url = cli->g.endpoint_url;
	env.debug = cli->g.debug;
	creds = cred_provider_default_chain_new(&env);
	if (!creds) {
		error("cannot set up the credential providers");
		return NULL;
	}
	{
		/* Fail early, with the chain's one line naming every source tried. */
		struct aws_credentials c = { 0 };
		if (cred_provider_get(creds, &c, &err) < 0) {
			error("%s", err.buf);
			strbuf_release(&err);
			cred_provider_destroy(creds);
			return NULL;
		}
		aws_credentials_release(&c);
		strbuf_reset(&err);
	}
	if (profile_settings_read(&ps, cli->g.profile, &err) < 0) {
		error("%s", err.buf);
		strbuf_release(&err);
		cred_provider_destroy(creds);
		return NULL;
	}
	cfg.creds = creds;
	cfg.region = cli->g.region;
	cfg.endpoint_url = cli->g.endpoint_url;
	cfg.profile_region = ps.region;
	cfg.profile_ca_bundle = ps.ca_bundle;
	cfg.connect_timeout_ms = cli->g.connect_timeout_ms;
	/* as the AWS CLI: a read timeout (60 s), no limit on a transfer that
	 * keeps going, but a cap so that an unattended run always ends */
	cfg.read_timeout_ms = cli->g.read_timeout_ms < 0 ? 0
			      : cli->g.read_timeout_ms	 ? cli->g.read_timeout_ms
							 : DEFAULT_READ_TIMEOUT_MS;
	cfg.total_timeout_ms = MAX_TRANSFER_MS;
	cli->client = aws_client_new_config(&cfg, &err);
	free(ps.region);
	free(ps.ca_bundle);
	if (!cli->client) {
		error("%s", err.buf);
		strbuf_release(&err);
		return NULL;
	}
	cli->client->verbose = cli->g.debug;
	cli_watch_clock(cli->client);
	strbuf_release(&err);
	return cli->client;
}

void cli_release(struct cli *cli)
{
	aws_client_free(cli->client);
	cli->client = NULL;
}

int cli_lock(struct cli *cli, struct aws_client *c, const char *account, struct account_lock **out)
{
	struct strbuf err = STRBUF_INIT;
	int rc = account_lock_take(&cli->lock, c, account, cli->cmd ? cli->cmd->name : "iamkeys",
				   out, &err);

	if (rc == LOCK_HELD) {
		error("%s", err.buf);
		rc = CMD_LOCKED;
	} else if (rc == LOCK_STOPPED) {
		error("interrupted while waiting for the lock of account %s: nothing was changed",
		      account);
		rc = CMD_INTERRUPTED;
	} else if (rc < 0) {
		error("%s", err.buf);
		rc = CMD_FAILED;
	} else {
		rc = CMD_OK;
	}
	strbuf_release(&err);
	return rc;
}

int cli_lock_account(struct cli *cli, const char *account, struct account_lock **out,
		     struct strbuf *err)
{
	int rc = account_lock_take(&cli->lock, cli->client, account,
				   cli->cmd ? cli->cmd->name : "iamkeys", out, err);
	if (rc == LOCK_STOPPED)
		strbuf_addstr(err, "interrupted while waiting for the lock: nothing was changed");
	return rc ? -1 : 0;
}

void cli_unlock(struct account_lock *l)
{
	struct strbuf err = STRBUF_INIT;
	if (account_lock_release(l, &err) < 0)
		warning("%s", err.buf);
	strbuf_release(&err);
}

/* An AWS region's shape: "eu-west-1", "us-gov-east-1", "ap-southeast-5". */
static int region_name_ok(const char *r)
{
	size_t i = 0, parts = 0;

	if (!aws_region_valid(r))
		return 0;
	for (;;) {
		size_t start = i;
		while (islower((unsigned char)r[i]))
			i++;
		if (i == start || r[i] != '-')
			break;
		i++;
		parts++;
	}
	if (parts < 2 || !isdigit((unsigned char)r[i]))
		return 0;
	while (isdigit((unsigned char)r[i]))
		i++;
	return r[i] == '\0';
}

/* "eu-west-1,us-east-1" → regions (pointing into a copy); -1 on a bad name. */
int cli_region_list(char *list, const char ***out, size_t *n, const char **bad)
{
	char *p, *save = NULL;
	size_t alloc = 0;

	*out = NULL;
	*n = 0;
	for (p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		size_t i;
		if (!region_name_ok(p)) {
			*bad = p;
			return -1;
		}
		for (i = 0; i < *n && strcmp((*out)[i], p); i++)
			;
		if (i < *n)
			continue; /* named twice */
		ALLOC_GROW(*out, *n + 1, alloc);
		(*out)[(*n)++] = p;
	}
	if (!*n) {
		*bad = "";
		return -1;
	}
	return 0;
}
