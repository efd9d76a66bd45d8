/*
 * Endpoint resolution: which URL, Host header and SigV4 signing region a
 * service uses in a region. A small table of partitions instead of the
 * SDKs' endpoints.json: iamkeys talks to a few services only (IAM, STS,
 * Secrets Manager, SSM, Organizations, IAM Identity Center's portal and
 * OIDC service for SSO profiles, DynamoDB for --lock, CloudTrail and EC2's
 * DescribeRegions for trace, SNS for --notify).
 */
#include "core/compat.h"
#include "aws/client.h"

struct partition {
	const char *name;
	const char *const *regions; /* enabled in every account, sorted, NULL-terminated */
	const char *region_prefix;  /* "" = the default partition */
	const char *dns_suffix;
	const char *iam_host;
	const char *iam_region;
	const char *iam_fips_host; /* NULL: no FIPS endpoints in this partition */
	const char *global_region; /* where Organizations lives */
	int global_is_fips;	   /* the global endpoints are FIPS already */
};

/* the regions that need no opt-in (AWS General Reference, "AWS Regions") */
static const char *const aws_regions[] = {
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1",	  "ap-southeast-1", "ap-southeast-2",
	"ca-central-1",	  "eu-central-1",   "eu-north-1",
	"eu-west-1",	  "eu-west-2",	    "eu-west-3",
	"sa-east-1",	  "us-east-1",	    "us-east-2",
	"us-west-1",	  "us-west-2",	    NULL,
};
static const char *const cn_regions[] = { "cn-north-1", "cn-northwest-1", NULL };
static const char *const gov_regions[] = { "us-gov-east-1", "us-gov-west-1", NULL };
static const char *const iso_regions[] = { "us-iso-east-1", "us-iso-west-1", NULL };
static const char *const isob_regions[] = { "us-isob-east-1", NULL };

static const struct partition partitions[] = {
	{ "aws-cn", cn_regions, "cn-", "amazonaws.com.cn", "iam.cn-north-1.amazonaws.com.cn",
	  "cn-north-1", NULL, "cn-northwest-1", 0 },
	{ "aws-us-gov", gov_regions, "us-gov-", "amazonaws.com", "iam.us-gov.amazonaws.com",
	  "us-gov-west-1", "iam.us-gov.amazonaws.com", "us-gov-west-1", 1 },
	{ "aws-iso", iso_regions, "us-iso-", "c2s.ic.gov", "iam.us-iso-east-1.c2s.ic.gov",
	  "us-iso-east-1", NULL, "us-iso-east-1", 0 },
	{ "aws-iso-b", isob_regions, "us-isob-", "sc2s.sgov.gov",
	  "iam.us-isob-east-1.sc2s.sgov.gov", "us-isob-east-1", NULL, "us-isob-east-1", 0 },
	/* last: matches every region */
	{ "aws", aws_regions, "", "amazonaws.com", "iam.amazonaws.com", "us-east-1",
	  "iam-fips.amazonaws.com", "us-east-1", 0 },
};

static const struct {
	const char *signing_name;
	const char *env_name;
	const char *host_prefix;
	int global;	    /* one endpoint per partition */
	int gov_fips_plain; /* aws-us-gov: the plain host is the FIPS one (SDK endpoint rules) */
} services[AWS_SVC__COUNT] = {
	[AWS_SVC_IAM] = { "iam", "IAM", "iam", 1, 0 },
	[AWS_SVC_STS] = { "sts", "STS", "sts", 0, 0 },
	[AWS_SVC_SECRETS_MANAGER] = { "secretsmanager", "SECRETS_MANAGER", "secretsmanager", 0, 0 },
	[AWS_SVC_SSM] = { "ssm", "SSM", "ssm", 0, 0 },
	[AWS_SVC_ORGANIZATIONS] = { "organizations", "ORGANIZATIONS", "organizations", 1, 0 },
	/* the service ids "SSO" and "SSO OIDC" give AWS_ENDPOINT_URL_SSO and _SSO_OIDC */
	[AWS_SVC_SSO] = { "awsssoportal", "SSO", "portal.sso", 0, 1 },
	[AWS_SVC_SSO_OIDC] = { "awsssooidc", "SSO_OIDC", "oidc", 0, 1 },
	[AWS_SVC_DYNAMODB] = { "dynamodb", "DYNAMODB", "dynamodb", 0, 0 },
	[AWS_SVC_CLOUDTRAIL] = { "cloudtrail", "CLOUDTRAIL", "cloudtrail", 0, 0 },
	[AWS_SVC_SNS] = { "sns", "SNS", "sns", 0, 0 },
	[AWS_SVC_EC2] = { "ec2", "EC2", "ec2", 0, 0 },
};

