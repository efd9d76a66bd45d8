#include "core/compat.h"
#include "core/iamxml.h"
#include "core/base64.h"

#include <dirent.h>
#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"
#include <jansson.h>
#include <libxml/globals.h>
#include <libxml/xmlerror.h>
#include "testdata.h"

/*
 * The samples are read at run time from tests/data/iam-responses/; see its
 * README.md for where each file comes from.
 */

static void shared_path(struct strbuf *sb, const char *rel)
{
	strbuf_addf(sb, "%s/iam-responses/%s", test_data_dir(), rel);
}

static void read_file(const char *path, struct strbuf *out)
{
	if (test_read_file(path, out))
		fail_msg("cannot read '%s': %s", path, strerror(errno));
}

static void read_shared(const char *rel, struct strbuf *out)
{
	struct strbuf p = STRBUF_INIT;

	shared_path(&p, rel);
	read_file(p.buf, out);
	strbuf_release(&p);
}

static json_t *load_json(const char *rel)
{
	struct strbuf p = STRBUF_INIT;
	json_error_t jerr;
	json_t *j;

	shared_path(&p, rel);
	j = json_load_file(p.buf, 0, &jerr);
	if (!j)
		fail_msg("cannot parse '%s': %s", p.buf, jerr.text);
	strbuf_release(&p);
	return j;
}

/* A one-line error starting with prefix. */
static void assert_err(const struct strbuf *err, const char *prefix)
{
	if (strncmp(err->buf, prefix, strlen(prefix)))
		fail_msg("error '%s' does not start with '%s'", err->buf, prefix);
	assert_null(strchr(err->buf, '\n'));
	assert_true(err->len > 0 && err->buf[err->len - 1] != '.');
}

static void assert_contains(const char *s, const char *needle)
{
	if (!strstr(s, needle))
		fail_msg("'%s' does not contain '%s'", s, needle);
}

#define S(x) (x), strlen(x)

/* TAG (a parsed struct iam_tag) is KEY=VALUE. */
#define assert_tag(tag, key_want, value_want)                                                      \
	do {                                                                                       \
		assert_string_equal((tag).key, (key_want));                                        \
		assert_string_equal((tag).value, (value_want));                                    \
	} while (0)

/* ---- every parser, by number (for cross-checks) ------------------------ */

enum parser {
	P_LIST_USERS,
	P_GET_USER,
	P_LIST_ACCESS_KEYS,
	P_CREATE_ACCESS_KEY,
	P_LAST_USED,
	P_GENERATE_REPORT,
	P_GET_REPORT,
	P_LIST_USER_TAGS,
	P_LIST_GROUPS,
	P_ACCOUNT_SUMMARY,
	P_REQUEST_ID,
	P_CALLER_IDENTITY,
	P_ASSUME_ROLE,
	P_ORG_FEATURES,
	P_ERROR,
	P__COUNT
};

static int run_parser(enum parser p, const char *xml, size_t len, struct strbuf *err)
{
	int ret = -1;

	switch (p) {
	case P_LIST_USERS: {
		struct iam_user_page o;
		ret = iam_parse_list_users(xml, len, &o, err);
		iam_user_page_release(&o);
		break;
	}
	case P_GET_USER: {
		struct iam_user o;
		ret = iam_parse_get_user(xml, len, &o, err);
		iam_user_release(&o);
		break;
	}
	case P_LIST_ACCESS_KEYS: {
		struct iam_access_key_page o;
		ret = iam_parse_list_access_keys(xml, len, &o, err);
		iam_access_key_page_release(&o);
		break;
	}
	case P_CREATE_ACCESS_KEY: {
		struct iam_access_key o;
		ret = iam_parse_create_access_key(xml, len, &o, err);
		iam_access_key_release(&o);
		break;
	}
	case P_LAST_USED: {
		struct iam_key_last_used o;
		ret = iam_parse_get_access_key_last_used(xml, len, &o, err);
		iam_key_last_used_release(&o);
		break;
	}
	case P_GENERATE_REPORT: {
		char *state;
		ret = iam_parse_generate_credential_report(xml, len, &state, err);
		free(state);
		break;
	}
	case P_GET_REPORT: {
		struct strbuf content = STRBUF_INIT;
		char *t;
		ret = iam_parse_get_credential_report(xml, len, &content, &t, err);
		strbuf_release(&content);
		free(t);
		break;
	}
	case P_LIST_USER_TAGS: {
		struct iam_tag_page o;
		ret = iam_parse_list_user_tags(xml, len, &o, err);
		iam_tag_page_release(&o);
		break;
	}
	case P_LIST_GROUPS: {
		struct iam_group_page o;
		ret = iam_parse_list_groups_for_user(xml, len, &o, err);
		iam_group_page_release(&o);
		break;
	}
	case P_ACCOUNT_SUMMARY: {
		struct iam_summary_entry *e;
		size_t n;
		ret = iam_parse_get_account_summary(xml, len, &e, &n, err);
		iam_summary_entries_free(e, n);
		break;
	}
	case P_REQUEST_ID: {
		char *id;
		ret = aws_parse_request_id(xml, len, &id, err);
		free(id);
		break;
	}
	case P_CALLER_IDENTITY: {
		struct sts_caller_identity o;
		ret = sts_parse_get_caller_identity(xml, len, &o, err);
		sts_caller_identity_release(&o);
		break;
	}
	case P_ASSUME_ROLE: {
		struct sts_assumed o;
		ret = sts_parse_assume_role(xml, len, &o, err);
		sts_assumed_release(&o);
		break;
	}
	case P_ORG_FEATURES: {
		struct iam_org_features o;
		ret = iam_parse_list_organizations_features(xml, len, &o, err);
		iam_org_features_release(&o);
		break;
	}
	case P_ERROR: {
		struct aws_error o = { 0 };
		ret = aws_parse_xml_error(xml, len, &o, err);
		aws_error_release(&o);
		break;
	}
	case P__COUNT:
		break;
	}
	return ret;
}

/* Every parser fails on xml (with a one-line message) except those in the ok mask. */
static void check_only(const char *name, const char *xml, size_t len, unsigned ok)
{
	int p;

	for (p = 0; p < P__COUNT; p++) {
		struct strbuf err = STRBUF_INIT;
		int ret = run_parser((enum parser)p, xml, len, &err);
		int want = (ok >> p) & 1 ? 0 : -1;

		if (ret != want)
			fail_msg("%s: parser %d returned %d (%s)", name, p, ret, err.buf);
		if (ret)
			assert_err(&err, "");
		strbuf_release(&err);
	}
}

#define OK(p) (1u << (p))

/* ---- AWS API reference samples --------------------------------------- */

