#include "core/compat.h"
#include "engine/runid.h"
#include <openssl/rand.h>

int run_id_make(char out[ROTATION_RUN_ID_MAX + 1], struct strbuf *err)
{
	static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char b[12];
	size_t i;

	out[0] = '\0';
	if (RAND_bytes(b, sizeof(b)) != 1) {
		strbuf_addstr(err, "cannot draw a random run id (RAND_bytes failed)");
		return -1;
	}
	for (i = 0; i < sizeof(b); i++)
		out[i] = digits[b[i] % 36];
	out[sizeof(b)] = '\0';
	OPENSSL_cleanse(b, sizeof(b));
	return 0;
}
