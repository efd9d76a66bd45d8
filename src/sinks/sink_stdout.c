#include "core/compat.h"
#include "sinks/sink.h"
#include "core/strbuf.h"

/*
 * "-": the JSON document and a newline on standard output, only when asked
 * for explicitly. stdio is flushed first (to keep the order of what was
 * printed before), then the document goes out with write(2), so no stdio
 * buffer keeps a copy of the secret. The command may have moved its own
 * output to standard error first (sink_stdout_use_fd), so that standard
 * output carries the secret document alone.
 */

static int secret_fd = STDOUT_FILENO;

void sink_stdout_use_fd(int fd)
{
	secret_fd = fd;
}

static int stdout_deliver(struct sink *k, const struct new_secret *s, struct strbuf *err)
{
	struct strbuf json = STRBUF_INIT;
	int ret = 0;

	if (fflush(stdout)) {
		strbuf_addf(err, "%s: cannot write to standard output: %s", k->target,
			    strerror(errno));
		return -1;
	}
	new_secret_json(&json, s);
	strbuf_addch(&json, '\n');
	if (sink_write_all(secret_fd, json.buf, json.len, 0)) {
		strbuf_addf(err, "%s: cannot write to standard output: %s", k->target,
			    strerror(errno));
		ret = -1;
	}
	strbuf_release_secret(&json);
	return ret;
}

static const struct sink_vtable stdout_vtable = {
	.scheme = "-",
	.deliver = stdout_deliver,
};

struct sink *sink_stdout_new(char *target, struct strbuf *err)
{
	return sink_alloc(sizeof(struct sink), &stdout_vtable, target, NULL);
}