static void test_api_create_access_key(void **state)
{
	struct strbuf xml = STRBUF_INIT, err = STRBUF_INIT;
	struct iam_access_key k;

	read_shared("api-reference-samples/CreateAccessKey.xml", &xml);
	assert_int_equal(iam_parse_create_access_key(xml.buf, xml.len, &k, &err), 0);
	assert_string_equal(k.user_name, "Bob");
	assert_string_equal(k.access_key_id, "AKIAIOSFODNN7EXAMPLE");
	assert_string_equal(k.status, "Active");
	/* the sample's secret ends with "\n      ": trimmed */
	assert_string_equal(k.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
	assert_null(k.create_date);
	iam_access_key_release(&k);
	assert_null(k.secret_access_key);
	strbuf_release(&xml);
	strbuf_release(&err);
}

static void test_api_list_access_keys(void **state)
{
	struct strbuf xml = STRBUF_INIT, err = STRBUF_INIT;
	struct iam_access_key_page p;

	read_shared("api-reference-samples/ListAccessKeys.xml", &xml);
	assert_int_equal(iam_parse_list_access_keys(xml.buf, xml.len, &p, &err), 0);
	assert_int_equal(p.nkeys, 2);
	assert_string_equal(p.keys[0].user_name, "Bob");
	assert_string_equal(p.keys[0].access_key_id, "AKIA1234567890EXAMPLE");
	assert_string_equal(p.keys[0].status, "Active");
	assert_string_equal(p.keys[0].create_date, "2016-12-03T18:53:41Z");
	assert_null(p.keys[0].secret_access_key);
	assert_string_equal(p.keys[1].user_name, "Susan");
	assert_string_equal(p.keys[1].access_key_id, "AKIA2345678901EXAMPLE");
	assert_string_equal(p.keys[1].status, "Inactive");
	assert_string_equal(p.keys[1].create_date, "2017-03-25T20:38:14Z");
	assert_last_page(p, "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE");
	iam_access_key_page_release(&p);
	assert_null(p.keys);
	assert_int_equal(p.nkeys, 0);
	strbuf_release(&xml);
	strbuf_release(&err);
}

static void test_api_list_users(void **state)
{
	struct strbuf xml = STRBUF_INIT, err = STRBUF_INIT;
	struct iam_user_page p;

	read_shared("api-reference-samples/ListUsers.xml", &xml);
	assert_int_equal(iam_parse_list_users(xml.buf, xml.len, &p, &err), 0);
	assert_int_equal(p.nusers, 2);
	assert_string_equal(p.users[0].user_id, "AID2MAB8DPLSRHEXAMPLE");
	assert_string_equal(p.users[0].path, "/division_abc/subdivision_xyz/engineering/");
	assert_string_equal(p.users[0].user_name, "Andrew");
	assert_string_equal(
		p.users[0].arn,
		"arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/engineering/Andrew");
	assert_string_equal(p.users[0].create_date, "2012-09-05T19:38:48Z");
	assert_string_equal(p.users[0].password_last_used, "2014-09-08T21:47:36Z");
	assert_int_equal(p.users[0].ntags, 0);
	assert_null(p.users[0].tags);
	assert_string_equal(p.users[1].user_id, "AIDIODR4TAW7CSEXAMPLE");
	assert_string_equal(p.users[1].user_name, "Jackie");
	assert_string_equal(
		p.users[1].arn,
		"arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/engineering/Jackie");
	assert_string_equal(p.users[1].create_date, "2014-04-09T15:43:45Z");
	assert_string_equal(p.users[1].password_last_used, "2014-09-24T16:18:07Z");
	assert_last_page(p, "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE");
	iam_user_page_release(&p);
	strbuf_release(&xml);
	strbuf_release(&err);
}

static void test_api_get_user(void **state)
{
	struct strbuf xml = STRBUF_INIT, err = STRBUF_INIT;
	struct iam_user u;

	read_shared("api-reference-samples/GetUser.xml", &xml);
	assert_int_equal(iam_parse_get_user(xml.buf, xml.len, &u, &err), 0);
	assert_string_equal(u.user_id, "AIDACKCEVSQ6C2EXAMPLE");
	assert_string_equal(u.path, "/division_abc/subdivision_xyz/");
	assert_string_equal(u.user_name, "Bob");
	assert_string_equal(u.arn,
			    "arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/Bob");
	assert_string_equal(u.create_date, "2013-10-02T17:01:44Z");
	assert_string_equal(u.password_last_used, "2014-10-10T14:37:51Z");
	assert_int_equal(u.ntags, 0);
	iam_user_release(&u);
	strbuf_release(&xml);
	strbuf_release(&err);
}

static void test_api_get_access_key_last_used(void **state)
{
	struct strbuf xml = STRBUF_INIT, err = STRBUF_INIT;
	struct iam_key_last_used l;

	read_shared("api-reference-samples/GetAccessKeyLastUsed.xml", &xml);
	assert_int_equal(iam_parse_get_access_key_last_used(xml.buf, xml.len, &l, &err), 0);
	assert_string_equal(l.user_name, "bob");
	assert_string_equal(l.last_used_date, "2015-03-13T10:45:00Z");
	assert_string_equal(l.service_name, "s3");
	assert_string_equal(l.region, "us-west-2");
	iam_key_last_used_release(&l);
	strbuf_release(&xml);
	strbuf_release(&err);
}

static void test_last_used_never(void **state)
{
	static const char xml[] =
		"<GetAccessKeyLastUsedResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n"
		"  <GetAccessKeyLastUsedResult>\n"
		"    <AccessKeyLastUsed>\n"
		"      <Region>N/A</Region>\n"
		"      <ServiceName>N/A</ServiceName>\n"
		"    </AccessKeyLastUsed>\n"
		"    <UserName>carol</UserName>\n"
		"  </GetAccessKeyLastUsedResult>\n"
		"</GetAccessKeyLastUsedResponse>\n";
	struct strbuf err = STRBUF_INIT;
	struct iam_key_last_used l;

	assert_int_equal(iam_parse_get_access_key_last_used(S(xml), &l, &err), 0);
	assert_string_equal(l.user_name, "carol");
	assert_null(l.last_used_date);
	assert_null(l.service_name); /* "N/A" is absent */
	assert_null(l.region);
	iam_key_last_used_release(&l);
	strbuf_release(&err);
}

static void test_api_request_id_only(void **state)
{
	static const char *const files[] = {
		"api-reference-samples/UpdateAccessKey.xml", /* no xmlns */
		"api-reference-samples/DeleteAccessKey.xml",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(files); i++) {
		struct strbuf xml = STRBUF_INIT, err = STRBUF_INIT;
		char *id;

		read_shared(files[i], &xml);
		assert_int_equal(aws_parse_request_id(xml.buf, xml.len, &id, &err), 0);
		assert_string_equal(id, "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE");
		free(id);
		strbuf_release(&xml);
		strbuf_release(&err);
	}
}

static void test_api_generate_credential_report(void **state)
{
	struct strbuf xml = STRBUF_INIT, err = STRBUF_INIT;
	char *st;

	read_shared("api-reference-samples/GenerateCredentialReport.xml", &xml);
	assert_int_equal(iam_parse_generate_credential_report(xml.buf, xml.len, &st, &err), 0);
	assert_string_equal(st, "STARTED");
	free(st);
	strbuf_release(&xml);
	strbuf_release(&err);
}

static void test_api_get_credential_report_placeholder(void **state)
{
	struct strbuf xml = STRBUF_INIT, err = STRBUF_INIT, content = STRBUF_INIT;
	char *t = (char *)"unset";

	read_shared("api-reference-samples/GetCredentialReport.xml", &xml);
	strbuf_addstr(&content, "old");
	/* "BASE-64 ENCODED FILE CONTENTS" is not base64 */
	assert_int_equal(iam_parse_get_credential_report(xml.buf, xml.len, &content, &t, &err), -1);
	assert_err(&err, "GetCredentialReport response has invalid base64 in Content");
	assert_int_equal(content.len, 0);
	assert_null(t);
	strbuf_release(&xml);
	strbuf_release(&err);
	strbuf_release(&content);
}

/* The sample with real content: the shared CSV header line, base64-encoded. */
static void test_get_credential_report_decodes(void **state)
{
	struct strbuf xml = STRBUF_INIT, csv = STRBUF_INIT, b64 = STRBUF_INIT;
	struct strbuf fixed = STRBUF_INIT, err = STRBUF_INIT, content = STRBUF_INIT;
	static const char placeholder[] = "BASE-64 ENCODED FILE CONTENTS";
	const char *at;
	char *t;

	read_shared("api-reference-samples/GetCredentialReport.xml", &xml);
	read_shared("credential-report-header.csv", &csv);
	base64_encode(&b64, csv.buf, csv.len);
	at = strstr(xml.buf, placeholder);
	assert_non_null(at);
	strbuf_add(&fixed, xml.buf, (size_t)(at - xml.buf));
	strbuf_addbuf(&fixed, &b64);
	strbuf_addstr(&fixed, at + strlen(placeholder));

	assert_int_equal(iam_parse_get_credential_report(fixed.buf, fixed.len, &content, &t, &err),
			 0);
	assert_int_equal(content.len, csv.len);
	assert_memory_equal(content.buf, csv.buf, csv.len);
	assert_true(!strncmp(content.buf, "user,arn,user_creation_time,", 28));
	assert_string_equal(t, "2014-08-28T21:42:50Z");
	free(t);
	strbuf_release(&xml);
	strbuf_release(&csv);
	strbuf_release(&b64);
	strbuf_release(&fixed);
	strbuf_release(&err);
	strbuf_release(&content);
}

/* A 5,000-user report (about 1.5 MB of CSV), base64 wrapped in lines. */
static void test_get_credential_report_large(void **state)
{
	struct strbuf csv = STRBUF_INIT, b64 = STRBUF_INIT, xml = STRBUF_INIT;
	struct strbuf err = STRBUF_INIT, content = STRBUF_INIT;
	char *t;
	size_t i;

	read_shared("credential-report-header.csv", &csv);
	for (i = 0; i < 5000; i++)
		strbuf_addf(&csv,
			    "service-account-%04zu,arn:aws:iam::123456789012:user/division_abc/"
			    "subdivision_xyz/engineering/service-account-%04zu,"
			    "2022-08-31T11:10:33+00:00,TRUE,2023-01-01T00:00:00+00:00,"
			    "2022-08-31T11:10:33+00:00,N/A,FALSE,TRUE,2022-09-01T00:00:00+00:00,"
			    "2023-01-02T00:00:00+00:00,us-east-1,iam,FALSE,N/A,N/A,N/A,N/A,"
			    "FALSE,N/A,FALSE,N/A\n",
			    i, i);
	assert_true(csv.len > 1400000);
	base64_encode(&b64, csv.buf, csv.len);
	strbuf_addstr(&xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			    "<GetCredentialReportResponse "
			    "xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
			    "<GetCredentialReportResult><Content>");
	for (i = 0; i < b64.len; i += 76) {
		strbuf_add(&xml, b64.buf + i, b64.len - i < 76 ? b64.len - i : 76);
		strbuf_addch(&xml, '\n');
	}
	strbuf_addstr(&xml, "</Content><ReportFormat>text/csv</ReportFormat>"
			    "<GeneratedTime>2024-05-01T08:00:00Z</GeneratedTime>"
			    "</GetCredentialReportResult><ResponseMetadata><RequestId>r</RequestId>"
			    "</ResponseMetadata></GetCredentialReportResponse>");
	assert_int_equal(iam_parse_get_credential_report(xml.buf, xml.len, &content, &t, &err), 0);
	assert_int_equal(content.len, csv.len);
	assert_memory_equal(content.buf, csv.buf, csv.len);
	assert_string_equal(t, "2024-05-01T08:00:00Z");
	free(t);
	strbuf_release(&csv);
	strbuf_release(&b64);
	strbuf_release(&xml);
	strbuf_release(&err);
	strbuf_release(&content);
}

static void test_get_credential_report_errors(void **state)
{
	struct strbuf err = STRBUF_INIT, content = STRBUF_INIT;
	char *t;

	assert_int_equal(iam_parse_get_credential_report(
				 S("<GetCredentialReportResponse><GetCredentialReportResult>"
				   "<GeneratedTime>2014-08-28T21:42:50Z</GeneratedTime>"
				   "</GetCredentialReportResult></GetCredentialReportResponse>"),
				 &content, &t, &err),
			 -1);
	assert_err(&err, "GetCredentialReport response has no Content");
	assert_int_equal(
		iam_parse_get_credential_report(
			S("<GetCredentialReportResponse><GetCredentialReportResult>"
			  "<Content>YSxi</Content><ReportFormat>application/pdf</ReportFormat>"
			  "</GetCredentialReportResult></GetCredentialReportResponse>"),
			&content, &t, &err),
		-1);
	assert_err(&err,
		   "GetCredentialReport response has unsupported ReportFormat 'application/pdf'");
	/* an empty report decodes to nothing; GeneratedTime may be absent */
	assert_int_equal(
		iam_parse_get_credential_report(
			S("<GetCredentialReportResponse><GetCredentialReportResult>"
			  "<Content/></GetCredentialReportResult></GetCredentialReportResponse>"),
			&content, &t, &err),
		0);
	assert_int_equal(content.len, 0);
	assert_null(t);
	strbuf_release(&err);
	strbuf_release(&content);
}

/* Content is decoded as the parser reads it: the same result as from its whole text. */
static void test_get_credential_report_content_pieces(void **state)
{
	static const struct {
		const char *result; /* inside GetCredentialReportResponse */
		const char *want;   /* the content, or the error's start */
		int ret;
	} c[] = {
		/* text, comment, CDATA, character references and blanks make one text */
		{ "<GetCredentialReportResult><Content>\n YS<!-- x -->x&#x69;<![CDATA[LG]]>M=&#10;"
		  "</Content></GetCredentialReportResult>",
		  "a,b,c", 0 },
		/* only the first Content counts, even when empty */
		{ "<GetCredentialReportResult><Content/><Content>YSxi</Content>"
		  "</GetCredentialReportResult>",
		  "", 0 },
		{ "<GetCredentialReportResult><Content>YSxi</Content><Content>ZGVm</Content>"
		  "</GetCredentialReportResult>",
		  "a,b", 0 },
		/* only a Content of the first Result, right under it */
		{ "<GetCredentialReportResult><X><Content>YSxi</Content></X>"
		  "</GetCredentialReportResult>",
		  "GetCredentialReport response has no Content", -1 },
		{ "<GetCredentialReportResult/><GetCredentialReportResult><Content>YSxi</Content>"
		  "</GetCredentialReportResult>",
		  "GetCredentialReport response has no Content", -1 },
		{ "<GetCredentialReportResult><Content>YS!i</Content></GetCredentialReportResult>",
		  "GetCredentialReport response has invalid base64 in Content", -1 },
		{ "<GetCredentialReportResult><Content>YSx</Content></GetCredentialReportResult>",
		  "GetCredentialReport response has invalid base64 in Content", -1 },
		/* decoded, then the XML breaks: nothing is kept */
		{ "<GetCredentialReportResult><Content>YSxi</Content><Oops>"
		  "</GetCredentialReportResult>",
		  "malformed XML", -1 },
	};
	struct strbuf xml = STRBUF_INIT, err = STRBUF_INIT, content = STRBUF_INIT;
	size_t i;
	char *t;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		strbuf_reset(&xml);
		strbuf_addf(&xml, "<GetCredentialReportResponse>%s</GetCredentialReportResponse>",
			    c[i].result);
		strbuf_reset(&err);
		assert_int_equal(iam_parse_get_credential_report(xml.buf, xml.len, &content, &t,
								 &err),
				 c[i].ret);
		if (c[i].ret) {
			assert_err(&err, c[i].want);
			assert_int_equal(content.len, 0);
			continue;
		}
		assert_string_equal(content.buf, c[i].want);
		free(t);
	}
	strbuf_release(&xml);
	strbuf_release(&err);
	strbuf_release(&content);
}