const char *aws_getenv(aws_getenv_fn getenv_fn, void *ctx, const char *name)
{
	const char *v = getenv_fn ? getenv_fn(ctx, name) : getenv(name);

	return v && *v ? v : NULL;
}

const char *aws_service_env_name(enum aws_service svc)
{
	if ((unsigned)svc >= AWS_SVC__COUNT)
		return "";
	return services[svc].env_name;
}

void aws_endpoint_release(struct aws_endpoint *e)
{
	if (!e)
		return;
	FREE_ALL(e->url, e->host, e->signing_region);
	memset(e, 0, sizeof(*e));
}

/* 1 = true, 0 = false or unset, -1 = anything else (err set). */
static int env_bool(aws_getenv_fn getenv_fn, void *ctx, const char *name, struct strbuf *err)
{
	const char *v = aws_getenv(getenv_fn, ctx, name);

	if (!v || !strcasecmp(v, "false"))
		return 0;
	if (!strcasecmp(v, "true"))
		return 1;
	strbuf_addf(err, "invalid %s '%s': expected true or false", name, v);
	return -1;
}

int aws_region_valid(const char *r)
{
	size_t i, n = r ? strlen(r) : 0;

	if (!n || n > 64 || r[0] == '-' || r[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!(islower((unsigned char)r[i]) || isdigit((unsigned char)r[i]) || r[i] == '-'))
			return 0;
	return 1;
}

static const struct partition *partition_of(const char *region)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(partitions); i++)
		if (!strncmp(region, partitions[i].region_prefix,
			     strlen(partitions[i].region_prefix)))
			return &partitions[i];
	return &partitions[ARRAY_SIZE(partitions) - 1];
}

const char *aws_partition_name(const char *region)
{
	return partition_of(region ? region : "")->name;
}

const char *const *aws_partition_regions(const char *region, size_t *n)
{
	const char *const *r = partition_of(region ? region : "")->regions;

	for (*n = 0; r[*n]; (*n)++)
		;
	return r;
}

/*
 * Checks an override URL and splits out what the Host header needs.
 * url: "http(s)://authority[/path]"; no user info, query or fragment.
 */
static int parse_override(struct aws_endpoint *out, const char *url, const char *source,
			  struct strbuf *err)
{
	const char *p, *auth, *auth_end, *port = NULL, *host_end;
	size_t len = strlen(url);
	int https;

	for (p = url; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			strbuf_addf(err,
				    "invalid endpoint URL from %s: contains a space or "
				    "control character",
				    source);
			return -1;
		}
	}
	if (!strncasecmp(url, "https://", 8)) {
		https = 1;
		auth = url + 8;
	} else if (!strncasecmp(url, "http://", 7)) {
		https = 0;
		auth = url + 7;
	} else {
		strbuf_addf(err, "invalid endpoint URL '%s' from %s: expected http:// or https://",
			    url, source);
		return -1;
	}
	if (strpbrk(url, "?#")) {
		strbuf_addf(err,
			    "invalid endpoint URL '%s' from %s: a query or fragment is not "
			    "allowed",
			    url, source);
		return -1;
	}
	auth_end = auth + strcspn(auth, "/");
	if (memchr(auth, '@', auth_end - auth)) {
		strbuf_addf(err, "invalid endpoint URL '%s' from %s: user info is not allowed", url,
			    source);
		return -1;
	}
	host_end = auth_end;
	if (*auth == '[') {
		const char *close = memchr(auth, ']', auth_end - auth);

		if (!close || close == auth + 1) {
			strbuf_addf(err, "invalid endpoint URL '%s' from %s: bad IPv6 address", url,
				    source);
			return -1;
		}
		host_end = close + 1;
		if (host_end < auth_end) {
			if (*host_end != ':')
				goto bad_port;
			port = host_end + 1;
		}
	} else {
		const char *colon = memchr(auth, ':', auth_end - auth);

		if (colon) {
			host_end = colon;
			port = colon + 1;
		}
	}
	if (host_end == auth) {
		strbuf_addf(err, "invalid endpoint URL '%s' from %s: no host", url, source);
		return -1;
	}
	if (port) {
		unsigned long n = 0;
		const char *q;

		if (port == auth_end || auth_end - port > 5)
			goto bad_port;
		for (q = port; q < auth_end; q++) {
			if (!isdigit((unsigned char)*q))
				goto bad_port;
			n = n * 10 + (unsigned long)(*q - '0');
		}
		if (!n || n > 65535)
			goto bad_port;
		if (n == (https ? 443UL : 80UL))
			port = NULL; /* the default: not in the Host header */
	}
	while (len > (size_t)(auth_end - url) && url[len - 1] == '/')
		len--;
	out->url = xmemdupz(url, len);
	if (port)
		out->host = xmemdupz(auth, auth_end - auth);
	else
		out->host = xmemdupz(auth, host_end - auth);
	return 0;
