#ifndef IAMKEYS_CLI_H
#define IAMKEYS_CLI_H
/*
 * What every command shares: the common options, messages, and the lazily
 * built AWS client. Commands return a cmd_result; main.c alone maps it to
 * the process exit code (documented in README.md and `iamkeys --help`).
 */
#include "core/strbuf.h"
#include "cmd/options.h"
#include "cmd/output.h"
#include "core/policy.h"
#include "engine/lock.h"
#include "aws/msg.h" /* error(), warning() */

enum cmd_result {
	CMD_OK = 0,	     /* exit 0 */
	CMD_FAILED = 1,	     /* exit 1: runtime or AWS error */
	CMD_USAGE = 2,	     /* exit 2: bad arguments */
	CMD_FINDINGS = 3,    /* exit 3: findings at or above --fail-on, or blocked steps */
	CMD_PARTIAL = 4,     /* exit 4: some accounts failed, the others ran (docs/scale.md) */
	CMD_LOCKED = 5,	     /* exit 5: another iamkeys run holds the account's lock */
	CMD_INTERRUPTED = 6, /* exit 130 / 143: stopped by SIGINT / SIGTERM between steps */
	/* not a result: cli_parse and the option checks say "go on" */
	CMD_CONTINUE = -1,
};

struct global_opts {
	const char *profile;
	const char *region;
	const char *endpoint_url;
	const char *output;
	const char *connect_timeout; /* seconds, or a duration ("30s", "2m"); 0 = no limit */
	const char *read_timeout;
	long connect_timeout_ms; /* parsed: 0 = the default, -1 = no limit */
	long read_timeout_ms;
	int no_headers;
	int wide;
	int debug;
	int quiet;
	int verbose;
	int version;
};

/* The options of every command: OPT_COMMON for those that print rows
 * (table, json or csv), OPT_COMMON_NO_CSV for those that print a report
 * (table or json; no header line to drop). */
#define OPT_COMMON(g)                                                                              \
	OPT_GLOBAL_CONNECTION(g), { "output",	'o',                                               \
				    OPT_STRING, &(g).output,                                       \
				    "FORMAT",	"table (default), json or csv",                    \
				    0 },                                                           \
		{ "no-headers",                                                                    \
		  0,                                                                               \
		  OPT_BOOL,                                                                        \
		  &(g).no_headers,                                                                 \
		  NULL,                                                                            \
		  "omit the header line (table, csv)",                                             \
		  0 },                                                                             \
		{ "wide",    0,	   OPT_BOOL,                                                       \
		  &(g).wide, NULL, "table: every column in full, even on a narrow terminal",       \
		  0 },                                                                             \
		OPT_GLOBAL_LOGGING(g)
#define OPT_COMMON_NO_CSV(g)                                                                       \
	OPT_GLOBAL_CONNECTION(g), { "output",	'o',                                               \
				    OPT_STRING, &(g).output,                                       \
				    "FORMAT",	"table (default) or json",                         \
				    0 },                                                           \
		OPT_GLOBAL_LOGGING(g)
#define OPT_GLOBAL_CONNECTION(g)                                                                   \
	{ "profile",  0,                                                                           \
	  OPT_STRING, &(g).profile,                                                                \
	  "NAME",     "use this profile of the shared AWS files",                                  \
	  0 },                                                                                     \
		{ "region",   0,                                                                   \
		  OPT_STRING, &(g).region,                                                         \
		  "REGION",   "AWS region (default: AWS_REGION, the profile, us-east-1)",          \
		  0 },                                                                             \
		{ "endpoint-url",                                                                  \
		  0,                                                                               \
		  OPT_STRING,                                                                      \
		  &(g).endpoint_url,                                                               \
		  "URL",                                                                           \
		  "send every request to this endpoint",                                           \
		  0 },                                                                             \
		{ "connect-timeout",                                                               \
		  0,                                                                               \
		  OPT_STRING,                                                                      \
		  &(g).connect_timeout,                                                            \
		  "SECONDS",                                                                       \
		  "give up connecting after this long "                                            \
		  "(default: IAMKEYS_CONNECT_TIMEOUT, 5; 0: no limit)",                            \
		  0 },                                                                             \
	{                                                                                          \
		"read-timeout", 0, OPT_STRING, &(g).read_timeout, "SECONDS",                       \
			"give up when nothing arrives for this long "                              \
			"(default: IAMKEYS_READ_TIMEOUT, 60; 0: no limit)",                        \
			0                                                                          \
	}