/* Each sample is accepted by its own parser (and aws_parse_request_id), refused by the rest. */
static void test_api_samples_cross_check(void **state)
{
	static const struct {
		const char *file;
		unsigned ok;
	} samples[] = {
		{ "CreateAccessKey.xml", OK(P_CREATE_ACCESS_KEY) },
		{ "DeleteAccessKey.xml", 0 },
		{ "GenerateCredentialReport.xml", OK(P_GENERATE_REPORT) },
		{ "GetAccessKeyLastUsed.xml", OK(P_LAST_USED) },
		{ "GetCredentialReport.xml", 0 }, /* placeholder content */
		{ "GetUser.xml", OK(P_GET_USER) },
		{ "ListAccessKeys.xml", OK(P_LIST_ACCESS_KEYS) },
		{ "ListUsers.xml", OK(P_LIST_USERS) },
		{ "UpdateAccessKey.xml", 0 },
	};
	struct strbuf dir = STRBUF_INIT;
	struct dirent *de;
	DIR *d;
	size_t i, seen = 0;

	shared_path(&dir, "api-reference-samples");
	d = opendir(dir.buf);
	if (!d)
		fail_msg("cannot open '%s': %s", dir.buf, strerror(errno));
	while ((de = readdir(d))) {
		struct strbuf rel = STRBUF_INIT, xml = STRBUF_INIT;
		size_t n = strlen(de->d_name);

		if (n < 4 || strcmp(de->d_name + n - 4, ".xml"))
			continue;
		for (i = 0; i < ARRAY_SIZE(samples); i++)
			if (!strcmp(samples[i].file, de->d_name))
				break;
		if (i == ARRAY_SIZE(samples))
			fail_msg("sample '%s' is not covered by this test", de->d_name);
		strbuf_addf(&rel, "api-reference-samples/%s", de->d_name);
		read_shared(rel.buf, &xml);
		check_only(de->d_name, xml.buf, xml.len, samples[i].ok | OK(P_REQUEST_ID));
		seen++;
		strbuf_release(&rel);
		strbuf_release(&xml);
	}
	closedir(d);
	assert_int_equal(seen, ARRAY_SIZE(samples));
	strbuf_release(&dir);
}

/* ---- botocore fixtures, field by field against their .json ------------- */

/* A botocore fixture's member name, and the string member of the parsed struct that holds it. */
struct json_field {
	const char *name;
	size_t offset;
};

static const struct json_field user_fields[] = {
	{ "UserName", offsetof(struct iam_user, user_name) },
	{ "UserId", offsetof(struct iam_user, user_id) },
	{ "Arn", offsetof(struct iam_user, arn) },
	{ "Path", offsetof(struct iam_user, path) },
	{ "CreateDate", offsetof(struct iam_user, create_date) },
	{ "PasswordLastUsed", offsetof(struct iam_user, password_last_used) },
};

static const struct json_field key_fields[] = {
	{ "UserName", offsetof(struct iam_access_key, user_name) },
	{ "AccessKeyId", offsetof(struct iam_access_key, access_key_id) },
	{ "Status", offsetof(struct iam_access_key, status) },
	{ "CreateDate", offsetof(struct iam_access_key, create_date) },
};

/* The member of OBJ that FIELDS (N of them) names KEY; a fixture naming another member
 * (of a WHAT) fails the test. */
static const char *field_of(const void *obj, const struct json_field *fields, size_t n,
			    const char *key, const char *what)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(fields[i].name, key))
			return *(char *const *)((const char *)obj + fields[i].offset);
	fail_msg("unexpected %s field '%s' in the fixture", what, key);
	return NULL;
}

static void assert_json_str(json_t *v, const char *got, const char *what)
{
	assert_true(json_is_string(v));
	if (!got)
		fail_msg("%s: want '%s', got NULL", what, json_string_value(v));
	assert_string_equal(got, json_string_value(v));
}

static void check_user_json(json_t *ju, const struct iam_user *u)
{
	const char *key;
	json_t *v;

	assert_true(json_is_object(ju));
	json_object_foreach(ju, key, v)
	{
		assert_json_str(v, field_of(u, user_fields, ARRAY_SIZE(user_fields), key, "user"),
				key);
	}
}

static void check_meta_json(json_t *top, const char *request_id, int is_truncated,
			    const char *marker)
{
	json_t *v;

	v = json_object_get(json_object_get(top, "ResponseMetadata"), "RequestId");
	if (v)
		assert_json_str(v, request_id, "RequestId");
	v = json_object_get(top, "IsTruncated");
	if (v)
		assert_int_equal(json_is_true(v), is_truncated);
	v = json_object_get(top, "Marker");
	if (v)
		assert_json_str(v, marker, "Marker");
}

static void test_botocore_list_users(void **state)
{
	struct strbuf xml = STRBUF_INIT, err = STRBUF_INIT;
	json_t *j = load_json("botocore/response_parsing/xml/responses/iam-list-users.json");
	json_t *users = json_object_get(j, "Users");
	struct iam_user_page p;
	size_t i;

	read_shared("botocore/response_parsing/xml/responses/iam-list-users.xml", &xml);
	assert_int_equal(iam_parse_list_users(xml.buf, xml.len, &p, &err), 0);
	assert_int_equal(p.nusers, json_array_size(users));
	for (i = 0; i < p.nusers; i++)
		check_user_json(json_array_get(users, i), &p.users[i]);
	check_meta_json(j, p.request_id, p.is_truncated, p.marker);
	/* the newline and indentation inside Arn are kept */
	assert_string_equal(p.users[0].arn,
			    "arn:aws:iam::123456789012:user\n"
			    "            /division_abc/subdivision_xyz/engineering/Andrew");
	iam_user_page_release(&p);
	json_decref(j);
	strbuf_release(&xml);
	strbuf_release(&err);
}

static void test_botocore_get_user(void **state)
{
	struct strbuf xml = STRBUF_INIT, err = STRBUF_INIT;
	json_t *j = load_json("botocore/response_parsing/xml/responses/iam-get-user.json");
	struct iam_user u;
	char *id;

	read_shared("botocore/response_parsing/xml/responses/iam-get-user.xml", &xml);
	assert_int_equal(iam_parse_get_user(xml.buf, xml.len, &u, &err), 0);
	check_user_json(json_object_get(j, "User"), &u);
	/* the root user: no UserName or Path */
	assert_null(u.user_name);
	assert_null(u.path);
	iam_user_release(&u);
	/* GetUser's struct has no request id: check it through aws_parse_request_id */
	assert_int_equal(aws_parse_request_id(xml.buf, xml.len, &id, &err), 0);
	check_meta_json(j, id, 0, NULL);
	free(id);
	json_decref(j);
	strbuf_release(&xml);
	strbuf_release(&err);
}

static void test_botocore_list_access_keys(void **state)
{
	struct strbuf xml = STRBUF_INIT, err = STRBUF_INIT;
	json_t *j = load_json("botocore/response_parsing/xml/responses/iam-list-access-keys.json");
	json_t *keys = json_object_get(j, "AccessKeyMetadata");
	struct iam_access_key_page p;
	size_t i;

	read_shared("botocore/response_parsing/xml/responses/iam-list-access-keys.xml", &xml);
	assert_int_equal(iam_parse_list_access_keys(xml.buf, xml.len, &p, &err), 0);
	assert_int_equal(p.nkeys, json_array_size(keys));
	for (i = 0; i < p.nkeys; i++) {
		const char *key;
		json_t *v;

		json_object_foreach(json_array_get(keys, i), key, v)
		{
			assert_json_str(v,
					field_of(&p.keys[i], key_fields, ARRAY_SIZE(key_fields),
						 key, "access key"),
					key);
		}
	}
	check_meta_json(j, p.request_id, p.is_truncated, p.marker);
	iam_access_key_page_release(&p);
	json_decref(j);
	strbuf_release(&xml);
	strbuf_release(&err);
}

static void test_botocore_list_mfa_devices(void **state)
{
	struct strbuf xml = STRBUF_INIT;
	json_t *j = load_json("botocore/response_parsing/xml/responses/iam-list-mfa-devices.json");
	struct strbuf err = STRBUF_INIT;
	char *id;

	/* no parser of ours for it: the request id, and every list parser refuses it */
	read_shared("botocore/response_parsing/xml/responses/iam-list-mfa-devices.xml", &xml);
	assert_int_equal(aws_parse_request_id(xml.buf, xml.len, &id, &err), 0);
	check_meta_json(j, id, 0, NULL);
	free(id);
	check_only("iam-list-mfa-devices.xml", xml.buf, xml.len, OK(P_REQUEST_ID));
	json_decref(j);
	strbuf_release(&xml);
	strbuf_release(&err);
}

static void test_botocore_error(void **state)
{
	struct strbuf xml = STRBUF_INIT, err = STRBUF_INIT;
	json_t *j = load_json("botocore/response_parsing/xml/errors/iam-get-user.json");
	json_t *je = json_object_get(j, "Error");
	struct aws_error e = { 0 };

	read_shared("botocore/response_parsing/xml/errors/iam-get-user.xml", &xml);
	e.http_status = 404;
	assert_int_equal(aws_parse_xml_error(xml.buf, xml.len, &e, &err), 0);
	assert_int_equal(e.http_status, 404);
	assert_json_str(json_object_get(je, "Code"), e.code, "Code");
	assert_json_str(json_object_get(je, "Message"), e.message, "Message");
	assert_json_str(json_object_get(je, "Type"), e.type, "Type");
	assert_int_equal(json_object_size(je), 3);
	check_meta_json(j, e.request_id, 0, NULL);
	assert_string_equal(e.code, "NoSuchEntity");
	aws_error_release(&e);
	assert_null(e.code);
	check_only("errors/iam-get-user.xml", xml.buf, xml.len, OK(P_ERROR));
	json_decref(j);
	strbuf_release(&xml);
	strbuf_release(&err);
}

/* ---- hand-written responses ------------------------------------------- */

