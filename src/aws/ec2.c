/* EC2 DescribeRegions (see ec2.h). */
#include "core/compat.h"
#include "aws/ec2.h"
#include "aws/client.h"
#include "core/regionxml.h"

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int denied_code(const char *code)
{
	return !strcmp(code, "UnauthorizedOperation") || !strcmp(code, "AccessDenied") ||
	       !strcmp(code, "AccessDeniedException");
}

int ec2_enabled_regions(struct aws_client *c, char ***regions, size_t *n, struct strbuf *err)
{
	struct strbuf body = STRBUF_INIT, perr = STRBUF_INIT;
	struct ec2_region_list l = { 0 };
	struct aws_error aerr = { 0 };
	size_t i;
	int rc = -1;

	*regions = NULL;
	*n = 0;
	if (aws_query_call(c, AWS_SVC_EC2, "DescribeRegions", NULL, 0, AWS_CALL_IDEMPOTENT, &body,
			   &aerr, err) < 0) {
		rc = aerr.code && denied_code(aerr.code) ? 1 : -1;
		if (rc > 0) {
			strbuf_reset(err);
			strbuf_addstr(err, aerr.code);
		}
		goto out;
	}
	if (ec2_parse_describe_regions(body.buf, body.len, &l, &perr) < 0) {
		strbuf_addf(err, "%s", perr.buf);
		goto out;
	}
	if (!l.nregions) {
		strbuf_addstr(err, "DescribeRegions: no region is enabled");
		goto out;
	}
	for (i = 0; i < l.nregions; i++)
		if (!aws_region_valid(l.regions[i].name)) {
			strbuf_addstr(err, "DescribeRegions: a regionName is not a region name");
			goto out;
		}
	*regions = xcalloc(l.nregions + 1, sizeof(**regions));
	for (i = 0; i < l.nregions; i++) {
		(*regions)[i] = l.regions[i].name;
		l.regions[i].name = NULL;
	}
	*n = l.nregions;
	qsort(*regions, *n, sizeof(**regions), by_name);
	rc = 0;
out:
	ec2_region_list_release(&l);
	aws_error_release(&aerr);
	strbuf_release(&body);
	strbuf_release(&perr);
	return rc;
}
