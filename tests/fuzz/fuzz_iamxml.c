/*
 * libFuzzer target: every awsQuery XML parser and base64_decode on the same
 * input. Checks for crashes, leaks (ASan) and the error contract: -1 comes
 * with a one-line message, 0 with none of the promised fields broken.
 *
 *   make fuzz && ./build-fuzz/fuzz/fuzz_iamxml -max_total_time=60 corpus/
 */
#include "core/compat.h"
#include "core/iamxml.h"
#include "core/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ret, struct strbuf *err)
{
	if (ret != 0 && ret != -1)
		abort();
	if (ret && (!err->len || memchr(err->buf, '\n', err->len)))
		abort();
	strbuf_reset(err);
}

static void check_user(const struct iam_user *u)
{
	size_t i;

	for (i = 0; i < u->ntags; i++)
		if (!u->tags[i].key || !u->tags[i].value)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *xml = (const char *)data;
	struct strbuf err = STRBUF_INIT, sb = STRBUF_INIT;
	size_t i;

	{
		struct aws_error o = { 0 };
		check(aws_parse_xml_error(xml, size, &o, &err), &err);
		aws_error_release(&o);
	}
	{
		struct iam_user_page o;
		int ret = iam_parse_list_users(xml, size, &o, &err);
		check(ret, &err);
		for (i = 0; i < o.nusers; i++) {
			if (!o.users[i].user_name)
				abort();
			check_user(&o.users[i]);
		}
		if (!ret && o.is_truncated && !o.marker)
			abort();
		iam_user_page_release(&o);
	}
	{
		struct iam_user o;
		int ret = iam_parse_get_user(xml, size, &o, &err);
		check(ret, &err);
		if (!ret)
			check_user(&o);
		iam_user_release(&o);
	}
	{
		struct iam_access_key_page o;
		check(iam_parse_list_access_keys(xml, size, &o, &err), &err);
		for (i = 0; i < o.nkeys; i++)
			if (!o.keys[i].access_key_id)
				abort();
		iam_access_key_page_release(&o);
	}
	{
		struct iam_access_key o;
		int ret = iam_parse_create_access_key(xml, size, &o, &err);
		check(ret, &err);
		if (!ret && (!o.secret_access_key || !o.access_key_id))
			abort();
		iam_access_key_release(&o);
	}
	{
		struct iam_key_last_used o;
		check(iam_parse_get_access_key_last_used(xml, size, &o, &err), &err);
		iam_key_last_used_release(&o);
	}
	{
		char *state = NULL;
		check(iam_parse_generate_credential_report(xml, size, &state, &err), &err);
		free(state);
	}
	{
		char *t = NULL;
		check(iam_parse_get_credential_report(xml, size, &sb, &t, &err), &err);
		free(t);
		strbuf_release(&sb);
	}
	{
		struct iam_tag_page o;
		check(iam_parse_list_user_tags(xml, size, &o, &err), &err);
		iam_tag_page_release(&o);
	}
	{
		struct iam_group_page o;
		check(iam_parse_list_groups_for_user(xml, size, &o, &err), &err);
		for (i = 0; i < o.ngroups; i++)
			if (!o.group_names[i])
				abort();
		iam_group_page_release(&o);
	}
	{
		struct iam_name_page o;
		check(iam_parse_list_user_policies(xml, size, &o, &err), &err);
		for (i = 0; i < o.nnames; i++)
			if (!o.names[i] || !*o.names[i])
				abort();
		iam_name_page_release(&o);
		check(iam_parse_list_attached_user_policies(xml, size, &o, &err), &err);
		for (i = 0; i < o.nnames; i++)
			if (!o.names[i] || !*o.names[i])
				abort();
		iam_name_page_release(&o);
	}
	{
		struct iam_user_detail_page o;
		size_t j;
		check(iam_parse_get_account_authorization_details(xml, size, NULL, NULL, &o, &err),
		      &err);
		for (i = 0; i < o.nusers; i++) {
			if (!o.users[i].user.user_name)
				abort();
			for (j = 0; j < o.users[i].ngroups; j++)
				if (!o.users[i].groups[j])
					abort();
		}
		if (o.is_truncated && !o.marker)
			abort();
		iam_user_detail_page_release(&o);
	}
	{
		struct iam_summary_entry *e = NULL;
		size_t n = 0;
		check(iam_parse_get_account_summary(xml, size, &e, &n, &err), &err);
		iam_summary_entries_free(e, n);
	}
	{
		char *id = NULL;
		check(aws_parse_request_id(xml, size, &id, &err), &err);
		free(id);
	}
	{
		struct sts_caller_identity o;
		check(sts_parse_get_caller_identity(xml, size, &o, &err), &err);
		sts_caller_identity_release(&o);
	}
	{
		struct sts_assumed o;
		check(sts_parse_assume_role(xml, size, &o, &err), &err);
		sts_assumed_release(&o);
	}
	{
		struct iam_org_features o;
		int ret = iam_parse_list_organizations_features(xml, size, &o, &err);
		check(ret, &err);
		if (!ret &&
		    (!o.organization_id || !*o.organization_id ||
		     (o.features & ~(IAM_ORG_ROOT_CREDENTIALS_MANAGEMENT | IAM_ORG_ROOT_SESSIONS))))
			abort();
		if (ret && o.organization_id)
			abort();
		iam_org_features_release(&o);
	}
	{
		/* base64: decode, and a successful decode re-encodes to a decodable string */
		if (!base64_decode(&sb, xml, size)) {
			struct strbuf enc = STRBUF_INIT, dec = STRBUF_INIT;

			base64_encode(&enc, sb.buf, sb.len);
			if (base64_decode(&dec, enc.buf, enc.len) || dec.len != sb.len ||
			    memcmp(dec.buf, sb.buf, sb.len))
				abort();
			strbuf_release(&enc);
			strbuf_release(&dec);
		}
		strbuf_release(&sb);
	}
	strbuf_release(&err);
	return 0;
}