static void test_error_shapes(void **state)
{
	static const char errors_shape[] =
		"<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
		"  <Errors>\n"
		"    <Error>\n"
		"      <Type>Sender</Type>\n"
		"      <Code>\n  Throttling </Code>\n"
		"      <Message>Rate exceeded</Message>\n"
		"    </Error>\n"
		"  </Errors>\n"
		"  <ResponseMetadata><RequestId>rid-1</RequestId></ResponseMetadata>\n"
		"</ErrorResponse>\n";
	static const char ec2_shape[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<Response><Errors><Error><Code>AuthFailure</Code>"
		"<Message>AWS was not able to validate the provided access credentials</Message>"
		"</Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>";
	static const char no_code[] =
		"<ErrorResponse><Error><Message>m</Message></Error></ErrorResponse>";
	static const char entities[] =
		"<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code>"
		"<Message>1 validation error: 'a&amp;b' &lt;&gt; &quot;x&quot; &apos;&#233;&#x263A;"
		"</Message></Error><RequestId>r</RequestId></ErrorResponse>";
	struct strbuf err = STRBUF_INIT;
	struct aws_error e = { 0 };

	assert_int_equal(aws_parse_xml_error(S(errors_shape), &e, &err), 0);
	assert_string_equal(e.type, "Sender");
	assert_string_equal(e.code, "Throttling");
	assert_string_equal(e.message, "Rate exceeded");
	assert_string_equal(e.request_id, "rid-1");
	aws_error_release(&e);

	assert_int_equal(aws_parse_xml_error(S(ec2_shape), &e, &err), 0);
	assert_null(e.type);
	assert_string_equal(e.code, "AuthFailure");
	assert_string_equal(e.message,
			    "AWS was not able to validate the provided access credentials");
	assert_string_equal(e.request_id, "ea966190-f9aa-478e-9ede-example");
	aws_error_release(&e);

	assert_int_equal(aws_parse_xml_error(S(entities), &e, &err), 0);
	assert_string_equal(e.message, "1 validation error: 'a&b' <> \"x\" '\xc3\xa9\xe2\x98\xba");
	aws_error_release(&e);

	assert_int_equal(aws_parse_xml_error(S(no_code), &e, &err), -1);
	assert_err(&err, "AWS error response has no Code");
	assert_null(e.code);
	assert_null(e.message);

	assert_int_equal(aws_parse_xml_error(S("<ListUsersResponse/>"), &e, &err), -1);
	assert_err(&err, "not an AWS error response (root element is 'ListUsersResponse')");

	/* an HTML error page from a proxy */
	assert_int_equal(aws_parse_xml_error(S("<html><body>Bad Gateway</body></html>"), &e, &err),
			 -1);
	assert_err(&err, "not an AWS error response");
	assert_int_equal(aws_parse_xml_error(S("Bad Gateway"), &e, &err), -1);
	assert_err(&err, "malformed XML at line 1: ");
	strbuf_release(&err);
}

static void test_list_users_paging(void **state)
{
	static const char xml[] =
		"<ListUsersResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n"
		" <ListUsersResult>\n"
		"  <IsTruncated> true </IsTruncated>\n"
		"  <Users>\n"
		"   <member>\n"
		"    <UserName>R&amp;D bot</UserName>\n"
		"    <Path>/</Path>\n"
		"    <UserId>AIDAEXAMPLE1</UserId>\n"
		"    <Arn>arn:aws:iam::123456789012:user/R&amp;D bot</Arn>\n"
		"    <CreateDate>2020-01-01T00:00:00Z</CreateDate>\n"
		"   </member>\n"
		"   <member><UserName> spaced </UserName><UserId>AIDAEXAMPLE2</UserId>"
		"<Arn>arn:aws:iam::123456789012:user/ spaced </Arn><Path>/</Path>"
		"<CreateDate>2020-01-02T00:00:00Z</CreateDate>"
		"<Tags><member><Key>team</Key><Value>a&lt;b</Value></member></Tags></member>\n"
		"  </Users>\n"
		"  <Marker>\n    AAFnZXQ+dXNlcnM=\n  </Marker>\n"
		" </ListUsersResult>\n"
		" <ResponseMetadata><RequestId>rid-2</RequestId></ResponseMetadata>\n"
		"</ListUsersResponse>\n";
	struct strbuf err = STRBUF_INIT;
	struct iam_user_page p;

	assert_int_equal(iam_parse_list_users(S(xml), &p, &err), 0);
	assert_int_equal(p.is_truncated, 1);
	assert_string_equal(p.marker, "AAFnZXQ+dXNlcnM=");
	assert_string_equal(p.request_id, "rid-2");
	assert_int_equal(p.nusers, 2);
	assert_string_equal(p.users[0].user_name, "R&D bot");
	assert_string_equal(p.users[0].arn, "arn:aws:iam::123456789012:user/R&D bot");
	assert_null(p.users[0].password_last_used);
	/* names are not trimmed */
	assert_string_equal(p.users[1].user_name, " spaced ");
	assert_int_equal(p.users[1].ntags, 1);
	assert_tag(p.users[1].tags[0], "team", "a<b");
	iam_user_page_release(&p);
	strbuf_release(&err);
}

static void test_paging_errors(void **state)
{
	struct strbuf err = STRBUF_INIT;
	struct iam_user_page p;

	/* truncated without a Marker would make the caller start over forever */
	assert_int_equal(iam_parse_list_users(S("<ListUsersResponse><ListUsersResult><Users/>"
						"<IsTruncated>true</IsTruncated>"
						"</ListUsersResult></ListUsersResponse>"),
					      &p, &err),
			 -1);
	assert_err(&err, "ListUsers response is truncated but has no Marker");
	assert_null(p.users);
	assert_int_equal(iam_parse_list_users(S("<ListUsersResponse><ListUsersResult><Users/>"
						"<IsTruncated>yes</IsTruncated>"
						"</ListUsersResult></ListUsersResponse>"),
					      &p, &err),
			 -1);
	assert_err(&err, "ListUsers response has an invalid IsTruncated value");
	/* not truncated: a stray Marker is ignored; no Users element: no users */
	assert_int_equal(iam_parse_list_users(S("<ListUsersResponse><ListUsersResult>"
						"<IsTruncated>false</IsTruncated><Marker>m</Marker>"
						"</ListUsersResult></ListUsersResponse>"),
					      &p, &err),
			 0);
	assert_int_equal(p.nusers, 0);
	assert_null(p.marker);
	assert_null(p.request_id);
	iam_user_page_release(&p);
	assert_int_equal(iam_parse_list_users(S("<ListUsersResponse><ListUsersResult><Users>"
						"<member><UserId>AIDA</UserId></member>"
						"</Users></ListUsersResult></ListUsersResponse>"),
					      &p, &err),
			 -1);
	assert_err(&err, "ListUsers response has a user without UserName");
	assert_int_equal(p.nusers, 0);
	strbuf_release(&err);
}

static void test_get_user_tags(void **state)
{
	static const char xml[] =
		"<GetUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n"
		"  <GetUserResult>\n"
		"    <User>\n"
		"      <Path>/</Path>\n"
		"      <UserName>alice</UserName>\n"
		"      <UserId>AIDAALICE</UserId>\n"
		"      <Arn>arn:aws:iam::123456789012:user/alice</Arn>\n"
		"      <CreateDate>2021-02-03T04:05:06Z</CreateDate>\n"
		"      <PermissionsBoundary>\n"
		"        <PermissionsBoundaryType>Policy</PermissionsBoundaryType>\n"
		"        <PermissionsBoundaryArn>arn:aws:iam::aws:policy/X</PermissionsBoundaryArn>\n"
		"      </PermissionsBoundary>\n"
		"      <Tags>\n"
		"        <member><Key>iamkeys:rotate</Key><Value>90d</Value></member>\n"
		"        <member><Key>owner</Key><Value><![CDATA[a <b> & c]]></Value></member>\n"
		"        <member><Key>empty</Key><Value/></member>\n"
		"      </Tags>\n"
		"    </User>\n"
		"  </GetUserResult>\n"
		"</GetUserResponse>\n";
	struct strbuf err = STRBUF_INIT;
	struct iam_user u;

	assert_int_equal(iam_parse_get_user(S(xml), &u, &err), 0);
	assert_string_equal(u.user_name, "alice");
	assert_int_equal(u.ntags, 3);
	assert_tag(u.tags[0], "iamkeys:rotate", "90d");
	assert_tag(u.tags[1], "owner", "a <b> & c");
	assert_tag(u.tags[2], "empty", "");
	iam_user_release(&u);

	assert_int_equal(
		iam_parse_get_user(S("<GetUserResponse><GetUserResult/></GetUserResponse>"), &u,
				   &err),
		-1);
	assert_err(&err, "GetUser response has no User");
	strbuf_release(&err);
}

static void test_list_user_tags(void **state)
{
	static const char xml[] =
		"<ListUserTagsResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n"
		"  <ListUserTagsResult>\n"
		"    <Tags>\n"
		"      <member><Key>Dept</Key><Value>Accounting</Value></member>\n"
		"      <member><Key>CostCenter</Key><Value>12345</Value></member>\n"
		"    </Tags>\n"
		"    <IsTruncated>false</IsTruncated>\n"
		"  </ListUserTagsResult>\n"
		"  <ResponseMetadata><RequestId>EXAMPLE8-90ab-cdef</RequestId></ResponseMetadata>\n"
		"</ListUserTagsResponse>\n";
	struct strbuf err = STRBUF_INIT;
	struct iam_tag_page p;

	assert_int_equal(iam_parse_list_user_tags(S(xml), &p, &err), 0);
	assert_int_equal(p.ntags, 2);
	assert_tag(p.tags[0], "Dept", "Accounting");
	assert_tag(p.tags[1], "CostCenter", "12345");
	assert_int_equal(p.is_truncated, 0);
	assert_null(p.marker);
	iam_tag_page_release(&p);

	assert_int_equal(iam_parse_list_user_tags(S("<ListUserTagsResponse><ListUserTagsResult>"
						    "<Tags><member><Value>v</Value></member></Tags>"
						    "</ListUserTagsResult></ListUserTagsResponse>"),
						  &p, &err),
			 -1);
	assert_err(&err, "ListUserTags response has a tag without Key");
	assert_null(p.tags);
	strbuf_release(&err);
}

static void test_list_groups_for_user(void **state)
{
	static const char xml[] =
		"<ListGroupsForUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n"
		"  <ListGroupsForUserResult>\n"
		"    <Groups>\n"
		"      <member>\n"
		"        <Path>/</Path>\n"
		"        <GroupName>Admins</GroupName>\n"
		"        <GroupId>AGPACKCEVSQ6C2EXAMPLE</GroupId>\n"
		"        <Arn>arn:aws:iam::123456789012:group/Admins</Arn>\n"
		"        <CreateDate>2016-11-30T14:10:01Z</CreateDate>\n"
		"      </member>\n"
		"      <member>\n"
		"        <Path>/ops/</Path>\n"
		"        <GroupName>On-Call</GroupName>\n"
		"        <GroupId>AGPIODR4TAW7CSEXAMPLE</GroupId>\n"
		"        <Arn>arn:aws:iam::123456789012:group/ops/On-Call</Arn>\n"
		"        <CreateDate>2016-06-12T20:14:52Z</CreateDate>\n"
		"      </member>\n"
		"    </Groups>\n"
		"    <IsTruncated>true</IsTruncated>\n"
		"    <Marker>next-page</Marker>\n"
		"  </ListGroupsForUserResult>\n"
		"  <ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>"
		"</ResponseMetadata>\n"
		"</ListGroupsForUserResponse>\n";
	struct strbuf err = STRBUF_INIT;
	struct iam_group_page p;

	assert_int_equal(iam_parse_list_groups_for_user(S(xml), &p, &err), 0);
	assert_int_equal(p.ngroups, 2);
	assert_string_equal(p.group_names[0], "Admins");
	assert_string_equal(p.group_names[1], "On-Call");
	assert_int_equal(p.is_truncated, 1);
	assert_string_equal(p.marker, "next-page");
	iam_group_page_release(&p);
	assert_null(p.group_names);
	strbuf_release(&err);
}

static void test_list_user_policies(void **state)
{
	static const char xml[] =
		"<ListUserPoliciesResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n"
		"  <ListUserPoliciesResult>\n"
		"    <PolicyNames>\n"
		"      <member>AllAccessPolicy</member>\n"
		"      <member>iamkeys-revoke-20261203T070500Z</member>\n"
		"    </PolicyNames>\n"
		"    <IsTruncated>false</IsTruncated>\n"
		"  </ListUserPoliciesResult>\n"
		"  <ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata>\n"
		"</ListUserPoliciesResponse>\n";
	static const char empty_name[] =
		"<ListUserPoliciesResponse><ListUserPoliciesResult><PolicyNames><member></member>"
		"</PolicyNames><IsTruncated>false</IsTruncated></ListUserPoliciesResult>"
		"</ListUserPoliciesResponse>";
	static const char no_marker[] =
		"<ListUserPoliciesResponse><ListUserPoliciesResult><PolicyNames/>"
		"<IsTruncated>true</IsTruncated></ListUserPoliciesResult></ListUserPoliciesResponse>";
	struct strbuf err = STRBUF_INIT;
	struct iam_name_page p;

	(void)state;
	assert_int_equal(iam_parse_list_user_policies(S(xml), &p, &err), 0);
	assert_int_equal(p.nnames, 2);
	assert_string_equal(p.names[0], "AllAccessPolicy");
	assert_string_equal(p.names[1], "iamkeys-revoke-20261203T070500Z");
	assert_int_equal(p.is_truncated, 0);
	assert_null(p.marker);
	iam_name_page_release(&p);
	assert_null(p.names);
	assert_int_equal(iam_parse_list_user_policies(S(empty_name), &p, &err), -1);
	assert_string_equal(err.buf, "ListUserPolicies response has an empty policy name");
	assert_null(p.names);
	assert_int_equal(iam_parse_list_user_policies(S(no_marker), &p, &err), -1);
	assert_null(p.names);
	strbuf_release(&err);
}

static void test_list_attached_user_policies(void **state)
{
	static const char xml[] =
		"<ListAttachedUserPoliciesResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
		"<ListAttachedUserPoliciesResult><AttachedPolicies>"
		"<member><PolicyName>AWSCompromisedKeyQuarantineV2</PolicyName>"
		"<PolicyArn>arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2</PolicyArn></member>"
		"<member><PolicyArn>arn:aws:iam::123456789012:policy/team/Mine</PolicyArn></member>"
		"</AttachedPolicies><IsTruncated>true</IsTruncated><Marker>m2</Marker>"
		"</ListAttachedUserPoliciesResult></ListAttachedUserPoliciesResponse>";
	static const char no_arn[] =
		"<ListAttachedUserPoliciesResponse><ListAttachedUserPoliciesResult><AttachedPolicies>"
		"<member><PolicyName>X</PolicyName></member></AttachedPolicies>"
		"<IsTruncated>false</IsTruncated></ListAttachedUserPoliciesResult>"
		"</ListAttachedUserPoliciesResponse>";
	struct strbuf err = STRBUF_INIT;
	struct iam_name_page p;

	(void)state;
	assert_int_equal(iam_parse_list_attached_user_policies(S(xml), &p, &err), 0);
	assert_int_equal(p.nnames, 2);
	assert_string_equal(p.names[0], "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2");
	assert_string_equal(p.names[1], "arn:aws:iam::123456789012:policy/team/Mine");
	assert_int_equal(p.is_truncated, 1);
	assert_string_equal(p.marker, "m2");
	iam_name_page_release(&p);
	assert_int_equal(iam_parse_list_attached_user_policies(S(no_arn), &p, &err), -1);
	assert_string_equal(err.buf,
			    "ListAttachedUserPolicies response has a policy without PolicyArn");
	strbuf_release(&err);
}

static const char gaad_xml[] =
	"<GetAccountAuthorizationDetailsResponse "
	"xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n"
	"  <GetAccountAuthorizationDetailsResult>\n"
	"    <IsTruncated>true</IsTruncated>\n"
	"    <UserDetailList>\n"
	"      <member>\n"
	"        <GroupList><member>Admins</member><member>On-Call</member></GroupList>\n"
	"        <AttachedManagedPolicies><member><PolicyName>ReadOnly</PolicyName>"
	"<PolicyArn>arn:aws:iam::aws:policy/ReadOnlyAccess</PolicyArn></member>"
	"</AttachedManagedPolicies>\n"
	"        <UserPolicyList><member><PolicyName>inline</PolicyName><PolicyDocument>"
	"%7B%22Version%22%3A%222012-10-17%22%7D</PolicyDocument></member></UserPolicyList>\n"
	"        <UserId>AIDA1</UserId>\n"
	"        <Path>/eng/</Path>\n"
	"        <UserName>alice</UserName>\n"
	"        <Arn>arn:aws:iam::123456789012:user/eng/alice</Arn>\n"
	"        <CreateDate>2013-10-14T18:32:24Z</CreateDate>\n"
	"        <Tags><member><Key>iamkeys:exempt</Key><Value>true</Value></member>"
	"<member><Key>team</Key><Value></Value></member></Tags>\n"
	"      </member>\n"
	"      <member><UserName>bob</UserName><Path>/</Path><GroupList/></member>\n"
	"      <member><UserName>carol</UserName><Path>/</Path></member>\n"
	"    </UserDetailList>\n"
	"    <GroupDetailList><member><GroupName>Admins</GroupName></member></GroupDetailList>\n"
	"    <RoleDetailList><member><RoleName>r</RoleName><UserName>not-a-user</UserName>"
	"</member></RoleDetailList>\n"
	"    <Policies/>\n"
	"    <Marker>page-2</Marker>\n"
	"  </GetAccountAuthorizationDetailsResult>\n"
	"  <ResponseMetadata><RequestId>92e79ae7-7399-11e4-8c85-4b53eEXAMPLE</RequestId>"
	"</ResponseMetadata>\n"
	"</GetAccountAuthorizationDetailsResponse>\n";

static int want_not_bob(const char *name, void *ctx)
{
	(*(int *)ctx)++;
	return strcmp(name, "bob") != 0;
}

static void test_account_authorization_details(void **state)
{
	struct strbuf err = STRBUF_INIT;
	struct iam_user_detail_page p;
	int asked = 0;

	assert_int_equal(iam_parse_get_account_authorization_details(S(gaad_xml), NULL, NULL, &p,
								     &err),
			 0);
	assert_int_equal(p.nusers, 3);
	assert_string_equal(p.users[0].user.user_name, "alice");
	assert_string_equal(p.users[0].user.path, "/eng/");
	assert_string_equal(p.users[0].user.arn, "arn:aws:iam::123456789012:user/eng/alice");
	assert_int_equal(p.users[0].user.ntags, 2);
	assert_tag(p.users[0].user.tags[0], "iamkeys:exempt", "true");
	assert_string_equal(p.users[0].user.tags[1].value, "");
	assert_int_equal(p.users[0].ngroups, 2);
	assert_string_equal(p.users[0].groups[0], "Admins");
	assert_string_equal(p.users[0].groups[1], "On-Call");
	assert_int_equal(p.users[0].nattached, 1);
	assert_string_equal(p.users[0].attached[0], "arn:aws:iam::aws:policy/ReadOnlyAccess");
	assert_int_equal(p.users[1].nattached, 0);
	assert_int_equal(p.users[1].ngroups, 0);
	assert_int_equal(p.users[1].user.ntags, 0);
	assert_string_equal(p.users[2].user.user_name, "carol");
	assert_int_equal(p.is_truncated, 1);
	assert_string_equal(p.marker, "page-2");
	iam_user_detail_page_release(&p);
	assert_null(p.users);

	/* the filter is asked once per user; the role's UserName is not a user */
	assert_int_equal(iam_parse_get_account_authorization_details(S(gaad_xml), want_not_bob,
								     &asked, &p, &err),
			 0);
	assert_int_equal(asked, 3);
	assert_int_equal(p.nusers, 2);
	assert_string_equal(p.users[0].user.user_name, "alice");
	assert_string_equal(p.users[1].user.user_name, "carol");
	iam_user_detail_page_release(&p);
	strbuf_release(&err);
}

static void test_account_authorization_details_errors(void **state)
{
#define GAAD_OPEN "<GetAccountAuthorizationDetailsResponse><GetAccountAuthorizationDetailsResult>"
#define GAAD_CLOSE                                                                                 \
	"</GetAccountAuthorizationDetailsResult></GetAccountAuthorizationDetailsResponse>"
	static const struct text_case cases[] = {
		{ GAAD_OPEN "<IsTruncated>true</IsTruncated>" GAAD_CLOSE,
		  "GetAccountAuthorizationDetails response is truncated but has no Marker" },
		{ GAAD_OPEN "<IsTruncated>yes</IsTruncated>" GAAD_CLOSE,
		  "GetAccountAuthorizationDetails response has an invalid IsTruncated value" },
		{ GAAD_OPEN
		  "<UserDetailList><member><Path>/</Path></member></UserDetailList>" GAAD_CLOSE,
		  "GetAccountAuthorizationDetails response has a user without UserName" },
		{ GAAD_OPEN "<UserDetailList><member><UserName>a</UserName><GroupList><member/>"
			    "</GroupList></member></UserDetailList>" GAAD_CLOSE,
		  "GetAccountAuthorizationDetails response has an empty GroupList member" },
		{ GAAD_OPEN "<UserDetailList><member><UserName>a</UserName><Tags><member><Value>v"
			    "</Value></member></Tags></member></UserDetailList>" GAAD_CLOSE,
		  "GetAccountAuthorizationDetails response has a tag without Key" },
		{ GAAD_OPEN
		  "<UserDetailList><member><UserName>a</UserName><AttachedManagedPolicies>"
		  "<member><PolicyName>p</PolicyName></member></AttachedManagedPolicies>"
		  "</member></UserDetailList>" GAAD_CLOSE,
		  "GetAccountAuthorizationDetails response has an attached policy without PolicyArn" },
		{ "<ListUsersResponse><ListUsersResult/></ListUsersResponse>",
		  "GetAccountAuthorizationDetails response has no GetAccountAuthorizationDetailsResult "
		  "(root element is 'ListUsersResponse')" },
		{ "<GetAccountAuthorizationDetailsResponse/>",
		  "GetAccountAuthorizationDetails response has no GetAccountAuthorizationDetailsResult" },
		{ "<!DOCTYPE x [<!ENTITY a \"b\">]>" GAAD_OPEN GAAD_CLOSE,
		  "refusing XML with a DOCTYPE declaration" },
		{ "<?xml version=\"1.0\"?>\n<!DOCTYPE GetAccountAuthorizationDetailsResponse SYSTEM "
		  "\"http://127.0.0.1:1/x.dtd\">" GAAD_OPEN GAAD_CLOSE,
		  "refusing XML with a DOCTYPE declaration" },
		{ "   ", "XML response has no root element" },
	};
	struct strbuf err = STRBUF_INIT;
	struct iam_user_detail_page p;
	size_t i, cut;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(iam_parse_get_account_authorization_details(cases[i].in,
									     strlen(cases[i].in),
									     NULL, NULL, &p, &err),
				 -1);
		if (i == ARRAY_SIZE(cases) - 1)
			assert_err(&err, "malformed XML");
		else
			assert_string_equal(err.buf, cases[i].want);
		assert_null(p.users);
		assert_null(p.marker);
	}
	/* a body cut anywhere fails, with one line and nothing kept */
	for (cut = 1; cut < sizeof(gaad_xml) - 30; cut += 7) {
		assert_int_equal(iam_parse_get_account_authorization_details(gaad_xml, cut, NULL,
									     NULL, &p, &err),
				 -1);
		assert_non_null(err.buf);
		assert_null(strchr(err.buf, '\n'));
		assert_null(p.users);
	}
	assert_int_equal(iam_parse_get_account_authorization_details(NULL, 0, NULL, NULL, &p, &err),
			 -1);
	assert_string_equal(err.buf, "empty XML response");
	strbuf_release(&err);
#undef GAAD_OPEN
#undef GAAD_CLOSE
}

