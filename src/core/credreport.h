#ifndef IAMKEYS_CREDREPORT_H
#define IAMKEYS_CREDREPORT_H
/*
 * The IAM credential report (decoded CSV), parsed by header name so added
 * or reordered columns do not matter. Pure.
 */
#include <stddef.h>
#include <time.h>
#include "core/strbuf.h"

enum cr_bool { CR_NA = -1, CR_FALSE = 0, CR_TRUE = 1 };

struct cr_key {
	enum cr_bool active;
	time_t last_rotated;     /* 0 when N/A */
	time_t last_used;        /* 0 when N/A (never used or no key) */
	char *last_used_region;  /* NULL when N/A */
	char *last_used_service; /* NULL when N/A */
};

struct cr_user {
	char *user; /* "<root_account>" for the root row */
	char *arn;
	time_t user_creation_time;
	int is_root;
	enum cr_bool password_enabled;
	enum cr_bool mfa_active;
	struct cr_key keys[2];
};

struct cred_report {
	struct cr_user *users;
	size_t nusers;
};
/* 0, or -1 with a one-line message (missing column, bad date on line N...). */
int cred_report_parse(const char *csv, size_t len, struct cred_report *out, struct strbuf *err);
void cred_report_release(struct cred_report *r);

#endif
