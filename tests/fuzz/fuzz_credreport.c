/*
 * libFuzzer target for the credential report parser. The input is used
 * as is, and also behind a valid header so that the value parsers are
 * reached without the fuzzer having to find all the column names.
 */
#include "core/compat.h"
#include "core/credreport.h"
#include "core/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEADER                                                                                     \
	"user,arn,user_creation_time,password_enabled,password_last_used,"                         \
	"password_last_changed,password_next_rotation,mfa_active,access_key_1_active,"             \
	"access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,"     \
	"access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,"            \
	"access_key_2_last_used_date,access_key_2_last_used_region,"                               \
	"access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,"          \
	"cert_2_last_rotated\n"

static void parse_one(const char *text, size_t len)
{
	struct cred_report r;
	struct strbuf err = STRBUF_INIT;
	size_t i;
	int k;

	if (cred_report_parse(text, len, &r, &err)) {
		if (!err.len || strchr(err.buf, '\n') || r.users || r.nusers)
			abort();
		strbuf_release(&err);
		return;
	}
	if (err.len)
		abort();
	for (i = 0; i < r.nusers; i++) {
		const struct cr_user *u = &r.users[i];
		if (!u->user || !*u->user || !u->arn)
			abort();
		if (u->is_root != !strcmp(u->user, "<root_account>"))
			abort();
		for (k = 0; k < 2; k++) {
			const struct cr_key *key = &u->keys[k];
			if (key->active < CR_NA || key->active > CR_TRUE)
				abort();
			if (key->last_used_region && !strcmp(key->last_used_region, "N/A"))
				abort();
		}
	}
	cred_report_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf sb = STRBUF_INIT;

	parse_one((const char *)data, size);
	strbuf_addstr(&sb, HEADER);
	strbuf_add(&sb, data, size);
	parse_one(sb.buf, sb.len);
	strbuf_release(&sb);
	return 0;
}