static void test_account_summary(void **state)
{
	static const char xml[] =
		"<GetAccountSummaryResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n"
		"  <GetAccountSummaryResult>\n"
		"    <SummaryMap>\n"
		"      <entry><key>Groups</key><value>31</value></entry>\n"
		"      <entry><key>Users</key><value> 27 </value></entry>\n"
		"      <entry><key>AccessKeysPerUserQuota</key><value>2</value></entry>\n"
		"      <entry><key>UsersQuota</key><value>5000</value></entry>\n"
		"      <entry><key>AccountMFAEnabled</key><value>0</value></entry>\n"
		"    </SummaryMap>\n"
		"  </GetAccountSummaryResult>\n"
		"  <ResponseMetadata><RequestId>f1e38443-f1ad-11df-b1ef-a9265EXAMPLE</RequestId>"
		"</ResponseMetadata>\n"
		"</GetAccountSummaryResponse>\n";
	struct strbuf err = STRBUF_INIT;
	struct iam_summary_entry *e;
	size_t n;

	assert_int_equal(iam_parse_get_account_summary(S(xml), &e, &n, &err), 0);
	assert_int_equal(n, 5);
	assert_string_equal(e[0].key, "Groups");
	assert_int_equal(e[0].value, 31);
	assert_string_equal(e[1].key, "Users");
	assert_int_equal(e[1].value, 27);
	assert_string_equal(e[3].key, "UsersQuota");
	assert_int_equal(e[3].value, 5000);
	assert_string_equal(e[4].key, "AccountMFAEnabled");
	assert_int_equal(e[4].value, 0);
	iam_summary_entries_free(e, n);

	assert_int_equal(
		iam_parse_get_account_summary(
			S("<GetAccountSummaryResponse><GetAccountSummaryResult><SummaryMap>"
			  "<entry><key>Users</key><value>12x</value></entry>"
			  "</SummaryMap></GetAccountSummaryResult></GetAccountSummaryResponse>"),
			&e, &n, &err),
		-1);
	assert_err(&err, "GetAccountSummary response has no integer value for 'Users'");
	assert_null(e);
	assert_int_equal(n, 0);
	assert_int_equal(
		iam_parse_get_account_summary(
			S("<GetAccountSummaryResponse><GetAccountSummaryResult><SummaryMap>"
			  "<entry><key>Users</key><value>99999999999999999999</value></entry>"
			  "</SummaryMap></GetAccountSummaryResult></GetAccountSummaryResponse>"),
			&e, &n, &err),
		-1);
	assert_int_equal(
		iam_parse_get_account_summary(
			S("<GetAccountSummaryResponse><GetAccountSummaryResult><SummaryMap>"
			  "<entry><value>1</value></entry>"
			  "</SummaryMap></GetAccountSummaryResult></GetAccountSummaryResponse>"),
			&e, &n, &err),
		-1);
	assert_err(&err, "GetAccountSummary response has an entry without key");
	strbuf_release(&err);
}

