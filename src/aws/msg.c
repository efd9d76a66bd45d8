/* Messages to stderr, one line each, one write each (see msg.h). */
#include "core/compat.h"
#include "aws/msg.h"
#include "core/strbuf.h"

void msg_vline(const char *kind, const char *fmt, va_list ap)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "iamkeys: ");
	if (kind)
		strbuf_addf(&sb, "%s: ", kind);
	strbuf_vaddf(&sb, fmt, ap);
	strbuf_addch(&sb, '\n');
	fwrite(sb.buf, 1, sb.len, stderr);
	strbuf_release(&sb);
}

static enum msg_level level = MSG_NORMAL;

void msg_set_level(enum msg_level l)
{
	level = l;
}

enum msg_level msg_get_level(void)
{
	return level;
}

void verbose(const char *fmt, ...)
{
	va_list ap;

	if (level < MSG_VERBOSE)
		return;
	va_start(ap, fmt);
	msg_vline(NULL, fmt, ap);
	va_end(ap);
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vline("error", fmt, ap);
	va_end(ap);
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;

	if (level == MSG_QUIET)
		return;
	va_start(ap, fmt);
	msg_vline("warning", fmt, ap);
	va_end(ap);
}

void debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vline("debug", fmt, ap);
	va_end(ap);
}

void msg_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vline(NULL, fmt, ap);
	va_end(ap);
}
