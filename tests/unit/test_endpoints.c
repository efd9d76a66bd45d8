#include "core/compat.h"
#include "aws/client.h"
#include "core/strbuf.h"
#include "fake_transport.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"

/*
 * Endpoint resolution: one table of (service, region, environment,
 * --endpoint-url) -> (URL, Host header, signing region) or an error,
 * covering the aws, aws-cn and aws-us-gov partitions, FIPS, every override
 * variable and their precedence, and malformed override URLs.
 */

enum {
	IAM = AWS_SVC_IAM,
	STS = AWS_SVC_STS,
	SM = AWS_SVC_SECRETS_MANAGER,
	SSM = AWS_SVC_SSM,
	ORG = AWS_SVC_ORGANIZATIONS,
	SSO = AWS_SVC_SSO,
	OIDC = AWS_SVC_SSO_OIDC,
	DDB = AWS_SVC_DYNAMODB
};

struct row {
	int svc;
	const char *region;
	const char *env[4];
	const char *override;
	/* expected: url, host, signing region; or err (a prefix of the message) */
	const char *url, *host, *signing_region, *err;
};

#define FIPS "AWS_USE_FIPS_ENDPOINT=true"

/* clang-format off */
static const struct row rows[] = {
	/* aws partition */
	{ IAM, "us-east-1", { NULL }, NULL,
	  "https://iam.amazonaws.com", "iam.amazonaws.com", "us-east-1", NULL },
	{ IAM, "eu-west-3", { NULL }, NULL,
	  "https://iam.amazonaws.com", "iam.amazonaws.com", "us-east-1", NULL },
	{ STS, "eu-west-3", { NULL }, NULL,
	  "https://sts.eu-west-3.amazonaws.com", "sts.eu-west-3.amazonaws.com", "eu-west-3", NULL },
	{ SM, "ap-southeast-2", { NULL }, NULL,
	  "https://secretsmanager.ap-southeast-2.amazonaws.com",
	  "secretsmanager.ap-southeast-2.amazonaws.com", "ap-southeast-2", NULL },
	{ SSM, "ca-central-1", { NULL }, NULL,
	  "https://ssm.ca-central-1.amazonaws.com", "ssm.ca-central-1.amazonaws.com",
	  "ca-central-1", NULL },
	{ ORG, "eu-west-1", { NULL }, NULL,
	  "https://organizations.us-east-1.amazonaws.com", "organizations.us-east-1.amazonaws.com",
	  "us-east-1", NULL },

	/* aws-cn */
	{ IAM, "cn-northwest-1", { NULL }, NULL,
	  "https://iam.cn-north-1.amazonaws.com.cn", "iam.cn-north-1.amazonaws.com.cn",
	  "cn-north-1", NULL },
	{ STS, "cn-north-1", { NULL }, NULL,
	  "https://sts.cn-north-1.amazonaws.com.cn", "sts.cn-north-1.amazonaws.com.cn",
	  "cn-north-1", NULL },
	{ SM, "cn-northwest-1", { NULL }, NULL,
	  "https://secretsmanager.cn-northwest-1.amazonaws.com.cn",
	  "secretsmanager.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1", NULL },
	{ SSM, "cn-north-1", { NULL }, NULL,
	  "https://ssm.cn-north-1.amazonaws.com.cn", "ssm.cn-north-1.amazonaws.com.cn",
	  "cn-north-1", NULL },
	{ ORG, "cn-north-1", { NULL }, NULL,
	  "https://organizations.cn-northwest-1.amazonaws.com.cn",
	  "organizations.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1", NULL },
	{ IAM, "cn-north-1", { FIPS }, NULL, NULL, NULL, NULL,
	  "AWS_USE_FIPS_ENDPOINT: no FIPS endpoint for iam in partition aws-cn" },

	/* aws-us-gov */
	{ IAM, "us-gov-east-1", { NULL }, NULL,
	  "https://iam.us-gov.amazonaws.com", "iam.us-gov.amazonaws.com", "us-gov-west-1", NULL },
	{ STS, "us-gov-east-1", { NULL }, NULL,
	  "https://sts.us-gov-east-1.amazonaws.com", "sts.us-gov-east-1.amazonaws.com",
	  "us-gov-east-1", NULL },
	{ ORG, "us-gov-east-1", { NULL }, NULL,
	  "https://organizations.us-gov-west-1.amazonaws.com",
	  "organizations.us-gov-west-1.amazonaws.com", "us-gov-west-1", NULL },

	/* FIPS */
	{ IAM, "us-west-2", { FIPS }, NULL,
	  "https://iam-fips.amazonaws.com", "iam-fips.amazonaws.com", "us-east-1", NULL },
	{ IAM, "us-west-2", { "AWS_USE_FIPS_ENDPOINT=TRUE" }, NULL,
	  "https://iam-fips.amazonaws.com", "iam-fips.amazonaws.com", "us-east-1", NULL },
	{ IAM, "us-west-2", { "AWS_USE_FIPS_ENDPOINT=false" }, NULL,
	  "https://iam.amazonaws.com", "iam.amazonaws.com", "us-east-1", NULL },
	{ IAM, "us-gov-west-1", { FIPS }, NULL,
	  "https://iam.us-gov.amazonaws.com", "iam.us-gov.amazonaws.com", "us-gov-west-1", NULL },
	{ STS, "us-west-2", { FIPS }, NULL,
	  "https://sts-fips.us-west-2.amazonaws.com", "sts-fips.us-west-2.amazonaws.com",
	  "us-west-2", NULL },
	{ SM, "us-east-2", { FIPS }, NULL,
	  "https://secretsmanager-fips.us-east-2.amazonaws.com",
	  "secretsmanager-fips.us-east-2.amazonaws.com", "us-east-2", NULL },
	{ SSM, "us-gov-west-1", { FIPS }, NULL,
	  "https://ssm-fips.us-gov-west-1.amazonaws.com", "ssm-fips.us-gov-west-1.amazonaws.com",
	  "us-gov-west-1", NULL },
	{ ORG, "us-west-2", { FIPS }, NULL,
	  "https://organizations-fips.us-east-1.amazonaws.com",
	  "organizations-fips.us-east-1.amazonaws.com", "us-east-1", NULL },
	{ ORG, "us-gov-west-1", { FIPS }, NULL,
	  "https://organizations.us-gov-west-1.amazonaws.com",
	  "organizations.us-gov-west-1.amazonaws.com", "us-gov-west-1", NULL },
	{ IAM, "us-east-1", { "AWS_USE_FIPS_ENDPOINT=yes" }, NULL, NULL, NULL, NULL,
	  "invalid AWS_USE_FIPS_ENDPOINT 'yes': expected true or false" },

	/* overrides: the signing region never changes */
	{ IAM, "eu-west-1", { NULL }, "http://localhost:4566",
	  "http://localhost:4566", "localhost:4566", "us-east-1", NULL },
	{ IAM, "cn-north-1", { NULL }, "https://iam.example.com/",
	  "https://iam.example.com", "iam.example.com", "cn-north-1", NULL },
	{ STS, "eu-west-1", { NULL }, "http://127.0.0.1:5000///",
	  "http://127.0.0.1:5000", "127.0.0.1:5000", "eu-west-1", NULL },
	{ ORG, "eu-west-1", { NULL }, "http://localhost:4566",
	  "http://localhost:4566", "localhost:4566", "us-east-1", NULL },
	{ IAM, "us-east-1", { "AWS_ENDPOINT_URL_IAM=http://iam.local:1",
			      "AWS_ENDPOINT_URL=http://all.local:2" },
	  "http://cli.local:3", "http://cli.local:3", "cli.local:3", "us-east-1", NULL },
	{ IAM, "us-east-1", { "AWS_ENDPOINT_URL_IAM=http://iam.local:1",
			      "AWS_ENDPOINT_URL=http://all.local:2" },
	  NULL, "http://iam.local:1", "iam.local:1", "us-east-1", NULL },
	{ STS, "us-east-1", { "AWS_ENDPOINT_URL_IAM=http://iam.local:1",
			      "AWS_ENDPOINT_URL=http://all.local:2" },
	  NULL, "http://all.local:2", "all.local:2", "us-east-1", NULL },
	{ STS, "eu-north-1", { "AWS_ENDPOINT_URL_STS=https://sts.local" }, NULL,
	  "https://sts.local", "sts.local", "eu-north-1", NULL },
	{ SM, "eu-north-1", { "AWS_ENDPOINT_URL_SECRETS_MANAGER=https://sm.local:8443" }, NULL,
	  "https://sm.local:8443", "sm.local:8443", "eu-north-1", NULL },
	{ SSM, "eu-north-1", { "AWS_ENDPOINT_URL_SSM=http://ssm.local:80" }, NULL,
	  "http://ssm.local:80", "ssm.local", "eu-north-1", NULL },
	{ ORG, "eu-north-1", { "AWS_ENDPOINT_URL_ORGANIZATIONS=https://org.local:443/base" }, NULL,
	  "https://org.local:443/base", "org.local", "us-east-1", NULL },
	{ SSM, "eu-north-1", { "AWS_ENDPOINT_URL_SECRETS_MANAGER=https://sm.local" }, NULL,
	  "https://ssm.eu-north-1.amazonaws.com", "ssm.eu-north-1.amazonaws.com", "eu-north-1",
	  NULL },
	{ IAM, "us-east-1", { "AWS_ENDPOINT_URL_IAM=", "AWS_ENDPOINT_URL=http://all.local" }, NULL,
	  "http://all.local", "all.local", "us-east-1", NULL },
	{ IAM, "us-east-1", { FIPS, "AWS_ENDPOINT_URL=http://all.local" }, NULL,
	  "http://all.local", "all.local", "us-east-1", NULL },
	{ IAM, "us-east-1", { "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true",
			      "AWS_ENDPOINT_URL=http://all.local" },
	  NULL, "https://iam.amazonaws.com", "iam.amazonaws.com", "us-east-1", NULL },
	{ IAM, "us-east-1", { "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true" }, "http://cli.local",
	  "http://cli.local", "cli.local", "us-east-1", NULL },
	{ IAM, "us-east-1", { NULL }, "http://[::1]:4566",
	  "http://[::1]:4566", "[::1]:4566", "us-east-1", NULL },
	{ IAM, "us-east-1", { NULL }, "HTTPS://IAM.Example.com:443",
	  "HTTPS://IAM.Example.com:443", "IAM.Example.com", "us-east-1", NULL },

	/* IAM Identity Center: the portal and OIDC, per region and partition */
	{ SSO, "eu-west-1", { NULL }, NULL,
	  "https://portal.sso.eu-west-1.amazonaws.com", "portal.sso.eu-west-1.amazonaws.com",
	  "eu-west-1", NULL },
	{ OIDC, "eu-west-1", { NULL }, NULL,
	  "https://oidc.eu-west-1.amazonaws.com", "oidc.eu-west-1.amazonaws.com", "eu-west-1",
	  NULL },
	{ SSO, "cn-north-1", { NULL }, NULL,
	  "https://portal.sso.cn-north-1.amazonaws.com.cn", "portal.sso.cn-north-1.amazonaws.com.cn",
	  "cn-north-1", NULL },
	{ OIDC, "cn-northwest-1", { NULL }, NULL,
	  "https://oidc.cn-northwest-1.amazonaws.com.cn", "oidc.cn-northwest-1.amazonaws.com.cn",
	  "cn-northwest-1", NULL },
	{ SSO, "us-gov-west-1", { NULL }, NULL,
	  "https://portal.sso.us-gov-west-1.amazonaws.com",
	  "portal.sso.us-gov-west-1.amazonaws.com", "us-gov-west-1", NULL },
	{ SSO, "us-gov-east-1", { FIPS }, NULL,
	  "https://portal.sso.us-gov-east-1.amazonaws.com",
	  "portal.sso.us-gov-east-1.amazonaws.com", "us-gov-east-1", NULL },
	{ OIDC, "us-gov-west-1", { FIPS }, NULL,
	  "https://oidc.us-gov-west-1.amazonaws.com", "oidc.us-gov-west-1.amazonaws.com",
	  "us-gov-west-1", NULL },
	{ SSO, "us-east-2", { FIPS }, NULL,
	  "https://portal.sso-fips.us-east-2.amazonaws.com",
	  "portal.sso-fips.us-east-2.amazonaws.com", "us-east-2", NULL },
	{ OIDC, "us-east-2", { FIPS }, NULL,
	  "https://oidc-fips.us-east-2.amazonaws.com", "oidc-fips.us-east-2.amazonaws.com",
	  "us-east-2", NULL },
	{ SSO, "cn-north-1", { FIPS }, NULL, NULL, NULL, NULL,
	  "AWS_USE_FIPS_ENDPOINT: no FIPS endpoint for awsssoportal in partition aws-cn" },
	{ SSO, "eu-west-1", { "AWS_ENDPOINT_URL_SSO=http://sso.local:1",
			      "AWS_ENDPOINT_URL=http://all.local:2" }, NULL,
	  "http://sso.local:1", "sso.local:1", "eu-west-1", NULL },
	{ OIDC, "eu-west-1", { "AWS_ENDPOINT_URL_SSO=http://sso.local:1",
			       "AWS_ENDPOINT_URL=http://all.local:2" }, NULL,
	  "http://all.local:2", "all.local:2", "eu-west-1", NULL },
	{ OIDC, "eu-west-1", { "AWS_ENDPOINT_URL_SSO_OIDC=http://oidc.local:3",
			       "AWS_ENDPOINT_URL_SSO=http://sso.local:1" }, NULL,
	  "http://oidc.local:3", "oidc.local:3", "eu-west-1", NULL },
	{ SSO, "eu-west-1", { "AWS_ENDPOINT_URL_SSO_OIDC=http://oidc.local:3" }, NULL,
	  "https://portal.sso.eu-west-1.amazonaws.com", "portal.sso.eu-west-1.amazonaws.com",
	  "eu-west-1", NULL },

	/* DynamoDB (--lock dynamodb:): regional, FIPS, its own override */
	{ DDB, "eu-west-1", { NULL }, NULL, "https://dynamodb.eu-west-1.amazonaws.com",
	  "dynamodb.eu-west-1.amazonaws.com", "eu-west-1", NULL },
	{ DDB, "cn-north-1", { NULL }, NULL, "https://dynamodb.cn-north-1.amazonaws.com.cn",
	  "dynamodb.cn-north-1.amazonaws.com.cn", "cn-north-1", NULL },
	{ DDB, "us-east-1", { FIPS }, NULL, "https://dynamodb-fips.us-east-1.amazonaws.com",
	  "dynamodb-fips.us-east-1.amazonaws.com", "us-east-1", NULL },
	{ DDB, "eu-west-1", { "AWS_ENDPOINT_URL_DYNAMODB=http://ddb.local:8000",
			      "AWS_ENDPOINT_URL=http://all.local:2" }, NULL,
	  "http://ddb.local:8000", "ddb.local:8000", "eu-west-1", NULL },

	/* bad override URLs */
	{ IAM, "us-east-1", { NULL }, "ftp://x", NULL, NULL, NULL,
	  "invalid endpoint URL 'ftp://x' from --endpoint-url: expected http:// or https://" },
	{ IAM, "us-east-1", { "AWS_ENDPOINT_URL_IAM=localhost:4566" }, NULL, NULL, NULL, NULL,
	  "invalid endpoint URL 'localhost:4566' from AWS_ENDPOINT_URL_IAM: expected http:// or "
	  "https://" },
	{ STS, "us-east-1", { "AWS_ENDPOINT_URL=http://" }, NULL, NULL, NULL, NULL,
	  "invalid endpoint URL 'http://' from AWS_ENDPOINT_URL: no host" },
	{ IAM, "us-east-1", { NULL }, "https:///path", NULL, NULL, NULL,
	  "invalid endpoint URL 'https:///path' from --endpoint-url: no host" },
	{ IAM, "us-east-1", { NULL }, "http://:80", NULL, NULL, NULL, "invalid endpoint URL" },
	{ IAM, "us-east-1", { NULL }, "http://h:0", NULL, NULL, NULL,
	  "invalid endpoint URL 'http://h:0' from --endpoint-url: bad port" },
	{ IAM, "us-east-1", { NULL }, "http://h:65536", NULL, NULL, NULL, "invalid endpoint URL" },
	{ IAM, "us-east-1", { NULL }, "http://h:", NULL, NULL, NULL, "invalid endpoint URL" },
	{ IAM, "us-east-1", { NULL }, "http://h:8x", NULL, NULL, NULL, "invalid endpoint URL" },
	{ IAM, "us-east-1", { NULL }, "http://user:pw@h", NULL, NULL, NULL,
	  "invalid endpoint URL 'http://user:pw@h' from --endpoint-url: user info is not allowed" },
	{ IAM, "us-east-1", { NULL }, "http://h/?a=b", NULL, NULL, NULL, "invalid endpoint URL" },
	{ IAM, "us-east-1", { NULL }, "http://h#f", NULL, NULL, NULL, "invalid endpoint URL" },
	{ IAM, "us-east-1", { NULL }, "http://h x", NULL, NULL, NULL, "invalid endpoint URL" },
	{ IAM, "us-east-1", { NULL }, "http://h\r\nX: y", NULL, NULL, NULL, "invalid endpoint URL" },
	{ IAM, "us-east-1", { NULL }, "http://[::1", NULL, NULL, NULL, "invalid endpoint URL" },
	{ IAM, "us-east-1", { NULL }, "http://[::1]x", NULL, NULL, NULL, "invalid endpoint URL" },
	{ IAM, "us-east-1", { "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=1" }, NULL, NULL, NULL, NULL,
	  "invalid AWS_IGNORE_CONFIGURED_ENDPOINT_URLS '1'" },

	/* bad regions (they become part of host names) */
	{ STS, "US-EAST-1", { NULL }, NULL, NULL, NULL, NULL, "invalid region 'US-EAST-1'" },
	{ STS, "", { NULL }, NULL, NULL, NULL, NULL, "invalid region ''" },
	{ STS, "evil.com/x", { NULL }, NULL, NULL, NULL, NULL, "invalid region" },
	{ STS, "-us-east-1", { NULL }, NULL, NULL, NULL, NULL, "invalid region" },
};
/* clang-format on */

