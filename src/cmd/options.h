#ifndef IAMKEYS_OPTIONS_H
#define IAMKEYS_OPTIONS_H
/*
 * Command-line options, one table per command (after curl's tool_getparam):
 * each entry names the long option, an optional short letter, the kind of
 * value it takes and where to store it. Accepts "--name value",
 * "--name=value", "-x value", bundled boolean short options are not
 * supported (one letter per word), and "--" ends the options.
 */
#include "core/strbuf.h"

enum opt_kind {
	OPT_BOOL,     /* int *: set to 1 */
	OPT_STRING,   /* const char **: points into argv */
	OPT_STRLIST,  /* struct opt_list *: repeatable */
	OPT_DURATION, /* long long * seconds: core/timeutil duration_parse */
	OPT_INT,      /* int *: a positive decimal number */
	OPT_END
};

struct opt_list {
	const char **items;
	size_t n, alloc;
};
void opt_list_release(struct opt_list *l);

struct option {
	const char *long_name;
	char short_name; /* 0 = none */
	enum opt_kind kind;
	void *dest;
	const char *argh; /* value placeholder for help, e.g. "NAME" */
	const char *help;
	int seen; /* set by the parser */
};
#define OPT_TERMINATOR                                                                             \
	{                                                                                          \
		NULL, 0, OPT_END, NULL, NULL, NULL, 0                                              \
	}

/*
 * Parses argv[0..argc) against opts. Positional arguments are collected in
 * *rest (pointers into argv). Returns 0, or -1 with a one-line usage error
 * in err ("unknown option '--foo'", "option '--output' needs a value",
 * "option '--user' is empty" (a string option's value), "invalid duration
 * ...", "option '--to' given twice: it takes one value": only OPT_STRLIST
 * options repeat). -h/--help sets *help.
 */
int options_parse(struct option *opts, int argc, const char **argv, struct opt_list *rest,
		  int *help, struct strbuf *err);
/* Whether the option named long_name was given (after options_parse). */
int options_seen(const struct option *opts, const char *long_name);
/*
 * Appends text, which starts at column indent, wrapped at spaces so that no
 * line passes 80 columns; continuation lines are indented to indent; then
 * a newline.
 */
void options_add_wrapped(struct strbuf *out, const char *text, size_t indent);
/* Appends the formatted option table (two columns, 80 wide) to out. */
void options_usage(const struct option *opts, struct strbuf *out);

#endif
