#include "core/compat.h"
#include "core/base64.h"

#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"

static void expect_decode(const char *in, const char *want, size_t want_len)
{
	struct strbuf out = STRBUF_INIT;

	assert_int_equal(base64_decode(&out, in, strlen(in)), 0);
	assert_int_equal(out.len, want_len);
	assert_memory_equal(out.buf, want, want_len);
	assert_int_equal(out.buf[out.len], '\0');
	strbuf_release(&out);
}

static void expect_bad(const char *in)
{
	struct strbuf out = STRBUF_INIT;

	strbuf_addstr(&out, "keep");
	assert_int_equal(base64_decode(&out, in, strlen(in)), -1);
	/* out is left as it was */
	assert_string_equal(out.buf, "keep");
	assert_int_equal(out.len, 4);
	strbuf_release(&out);
}

/* The inputs of the tests below; test_pieces decodes each of them again, cut in pieces. */

/* an encoding and the bytes it decodes to */
struct b64_case {
	const char *plain, *enc;
};

/* RFC 4648 section 10 */
static const struct b64_case rfc4648[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

/* white space anywhere is skipped */
static const struct b64_case spaced[] = {
	{ "foobar", "Zm9v\nYmFy\n" },
	{ "foob", "  Z m 9 v\r\n\tY g = =  \n" },
	{ "foob", " Z m 9 v\r\nY g = = \n" },
	{ "", "\n\n  \t" },
	{ "fo", "Zm8\n=" },
};

/* clang-format off */
static const char *const bad_inputs[] = {
	"Zm9v!",
	"BASE-64 ENCODED FILE CONTENTS",
	"Zm9vYg",	/* missing padding */
	"Zm9vYg=",	/* half the padding */
	"Zg===",	/* too much padding */
	"Z===",		/* padding after one character */
	"====",
	"=Zm9",
	"Zg==Zm9v",	/* data after padding */
	"Zm=9",		/* data inside padding */
	"Z",
	"Zm9vY",
	"Zm9v-_",	/* URL-safe alphabet is not accepted */
	"Zm9v\x80YmFy",
};
/* clang-format on */

static void test_rfc4648_vectors(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rfc4648); i++) {
		struct strbuf sb = STRBUF_INIT;

		base64_encode(&sb, rfc4648[i].plain, strlen(rfc4648[i].plain));
		assert_string_equal(sb.buf, rfc4648[i].enc);
		strbuf_release(&sb);
		expect_decode(rfc4648[i].enc, rfc4648[i].plain, strlen(rfc4648[i].plain));
	}
}

static void test_whitespace_skipped(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(spaced); i++)
		expect_decode(spaced[i].enc, spaced[i].plain, strlen(spaced[i].plain));
}

static void test_all_bytes_and_alphabet(void **state)
{
	unsigned char bytes[256];
	struct strbuf enc = STRBUF_INIT, dec = STRBUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)i;
	base64_encode(&enc, bytes, sizeof(bytes));
	assert_int_equal(enc.len, 344);
	assert_true(strchr(enc.buf, '+') && strchr(enc.buf, '/'));
	assert_int_equal(base64_decode(&dec, enc.buf, enc.len), 0);
	assert_int_equal(dec.len, sizeof(bytes));
	assert_memory_equal(dec.buf, bytes, sizeof(bytes));
	strbuf_release(&enc);
	strbuf_release(&dec);
	expect_decode("+/+/", "\xfb\xff\xbf", 3);
}

static void test_appends(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "x=");
	base64_encode(&sb, "hi", 2);
	assert_string_equal(sb.buf, "x=aGk=");
	assert_int_equal(base64_decode(&sb, "IQ==", 4), 0);
	assert_string_equal(sb.buf, "x=aGk=!");
	strbuf_release(&sb);
}

static void test_bad_input(void **state)
{
	struct strbuf out = STRBUF_INIT;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_inputs); i++)
		expect_bad(bad_inputs[i]);
	/* an embedded NUL is bad input, not the end */
	assert_int_equal(base64_decode(&out, "Zm9v\0YmFy", 9), -1);
	assert_int_equal(out.len, 0);
	strbuf_release(&out);
}

