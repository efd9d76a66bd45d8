#include "core/compat.h"
#include "core/awsconfig.h"
#include "core/profile_edit.h"
#include "core/strbuf.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"

/*
 * profile_edit_set_keys: the whole expected text of each edit, byte for
 * byte, and every result parsed again to check the profile's keys.
 */

#define ID "AKIANEWKEY0000000001"
#define SECRET "newSecret/abc+DEF0123456789xyzXYZ01234567"
#define KEYS "aws_access_key_id = " ID "\naws_secret_access_key = " SECRET "\n"

/* Parses text and checks profile holds the new keys and no session token. */
static void check_parsed(const char *text, size_t len, const char *profile)
{
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct strbuf err = STRBUF_INIT;
	const struct aws_profile *p;

	if (aws_profiles_parse(&set, AWS_FILE_CREDENTIALS, text, len, NULL, &err))
		fail_msg("result does not parse: %s", err.buf);
	p = aws_profile_find(&set, profile);
	assert_non_null(p);
	assert_string_equal(aws_profile_get(p, "aws_access_key_id"), ID);
	assert_string_equal(aws_profile_get(p, "aws_secret_access_key"), SECRET);
	assert_null(aws_profile_get(p, "aws_session_token"));
	assert_null(aws_profile_get(p, "aws_security_token"));
	aws_profile_set_release(&set);
	strbuf_release(&err);
}

static void edit_len(const char *in, size_t len, const char *profile, const char *want)
{
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;

	if (profile_edit_set_keys(in, len, profile, ID, SECRET, &out, &err))
		fail_msg("profile_edit_set_keys: %s", err.buf);
	assert_string_equal(out.buf, want);
	assert_int_equal(out.len, strlen(want));
	assert_int_equal(err.len, 0);
	check_parsed(out.buf, out.len, profile);
	strbuf_release_secret(&out);
	strbuf_release(&err);
}

static void edit(const char *in, const char *profile, const char *want)
{
	edit_len(in, strlen(in), profile, want);
}

/* An edit that fails: err is checked against want (substring) and must not hold the secret. */
static void edit_fails(const char *in, size_t len, const char *profile, const char *key_id,
		       const char *secret, const char *want)
{
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;

	assert_int_equal(profile_edit_set_keys(in, len, profile, key_id, secret, &out, &err), -1);
	if (!strstr(err.buf, want))
		fail_msg("error '%s' lacks '%s'", err.buf, want);
	assert_null(strchr(err.buf, '\n'));
	if (secret && *secret)
		assert_null(strstr(err.buf, secret));
	strbuf_release_secret(&out);
	strbuf_release(&err);
}

static void test_replace_in_place(void **state)
{
	edit("# my credentials\n"
	     "[default]\n"
	     "aws_access_key_id = AKIAOLD\n"
	     "aws_secret_access_key = oldsecret\n"
	     "region = us-east-1 ; inline comment\n"
	     "\n"
	     "; other\n"
	     "[other]\n"
	     "aws_access_key_id = AKIAOTHER # keep me\n"
	     "aws_secret_access_key = othersecret\n",
	     "default",
	     "# my credentials\n"
	     "[default]\n"
	     "aws_access_key_id = " ID "\n"
	     "aws_secret_access_key = " SECRET "\n"
	     "region = us-east-1 ; inline comment\n"
	     "\n"
	     "; other\n"
	     "[other]\n"
	     "aws_access_key_id = AKIAOTHER # keep me\n"
	     "aws_secret_access_key = othersecret\n");
}

static void test_other_profile_edited(void **state)
{
	edit("[default]\n"
	     "aws_access_key_id = AKIAOLD\n"
	     "aws_secret_access_key = oldsecret\n"
	     "\n"
	     "[other]\n"
	     "aws_access_key_id = AKIAOTHER # keep me\n"
	     "aws_secret_access_key = othersecret\n"
	     "\n"
	     "[third]\n"
	     "region=eu-west-1\n",
	     "other",
	     "[default]\n"
	     "aws_access_key_id = AKIAOLD\n"
	     "aws_secret_access_key = oldsecret\n"
	     "\n"
	     "[other]\n"
	     "aws_access_key_id = " ID " # keep me\n"
	     "aws_secret_access_key = " SECRET "\n"
	     "\n"
	     "[third]\n"
	     "region=eu-west-1\n");
}