static void test_sts_get_caller_identity(void **state)
{
	static const char xml[] =
		"<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
		"  <GetCallerIdentityResult>\n"
		"    <Arn>arn:aws:iam::123456789012:user/Alice</Arn>\n"
		"    <UserId>AIDACKCEVSQ6C2EXAMPLE</UserId>\n"
		"    <Account>123456789012</Account>\n"
		"  </GetCallerIdentityResult>\n"
		"  <ResponseMetadata>\n"
		"    <RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>\n"
		"  </ResponseMetadata>\n"
		"</GetCallerIdentityResponse>\n";
	struct strbuf err = STRBUF_INIT;
	struct sts_caller_identity c;

	assert_int_equal(sts_parse_get_caller_identity(S(xml), &c, &err), 0);
	assert_string_equal(c.arn, "arn:aws:iam::123456789012:user/Alice");
	assert_string_equal(c.user_id, "AIDACKCEVSQ6C2EXAMPLE");
	assert_string_equal(c.account, "123456789012");
	sts_caller_identity_release(&c);
	check_only("GetCallerIdentity", S(xml), OK(P_CALLER_IDENTITY) | OK(P_REQUEST_ID));

	assert_int_equal(
		sts_parse_get_caller_identity(
			S("<GetCallerIdentityResponse><GetCallerIdentityResult>"
			  "<Arn>arn</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>"),
			&c, &err),
		-1);
	assert_err(&err, "GetCallerIdentity response has no Account");
	assert_null(c.arn);
	strbuf_release(&err);
}

