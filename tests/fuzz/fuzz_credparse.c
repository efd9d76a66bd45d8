/* libFuzzer: the credential JSON parsers (credential_process, ECS, IMDS) and
 * the command-line splitter used for credential_process. */
#include "core/compat.h"
#include "core/credparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum cred_json_format formats[] = { CRED_JSON_PROCESS, CRED_JSON_CONTAINER,
							 CRED_JSON_IMDS };
	struct strbuf err = STRBUF_INIT, line = STRBUF_INIT;
	char *s = NULL, **argv = NULL;
	size_t i, argc = 0;

	for (i = 0; i < ARRAY_SIZE(formats); i++) {
		struct aws_credentials c;
		strbuf_reset(&err);
		if (cred_json_parse(formats[i], (const char *)data, size, &c, &err) == 0) {
			if (!c.access_key_id || !c.secret_access_key)
				abort(); /* success means both are there */
			aws_credentials_release(&c);
		} else if (!err.len || strchr(err.buf, '\n')) {
			abort(); /* errors are one line */
		}
	}
	if (cred_json_string((const char *)data, size, "message", &s) == 0)
		free(s);
	strbuf_add(&line, data, size);
	strbuf_reset(&err);
	if (cred_argv_split(line.buf, &argv, &argc, &err) == 0) {
		if (!argc || argv[argc])
			abort();
		cred_argv_free(argv);
	}
	strbuf_release(&err);
	strbuf_release_secret(&line);
	return 0;
}