static void test_spacing_styles_kept(void **state)
{
	edit("[p]\n"
	     "aws_access_key_id=AKIAOLD\n"
	     "aws_secret_access_key\t=   oldsecret   ;why\n",
	     "p",
	     "[p]\n"
	     "aws_access_key_id=" ID "\n"
	     "aws_secret_access_key\t=   " SECRET "   ;why\n");
}

static void test_empty_values_filled(void **state)
{
	edit("[p]\n"
	     "aws_access_key_id =\n"
	     "aws_secret_access_key=\n",
	     "p",
	     "[p]\n"
	     "aws_access_key_id = " ID "\n"
	     "aws_secret_access_key=" SECRET "\n");
	/* a comment after an empty value stays a comment */
	edit("[p]\n"
	     "aws_access_key_id = # to fill\n"
	     "aws_secret_access_key = x\n",
	     "p",
	     "[p]\n"
	     "aws_access_key_id = " ID " # to fill\n"
	     "aws_secret_access_key = " SECRET "\n");
}

static void test_crlf_kept(void **state)
{
	edit("# c\r\n"
	     "[default]\r\n"
	     "aws_access_key_id = AKIAOLD\r\n"
	     "region = x\r\n"
	     "\r\n"
	     "[q]\r\n"
	     "a = b\r\n",
	     "default",
	     "# c\r\n"
	     "[default]\r\n"
	     "aws_access_key_id = " ID "\r\n"
	     "region = x\r\n"
	     "aws_secret_access_key = " SECRET "\r\n"
	     "\r\n"
	     "[q]\r\n"
	     "a = b\r\n");
	edit("[q]\r\na = b\r\n", "new",
	     "[q]\r\na = b\r\n\r\n[new]\r\naws_access_key_id = " ID
	     "\r\naws_secret_access_key = " SECRET "\r\n");
}

static void test_missing_profile_appended(void **state)
{
	edit("[default]\n"
	     "aws_access_key_id = AKIAOLD\n"
	     "aws_secret_access_key = oldsecret\n",
	     "alice",
	     "[default]\n"
	     "aws_access_key_id = AKIAOLD\n"
	     "aws_secret_access_key = oldsecret\n"
	     "\n"
	     "[alice]\n" KEYS);
}

static void test_empty_file(void **state)
{
	edit("", "default", "[default]\n" KEYS);
	edit_len(NULL, 0, "default", "[default]\n" KEYS);
	/* only blank lines: no second blank line */
	edit("\n", "default", "\n[default]\n" KEYS);
	/* only comments */
	edit("# nothing yet\n", "default", "# nothing yet\n\n[default]\n" KEYS);
}

static void test_ends_with_blank_line(void **state)
{
	edit("[a]\nx = 1\n\n", "b", "[a]\nx = 1\n\n[b]\n" KEYS);
}

static void test_no_trailing_newline(void **state)
{
	edit("[a]\nx = 1", "b", "[a]\nx = 1\n\n[b]\n" KEYS);
	edit("[p]\naws_access_key_id = AKIAOLD", "p",
	     "[p]\naws_access_key_id = " ID "\naws_secret_access_key = " SECRET "\n");
	edit("[p]\naws_secret_access_key = old # c", "p",
	     "[p]\naws_secret_access_key = " SECRET " # c\naws_access_key_id = " ID "\n");
	edit("[p]", "p", "[p]\n" KEYS);
	edit("[p]\r\nregion = x", "p",
	     "[p]\r\nregion = x\r\naws_access_key_id = " ID "\r\naws_secret_access_key = " SECRET
	     "\r\n");
}

static void test_missing_keys_after_last_property(void **state)
{
	edit("[p]\n"
	     "region = x\n"
	     "output = json\n"
	     "# about q\n"
	     "\n"
	     "[q]\n"
	     "a = b\n",
	     "p",
	     "[p]\n"
	     "region = x\n"
	     "output = json\n" KEYS "# about q\n"
	     "\n"
	     "[q]\n"
	     "a = b\n");
	/* an empty section: right after its header */
	edit("[p]\n\n[q]\na = b\n", "p", "[p]\n" KEYS "\n[q]\na = b\n");
	/* after a property's continuation lines */
	edit("[p]\n"
	     "s3 =\n"
	     "  max_concurrent_requests = 10\n"
	     "\n"
	     "  addressing_style = path\n"
	     "\n"
	     "[q]\n",
	     "p",
	     "[p]\n"
	     "s3 =\n"
	     "  max_concurrent_requests = 10\n"
	     "\n"
	     "  addressing_style = path\n" KEYS "\n"
	     "[q]\n");
}

