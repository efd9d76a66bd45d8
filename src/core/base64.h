#ifndef IAMKEYS_BASE64_H
#define IAMKEYS_BASE64_H
#include <stddef.h>
#include "core/strbuf.h"
/* Standard base64 (RFC 4648); whitespace in the input is skipped. 0 / -1 on bad input. */
/* Both append to out. Padding is required; on bad input (a character outside the
 * alphabet, a partial quartet, misplaced '=') out is left as it was. */
int base64_decode(struct strbuf *out, const char *in, size_t len);
void base64_encode(struct strbuf *out, const void *data, size_t len);
#endif