static void test_endpoint_table(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct row *r = &rows[i];
		struct aws_endpoint ep;
		struct strbuf err = STRBUF_INIT;
		int rc = aws_endpoint_resolve(&ep, (enum aws_service)r->svc, r->region, r->override,
					      fake_getenv, (void *)r->env, &err);

		if (r->err) {
			if (rc != -1)
				fail_msg("row %zu: resolved to %s, expected '%s'", i, ep.url,
					 r->err);
			if (strncmp(err.buf, r->err, strlen(r->err)))
				fail_msg("row %zu: error '%s', expected '%s'", i, err.buf, r->err);
			assert_null(strchr(err.buf, '\n'));
			assert_null(ep.url);
		} else {
			if (rc)
				fail_msg("row %zu: %s", i, err.buf);
			if (strcmp(ep.url, r->url) || strcmp(ep.host, r->host) ||
			    strcmp(ep.signing_region, r->signing_region))
				fail_msg("row %zu: got %s %s %s, expected %s %s %s", i, ep.url,
					 ep.host, ep.signing_region, r->url, r->host,
					 r->signing_region);
		}
		aws_endpoint_release(&ep);
		strbuf_release(&err);
	}
}

static void test_signing_names(void **state)
{
	static const char *const names[] = {
		"iam",		"sts",	      "secretsmanager", "ssm",	      "organizations",
		"awsssoportal", "awsssooidc", "dynamodb",	"cloudtrail", "sns",
		"ec2"
	};
	static const char *const env_names[] = {
		"IAM", "STS",	   "SECRETS_MANAGER", "SSM",	    "ORGANIZATIONS",
		"SSO", "SSO_OIDC", "DYNAMODB",	      "CLOUDTRAIL", "SNS",
		"EC2"
	};
	static const char *const env[] = { "AWS_ENDPOINT_URL=http://localhost:4566", NULL };
	int i;

	assert_int_equal(ARRAY_SIZE(names), AWS_SVC__COUNT);
	for (i = 0; i < AWS_SVC__COUNT; i++) {
		struct aws_endpoint ep;
		struct strbuf err = STRBUF_INIT;

		assert_int_equal(aws_endpoint_resolve(&ep, (enum aws_service)i, "eu-west-1", NULL,
						      fake_getenv, (void *)env, &err),
				 0);
		assert_string_equal(ep.signing_name, names[i]);
		assert_string_equal(aws_service_env_name((enum aws_service)i), env_names[i]);
		aws_endpoint_release(&ep);
		strbuf_release(&err);
	}
}