static void test_duplicate_sections(void **state)
{
	/* the last aws_access_key_id is replaced; the secret goes to the last [p] */
	edit("[p]\n"
	     "aws_access_key_id = AKIA1\n"
	     "[q]\n"
	     "x = 1\n"
	     "[p]\n"
	     "region = r\n"
	     "[r]\n",
	     "p",
	     "[p]\n"
	     "aws_access_key_id = " ID "\n"
	     "[q]\n"
	     "x = 1\n"
	     "[p]\n"
	     "region = r\n"
	     "aws_secret_access_key = " SECRET "\n"
	     "[r]\n");
	edit("[p]\n"
	     "aws_access_key_id = AKIA1\n"
	     "aws_secret_access_key = s1\n"
	     "[p]\n"
	     "aws_access_key_id = AKIA2\n",
	     "p",
	     "[p]\n"
	     "aws_access_key_id = AKIA1\n"
	     "aws_secret_access_key = " SECRET "\n"
	     "[p]\n"
	     "aws_access_key_id = " ID "\n");
	/* twice in one section */
	edit("[p]\naws_access_key_id = A\naws_access_key_id = B\naws_secret_access_key = C\n", "p",
	     "[p]\naws_access_key_id = A\naws_access_key_id = " ID
	     "\naws_secret_access_key = " SECRET "\n");
}

static void test_case_insensitive_keys(void **state)
{
	edit("[p]\n"
	     "AWS_ACCESS_KEY_ID = AKIAOLD\n"
	     "Aws_Secret_Access_Key=old\n",
	     "p",
	     "[p]\n"
	     "AWS_ACCESS_KEY_ID = " ID "\n"
	     "Aws_Secret_Access_Key=" SECRET "\n");
	/* section names are case-sensitive */
	edit("[P]\naws_access_key_id = AKIAOLD\n", "p",
	     "[P]\naws_access_key_id = AKIAOLD\n\n[p]\n" KEYS);
}

static void test_session_token_removed(void **state)
{
	edit("[p]\n"
	     "aws_access_key_id = ASIAOLD\n"
	     "aws_secret_access_key = old\n"
	     "aws_session_token = tok1\n"
	     "  continued\n"
	     "region = x\n"
	     "[q]\n"
	     "aws_session_token = keep\n"
	     "[p]\n"
	     "AWS_SESSION_TOKEN = tok2\n"
	     "aws_security_token = tok3\n",
	     "p",
	     "[p]\n"
	     "aws_access_key_id = " ID "\n"
	     "aws_secret_access_key = " SECRET "\n"
	     "region = x\n"
	     "[q]\n"
	     "aws_session_token = keep\n"
	     "[p]\n");
	/* the token was the last property: keys added where it was */
	edit("[p]\nregion = x\naws_session_token = t\n\n[q]\n", "p",
	     "[p]\nregion = x\n" KEYS "\n[q]\n");
}

static void test_prefix_profile_names(void **state)
{
	edit("[prod-eu]\n"
	     "aws_access_key_id = AKIAEU\n"
	     "aws_secret_access_key = eu\n"
	     "[prod]\n"
	     "aws_access_key_id = AKIAPROD\n"
	     "aws_secret_access_key = prod\n"
	     "[prod2]\n"
	     "aws_access_key_id = AKIAPROD2\n",
	     "prod",
	     "[prod-eu]\n"
	     "aws_access_key_id = AKIAEU\n"
	     "aws_secret_access_key = eu\n"
	     "[prod]\n"
	     "aws_access_key_id = " ID "\n"
	     "aws_secret_access_key = " SECRET "\n"
	     "[prod2]\n"
	     "aws_access_key_id = AKIAPROD2\n");
	edit("[prod-eu]\naws_access_key_id = AKIAEU\n", "prod",
	     "[prod-eu]\naws_access_key_id = AKIAEU\n\n[prod]\n" KEYS);
	edit("[prod]\naws_access_key_id = AKIAPROD\n", "prod-eu",
	     "[prod]\naws_access_key_id = AKIAPROD\n\n[prod-eu]\n" KEYS);
}