#define OPT_GLOBAL_LOGGING(g)                                                                         \
	{ "quiet",                                                                                    \
	  0,                                                                                          \
	  OPT_BOOL,                                                                                   \
	  &(g).quiet,                                                                                 \
	  NULL,                                                                                       \
	  "errors only: no warnings, no progress, no table on standard output (the exit code tells)", \
	  0 },                                                                                        \
		{ "verbose", 0,                                                                       \
		  OPT_BOOL,  &(g).verbose,                                                            \
		  NULL,	     "also say what is being waited for (retries, a new key's propagation)",  \
		  0 },                                                                                \
		{ "debug",    0,    OPT_BOOL,                                                         \
		  &(g).debug, NULL, "log each request and retry to stderr (never secrets)",           \
		  0 },                                                                                \
		OPT_GLOBAL_VERSION(g)
/* --version alone, for a command that takes none of the other global options */
#define OPT_GLOBAL_VERSION(g)                                                                      \
	{                                                                                          \
		"version", 0, OPT_BOOL, &(g).version, NULL, "print the version and exit", 0        \
	}

struct command;
struct cli {
	const struct command *cmd;
	struct global_opts g;
	enum output_format fmt;
	struct out_style style;
	struct aws_client *client; /* built by cli_client() */
	json_t *dump;		   /* iamkeys --dump-options: cli_parse appends the command here */
	struct lock_options lock;  /* OPT_LOCK in the commands that change things */
};

struct command {
	const char *name;
	int (*fn)(struct cli *cli, int argc, const char **argv);
	unsigned flags; /* NEEDS_CREDS: takes the common options (--dump-options); MUTATES:
			   SIGINT/SIGTERM stop it between steps */
	const char *summary;
	const char *usage; /* "iamkeys users [options]" */
};
#define NEEDS_CREDS (1u << 0)
#define MUTATES (1u << 1)

/* A usage error: prints the one line and the --help hint; returns CMD_USAGE. */
int usage_error(const struct cli *cli, const char *fmt, ...) PRINTF_LIKE(2, 3);

/*
 * Parses opts (which should include OPT_COMMON(cli->g)) and validates the
 * common ones. Returns CMD_CONTINUE to go on, or a cmd_result to return at once:
 * CMD_OK after printing --help, CMD_USAGE after a usage error.
 */
int cli_parse(struct cli *cli, struct option *opts, int argc, const char **argv,
	      struct opt_list *rest, int max_positional);
/* The audit's exemption options, shared by audit, deactivate, delete and rotate. */
struct exemption_opts {
	struct opt_list exclude; /* --exclude GLOB */
	struct opt_list paths;	 /* --exempt-path PREFIX */
	struct opt_list groups;	 /* --exempt-group GROUP */
	const char *tag;	 /* --exempt-tag KEY[=VALUE] */
	struct strbuf tagbuf;	 /* owns the parsed --exempt-tag */
};
#define EXEMPTION_OPTS_INIT                                                                        \
	{                                                                                          \
		{ 0 }, { 0 }, { 0 }, NULL, STRBUF_INIT                                             \
	}
#define OPT_EXEMPTIONS(e)                                                                          \
	{ "exclude",                                                                               \
	  0,                                                                                       \
	  OPT_STRLIST,                                                                             \
	  &(e).exclude,                                                                            \
	  "GLOB",                                                                                  \
	  "exempt users whose name matches (repeatable)",                                          \
	  0 },                                                                                     \
		{ "exempt-path",                                                                   \
		  0,                                                                               \
		  OPT_STRLIST,                                                                     \
		  &(e).paths,                                                                      \
		  "PREFIX",                                                                        \
		  "exempt users whose path starts with PREFIX (repeatable)",                       \
		  0 },                                                                             \
		{ "exempt-tag",                                                                    \
		  0,                                                                               \
		  OPT_STRING,                                                                      \
		  &(e).tag,                                                                        \
		  "KEY[=VALUE]",                                                                   \
		  "exempt users with this tag (default iamkeys:exempt=true; 'none' turns it off)", \
		  0 },                                                                             \
	{                                                                                          \
		"exempt-group", 0, OPT_STRLIST, &(e).groups, "GROUP",                              \
			"exempt members of this IAM group (repeatable)", 0                         \
	}
