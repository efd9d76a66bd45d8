#ifndef IAMKEYS_AWSCREDS_H
#define IAMKEYS_AWSCREDS_H
#include <time.h>

/*
 * One set of AWS credentials. All strings are owned by the struct and are
 * wiped when released. expiration is 0 for long-lived keys.
 */
struct aws_credentials {
	char *access_key_id;
	char *secret_access_key;
	char *session_token; /* NULL for long-lived keys */
	time_t expiration;   /* 0 = never */
	char *account_id;    /* optional, NULL when unknown */
};

/* Wipes (OPENSSL_cleanse) and frees every member; leaves *c zeroed. NULL-safe. */
void aws_credentials_release(struct aws_credentials *c);
/* Deep copy: dst must be released by the caller. */
void aws_credentials_copy(struct aws_credentials *dst, const struct aws_credentials *src);

#endif
