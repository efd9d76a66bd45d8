#include <stdio.h>
#include <stdlib.h>

#include "testdata.h"

const char *test_data_dir(void)
{
	static char dir[4096];
	const char *src = getenv("IAMKEYS_SRCDIR");

	if (!dir[0])
		snprintf(dir, sizeof(dir), "%s/tests/data", src && *src ? src : ".");
	return dir;
}
