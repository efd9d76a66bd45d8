#include "core/compat.h"
#include "core/base64.h"

/*
 * RFC 4648 base64 with the standard alphabet and '=' padding. Our own
 * table rather than OpenSSL's EVP_Decode*, which accepts some malformed
 * input and reports errors less precisely. Both directions append to out.
 */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 0..63 for the alphabet, B64_WS for whitespace, B64_PAD for '=', B64_BAD otherwise. */
enum { B64_BAD = 0xff, B64_WS = 0xfe, B64_PAD = 0xfd };

static unsigned char b64_class(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (unsigned char)(c - 'A');
	if (c >= 'a' && c <= 'z')
		return (unsigned char)(c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (unsigned char)(c - '0' + 52);
	switch (c) {
	case '+':
		return 62;
	case '/':
		return 63;
	case '=':
		return B64_PAD;
	case ' ':
	case '\t':
	case '\n':
	case '\r':
	case '\v':
	case '\f':
		return B64_WS;
	default:
		return B64_BAD;
	}
}

void base64_decoder_init(struct base64_decoder *d, struct strbuf *out)
{
	memset(d, 0, sizeof(*d));
	d->out = out;
	d->orig_len = out->len;
}

int base64_decode_update(struct base64_decoder *d, const char *in, size_t len)
{
	struct strbuf *out = d->out;
	unsigned char *dst;
	size_t i;

	if (d->failed)
		return -1;
	if (!len)
		return 0;
	/* Worst case: no whitespace, 3 bytes per 4 characters (and a carried quartet). */
	strbuf_grow(out, len / 4 * 3 + 3);
	dst = (unsigned char *)out->buf + out->len;

	for (i = 0; i < len; i++) {
		unsigned char v = b64_class((unsigned char)in[i]);

		if (v == B64_WS)
			continue;
		if (v == B64_BAD || d->done)
			goto bad;
		if (v == B64_PAD) {
			/* only "xx==" and "xxx=" */
			if (d->nq < 2)
				goto bad;
			if (d->nq + ++d->npad < 4)
				continue;
			if (d->nq == 2) {
				*dst++ = (unsigned char)(d->acc >> 4);
			} else {
				*dst++ = (unsigned char)(d->acc >> 10);
				*dst++ = (unsigned char)(d->acc >> 2);
			}
			d->nq = 0;
			d->done = 1;
			continue;
		}
		if (d->npad)
			goto bad; /* "xx=x" */
		d->acc = (d->acc << 6) | v;
		if (++d->nq == 4) {
			*dst++ = (unsigned char)(d->acc >> 16);
			*dst++ = (unsigned char)(d->acc >> 8);
			*dst++ = (unsigned char)d->acc;
			d->nq = 0;
			d->acc = 0;
		}
	}
	out->len = (size_t)((char *)dst - out->buf);
	out->buf[out->len] = '\0';
	return 0;

bad:
	/* base64_decode_finish wipes what was written */
	out->len = (size_t)((char *)dst - out->buf);
	d->failed = 1;
	return -1;
}

int base64_decode_finish(struct base64_decoder *d)
{
	struct strbuf *out = d->out;

	/* An incomplete quartet: missing characters or missing padding. */
	if (!d->failed && !d->nq)
		return 0;
	/* the caller's buffer may hold secrets: clear what we wrote */
	memset(out->buf + d->orig_len, 0, out->len - d->orig_len);
	strbuf_setlen(out, d->orig_len);
	return -1;
}

int base64_decode(struct strbuf *out, const char *in, size_t len)
{
	struct base64_decoder d;

	/* one piece: out grows once, before anything is written */
	base64_decoder_init(&d, out);
	base64_decode_update(&d, in, len);
	return base64_decode_finish(&d);
}

void base64_encode(struct strbuf *out, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i = 0;
	char *dst;

	if (!len)
		return;
	if (len > (SIZE_MAX - 4) / 4 * 3)
		abort();
	strbuf_grow(out, (len + 2) / 3 * 4);
	dst = out->buf + out->len;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*dst++ = b64_alphabet[v >> 18];
		*dst++ = b64_alphabet[(v >> 12) & 63];
		*dst++ = b64_alphabet[(v >> 6) & 63];
		*dst++ = b64_alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		*dst++ = b64_alphabet[v >> 18];
		*dst++ = b64_alphabet[(v >> 12) & 63];
		*dst++ = '=';
		*dst++ = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*dst++ = b64_alphabet[v >> 18];
		*dst++ = b64_alphabet[(v >> 12) & 63];
		*dst++ = b64_alphabet[(v >> 6) & 63];
		*dst++ = '=';
	}
	out->len = (size_t)(dst - out->buf);
	out->buf[out->len] = '\0';
}
