#ifndef IAMKEYS_EC2_H
#define IAMKEYS_EC2_H
/*
 * EC2 DescribeRegions (EC2 query protocol, version 2016-11-15): the regions
 * enabled for the account (AllRegions false, EC2's default), for --regions
 * all. Denied (UnauthorizedOperation, as EC2 answers): the partition's
 * built-in list instead (aws_partition_regions), and the caller says so.
 */
#include <stddef.h>
#include "core/strbuf.h"

struct aws_client;

#define EC2_DESCRIBE_REGIONS_PERMISSION "ec2:DescribeRegions"

/*
 * The enabled regions' names in *regions (n of them, sorted, each checked
 * with aws_region_valid; free each and the array). 0; 1 when EC2 denied
 * the call (nothing returned; err has just the error code); -1 with a
 * one-line message in err otherwise.
 */
int ec2_enabled_regions(struct aws_client *c, char ***regions, size_t *n, struct strbuf *err);

#endif
