#ifndef IAMKEYS_COMPAT_H
#define IAMKEYS_COMPAT_H
/*
 * Include this first in every .c file: it pulls in the system headers the
 * project uses and then banned.h, which must come after all of them.
 * Library headers (curl, OpenSSL, libxml2, jansson) may follow it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* free(p) and set p to NULL (git's FREE_AND_NULL). */
#define FREE_AND_NULL(p)                                                                           \
	do {                                                                                       \
		free(p);                                                                           \
		(p) = NULL;                                                                        \
	} while (0)

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define MAYBE_UNUSED __attribute__((unused))
#else
#define PRINTF_LIKE(f, a)
#define MAYBE_UNUSED
#endif

#include "core/banned.h"

#endif
