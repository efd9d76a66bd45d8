#include "compat.h"
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

int base64_decode(struct strbuf *out, const char *in, size_t len)
{
	size_t orig_len = out->len, i;
	unsigned char *dst;
	uint32_t acc = 0;
	int nq = 0;   /* data characters in the current quartet */
	int npad = 0; /* '=' in the current quartet */
	int done = 0; /* a padded quartet ended the data; only whitespace may follow */

	if (!len)
		return 0;
	/* Worst case: no whitespace, 3 bytes per 4 characters. */
	strbuf_grow(out, len / 4 * 3 + 3);
	dst = (unsigned char *)out->buf + out->len;

	for (i = 0; i < len; i++) {
		unsigned char v = b64_class((unsigned char)in[i]);

		if (v == B64_WS)
			continue;
		if (v == B64_BAD || done)
			goto bad;
		if (v == B64_PAD) {
			/* only "xx==" and "xxx=" */
			if (nq < 2)
				goto bad;
			if (nq + ++npad < 4)
				continue;
			if (nq == 2) {
				*dst++ = (unsigned char)(acc >> 4);
			} else {
				*dst++ = (unsigned char)(acc >> 10);
				*dst++ = (unsigned char)(acc >> 2);
			}
			nq = 0;
			done = 1;
			continue;
		}
		if (npad)
			goto bad; /* "xx=x" */
		acc = (acc << 6) | v;
		if (++nq == 4) {
			*dst++ = (unsigned char)(acc >> 16);
			*dst++ = (unsigned char)(acc >> 8);
			*dst++ = (unsigned char)acc;
			nq = 0;
			acc = 0;
		}
	}
	/* An incomplete quartet: missing characters or missing padding. */
	if (nq)
		goto bad;
	out->len = (size_t)((char *)dst - out->buf);
	out->buf[out->len] = '\0';
	return 0;

bad:
	/* the caller's buffer may hold secrets: clear what we wrote */
	memset(out->buf + orig_len, 0, (size_t)((char *)dst - out->buf) - orig_len);
	strbuf_setlen(out, orig_len);
	return -1;
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
