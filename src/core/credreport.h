#ifndef IAMKEYS_CREDREPORT_H
#define IAMKEYS_CREDREPORT_H
/*
 * The IAM credential report (decoded CSV), parsed by header name so added
 * or reordered columns do not matter. Pure.
 *
 * Required columns: user, arn, user_creation_time and, for N = 1 and 2,
 * access_key_N_active, access_key_N_last_rotated, access_key_N_last_used_date,
 * access_key_N_last_used_region, access_key_N_last_used_service. Optional:
 * password_enabled, mfa_active (CR_NA when absent). Unknown columns are
 * ignored; a column we read appearing twice is an error.
 *
 * Values: booleans are true/false in any case (the docs say TRUE/FALSE,
 * real reports say true/false); dates are ISO 8601. The placeholders
 * N/A, no_information and not_supported mean "none": CR_NA in a boolean
 * column, 0 in a date column. Region and service are NULL for N/A and kept
 * verbatim otherwise. Anything else in a boolean or date column, or an
 * empty user, is an error. Blank lines are skipped; a leading UTF-8 BOM
 * is ignored.
 */
#include <stddef.h>
#include <time.h>
#include "core/strbuf.h"

enum cr_bool { CR_NA = -1, CR_FALSE = 0, CR_TRUE = 1 };

struct cr_key {
	enum cr_bool active;
	time_t last_rotated;	 /* 0 when N/A */
	time_t last_used;	 /* 0 when N/A (never used or no key) */
	char *last_used_region;	 /* NULL when N/A */
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

struct cr_strings;

struct cred_report {
	struct cr_user *users;
	size_t nusers;
	/* every string of users, in a few large blocks; freed with the report */
	struct cr_strings *strings;
};
/*
 * Fills *out (overwritten, not freed first). 0, or -1 with *out empty and
 * one line appended to err (when not NULL), N being the physical line:
 *   "credential report: CSV line N: unterminated quoted field" (any CSV error)
 *   "credential report is empty"
 *   "credential report has no 'access_key_1_active' column"
 *   "credential report has more than one 'user' column"
 *   "credential report line N: expected 22 fields, found 21"
 *   "credential report line N, column 'mfa_active': invalid value 'maybe'"
 * The report is read one record at a time: with several errors, the first
 * one in the text is reported. The users are in report order, the root row
 * included (is_root).
 */
int cred_report_parse(const char *csv, size_t len, struct cred_report *out, struct strbuf *err);
/* Frees everything, the strings too (they may be shared between users), and leaves r
 * empty; NULL is fine. */
void cred_report_release(struct cred_report *r);

#endif
