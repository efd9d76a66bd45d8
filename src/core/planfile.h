#ifndef IAMKEYS_PLANFILE_H
#define IAMKEYS_PLANFILE_H
/*
 * The saved plan of rotate --plan-out, checked before rotate --apply --plan
 * uses it. The format (version 1; every field required, no other field):
 *
 *   { "Version": 1, "GeneratedAt": "...Z", "Account": "111111111111",
 *     "Users": [ { "UserName", "Stage", "Outcome", "Reason", "Exempt",
 *                  "Sink", "Tag", "Keys", "Actions": [ { "Action",
 *                  "AccessKeyId", "TagValue", "ExpectActive", "InUseGuard",
 *                  "NotUsedSince", "Reason", "Result", "Detail" } ] } ] }
 *
 * A plan for several accounts (--org, --accounts) has "FailedAccounts"
 * instead of "Account", and every row starts with "AccountId".
 */
#include <jansson.h>
#include "core/strbuf.h"

/*
 * 0 when doc is a well-formed plan (for several accounts when
 * several_accounts), or -1 with a one-line reason in err: a field missing,
 * unknown or of the wrong type, another version, an unknown action, stage,
 * outcome or result, a key id or tag value that is not valid, or a user
 * listed twice (in one account).
 */
int plan_file_check(json_t *doc, int several_accounts, struct strbuf *err);

/* Loads and checks a plan from text: the document (caller decrefs), or NULL with err. */
json_t *plan_file_parse(const char *text, size_t len, int several_accounts, struct strbuf *err);

#endif