static void test_large_round_trip(void **state)
{
	size_t n = 3 * 1024 * 1024 + 1, i;
	unsigned char *data = xmalloc(n);
	struct strbuf enc = STRBUF_INIT, wrapped = STRBUF_INIT, dec = STRBUF_INIT;
	uint32_t x = 12345;

	for (i = 0; i < n; i++) {
		x = x * 1103515245 + 12345;
		data[i] = (unsigned char)(x >> 16);
	}
	base64_encode(&enc, data, n);
	assert_int_equal(enc.len, (n + 2) / 3 * 4);
	/* wrapped at 76 columns, as MIME encoders do */
	for (i = 0; i < enc.len; i += 76) {
		strbuf_add(&wrapped, enc.buf + i, enc.len - i < 76 ? enc.len - i : 76);
		strbuf_addstr(&wrapped, "\r\n");
	}
	assert_int_equal(base64_decode(&dec, wrapped.buf, wrapped.len), 0);
	assert_int_equal(dec.len, n);
	assert_memory_equal(dec.buf, data, n);
	free(data);
	strbuf_release(&enc);
	strbuf_release(&wrapped);
	strbuf_release(&dec);
}

/* Decodes in in pieces cut at a and b (a <= b <= strlen(in)), after "keep". */
static int decode_split(const char *in, size_t a, size_t b, struct strbuf *out)
{
	struct base64_decoder d;
	size_t len = strlen(in);
	int ret = 0;

	strbuf_reset(out);
	strbuf_addstr(out, "keep");
	base64_decoder_init(&d, out);
	ret |= base64_decode_update(&d, in, a);
	ret |= base64_decode_update(&d, in + a, b - a);
	ret |= base64_decode_update(&d, in + b, len - b);
	if (base64_decode_finish(&d))
		return -1;
	/* update fails only on a character that finish then fails on too */
	assert_int_equal(ret, 0);
	return 0;
}

/* IN decodes the same, to the same bytes or the same error, in every way to cut it in three
 * (quartets split anywhere) as it does whole. */
static void expect_same_in_pieces(const char *in)
{
	struct strbuf whole = STRBUF_INIT, split = STRBUF_INIT;
	size_t len = strlen(in), a, b;
	int want;

	strbuf_addstr(&whole, "keep");
	want = base64_decode(&whole, in, len);
	for (a = 0; a <= len; a++)
		for (b = a; b <= len; b++) {
			assert_int_equal(decode_split(in, a, b, &split), want);
			assert_int_equal(split.len, whole.len);
			assert_memory_equal(split.buf, whole.buf, whole.len + 1);
		}
	strbuf_release(&whole);
	strbuf_release(&split);
}

static void test_pieces(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rfc4648); i++)
		expect_same_in_pieces(rfc4648[i].enc);
	for (i = 0; i < ARRAY_SIZE(spaced); i++)
		expect_same_in_pieces(spaced[i].enc);
	expect_same_in_pieces("+/+/");
	for (i = 0; i < ARRAY_SIZE(bad_inputs); i++)
		expect_same_in_pieces(bad_inputs[i]);
}

static void test_pieces_large(void **state)
{
	struct strbuf enc = STRBUF_INIT, dec = STRBUF_INIT;
	struct base64_decoder d;
	char data[3000];
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7);
	base64_encode(&enc, data, sizeof(data));
	/* pieces of 300 bytes, as libxml2 hands over character data */
	base64_decoder_init(&d, &dec);
	for (i = 0; i < enc.len; i += 300)
		assert_int_equal(base64_decode_update(&d, enc.buf + i,
						      enc.len - i < 300 ? enc.len - i : 300),
				 0);
	assert_int_equal(base64_decode_finish(&d), 0);
	assert_int_equal(dec.len, sizeof(data));
	assert_memory_equal(dec.buf, data, sizeof(data));
	/* after a bad piece the rest is ignored and finish fails */
	strbuf_reset(&dec);
	base64_decoder_init(&d, &dec);
	assert_int_equal(base64_decode_update(&d, "Zm9v", 4), 0);
	assert_int_equal(base64_decode_update(&d, "Zm!v", 4), -1);
	assert_int_equal(base64_decode_update(&d, "Zm9v", 4), -1);
	assert_int_equal(base64_decode_finish(&d), -1);
	assert_int_equal(dec.len, 0);
	strbuf_release(&enc);
	strbuf_release(&dec);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_rfc4648_vectors),
	cmocka_unit_test(test_whitespace_skipped),
	cmocka_unit_test(test_all_bytes_and_alphabet),
	cmocka_unit_test(test_appends),
	cmocka_unit_test(test_bad_input),
	cmocka_unit_test(test_large_round_trip),
	cmocka_unit_test(test_pieces),
	cmocka_unit_test(test_pieces_large),
};

UNIT_TEST_MAIN(tests)
