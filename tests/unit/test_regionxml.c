/* EC2 DescribeRegions replies (core/regionxml.c), for --regions all. */
#include "core/compat.h"
#include "core/regionxml.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"

/* as EC2 answers (API reference, DescribeRegions, "Example 1"): no Result wrapper */
static const char REPLY[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<DescribeRegionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n"
	"   <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>\n"
	"   <regionInfo>\n"
	"      <item>\n"
	"         <regionName>us-east-1</regionName>\n"
	"         <regionEndpoint>ec2.us-east-1.amazonaws.com</regionEndpoint>\n"
	"         <optInStatus>opt-in-not-required</optInStatus>\n"
	"      </item>\n"
	"      <item>\n"
	"         <regionName> af-south-1\n</regionName>\n"
	"         <optInStatus>opted-in</optInStatus>\n"
	"      </item>\n"
	"   </regionInfo>\n"
	"</DescribeRegionsResponse>\n";

static int parse(const char *xml, struct ec2_region_list *l, struct strbuf *err)
{
	return ec2_parse_describe_regions(xml, strlen(xml), l, err);
}

static void test_regions(void **state)
{
	struct ec2_region_list l;
	struct strbuf err = STRBUF_INIT;

	(void)state;
	assert_int_equal(parse(REPLY, &l, &err), 0);
	assert_int_equal(l.nregions, 2);
	assert_string_equal(l.request_id, "59dbff89-35bd-4eac-99ed-be587EXAMPLE");
	assert_string_equal(l.regions[0].name, "us-east-1");
	assert_string_equal(l.regions[0].endpoint, "ec2.us-east-1.amazonaws.com");
	assert_string_equal(l.regions[0].opt_in_status, "opt-in-not-required");
	assert_string_equal(l.regions[1].name, "af-south-1"); /* trimmed */
	assert_null(l.regions[1].endpoint);
	assert_string_equal(l.regions[1].opt_in_status, "opted-in");
	assert_int_equal(err.len, 0);
	ec2_region_list_release(&l);
	ec2_region_list_release(&l); /* harmless twice */
	strbuf_release(&err);
}

static void test_empty_list(void **state)
{
	struct ec2_region_list l;
	struct strbuf err = STRBUF_INIT;

	(void)state;
	assert_int_equal(parse("<DescribeRegionsResponse><requestId>r</requestId><regionInfo/>"
			       "</DescribeRegionsResponse>",
			       &l, &err),
			 0);
	assert_int_equal(l.nregions, 0);
	assert_null(l.regions);
	ec2_region_list_release(&l);
	strbuf_release(&err);
}

static void test_refused(void **state)
{
	static const struct text_case cases[] = {
		{ "", "DescribeRegions: empty XML response" },
		{ "<DescribeRegionsResponse><regionInfo>", "DescribeRegions: malformed XML" },
		{ "<!DOCTYPE x [<!ENTITY e \"us-east-1\">]><DescribeRegionsResponse><regionInfo><item>"
		  "<regionName>&e;</regionName></item></regionInfo></DescribeRegionsResponse>",
		  "DescribeRegions: refusing XML with a DOCTYPE declaration" },
		{ "<DescribeRegionsResult/>",
		  "DescribeRegions: the response has no DescribeRegionsResponse" },
		{ "<DescribeRegionsResponse><regionInfo><item><regionName>eu-west-1</regionName>"
		  "</item><item><regionEndpoint>x</regionEndpoint></item></regionInfo>"
		  "</DescribeRegionsResponse>",
		  "DescribeRegions: region 2 has no regionName" },
		{ "<DescribeRegionsResponse><regionInfo><item><regionName> </regionName></item>"
		  "</regionInfo></DescribeRegionsResponse>",
		  "DescribeRegions: region 1 has no regionName" },
		{ "<a:DescribeRegionsResponse>", "DescribeRegions: malformed XML" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ec2_region_list l;
		struct strbuf err = STRBUF_INIT;

		assert_int_equal(parse(cases[i].in, &l, &err), -1);
		assert_string_equal(err.buf, cases[i].want);
		assert_int_equal(l.nregions, 0);
		assert_null(l.regions);
		assert_null(l.request_id);
		strbuf_release(&err);
	}
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_regions),
	cmocka_unit_test(test_empty_list),
	cmocka_unit_test(test_refused),
};

UNIT_TEST_MAIN(tests)
