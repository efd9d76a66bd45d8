#ifndef IAMKEYS_BASE64_H
#define IAMKEYS_BASE64_H
#include <stddef.h>
#include <stdint.h>
#include "core/strbuf.h"
/* Standard base64 (RFC 4648); whitespace in the input is skipped. 0 / -1 on bad input. */
/* Both append to out. Padding is required; on bad input (a character outside the
 * alphabet, a partial quartet, misplaced '=') out is left as it was. */
int base64_decode(struct strbuf *out, const char *in, size_t len);
void base64_encode(struct strbuf *out, const void *data, size_t len);

/*
 * base64_decode in pieces, for a text that never exists whole (the XML
 * parser hands it over in chunks): a quartet may be split between calls.
 * The same rules and result; base64_decode_update returns -1 on the first
 * bad character and ignores the rest; base64_decode_finish returns -1 if
 * any piece was bad or the text ends inside a quartet, and then leaves out
 * as it was at base64_decoder_init (the bytes written wiped). out grows
 * piece by piece, and a move leaves the old copy unwiped: not for secrets.
 */
struct base64_decoder {
	struct strbuf *out;
	size_t orig_len; /* out->len at init */
	uint32_t acc;
	int nq;	    /* data characters in the current quartet */
	int npad;   /* '=' in the current quartet */
	int done;   /* a padded quartet ended the data; only whitespace may follow */
	int failed; /* a bad character was seen */
};
void base64_decoder_init(struct base64_decoder *d, struct strbuf *out);
int base64_decode_update(struct base64_decoder *d, const char *in, size_t len);
int base64_decode_finish(struct base64_decoder *d);
#endif
