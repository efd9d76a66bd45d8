#ifndef IAMKEYS_MSG_H
#define IAMKEYS_MSG_H
/*
 * Messages to stderr, one line each (git's error() / warning()):
 *   iamkeys: error: cannot read '/x': No such file or directory
 *   iamkeys: warning: ...
 *   iamkeys: debug: ...      (only where --debug asked for it: callers check)
 * Each line is written with one call, so lines from worker threads never
 * interleave. Lowercase, no trailing period, the subject in quotes.
 * Every layer above core/ reports through these, never with "iamkeys: " by hand.
 */
#include "core/compat.h"

/*
 * How much goes to stderr: --quiet (errors only), the default, --verbose
 * (also what is being waited for: retries, a new key's propagation). Set
 * once by the command layer before any thread starts.
 */
enum msg_level { MSG_QUIET = 0, MSG_NORMAL = 1, MSG_VERBOSE = 2 };
void msg_set_level(enum msg_level level);
enum msg_level msg_get_level(void);
/* "iamkeys: ..." under --verbose only */
void verbose(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* Prints the error line and returns -1, so code reads return error("...", x). */
int error(const char *fmt, ...) PRINTF_LIKE(1, 2);
void warning(const char *fmt, ...) PRINTF_LIKE(1, 2);
void debug(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* "iamkeys: " and the formatted text, with no kind (usage errors, notes). */
void msg_line(const char *fmt, ...) PRINTF_LIKE(1, 2);
void msg_vline(const char *kind, const char *fmt, va_list ap);

#endif