/* --regions all without ec2:DescribeRegions: the partition's regions that need no opt-in */
static void test_partition_regions(void **state)
{
	const char *const *r;
	size_t n, i;
	struct aws_endpoint ep;
	struct strbuf err = STRBUF_INIT;

	r = aws_partition_regions("eu-west-1", &n);
	assert_int_equal(n, 17);
	assert_string_equal(r[0], "ap-northeast-1");
	assert_string_equal(r[16], "us-west-2");
	assert_null(r[17]);
	for (i = 1; i < n; i++)
		assert_true(strcmp(r[i - 1], r[i]) < 0);
	for (i = 0; i < n; i++)
		assert_true(strcmp(r[i], "af-south-1") && strcmp(r[i], "me-south-1"));
	r = aws_partition_regions("cn-north-1", &n);
	assert_int_equal(n, 2);
	assert_string_equal(r[1], "cn-northwest-1");
	r = aws_partition_regions("us-gov-west-1", &n);
	assert_int_equal(n, 2);
	assert_string_equal(r[0], "us-gov-east-1");
	r = aws_partition_regions(NULL, &n);
	assert_int_equal(n, 17);
	/* EC2 is regional: ec2.<region>.<dns suffix>, signed for the region */
	assert_int_equal(aws_endpoint_resolve(&ep, AWS_SVC_EC2, "cn-north-1", NULL, fake_getenv,
					      NULL, &err),
			 0);
	assert_string_equal(ep.url, "https://ec2.cn-north-1.amazonaws.com.cn");
	assert_string_equal(ep.signing_region, "cn-north-1");
	aws_endpoint_release(&ep);
	strbuf_release(&err);
}