/* Any exemption option given? */
int exemption_opts_given(const struct exemption_opts *e);
void exemption_opts_release(struct exemption_opts *e);
/*
 * The exemption options into p, validated: CMD_CONTINUE to go on, or
 * CMD_USAGE after a usage error. e->tagbuf owns the parsed --exempt-tag
 * ("none" turns the tag exemption off; KEY alone matches any value):
 * release e after p's use.
 */
int cli_exemptions(struct cli *cli, struct audit_policy *p, struct exemption_opts *e);
/*
 * iamkeys --dump-options: adds the tables the documentation and the shell
 * completions are generated from (sinks, option values, IAM actions) to doc.
 */
void cli_dump_tables(json_t *doc);
/*
 * The configuration file NAME ("rotate.conf") for a run without --config:
 * $XDG_CONFIG_HOME/iamkeys/NAME (default ~/.config/iamkeys/NAME) if it
 * exists, else /etc/iamkeys/NAME (IAMKEYS_SYSTEM_CONFIG_DIR replaces
 * /etc/iamkeys) if it exists, else NULL. The first found wins; the two are
 * never merged. Caller frees the path.
 */
#ifndef IAMKEYS_SYSCONFDIR
#define IAMKEYS_SYSCONFDIR "/etc"
#endif
char *cli_default_config(const char *name);
/*
 * Warn (once per process, one line) when c learns that our clock is more
 * than AWS_CLOCK_WARN_SECONDS off AWS's: "local clock is 3h 0m ahead of
 * AWS; decisions use AWS time". cli_client does it for its client.
 */
void cli_watch_clock(struct aws_client *c);
/* "8d 0h", "3h 0m", "5m 30s": a clock difference for people (sign ignored; to the
 * minute from an hour up). */
void cli_format_skew(struct strbuf *out, long seconds);
/*
 * The version line ("iamkeys 0.1.0"); with details, also the libraries it
 * was built with and runs with (libcurl and its TLS library, OpenSSL,
 * libxml2, jansson), one per line, as curl -V does.
 */
void cli_print_version(FILE *f, int details);
/*
 * For --to -: the secret document must be the only thing on standard
 * output, so everything the command prints goes to standard error from
 * here on, and the "-" sink writes to the original standard output. 0, or
 * -1 after an error message.
 */
int cli_stdout_for_secret_only(void);
/* The AWS client for this run (credentials chain, region, endpoint); NULL after printing an error. */
struct aws_client *cli_client(struct cli *cli);
void cli_release(struct cli *cli);

/*
 * Takes the lock of account (cli->lock; see engine/lock.h) for a command
 * about to change things in it, with c the caller's client. CMD_OK and *out,
 * or after printing the one line: CMD_LOCKED (another run holds it),
 * CMD_INTERRUPTED (SIGINT/SIGTERM while waiting) or CMD_FAILED.
 */
int cli_lock(struct cli *cli, struct aws_client *c, const char *account, struct account_lock **out);
/* Releases it (NULL-safe); a lease taken over or not deleted is one warning line. */
void cli_unlock(struct account_lock *l);
/* As cli_lock, without printing: 0, or -1 with the line in err (an --org account's error). */
int cli_lock_account(struct cli *cli, const char *account, struct account_lock **out,
		     struct strbuf *err);

/*
 * "eu-west-1,us-east-1" (--regions, --trace-regions): splits list in place
 * into *out (pointing into list; caller frees *out), each named once, each
 * of an AWS region's shape. -1 with *bad the offending name ("" when the
 * list names none).
 */
int cli_region_list(char *list, const char ***out, size_t *n, const char **bad);

#endif
