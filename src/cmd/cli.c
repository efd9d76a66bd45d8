#include "core/compat.h"
#include "aws/readfile.h"
#include "cmd/cli.h"
#include "aws/client.h"
#include "aws/credentials.h"
#include "core/awsconfig.h"

#include <openssl/crypto.h>

int usage_error(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;
	fputs("iamkeys: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cli && cli->cmd)
		fprintf(stderr, " (see 'iamkeys %s --help')\n", cli->cmd->name);
	else
		fputs(" (see 'iamkeys --help')\n", stderr);
	return CMD_USAGE;
}

static void print_help(const struct cli *cli, const struct option *opts)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "usage: %s\n\n%s\n\noptions:\n", cli->cmd->usage, cli->cmd->summary);
	options_usage(opts, &sb);
	strbuf_addstr(&sb, "  -h, --help                  show this help\n");
	fputs(sb.buf, stdout);
	strbuf_release(&sb);
}

int cli_parse(struct cli *cli, struct option *opts, int argc, const char **argv,
	      struct opt_list *rest, int max_positional)
{
	struct strbuf err = STRBUF_INIT;
	int help = 0;
	const char *no_color;

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
	if (rest->n > (size_t)max_positional)
		return usage_error(cli, "unexpected argument '%s'", rest->items[max_positional]);
	cli->fmt = OUTPUT_TABLE;
	if (cli->g.output && output_format_parse(cli->g.output, &cli->fmt) < 0)
		return usage_error(cli, "invalid --output '%s': use table, json or csv",
				   cli->g.output);
	cli->style.no_headers = cli->g.no_headers;
	no_color = getenv("NO_COLOR");
	cli->style.color = isatty(STDOUT_FILENO) && !(no_color && *no_color) &&
			   cli->fmt == OUTPUT_TABLE;
	if (cli->g.endpoint_url && !*cli->g.endpoint_url)
		return usage_error(cli, "--endpoint-url is empty");
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

/*
 * The selected profile's region from the shared config file into *region
 * (NULL: none, or no such file). -1 with err when the file cannot be read
 * or is larger than its limit.
 */
static int profile_region(const char *profile, char **region, struct strbuf *err)
{
	struct aws_file_locations loc = { 0 };
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct strbuf perr = STRBUF_INIT, text = STRBUF_INIT;
	const struct aws_profile *p;
	int rc = 0;

	*region = NULL;
	if (aws_file_locations_resolve(&loc, NULL, NULL, "linux", NULL, profile, &perr) < 0)
		goto out;
	rc = read_file(loc.config_file, LIMIT_AWS_SHARED_FILE, NULL, &text, err);
	if (rc) {
		rc = rc < 0 ? -1 : 0;
		goto out;
	}
	if (aws_profiles_parse(&set, AWS_FILE_CONFIG, text.buf, text.len, loc.config_file,
			       &perr) < 0)
		goto out;
	p = aws_profile_find(&set, loc.profile);
	if (p && aws_profile_get(p, "region") && *aws_profile_get(p, "region"))
		*region = xstrdup(aws_profile_get(p, "region"));
out:
	aws_profile_set_release(&set);
	aws_file_locations_release(&loc);
	strbuf_release_secret(&text);
	strbuf_release(&perr);
	return rc;
}

struct aws_client *cli_client(struct cli *cli)
{
	struct cred_env env = { 0 };
	struct cred_provider *creds;
	struct strbuf err = STRBUF_INIT;
	char *pregion;

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
	if (profile_region(cli->g.profile, &pregion, &err) < 0) {
		error("%s", err.buf);
		strbuf_release(&err);
		cred_provider_destroy(creds);
		return NULL;
	}
	cli->client = aws_client_new(creds, cli->g.region, cli->g.endpoint_url, pregion, &err);
	free(pregion);
	if (!cli->client) {
		error("%s", err.buf);
		strbuf_release(&err);
		return NULL;
	}
	cli->client->verbose = cli->g.debug;
	strbuf_release(&err);
	return cli->client;
}

void cli_release(struct cli *cli)
{
	aws_client_free(cli->client);
	cli->client = NULL;
}