static void test_sts_assume_role(void **state)
{
	static const char xml[] =
		"<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
		"<AssumeRoleResult>\n"
		"  <SourceIdentity>Alice</SourceIdentity>\n"
		"  <AssumedRoleUser>\n"
		"    <Arn>arn:aws:sts::123456789012:assumed-role/demo/TestAR</Arn>\n"
		"    <AssumedRoleId>ARO123EXAMPLE123:TestAR</AssumedRoleId>\n"
		"  </AssumedRoleUser>\n"
		"  <Credentials>\n"
		"    <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
		"    <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n"
		"    <SessionToken>\n"
		"      "
		"AQoDYXdzEPT//////////"
		"wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8"
		"YUuwthAx7mSEI/qkPpKPi/"
		"kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6f"
		"E8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+"
		"scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==\n"
		"    </SessionToken>\n"
		"    <Expiration>2019-11-09T13:34:41Z</Expiration>\n"
		"  </Credentials>\n"
		"  <PackedPolicySize>6</PackedPolicySize>\n"
		"</AssumeRoleResult>\n"
		"<ResponseMetadata>\n"
		"  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n"
		"</ResponseMetadata>\n"
		"</AssumeRoleResponse>\n";
	struct strbuf err = STRBUF_INIT;
	struct sts_assumed a;

	assert_int_equal(sts_parse_assume_role(S(xml), &a, &err), 0);
	assert_string_equal(a.access_key_id, "ASIAIOSFODNN7EXAMPLE");
	assert_string_equal(a.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
	assert_true(!strncmp(a.session_token, "AQoDYXdzEPT//////////wEXAMPLE", 29));
	assert_int_equal(a.session_token[strlen(a.session_token) - 1], '=');
	assert_string_equal(a.expiration, "2019-11-09T13:34:41Z");
	assert_string_equal(a.assumed_role_arn,
			    "arn:aws:sts::123456789012:assumed-role/demo/TestAR");
	sts_assumed_release(&a);
	assert_null(a.session_token);
	check_only("AssumeRole", S(xml), OK(P_ASSUME_ROLE) | OK(P_REQUEST_ID));
	strbuf_release(&err);
}

static void test_sts_validate_assumed(void **state)
{
	static const char good[] =
		"<AssumeRoleResponse><AssumeRoleResult><Credentials>"
		"<AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>"
		"<SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>"
		"<SessionToken>token</SessionToken>"
		"<Expiration>2019-11-09T13:34:41Z</Expiration>"
		"</Credentials></AssumeRoleResult></AssumeRoleResponse>";
	static const char bad_time[] =
		"<AssumeRoleResponse><AssumeRoleResult><Credentials>"
		"<AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>"
		"<SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>"
		"<SessionToken>token</SessionToken>"
		"<Expiration>tomorrow</Expiration>"
		"</Credentials></AssumeRoleResult></AssumeRoleResponse>";
	struct strbuf err = STRBUF_INIT;
	struct sts_assumed a = { 0 };

	(void)state;
	assert_int_equal(sts_validate_assumed(&a, S(good), &err), 0);
	assert_string_equal(a.access_key_id, "ASIAIOSFODNN7EXAMPLE");
	/* a retry replaces what an earlier reply left */
	assert_int_equal(sts_validate_assumed(&a, S(bad_time), &err), -1);
	assert_string_equal(err.buf, "Expiration is not an ISO 8601 time");
	assert_null(a.access_key_id);
	assert_null(a.secret_access_key);
	strbuf_release(&err);
}

static void test_sts_assume_role_with_web_identity(void **state)
{
	static const char xml[] =
		"<AssumeRoleWithWebIdentityResponse "
		"xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
		"  <AssumeRoleWithWebIdentityResult>\n"
		"    <SubjectFromWebIdentityToken>amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A"
		"</SubjectFromWebIdentityToken>\n"
		"    <Audience>client.5498841531868486423.1548@apps.example.com</Audience>\n"
		"    <AssumedRoleUser>\n"
		"      "
		"<Arn>arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1</Arn>\n"
		"      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:app1</AssumedRoleId>\n"
		"    </AssumedRoleUser>\n"
		"    <Credentials>\n"
		"      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>\n"
		"      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n"
		"      <Expiration>2014-10-24T23:00:23Z</Expiration>\n"
		"      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
		"    </Credentials>\n"
		"    <SourceIdentity>SourceIdentityValue</SourceIdentity>\n"
		"    <Provider>www.amazon.com</Provider>\n"
		"  </AssumeRoleWithWebIdentityResult>\n"
		"  <ResponseMetadata>\n"
		"    <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>\n"
		"  </ResponseMetadata>\n"
		"</AssumeRoleWithWebIdentityResponse>\n";
	static const char no_token[] =
		"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
		"<AccessKeyId>ASIA</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
		"<Expiration>2014-10-24T23:00:23Z</Expiration>"
		"</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
	struct strbuf err = STRBUF_INIT;
	struct sts_assumed a;

	assert_int_equal(sts_parse_assume_role(S(xml), &a, &err), 0);
	assert_string_equal(a.access_key_id, "ASgeIAIOSFODNN7EXAMPLE");
	assert_string_equal(a.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
	assert_string_equal(a.session_token, "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE");
	assert_string_equal(a.expiration, "2014-10-24T23:00:23Z");
	assert_string_equal(a.assumed_role_arn,
			    "arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1");
	sts_assumed_release(&a);

	assert_int_equal(sts_parse_assume_role(S(no_token), &a, &err), -1);
	assert_err(&err, "AssumeRoleWithWebIdentity response has no SessionToken");
	assert_null(a.access_key_id);
	assert_null(a.secret_access_key);
	assert_int_equal(sts_parse_assume_role(S("<GetSessionTokenResponse/>"), &a, &err), -1);
	assert_err(&err, "AssumeRole response has no AssumeRoleResult (root element is "
			 "'GetSessionTokenResponse')");
	strbuf_release(&err);
}

static void test_sts_assume_root(void **state)
{
	static const char xml[] =
		"<AssumeRootResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
		"  <AssumeRootResult>\n"
		"    <SourceIdentity>Alice</SourceIdentity>\n"
		"    <Credentials>\n"
		"      <AccessKeyId>ASIAJEXAMPLEXEG2JICEA</AccessKeyId>\n"
		"      <SecretAccessKey>9drTJvcXLB89EXAMPLELB8923FB892xMFI</SecretAccessKey>\n"
		"      <SessionToken>AQoXdzELDDY//////////wEaoAK1wvxJY12r2IrDFT2IvAzTCn3zHoZ7YNtp"
		"</SessionToken>\n"
		"      <Expiration>2024-11-15T00:05:07Z</Expiration>\n"
		"    </Credentials>\n"
		"  </AssumeRootResult>\n"
		"  <ResponseMetadata>\n"
		"    <RequestId>beb46b9c-e2a4-4aa8-9e07-EXAMPLE</RequestId>\n"
		"  </ResponseMetadata>\n"
		"</AssumeRootResponse>\n";
	static const char no_secret[] =
		"<AssumeRootResponse><AssumeRootResult><Credentials>"
		"<AccessKeyId>ASIA</AccessKeyId><SessionToken>t</SessionToken>"
		"<Expiration>2024-11-15T00:05:07Z</Expiration>"
		"</Credentials></AssumeRootResult></AssumeRootResponse>";
	struct strbuf err = STRBUF_INIT;
	struct sts_assumed a;

	assert_int_equal(sts_parse_assume_role(S(xml), &a, &err), 0);
	assert_string_equal(a.access_key_id, "ASIAJEXAMPLEXEG2JICEA");
	assert_string_equal(a.secret_access_key, "9drTJvcXLB89EXAMPLELB8923FB892xMFI");
	assert_string_equal(a.session_token,
			    "AQoXdzELDDY//////////wEaoAK1wvxJY12r2IrDFT2IvAzTCn3zHoZ7YNtp");
	assert_string_equal(a.expiration, "2024-11-15T00:05:07Z");
	assert_null(a.assumed_role_arn); /* a root session has no AssumedRoleUser */
	sts_assumed_release(&a);
	check_only("AssumeRoot", S(xml), OK(P_ASSUME_ROLE) | OK(P_REQUEST_ID));

	assert_int_equal(sts_parse_assume_role(S(no_secret), &a, &err), -1);
	assert_err(&err, "AssumeRoot response has no SecretAccessKey");
	assert_null(a.access_key_id);
	assert_int_equal(sts_parse_assume_role(S("<AssumeRootResponse/>"), &a, &err), -1);
	assert_err(&err, "AssumeRoot response has no AssumeRootResult");
	strbuf_release(&err);
}

static void test_list_organizations_features(void **state)
{
	static const char xml[] =
		"<ListOrganizationsFeaturesResponse "
		"xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n"
		"  <ListOrganizationsFeaturesResult>\n"
		"    <OrganizationId>o-aa111bb222</OrganizationId>\n"
		"    <EnabledFeatures>\n"
		"      <member>RootSessions</member>\n"
		"      <member>SomethingNew</member>\n"
		"      <member>RootCredentialsManagement</member>\n"
		"    </EnabledFeatures>\n"
		"  </ListOrganizationsFeaturesResult>\n"
		"  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>\n"
		"</ListOrganizationsFeaturesResponse>\n";
	static const char none[] =
		"<ListOrganizationsFeaturesResponse><ListOrganizationsFeaturesResult>"
		"<OrganizationId>o-aa111bb222</OrganizationId><EnabledFeatures/>"
		"</ListOrganizationsFeaturesResult></ListOrganizationsFeaturesResponse>";
	static const char one[] =
		"<ListOrganizationsFeaturesResponse><ListOrganizationsFeaturesResult>"
		"<OrganizationId>o-aa111bb222</OrganizationId><EnabledFeatures>"
		"<member> RootCredentialsManagement </member></EnabledFeatures>"
		"</ListOrganizationsFeaturesResult></ListOrganizationsFeaturesResponse>";
	static const char no_id[] =
		"<ListOrganizationsFeaturesResponse><ListOrganizationsFeaturesResult>"
		"<EnabledFeatures><member>RootSessions</member></EnabledFeatures>"
		"</ListOrganizationsFeaturesResult></ListOrganizationsFeaturesResponse>";
	struct strbuf err = STRBUF_INIT;
	struct iam_org_features f;

	assert_int_equal(iam_parse_list_organizations_features(S(xml), &f, &err), 0);
	assert_string_equal(f.organization_id, "o-aa111bb222");
	assert_int_equal(f.features, IAM_ORG_ROOT_CREDENTIALS_MANAGEMENT | IAM_ORG_ROOT_SESSIONS);
	iam_org_features_release(&f);
	assert_null(f.organization_id);
	check_only("ListOrganizationsFeatures", S(xml), OK(P_ORG_FEATURES) | OK(P_REQUEST_ID));

	assert_int_equal(iam_parse_list_organizations_features(S(none), &f, &err), 0);
	assert_int_equal(f.features, 0);
	iam_org_features_release(&f);
	assert_int_equal(iam_parse_list_organizations_features(S(one), &f, &err), 0);
	assert_int_equal(f.features, IAM_ORG_ROOT_CREDENTIALS_MANAGEMENT);
	iam_org_features_release(&f);

	assert_int_equal(iam_parse_list_organizations_features(S(no_id), &f, &err), -1);
	assert_err(&err, "ListOrganizationsFeatures response has no OrganizationId");
	assert_null(f.organization_id);
	assert_int_equal(iam_parse_list_organizations_features(S("<GetUserResponse/>"), &f, &err),
			 -1);
	assert_err(&err, "");
	strbuf_release(&err);
}

static void test_create_access_key_errors(void **state)
{
	struct strbuf err = STRBUF_INIT;
	struct iam_access_key k;

	assert_int_equal(
		iam_parse_create_access_key(
			S("<CreateAccessKeyResponse><CreateAccessKeyResult><AccessKey>"
			  "<UserName>Bob</UserName><AccessKeyId>AKIA</AccessKeyId>"
			  "<SecretAccessKey>   </SecretAccessKey>"
			  "</AccessKey></CreateAccessKeyResult></CreateAccessKeyResponse>"),
			&k, &err),
		-1);
	assert_err(&err, "CreateAccessKey response has no SecretAccessKey");
	assert_null(k.access_key_id);
	assert_int_equal(
		iam_parse_create_access_key(S("<CreateAccessKeyResponse><CreateAccessKeyResult>"
					      "</CreateAccessKeyResult></CreateAccessKeyResponse>"),
					    &k, &err),
		-1);
	assert_err(&err, "CreateAccessKey response has no AccessKey");
	/* the secret in a CDATA section, with a prefix on the elements */
	assert_int_equal(
		iam_parse_create_access_key(
			S("<i:CreateAccessKeyResponse xmlns:i=\"urn:x\"><i:CreateAccessKeyResult>"
			  "<i:AccessKey><i:AccessKeyId>AKIA</i:AccessKeyId>"
			  "<i:SecretAccessKey><![CDATA[ s/e+c ]]></i:SecretAccessKey>"
			  "<i:CreateDate>2024-01-01T00:00:00Z</i:CreateDate>"
			  "</i:AccessKey></i:CreateAccessKeyResult></i:CreateAccessKeyResponse>"),
			&k, &err),
		0);
	assert_string_equal(k.secret_access_key, "s/e+c");
	assert_string_equal(k.create_date, "2024-01-01T00:00:00Z");
	assert_null(k.user_name);
	iam_access_key_release(&k);
	strbuf_release(&err);
}

static void test_wrong_kind(void **state)
{
	struct strbuf err = STRBUF_INIT, xml = STRBUF_INIT;
	struct iam_user_page p;
	char *id;

	read_shared("botocore/response_parsing/xml/errors/iam-get-user.xml", &xml);
	assert_int_equal(iam_parse_list_users(xml.buf, xml.len, &p, &err), -1);
	assert_string_equal(
		err.buf,
		"ListUsers response has no ListUsersResult (root element is 'ErrorResponse')");
	assert_int_equal(aws_parse_request_id(xml.buf, xml.len, &id, &err), -1);
	assert_err(&err, "response is an AWS error");
	assert_null(id);

	assert_int_equal(iam_parse_list_users(S("<ListUsersResponse><ResponseMetadata/>"
						"</ListUsersResponse>"),
					      &p, &err),
			 -1);
	assert_string_equal(err.buf, "ListUsers response has no ListUsersResult");
	assert_int_equal(iam_parse_list_users(S("<ListAccessKeysResponse><ListAccessKeysResult/>"
						"</ListAccessKeysResponse>"),
					      &p, &err),
			 -1);
	assert_string_equal(err.buf, "ListUsers response has no ListUsersResult (root element is "
				     "'ListAccessKeysResponse')");
	/* a Result that is not a direct child of the root does not count */
	assert_int_equal(iam_parse_list_users(S("<ListUsersResponse><x><ListUsersResult/></x>"
						"</ListUsersResponse>"),
					      &p, &err),
			 -1);
	strbuf_release(&xml);
	strbuf_release(&err);
}

static void test_malformed(void **state)
{
	static const char truncated[] =
		"<ListUsersResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n"
		"  <ListUsersResult>\n"
		"    <Users>\n"
		"      <member><UserName>Bob</UserName>\n";
	static const char *const bad[] = {
		"<a><b></a>",	   "<a>&nbsp;</a>", /* undeclared entity */
		"<a>x</a><b/>",			    /* two roots */
		"<p:a/>",			    /* undeclared prefix */
		"<a>\xff\xfe</a>",		    /* not UTF-8 */
		"<a>&#0;</a>",	   "   ",
	};
	struct strbuf err = STRBUF_INIT;
	struct iam_user_page p;
	size_t i;

	assert_int_equal(iam_parse_list_users(S(truncated), &p, &err), -1);
	assert_err(&err, "malformed XML at line 5: ");
	assert_contains(err.buf, "member");
	assert_null(p.users);

	assert_int_equal(iam_parse_list_users("", 0, &p, &err), -1);
	assert_string_equal(err.buf, "empty XML response");
	assert_int_equal(iam_parse_list_users(NULL, 0, &p, &err), -1);
	assert_string_equal(err.buf, "empty XML response");

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(iam_parse_list_users(S(bad[i]), &p, &err), -1);
		assert_err(&err, "malformed XML at line 1: ");
		assert_true(err.len > strlen("malformed XML at line 1: "));
		if (getenv("TEST_IAMXML_VERBOSE"))
			fprintf(stderr, "%s\n", err.buf);
		if (i == 1)
			assert_contains(err.buf, "'nbsp'");
	}
	/* an embedded NUL */
	assert_int_equal(iam_parse_list_users("<a>x\0y</a>", 10, &p, &err), -1);
	assert_err(&err, "malformed XML at line 1: ");
	strbuf_release(&err);
}

static void test_doctype_refused(void **state)
{
	static const char laughs[] =
		"<?xml version=\"1.0\"?>\n"
		"<!DOCTYPE lolz [\n"
		" <!ENTITY lol \"lol\">\n"
		" <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
		" <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
		" <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
		" <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
		" <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
		" <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
		" <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
		" <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
		" <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
		"]>\n"
		"<ErrorResponse><Error><Code>&lol9;</Code></Error></ErrorResponse>\n";
	static const char xxe[] =
		"<?xml version=\"1.0\"?>\n"
		"<!DOCTYPE r [ <!ENTITY x SYSTEM \"file:///etc/passwd\"> ]>\n"
		"<GetUserResponse><GetUserResult><User><UserName>&x;</UserName></User>"
		"</GetUserResult></GetUserResponse>\n";
	static const char external[] =
		"<!DOCTYPE GetUserResponse SYSTEM \"http://127.0.0.1:1/evil.dtd\">\n"
		"<GetUserResponse><GetUserResult><User><UserName>u</UserName></User>"
		"</GetUserResult></GetUserResponse>\n";
	static const char plain[] =
		"<!DOCTYPE GetUserResponse>\n"
		"<GetUserResponse><GetUserResult><User><UserName>u</UserName></User>"
		"</GetUserResult></GetUserResponse>\n";
	struct strbuf err = STRBUF_INIT;
	struct aws_error e = { 0 };
	struct iam_user u;

	assert_int_equal(aws_parse_xml_error(S(laughs), &e, &err), -1);
	assert_string_equal(err.buf, "refusing XML with a DOCTYPE declaration");
	assert_null(e.code);
	assert_int_equal(iam_parse_get_user(S(xxe), &u, &err), -1);
	assert_string_equal(err.buf, "refusing XML with a DOCTYPE declaration");
	assert_null(u.user_name);
	assert_int_equal(iam_parse_get_user(S(external), &u, &err), -1);
	assert_string_equal(err.buf, "refusing XML with a DOCTYPE declaration");
	assert_int_equal(iam_parse_get_user(S(plain), &u, &err), -1);
	assert_string_equal(err.buf, "refusing XML with a DOCTYPE declaration");
	check_only("billion laughs", S(laughs), 0);
	strbuf_release(&err);
}

/* Other harmless XML: declaration, comments, processing instructions, CRLF, attributes. */
static void test_xml_variants(void **state)
{
	static const char xml[] =
		"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n"
		"<!-- a comment -->\r\n"
		"<ListAccessKeysResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\" "
		"a=\"b\">\r\n"
		"<?pi data?>\r\n"
		"<ListAccessKeysResult><AccessKeyMetadata>\r\n"
		"<member><UserName>Bo<!-- c -->b</UserName><AccessKeyId>\r\nAKIA1\r\n</AccessKeyId>"
		"<Status>Active</Status></member>\r\n"
		"<other><x/></other>\r\n"
		"<member><UserName>Bob</UserName><AccessKeyId>AKIA2</AccessKeyId></member>\r\n"
		"</AccessKeyMetadata></ListAccessKeysResult>\r\n"
		"</ListAccessKeysResponse>\r\n";
	static const char latin1[] =
		"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
		"<GetUserResponse><GetUserResult><User><UserName>Jos\xe9</UserName></User>"
		"</GetUserResult></GetUserResponse>";
	struct strbuf err = STRBUF_INIT;
	struct iam_access_key_page p;
	struct iam_user u;

	assert_int_equal(iam_parse_list_access_keys(S(xml), &p, &err), 0);
	assert_int_equal(p.nkeys, 2);
	assert_string_equal(p.keys[0].user_name, "Bob");
	assert_string_equal(p.keys[0].access_key_id, "AKIA1");
	assert_string_equal(p.keys[1].access_key_id, "AKIA2");
	assert_null(p.keys[1].status);
	assert_null(p.request_id);
	iam_access_key_page_release(&p);

	/* whatever the declared encoding, the output is UTF-8 */
	assert_int_equal(iam_parse_get_user(S(latin1), &u, &err), 0);
	assert_string_equal(u.user_name, "Jos\xc3\xa9");
	iam_user_release(&u);
	strbuf_release(&err);
}

/* libxml2 must not print anything itself: errors only come back in err. */
static void test_nothing_on_stderr(void **state)
{
	static const char *const docs[] = {
		"<a><b></a>",
		"<p:a/>",
		"<a xmlns=\"not a uri\"/>",
		"<a>\xff</a>",
		"<!DOCTYPE a [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><a>&e;</a>",
		"<?xml version=\"1.0\" encoding=\"nonsense\"?><a/>",
		/* conversion errors are raised outside the parser context */
		"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><a>\x81\xff\x81\xff</a>",
		"<?xml version=\"1.0\" encoding=\"EUC-JP\"?><a>\xff\xff\xff</a>",
	};
	struct strbuf err = STRBUF_INIT;
	char *id;
	FILE *tmp = tmpfile();
	int saved;
	size_t i;
	long size;

	assert_non_null(tmp);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), 2) >= 0);
	for (i = 0; i < ARRAY_SIZE(docs); i++) {
		int p;

		for (p = 0; p < P__COUNT; p++)
			run_parser((enum parser)p, S(docs[i]), &err);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fseek(tmp, 0, SEEK_END);
	size = ftell(tmp);
	fclose(tmp);
	assert_int_equal(size, 0);

	assert_int_equal(aws_parse_request_id(S(docs[6]), &id, &err), -1);
	assert_err(&err, "malformed XML at line 1: input conversion failed");
	strbuf_release(&err);
}

