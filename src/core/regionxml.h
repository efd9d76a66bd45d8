#ifndef IAMKEYS_REGIONXML_H
#define IAMKEYS_REGIONXML_H
/*
 * EC2 DescribeRegions (EC2 query protocol, API version 2016-11-15) XML
 * replies, with libxml2: no network, no DTD (a DOCTYPE is refused), no
 * entity expansion beyond the predefined ones. Pure: a buffer in, a
 * struct out. The reply, with no Result wrapper as EC2 answers:
 *
 *   <DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
 *     <requestId>...</requestId>
 *     <regionInfo>
 *       <item><regionName>eu-west-1</regionName>
 *             <regionEndpoint>ec2.eu-west-1.amazonaws.com</regionEndpoint>
 *             <optInStatus>opt-in-not-required</optInStatus></item>
 *     </regionInfo>
 *   </DescribeRegionsResponse>
 *
 * Elements are matched by local name; text is trimmed of surrounding
 * whitespace. An item without a regionName fails the whole reply.
 */
#include <stddef.h>
#include "core/strbuf.h"

#define EC2_MAX_REGIONS 256

struct ec2_region {
	char *name;	     /* "eu-west-1", as sent */
	char *endpoint;	     /* NULL when absent */
	char *opt_in_status; /* opt-in-not-required | opted-in | not-opted-in; NULL when absent */
};

struct ec2_region_list {
	struct ec2_region *regions;
	size_t nregions;
	char *request_id; /* NULL when absent */
};

/* 0, or -1 with a one-line message in err (out left released). */
int ec2_parse_describe_regions(const char *xml, size_t len, struct ec2_region_list *out,
			       struct strbuf *err);
void ec2_region_list_release(struct ec2_region_list *l);

#endif