bad_port:
	strbuf_addf(err, "invalid endpoint URL '%s' from %s: bad port", url, source);
	return -1;
}

int aws_endpoint_url_check(const char *url, const char *source, struct strbuf *err)
{
	struct aws_endpoint e = { 0 };
	int rc = parse_override(&e, url, source, err);

	aws_endpoint_release(&e);
	return rc;
}

int aws_endpoint_resolve(struct aws_endpoint *out, enum aws_service svc, const char *region,
			 const char *endpoint_url, aws_getenv_fn getenv_fn, void *ctx,
			 struct strbuf *err)
{
	const struct partition *part;
	const char *override = NULL, *source = NULL, *host_prefix;
	struct strbuf name = STRBUF_INIT;
	int fips, ignore_env;

	memset(out, 0, sizeof(*out));
	if ((unsigned)svc >= AWS_SVC__COUNT) {
		strbuf_addstr(err, "unknown AWS service");
		return -1;
	}
	if (!region || !aws_region_valid(region)) {
		strbuf_addf(err, "invalid region '%s'", region ? region : "");
		return -1;
	}
	part = partition_of(region);
	out->signing_name = services[svc].signing_name;

	if (endpoint_url && *endpoint_url) {
		override = endpoint_url;
		source = "--endpoint-url";
	} else {
		ignore_env = env_bool(getenv_fn, ctx, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", err);
		if (ignore_env < 0)
			return -1;
		if (!ignore_env) {
			strbuf_addf(&name, "AWS_ENDPOINT_URL_%s", services[svc].env_name);
			override = aws_getenv(getenv_fn, ctx, name.buf);
			source = name.buf;
			if (!override) {
				override = aws_getenv(getenv_fn, ctx, "AWS_ENDPOINT_URL");
				source = "AWS_ENDPOINT_URL";
			}
		}
	}

	/* The signing region never depends on the override. */
	if (svc == AWS_SVC_IAM)
		out->signing_region = xstrdup(part->iam_region);
	else if (services[svc].global)
		out->signing_region = xstrdup(part->global_region);
	else
		out->signing_region = xstrdup(region);

	if (override) {
		int ret = parse_override(out, override, source, err);

		strbuf_release(&name);
		if (ret < 0)
			aws_endpoint_release(out);
		return ret;
	}
	strbuf_release(&name);

	fips = env_bool(getenv_fn, ctx, "AWS_USE_FIPS_ENDPOINT", err);
	if (fips < 0)
		goto fail;
	if (fips && !part->iam_fips_host) {
		strbuf_addf(err, "AWS_USE_FIPS_ENDPOINT: no FIPS endpoint for %s in partition %s",
			    services[svc].signing_name, part->name);
		goto fail;
	}

	host_prefix = services[svc].host_prefix;
	if (svc == AWS_SVC_IAM) {
		out->host = xstrdup(fips ? part->iam_fips_host : part->iam_host);
	} else {
		struct strbuf h = STRBUF_INIT;
		const char *r = services[svc].global ? part->global_region : region;

		if (fips && !(services[svc].global && part->global_is_fips) &&
		    !(services[svc].gov_fips_plain && !strcmp(part->name, "aws-us-gov")))
			strbuf_addf(&h, "%s-fips.%s.%s", host_prefix, r, part->dns_suffix);
		else
			strbuf_addf(&h, "%s.%s.%s", host_prefix, r, part->dns_suffix);
		out->host = strbuf_detach(&h, NULL);
	}
	{
		struct strbuf u = STRBUF_INIT;

		strbuf_addf(&u, "https://%s", out->host);
		out->url = strbuf_detach(&u, NULL);
	}
	return 0;
fail:
	aws_endpoint_release(out);
	return -1;
}