static int restored_marker;
static void my_generic_error(void *ctx, const char *fmt, ...)
{
}

/* The per-thread libxml2 error channels are put back after each parse. */
static void test_error_channels_restored(void **state)
{
	struct strbuf err = STRBUF_INIT;
	char *id;

	xmlSetGenericErrorFunc(&restored_marker, my_generic_error);
	xmlSetStructuredErrorFunc(NULL, NULL);
	assert_int_equal(aws_parse_request_id(S("<a><b></a>"), &id, &err), -1);
	assert_true(xmlGenericError == my_generic_error);
	assert_ptr_equal(xmlGenericErrorContext, &restored_marker);
	assert_null(xmlStructuredError);
	xmlSetGenericErrorFunc(NULL, NULL);
	strbuf_release(&err);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_api_create_access_key),
	cmocka_unit_test(test_api_list_access_keys),
	cmocka_unit_test(test_api_list_users),
	cmocka_unit_test(test_api_get_user),
	cmocka_unit_test(test_api_get_access_key_last_used),
	cmocka_unit_test(test_last_used_never),
	cmocka_unit_test(test_api_request_id_only),
	cmocka_unit_test(test_api_generate_credential_report),
	cmocka_unit_test(test_api_get_credential_report_placeholder),
	cmocka_unit_test(test_get_credential_report_decodes),
	cmocka_unit_test(test_get_credential_report_large),
	cmocka_unit_test(test_get_credential_report_errors),
	cmocka_unit_test(test_get_credential_report_content_pieces),
	cmocka_unit_test(test_api_samples_cross_check),
	cmocka_unit_test(test_botocore_list_users),
	cmocka_unit_test(test_botocore_get_user),
	cmocka_unit_test(test_botocore_list_access_keys),
	cmocka_unit_test(test_botocore_list_mfa_devices),
	cmocka_unit_test(test_botocore_error),
	cmocka_unit_test(test_error_shapes),
	cmocka_unit_test(test_list_users_paging),
	cmocka_unit_test(test_paging_errors),
	cmocka_unit_test(test_get_user_tags),
	cmocka_unit_test(test_list_user_tags),
	cmocka_unit_test(test_list_groups_for_user),
	cmocka_unit_test(test_list_user_policies),
	cmocka_unit_test(test_list_attached_user_policies),
	cmocka_unit_test(test_account_authorization_details),
	cmocka_unit_test(test_account_authorization_details_errors),
	cmocka_unit_test(test_account_summary),
	cmocka_unit_test(test_sts_get_caller_identity),
	cmocka_unit_test(test_sts_assume_role),
	cmocka_unit_test(test_sts_validate_assumed),
	cmocka_unit_test(test_sts_assume_role_with_web_identity),
	cmocka_unit_test(test_create_access_key_errors),
	cmocka_unit_test(test_wrong_kind),
	cmocka_unit_test(test_sts_assume_root),
	cmocka_unit_test(test_list_organizations_features),
	cmocka_unit_test(test_malformed),
	cmocka_unit_test(test_doctype_refused),
	cmocka_unit_test(test_xml_variants),
	cmocka_unit_test(test_nothing_on_stderr),
	cmocka_unit_test(test_error_channels_restored),
};

UNIT_TEST_MAIN(tests)
