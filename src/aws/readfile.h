#ifndef IAMKEYS_READFILE_H
#define IAMKEYS_READFILE_H
/*
 * Whole files read into memory, each with a maximum (curl's dynbuf.h:
 * every buffer has a limit, and every limit is named here). A file over
 * its limit is an error, never silently cut short.
 */
#include <stddef.h>
#include "core/strbuf.h"

#define LIMIT_AWS_SHARED_FILE (1024 * 1024)    /* ~/.aws/credentials, ~/.aws/config */
#define LIMIT_SSO_CACHE_FILE (1024 * 1024)     /* ~/.aws/sso/cache/<hash>.json */
#define LIMIT_WEB_IDENTITY_TOKEN (1024 * 1024) /* AWS_WEB_IDENTITY_TOKEN_FILE */
#define LIMIT_CONTAINER_TOKEN (16 * 1024)      /* AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE */
#define LIMIT_PROCESS_STDOUT (1024 * 1024)     /* credential_process output */
#define LIMIT_PROCESS_STDERR (64 * 1024)       /* credential_process diagnostics */
#define LIMIT_ACCOUNTS_FILE (1024 * 1024)      /* --accounts-file */
#define LIMIT_ROTATE_CONFIG (4 * 1024 * 1024)  /* rotate --config */
#define LIMIT_PLAN_FILE (64u << 20)	       /* rotate --plan (thousands of users) */
#define LIMIT_HTTP_BODY (64u << 20)	       /* one HTTP response body (aws/http_curl.c) */

/*
 * Reads all of path into out (appended), at most max bytes. 0; 1 when the
 * file does not exist (nothing in err); -1 with err ("cannot read 'PATH':
 * ...", or "cannot read the WHAT 'PATH': ..." when what is not NULL) when
 * it cannot be read, is a directory or is larger than max. out may then
 * hold part of the file: release it (strbuf_release_secret for secrets).
 */
int read_file(const char *path, size_t max, const char *what, struct strbuf *out,
	      struct strbuf *err);
/* The same, where a missing file is an error too: 0 / -1. */
int read_file_or_error(const char *path, size_t max, const char *what, struct strbuf *out,
		       struct strbuf *err);

#endif
