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

static void test_rfc4648_vectors(void **state)
{
	static const struct {
		const char *plain, *enc;
	} v[] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		struct strbuf sb = STRBUF_INIT;

		base64_encode(&sb, v[i].plain, strlen(v[i].plain));
		assert_string_equal(sb.buf, v[i].enc);
		strbuf_release(&sb);
		expect_decode(v[i].enc, v[i].plain, strlen(v[i].plain));
	}
}

static void test_whitespace_skipped(void **state)
{
	expect_decode("Zm9v\nYmFy\n", "foobar", 6);
	expect_decode("  Z m 9 v\r\n\tY g = =  \n", "foob", 4);
	expect_decode("\n\n  \t", "", 0);
	expect_decode("Zm8\n=", "fo", 2);
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
	expect_bad("Zm9v!");
	expect_bad("BASE-64 ENCODED FILE CONTENTS");
	expect_bad("Zm9vYg");  /* missing padding */
	expect_bad("Zm9vYg="); /* half the padding */
	expect_bad("Zg===");   /* too much padding */
	expect_bad("Z===");    /* padding after one character */
	expect_bad("====");
	expect_bad("=Zm9");
	expect_bad("Zg==Zm9v"); /* data after padding */
	expect_bad("Zm=9");	/* data inside padding */
	expect_bad("Z");
	expect_bad("Zm9vY");
	expect_bad("Zm9v-_"); /* URL-safe alphabet is not accepted */
	expect_bad("Zm9v\x80YmFy");
	{
		struct strbuf out = STRBUF_INIT;
		/* an embedded NUL is bad input, not the end */
		assert_int_equal(base64_decode(&out, "Zm9v\0YmFy", 9), -1);
		assert_int_equal(out.len, 0);
		strbuf_release(&out);
	}
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

static void test_pieces(void **state)
{
	static const char *const in[] = {
		"",
		"Zg==",
		"Zm8=",
		"Zm9v",
		"Zm9vYmFy",
		"Zm9v\nYmFy\n",
		" Z m 9 v\r\nY g = = \n",
		"Zm8\n=",
		"+/+/",
		"Zm9v!",
		"Zm9vYg",
		"Zm9vYg=",
		"Zg===",
		"Z===",
		"====",
		"=Zm9",
		"Zg==Zm9v",
		"Zm=9",
		"Z",
		"Zm9vY",
		"Zm9v-_",
		"Zm9v\x80YmFy",
	};
	struct strbuf whole = STRBUF_INIT, split = STRBUF_INIT;
	size_t i, a, b;

	for (i = 0; i < ARRAY_SIZE(in); i++) {
		size_t len = strlen(in[i]);
		int want;

		strbuf_reset(&whole);
		strbuf_addstr(&whole, "keep");
		want = base64_decode(&whole, in[i], len);
		/* every way to cut it in three, quartets split anywhere */
		for (a = 0; a <= len; a++)
			for (b = a; b <= len; b++) {
				assert_int_equal(decode_split(in[i], a, b, &split), want);
				assert_int_equal(split.len, whole.len);
				assert_memory_equal(split.buf, whole.buf, whole.len + 1);
			}
	}
	strbuf_release(&whole);
	strbuf_release(&split);
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
