#ifndef IAMKEYS_PROFILE_EDIT_H
#define IAMKEYS_PROFILE_EDIT_H
/*
 * Editing the shared credentials file (pure: text in, text out). The file
 * is read with the rules of core/awsconfig.h; everything not edited is kept
 * byte for byte: other lines, comments, blank lines, other profiles, line
 * endings (CRLF files stay CRLF), inline comments.
 */
#include <stddef.h>
#include "core/strbuf.h"

/*
 * Sets aws_access_key_id and aws_secret_access_key of profile [profile]
 * in text (len bytes; the credentials file, so "[NAME]" sections) and
 * removes its aws_session_token and aws_security_token (the legacy name of
 * the same setting): a long-lived key has none.
 *
 * - Property names match case-insensitively, the section name exactly
 *   ("[ name ]" with inner whitespace matches, as the parser allows).
 * - An existing property gets its value replaced in place: the text before
 *   the value (indentation, "key = " spacing) and after it (an inline
 *   comment) is kept; continuation lines of the old value are dropped.
 *   When the section or a property appears several times, the last one
 *   is edited (it is the one the parser keeps); every session token of the
 *   profile is removed.
 * - A missing property is added as "name = value" right after the last
 *   property of the last [profile] section (after the header when the
 *   section is empty).
 * - A missing profile is appended: a blank line (none when the file is
 *   empty or already ends with a blank line), "[profile]", then the two
 *   properties. A last line without a newline gets one first.
 * - New lines end like the file's first line (CRLF or LF).
 *
 * out is reset and pre-sized so it never reallocates (no stray copies of
 * the secret); the caller wipes it (strbuf_release_secret). The result is
 * re-parsed and checked before returning. -1 with a one-line message
 * appended to err (never containing the secret) when the text does not
 * parse, profile is not a valid profile name, or key_id / secret are empty
 * or hold characters other than printable ASCII without spaces.
 */
int profile_edit_set_keys(const char *text, size_t len, const char *profile, const char *key_id,
			  const char *secret, struct strbuf *out, struct strbuf *err);

/* Is name a profile name the parser accepts in "[name]" (letters, digits, - / . % @ _ : +)? */
int profile_name_is_valid(const char *name);

#endif
