#include "core/compat.h"
#include "cmd/options.h"
#include "core/timeutil.h"

void opt_list_release(struct opt_list *l)
{
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static void opt_list_push(struct opt_list *l, const char *s)
{
	ALLOC_GROW(l->items, l->n + 1, l->alloc);
	l->items[l->n++] = s;
}

static struct option *find_long(struct option *opts, const char *name, size_t len)
{
	for (; opts->kind != OPT_END; opts++)
		if (opts->long_name && strlen(opts->long_name) == len &&
		    !strncmp(opts->long_name, name, len))
			return opts;
	return NULL;
}

static struct option *find_short(struct option *opts, char c)
{
	for (; opts->kind != OPT_END; opts++)
		if (opts->short_name == c)
			return opts;
	return NULL;
}

static int parse_positive_int(const char *s, int *out)
{
	long v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			return -1;
	}
	*out = (int)v;
	return 0;
}

static int store_value(struct option *o, const char *display, const char *value, struct strbuf *err)
{
	/* no option takes an empty name, path or spec ("--user ''" is a slip, not a user) */
	if (!*value && (o->kind == OPT_STRING || o->kind == OPT_STRLIST)) {
		strbuf_addf(err, "option '%s' is empty", display);
		return -1;
	}
	switch (o->kind) {
	case OPT_STRING:
		*(const char **)o->dest = value;
		return 0;
	case OPT_STRLIST:
		opt_list_push(o->dest, value);
		return 0;
	case OPT_DURATION: {
		struct strbuf e = STRBUF_INIT;
		if (duration_parse(value, o->dest, &e) < 0) {
			strbuf_addf(err, "option '%s': %s", display, e.buf);
			strbuf_release(&e);
			return -1;
		}
		strbuf_release(&e);
		return 0;
	}
	case OPT_INT:
		if (parse_positive_int(value, o->dest) < 0 || *(int *)o->dest < 1) {
			strbuf_addf(err, "option '%s' needs a positive whole number, not '%s'",
				    display, value);
			return -1;
		}
		return 0;
	default:
		return -1;
	}
}

int options_seen(const struct option *opts, const char *long_name)
{
	for (; opts->kind != OPT_END; opts++)
		if (opts->long_name && !strcmp(opts->long_name, long_name))
			return opts->seen;
	return 0;
}

int options_parse(struct option *opts, int argc, const char **argv, struct opt_list *rest,
		  int *help, struct strbuf *err)
{
	int i;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		struct option *o;
		const char *value = NULL;
		char display[64];

		if (!strcmp(a, "--")) {
			for (i++; i < argc; i++)
				opt_list_push(rest, argv[i]);
			break;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			*help = 1;
			continue;
		}
		if (!strncmp(a, "--", 2)) {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			o = find_long(opts, a + 2, len);
			snprintf(display, sizeof(display), "--%.*s", (int)(len > 40 ? 40 : len),
				 a + 2);
			if (!o) {
				strbuf_addf(err, "unknown option '%s'", display);
				return -1;
			}
			if (eq) {
				if (o->kind == OPT_BOOL) {
					strbuf_addf(err, "option '%s' takes no value", display);
					return -1;
				}
				value = eq + 1;
			}
		} else if (a[0] == '-' && a[1] && !a[2]) {
			o = find_short(opts, a[1]);
			snprintf(display, sizeof(display), "-%c", a[1]);
			if (!o) {
				strbuf_addf(err, "unknown option '%s'", display);
				return -1;
			}
		} else if (a[0] == '-' && a[1]) {
			strbuf_addf(err, "unknown option '%.40s'", a);
			return -1;
		} else {
			opt_list_push(rest, a);
			continue;
		}
		if (o->seen && o->kind != OPT_BOOL && o->kind != OPT_STRLIST) {
			/* the last one winning would silently drop the first */
			strbuf_addf(err, "option '%s' given twice: it takes one value", display);
			return -1;
		}
		o->seen = 1;
		if (o->kind == OPT_BOOL) {
			*(int *)o->dest = 1;
			continue;
		}
		if (!value) {
			if (i + 1 >= argc) {
				strbuf_addf(err, "option '%s' needs a value", display);
				return -1;
			}
			value = argv[++i];
		}
		if (store_value(o, display, value, err) < 0)
			return -1;
	}
	return 0;
}

#define HELP_INDENT 30
#define HELP_WIDTH 80

void options_add_wrapped(struct strbuf *out, const char *text, size_t indent)
{
	const size_t room = HELP_WIDTH - indent;

	while (strlen(text) > room) {
		size_t cut = room;

		while (cut > 0 && text[cut] != ' ')
			cut--;
		if (!cut) /* one word longer than the room */
			cut = strcspn(text, " ");
		strbuf_add(out, text, cut);
		strbuf_addf(out, "\n%*s", (int)indent, "");
		text += cut;
		while (*text == ' ')
			text++;
	}
	strbuf_addf(out, "%s\n", text);
}

void options_usage(const struct option *opts, struct strbuf *out)
{
	for (; opts->kind != OPT_END; opts++) {
		struct strbuf left = STRBUF_INIT;
		if (!opts->help)
			continue;
		if (opts->short_name)
			strbuf_addf(&left, "  -%c, --%s", opts->short_name, opts->long_name);
		else
			strbuf_addf(&left, "      --%s", opts->long_name);
		if (opts->kind != OPT_BOOL)
			strbuf_addf(&left, " %s", opts->argh ? opts->argh : "VALUE");
		if (left.len < HELP_INDENT)
			strbuf_addf(out, "%-*s", HELP_INDENT, left.buf);
		else
			strbuf_addf(out, "%s\n%*s", left.buf, HELP_INDENT, "");
		options_add_wrapped(out, opts->help, HELP_INDENT);
		strbuf_release(&left);
	}
}
