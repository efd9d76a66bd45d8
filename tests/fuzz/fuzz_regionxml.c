/* libFuzzer: an EC2 DescribeRegions reply (--regions all). */
#include "core/compat.h"
#include "core/regionxml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf err = STRBUF_INIT;
	struct ec2_region_list l;
	size_t i;

	if (ec2_parse_describe_regions((const char *)data, size, &l, &err) == 0) {
		if (err.len || l.nregions > EC2_MAX_REGIONS)
			abort();
		for (i = 0; i < l.nregions; i++)
			if (!l.regions[i].name || !*l.regions[i].name)
				abort(); /* every region accepted has its name */
		ec2_region_list_release(&l);
	} else if (!err.len || strchr(err.buf, '\n') || l.nregions || l.regions) {
		abort(); /* refused in one line, nothing left behind */
	}
	strbuf_release(&err);
	return 0;
}