static void test_section_header_forms(void **state)
{
	/* inner whitespace and a comment on the header line */
	edit("[ p ] # mine\naws_access_key_id = A\n", "p",
	     "[ p ] # mine\naws_access_key_id = " ID "\naws_secret_access_key = " SECRET "\n");
	edit("[\tp]\r\n", "p",
	     "[\tp]\r\naws_access_key_id = " ID "\r\naws_secret_access_key = " SECRET "\r\n");
	/* "[profile p]" is not a credentials-file profile */
	edit("[profile p]\naws_access_key_id = A\n", "p",
	     "[profile p]\naws_access_key_id = A\n\n[p]\n" KEYS);
	/* names with the allowed punctuation */
	edit("", "alice@example.com", "[alice@example.com]\n" KEYS);
	edit("[a/b:c+d%e]\nx = y\n", "a/b:c+d%e", "[a/b:c+d%e]\nx = y\n" KEYS);
}

static void test_continuations_of_old_value_dropped(void **state)
{
	edit("[p]\n"
	     "aws_access_key_id =\n"
	     "  weird = sub\n"
	     "# comment kept\n"
	     "  more = sub\n"
	     "region = x\n",
	     "p",
	     "[p]\n"
	     "aws_access_key_id = " ID "\n"
	     "# comment kept\n"
	     "region = x\n"
	     "aws_secret_access_key = " SECRET "\n");
}

static void test_other_bytes_untouched(void **state)
{
	/* odd but valid content everywhere else: tabs, unicode, ';' without space, "=" in values */
#define ODD_FILE(id, secret)                                                                       \
	"\t\n"                                                                                     \
	"[default]\n"                                                                              \
	"region=us-east-1;not-a-comment\n"                                                         \
	"x = a=b=c \xf0\x9f\x98\x82\n"                                                             \
	"[other] ; c\n"                                                                            \
	"aws_access_key_id = AKIAOTHER\r\n"                                                        \
	"   \n"                                                                                    \
	"[p]\n"                                                                                    \
	"aws_access_key_id = " id "\n"                                                             \
	"aws_secret_access_key = " secret "\n"                                                     \
	"[z]\n"                                                                                    \
	"k = v"
	edit(ODD_FILE("A", "S"), "p", ODD_FILE(ID, SECRET));
#undef ODD_FILE
}

static void test_errors(void **state)
{
	const char nul[] = "[p]\nx = a\0b\n";

	edit_fails("", 0, "a b", ID, SECRET, "invalid profile name 'a b'");
	edit_fails("", 0, "", ID, SECRET, "invalid profile name ''");
	edit_fails("", 0, "[p]", ID, SECRET, "invalid profile name '[p]'");
	edit_fails("", 0, NULL, ID, SECRET, "invalid profile name");
	edit_fails("", 0, "p", "", SECRET, "invalid access key id");
	edit_fails("", 0, "p", "AKIA X", SECRET, "invalid access key id");
	edit_fails("", 0, "p", ID, "", "invalid secret access key");
	edit_fails("", 0, "p", ID, "sec ret", "invalid secret access key");
	edit_fails("", 0, "p", ID, "sec\nret", "invalid secret access key");
	edit_fails("[p\nx = 1\n", 8, "p", ID, SECRET, "credentials: line 1:");
	edit_fails("x = 1\n", 6, "p", ID, SECRET, "credentials: line 1:");
	edit_fails(nul, sizeof(nul) - 1, "p", ID, SECRET, "NUL");
}

static void test_out_is_reset(void **state)
{
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;

	strbuf_addstr(&out, "leftover");
	assert_int_equal(profile_edit_set_keys("", 0, "p", ID, SECRET, &out, &err), 0);
	assert_string_equal(out.buf, "[p]\n" KEYS);
	strbuf_release_secret(&out);
	strbuf_release(&err);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_replace_in_place),
	cmocka_unit_test(test_other_profile_edited),
	cmocka_unit_test(test_spacing_styles_kept),
	cmocka_unit_test(test_empty_values_filled),
	cmocka_unit_test(test_crlf_kept),
	cmocka_unit_test(test_missing_profile_appended),
	cmocka_unit_test(test_empty_file),
	cmocka_unit_test(test_ends_with_blank_line),
	cmocka_unit_test(test_no_trailing_newline),
	cmocka_unit_test(test_missing_keys_after_last_property),
	cmocka_unit_test(test_duplicate_sections),
	cmocka_unit_test(test_case_insensitive_keys),
	cmocka_unit_test(test_session_token_removed),
	cmocka_unit_test(test_prefix_profile_names),
	cmocka_unit_test(test_section_header_forms),
	cmocka_unit_test(test_continuations_of_old_value_dropped),
	cmocka_unit_test(test_other_bytes_untouched),
	cmocka_unit_test(test_errors),
	cmocka_unit_test(test_out_is_reset),
};

UNIT_TEST_MAIN(tests)
