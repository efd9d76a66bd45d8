#ifndef IAMKEYS_CREDPARSE_H
#define IAMKEYS_CREDPARSE_H
/*
 * Pure parsers for credentials that arrive as JSON (credential_process
 * output, the ECS container endpoint, EC2 instance metadata) and for a
 * credential_process command line.
 *
 * The JSON parser is our own small one, for one flat object, so that every
 * byte of a secret it decodes lives in buffers it wipes (a general JSON
 * library keeps copies in memory it frees without wiping). Nested objects
 * and arrays are parsed and skipped. Messages never quote the input: it
 * holds secrets.
 */
#include <stddef.h>
#include "core/awscreds.h"
#include "core/strbuf.h"

enum cred_json_format {
	/*
	 * credential_process: {"Version": 1, "AccessKeyId", "SecretAccessKey",
	 * "SessionToken"?, "Expiration"? (ISO 8601; absent = never expires),
	 * "AccountId"?}. Version must be the number 1.
	 */
	CRED_JSON_PROCESS,
	/* ECS / EKS container endpoint: AccessKeyId, SecretAccessKey, Token?, Expiration?,
	   AccountId? */
	CRED_JSON_CONTAINER,
	/* EC2 instance metadata: as the container one, and "Code" must be "Success" when present */
	CRED_JSON_IMDS,
};

/*
 * Parses text (len bytes, need not be NUL-terminated) into out (zeroed
 * first). 0, or -1 with a one-line message appended to err ("not valid
 * JSON at offset 12", "no SecretAccessKey", "Expiration 'x' is not an ISO
 * 8601 time", "Version is 2, not 1"); out then holds nothing.
 */
int cred_json_parse(enum cred_json_format format, const char *text, size_t len,
		    struct aws_credentials *out, struct strbuf *err);

/*
 * The value of one string member of a flat JSON object (e.g. an error
 * body's "message"), or -1 when the text is not such an object or has no
 * such string. *out is malloc'd (caller frees).
 */
int cred_json_string(const char *text, size_t len, const char *name, char **out);

/*
 * Splits a command line into words as a POSIX shell would split a simple
 * command, without any expansion: blanks (space, tab, newline) separate
 * words; 'single quotes' keep everything literally; "double quotes" keep
 * everything but a backslash before " \ $ or ` (which escapes it); outside
 * quotes a backslash escapes the next character. An unterminated quote, a
 * trailing backslash or no words at all is -1 with err. On success *argv
 * is a NULL-terminated array of *argc words; free it with
 * cred_argv_free (which wipes the words).
 */
int cred_argv_split(const char *line, char ***argv, size_t *argc, struct strbuf *err);
void cred_argv_free(char **argv);
/*
 * What cred_argv_split and the exec: sinks' splitter differ in: the blanks
 * between words, what a backslash escapes inside "double quotes", and the
 * ends of the messages "unterminated ' / \"<where_quote>" and "trailing
 * backslash<where>".
 */
struct argv_syntax {
	const char *blanks;
	const char *dq_escapes;
	const char *where_quote;
	const char *where;
};
/* cred_argv_split with these words (the same results, freed with cred_argv_free). */
int argv_split(const char *line, const struct argv_syntax *syn, char ***argv, size_t *argc,
	       struct strbuf *err);

#endif