static void test_process_environment(void **state)
{
	struct aws_endpoint ep;
	struct strbuf err = STRBUF_INIT;

	/* getenv_fn NULL reads the real environment */
	setenv("AWS_ENDPOINT_URL_STS", "http://from-env:9", 1);
	assert_int_equal(aws_endpoint_resolve(&ep, AWS_SVC_STS, "eu-west-1", NULL, NULL, NULL,
					      &err),
			 0);
	assert_string_equal(ep.url, "http://from-env:9");
	unsetenv("AWS_ENDPOINT_URL_STS");
	aws_endpoint_release(&ep);
	aws_endpoint_release(&ep); /* twice is fine */
	strbuf_release(&err);
}

static void test_region_valid(void **state)
{
	assert_true(aws_region_valid("us-east-1"));
	assert_true(aws_region_valid("local"));
	assert_false(aws_region_valid(NULL));
	assert_false(aws_region_valid(""));
	assert_false(aws_region_valid("us-east-1-"));
	assert_false(aws_region_valid("us_east_1"));
	assert_false(aws_region_valid("us-east-1\n"));
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_endpoint_table),	  cmocka_unit_test(test_signing_names),
	cmocka_unit_test(test_partition_regions), cmocka_unit_test(test_process_environment),
	cmocka_unit_test(test_region_valid),
};

UNIT_TEST_MAIN(tests)
