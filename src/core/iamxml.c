#include "core/compat.h"
#include "core/iamxml.h"
#include "core/base64.h"
#include "core/timeutil.h"
#include "core/xmlcompat.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlerror.h>
#include <openssl/crypto.h>

/*
 * awsQuery responses look like
 *
 *   <OpResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
 *     <OpResult>...</OpResult>
 *     <ResponseMetadata><RequestId>...</RequestId></ResponseMetadata>
 *   </OpResponse>
 *
 * with lists as <Name><member>...</member>...</Name> and maps as
 * <Name><entry><key/><value/></entry>...</Name>. Elements are matched by
 * local name whatever their namespace (the docs print some samples without
 * xmlns). libxml2 builds a tree; a document with a DOCTYPE is refused as
 * soon as the parser sees it (AWS never sends one), so no entity can be
 * declared, expanded or fetched, and nothing is loaded from the network.
 */

static int fail(struct strbuf *err, const char *fmt, ...) PRINTF_LIKE(2, 3);
static int fail(struct strbuf *err, const char *fmt, ...)
{
	va_list ap;

	strbuf_reset(err);
	va_start(ap, fmt);
	strbuf_vaddf(err, fmt, ap);
	va_end(ap);
	return -1;
}

/* Appends s (at most max bytes) with control characters replaced, for messages. */
static void add_printable(struct strbuf *sb, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] && i < max; i++)
		strbuf_addch(sb, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i]);
	if (s[i])
		strbuf_addstr(sb, "...");
}

/* ---- parsing ---------------------------------------------------------- */

/*
 * Where the character data of one element goes instead of the tree, piece
 * by piece as the parser reads it: for a text too large to hold twice (the
 * credential report's Content). The element is the first one named name
 * whose parent is named parent and is the root's child (any namespace).
 */
struct text_sink {
	const char *parent, *name;
	void (*add)(void *ctx, const char *text, size_t len);
	void *ctx;
	xmlNodePtr node; /* set by the parse: the element whose text went to add */
};

struct parse_state {
	struct strbuf msg; /* the first error, one line */
	int saw_doctype;
};

/* parse_xml_with's state: ctxt->_private points to st, so to the whole. */
struct sink_state {
	struct parse_state st;	/* first */
	struct text_sink *sink; /* NULL: all text goes to the tree */
	charactersSAXFunc characters;
	cdataBlockSAXFunc cdata;
};

static void record_error(struct parse_state *st, const xmlError *e, int fallback_line);

/* Structured error handler: keeps the first error, drops warnings, prints nothing. */
static void on_xml_error(void *data, xml_error_arg e)
{
	xmlParserCtxtPtr ctxt = data;

	record_error(ctxt ? ctxt->_private : NULL, e, ctxt && ctxt->input ? ctxt->input->line : 0);
}

/* Keeps the first error of st as one line; drops warnings. */
static void record_error(struct parse_state *st, const xmlError *e, int fallback_line)
{
	const char *m;
	size_t start;
	int space = 0, line;

	if (!st || !e || e->level < XML_ERR_ERROR || st->msg.len)
		return;
	/* errors raised outside the parser (encoding conversion) carry no line */
	line = e->line > 0 ? e->line : fallback_line;
	if (line > 0)
		strbuf_addf(&st->msg, "malformed XML at line %d: ", line);
	else
		strbuf_addstr(&st->msg, "malformed XML: ");
	start = st->msg.len;
	/* one line: control characters and runs of spaces become one space */
	for (m = e->message ? e->message : "parse error"; *m; m++) {
		unsigned char c = (unsigned char)*m;
		if (c < 0x20 || c == ' ' || c == 0x7f) {
			space = 1;
			continue;
		}
		if (space && st->msg.len > start)
			strbuf_addch(&st->msg, ' ');
		space = 0;
		strbuf_addch(&st->msg, c);
	}
	if (st->msg.len == start)
		strbuf_addstr(&st->msg, "parse error");
}

/* For libxml2's generic error channel: print nothing. */
static void ignore_generic_error(void *data, const char *fmt, ...)
{
}

/* SAX hook called when the parser meets <!DOCTYPE: stop right there. */
static void on_doctype(void *data, const xmlChar *name, const xmlChar *external_id,
		       const xmlChar *system_id)
{
	xmlParserCtxtPtr ctxt = data;
	struct parse_state *st = ctxt->_private;

	if (st)
		st->saw_doctype = 1;
	xmlStopParser(ctxt);
}

static int name_is(const xmlNode *n, const char *name, size_t len);

/* Is n the sink's element? The first match is the only one. */
static int is_sink_node(struct text_sink *s, xmlNodePtr n)
{
	xmlNodePtr p;

	if (s->node || !n)
		return n && n == s->node;
	p = n->parent;
	if (!name_is(n, s->name, strlen(s->name)) || !p ||
	    !name_is(p, s->parent, strlen(s->parent)) || !p->parent ||
	    p->parent->type != XML_ELEMENT_NODE || !p->parent->parent ||
	    p->parent->parent->type != XML_DOCUMENT_NODE)
		return 0;
	s->node = n;
	return 1;
}

/* SAX hooks for text and CDATA when a sink is set: ctxt->node is the open element. */
static void sink_characters(void *data, const xmlChar *ch, int len)
{
	xmlParserCtxtPtr ctxt = data;
	struct sink_state *st = ctxt->_private;

	if (is_sink_node(st->sink, ctxt->node))
		st->sink->add(st->sink->ctx, (const char *)ch, (size_t)len);
	else if (st->characters)
		st->characters(data, ch, len);
}

static void sink_cdata(void *data, const xmlChar *ch, int len)
{
	xmlParserCtxtPtr ctxt = data;
	struct sink_state *st = ctxt->_private;

	if (is_sink_node(st->sink, ctxt->node))
		st->sink->add(st->sink->ctx, (const char *)ch, (size_t)len);
	else if (st->cdata)
		st->cdata(data, ch, len);
	else if (st->characters)
		st->characters(data, ch, len);
}

/* The input of a sink's parse: read piece by piece rather than copied whole. */
struct mem_input {
	const char *p;
	size_t left;
};

static int read_mem_input(void *ctx, char *buf, int len)
{
	struct mem_input *in = ctx;
	size_t n = len > 0 ? (size_t)len : 0;

	if (n > in->left)
		n = in->left;
	memcpy(buf, in->p, n);
	in->p += n;
	in->left -= n;
	return (int)n;
}

/*
 * Parses a whole response: NULL with err on malformed XML (any error, not
 * only fatal ones; warnings are ignored) or a DOCTYPE. The parser's copy of
 * the input is freed here, before any field is read; the returned tree
 * still holds the text (callers wipe secret text nodes, see take_text) and
 * is freed by the caller as soon as the fields are copied out. Without
 * XML_PARSE_HUGE a text node is limited to 10 MB; the text of a sink's
 * element (sink may be NULL) is not in the tree, and only the HTTP body
 * limit bounds it.
 */
/* The libxml2 error handlers in force, put back once a parse is done. */
struct saved_handlers {
	xmlStructuredErrorFunc serror;
	void *serror_ctx;
	xmlGenericErrorFunc error;
	void *error_ctx;
};

static void handlers_save(struct saved_handlers *h, void *ctx, xmlStructuredErrorFunc on_error)
{
	h->serror = xmlStructuredError;
	h->serror_ctx = xmlStructuredErrorContext;
	h->error = xmlGenericError;
	h->error_ctx = xmlGenericErrorContext;
	xmlSetStructuredErrorFunc(ctx, on_error);
	xmlSetGenericErrorFunc(NULL, ignore_generic_error);
}

static void handlers_restore(const struct saved_handlers *h)
{
	xmlSetStructuredErrorFunc(h->serror_ctx, h->serror);
	xmlSetGenericErrorFunc(h->error_ctx, h->error);
}

static xmlDocPtr parse_xml_with(const char *xml, size_t len, struct text_sink *sink,
				struct strbuf *err)
{
	struct sink_state ss = { { STRBUF_INIT, 0 }, NULL, NULL, NULL };
	struct mem_input in = { xml, len };
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc = NULL;
	int wellformed;
	struct saved_handlers saved;

	if (!xml || !len) {
		fail(err, "empty XML response");
		return NULL;
	}
	if (len > INT_MAX) {
		fail(err, "XML response too large (%zu bytes)", len);
		return NULL;
	}
	xmlInitParser();
	/*
	 * A memory parser copies the whole input first; with a sink (a large
	 * response) the parser reads it as it goes, as from a file, and keeps
	 * only a window of it.
	 */
	if (sink)
		ctxt = xmlCreateIOParserCtxt(NULL, NULL, read_mem_input, NULL, &in,
					     XML_CHAR_ENCODING_NONE);
	else
		ctxt = xmlCreateMemoryParserCtxt(xml, (int)len);
	if (!ctxt) {
		fail(err, "cannot create an XML parser");
		return NULL;
	}
	/*
	 * No XML_PARSE_NOENT, DTDLOAD, DTDATTR, XINCLUDE or HUGE; no NOBLANKS
	 * either, which could drop whitespace-only leaf text. NOERROR and
	 * NOWARNING only silence the default (stderr) reporters: errors still
	 * reach on_xml_error.
	 */
	xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	ctxt->_private = &ss.st;
	ctxt->sax->serror = on_xml_error;
	ctxt->sax->internalSubset = on_doctype;
	if (sink) {
		sink->node = NULL;
		ss.sink = sink;
		ss.characters = ctxt->sax->characters;
		ss.cdata = ctxt->sax->cdataBlock;
		/* libxml2 tells blanks apart only when the two differ: keep them equal */
		if (ctxt->sax->ignorableWhitespace == ctxt->sax->characters)
			ctxt->sax->ignorableWhitespace = sink_characters;
		ctxt->sax->characters = sink_characters;
		ctxt->sax->cdataBlock = sink_cdata;
	}

	/*
	 * Some errors (encoding conversion, I/O) are raised without the parser
	 * context and would go to the process-wide channels, i.e. stderr. These
	 * are per-thread in libxml2; point them at us for the parse only.
	 */
	handlers_save(&saved, ctxt, on_xml_error);
	xmlParseDocument(ctxt);
	handlers_restore(&saved);
	wellformed = ctxt->wellFormed && ctxt->nsWellFormed;
	doc = ctxt->myDoc;
	ctxt->myDoc = NULL;
	ctxt->_private = NULL;
	xmlFreeParserCtxt(ctxt);

	if (ss.st.saw_doctype) {
		fail(err, "refusing XML with a DOCTYPE declaration");
	} else if (ss.st.msg.len) {
		fail(err, "%s", ss.st.msg.buf);
	} else if (!wellformed || !doc) {
		fail(err, "malformed XML");
	} else if (doc->intSubset || doc->extSubset) {
		fail(err, "refusing XML with a DOCTYPE declaration");
	} else if (!xmlDocGetRootElement(doc)) {
		fail(err, "XML response has no root element");
	} else {
		strbuf_release(&ss.st.msg);
		return doc;
	}
	strbuf_release(&ss.st.msg);
	if (doc)
		xmlFreeDoc(doc);
	if (sink)
		sink->node = NULL;
	return NULL;
}

static xmlDocPtr parse_xml(const char *xml, size_t len, struct strbuf *err)
{
	return parse_xml_with(xml, len, NULL, err);
}

/* ---- tree access ------------------------------------------------------ */

static int name_is(const xmlNode *n, const char *name, size_t len)
{
	const char *nn = (const char *)n->name;

	return n->type == XML_ELEMENT_NODE && nn && !strncmp(nn, name, len) && !nn[len];
}

static xmlNodePtr next_elem(xmlNodePtr n, const char *name, size_t len)
{
	for (; n; n = n->next)
		if (name_is(n, name, len))
			return n;
	return NULL;
}

/* The first child element with this local name (any namespace), or NULL. */
static xmlNodePtr child(xmlNodePtr parent, const char *name)
{
	return parent ? next_elem(parent->children, name, strlen(name)) : NULL;
}

/* The next sibling element with the same name as n. */
static xmlNodePtr next_same(xmlNodePtr n)
{
	return next_elem(n->next, (const char *)n->name, strlen((const char *)n->name));
}

/* Follows "A/B/C" from parent, taking the first match at each step. */
static xmlNodePtr path(xmlNodePtr parent, const char *p)
{
	while (parent && *p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		parent = next_elem(parent->children, p, len);
		p += len;
		if (*p == '/')
			p++;
	}
	return parent;
}

static size_t count_same(xmlNodePtr first)
{
	size_t n = 0;

	for (; first; first = next_same(first))
		n++;
	return n;
}

enum text_kind {
	TEXT_EXACT,  /* names, ARNs, paths, messages: as sent */
	TEXT_TOKEN,  /* ids, dates, states, markers: surrounding whitespace trimmed */
	TEXT_SECRET, /* as TEXT_TOKEN, and the copies are wiped */
};

static int is_xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * The text of an element (its text and CDATA children; entities are
 * already decoded). For secrets, the tree's own text nodes are wiped too:
 * libxml2 keeps them in malloc'd node->content unless interned in the
 * dictionary (short or blank strings), which we leave alone. Copies the
 * parser made while reading (its input buffer, grown text buffers) are
 * beyond reach; the parser context is already freed and the document is
 * freed right after the fields are copied.
 */
static char *take_text(xmlNodePtr n, enum text_kind kind)
{
	struct strbuf sb = STRBUF_INIT;
	xmlNodePtr c;
	size_t start = 0, end;
	char *ret;

	for (c = n->children; c; c = c->next)
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
			strbuf_addstr(&sb, (const char *)c->content);
	end = sb.len;
	if (kind != TEXT_EXACT) {
		while (start < end && is_xml_space(sb.buf[start]))
			start++;
		while (end > start && is_xml_space(sb.buf[end - 1]))
			end--;
	}
	ret = xmemdupz(sb.buf + start, end - start);
	if (kind != TEXT_SECRET) {
		strbuf_release(&sb);
		return ret;
	}
	strbuf_release_secret(&sb);
	for (c = n->children; c; c = c->next)
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content &&
		    xmlDictOwns(n->doc ? n->doc->dict : NULL, c->content) != 1 &&
		    c->content != (xmlChar *)&c->properties)
			OPENSSL_cleanse(c->content, strlen((const char *)c->content));
	return ret;
}

/* Text of the element at path under parent; NULL if absent. */
static char *text_at(xmlNodePtr parent, const char *p, enum text_kind kind)
{
	xmlNodePtr n = path(parent, p);

	return n ? take_text(n, kind) : NULL;
}

/* ---- response framing ------------------------------------------------- */

/*
 * Parses and checks the frame <op>Response/<op>Result. On success *docp
 * and *result are set (result NULL when want_result is 0). sink: see
 * parse_xml_with.
 */
static int open_response_with(const char *op, const char *xml, size_t len, int want_result,
			      struct text_sink *sink, xmlDocPtr *docp, xmlNodePtr *result,
			      struct strbuf *err)
{
	xmlDocPtr doc = parse_xml_with(xml, len, sink, err);
	xmlNodePtr root, res = NULL;
	char name[96];
	size_t oplen = strlen(op);

	*docp = NULL;
	*result = NULL;
	if (!doc)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (oplen + sizeof("Response") > sizeof(name))
		abort();
	memcpy(name, op, oplen);
	memcpy(name + oplen, "Response", sizeof("Response"));
	if (!name_is(root, name, strlen(name))) {
		fail(err, "%s response has no %sResult (root element is '", op, op);
		add_printable(err, (const char *)root->name, 64);
		strbuf_addch(err, '\'');
		strbuf_addch(err, ')');
		xmlFreeDoc(doc);
		return -1;
	}
	if (want_result) {
		memcpy(name + oplen, "Result", sizeof("Result"));
		res = child(root, name);
		if (!res) {
			fail(err, "%s response has no %s", op, name);
			xmlFreeDoc(doc);
			return -1;
		}
	}
	*docp = doc;
	*result = res;
	return 0;
}

static int open_response(const char *op, const char *xml, size_t len, int want_result,
			 xmlDocPtr *docp, xmlNodePtr *result, struct strbuf *err)
{
	return open_response_with(op, xml, len, want_result, NULL, docp, result, err);
}

static char *request_id_of(xmlNodePtr root)
{
	return text_at(root, "ResponseMetadata/RequestId", TEXT_TOKEN);
}

/* IsTruncated and Marker; marker is left NULL unless truncated. */
static int parse_paging(const char *op, xmlNodePtr result, int *is_truncated, char **marker,
			struct strbuf *err)
{
	char *t = text_at(result, "IsTruncated", TEXT_TOKEN);
	int ret = 0;

	*is_truncated = 0;
	*marker = NULL;
	if (!t)
		return 0;
	if (!strcasecmp(t, "true"))
		*is_truncated = 1;
	else if (strcasecmp(t, "false"))
		ret = fail(err, "%s response has an invalid IsTruncated value", op);
	free(t);
	if (ret || !*is_truncated)
		return ret;
	*marker = text_at(result, "Marker", TEXT_TOKEN);
	if (!*marker || !**marker) {
		free(*marker);
		*marker = NULL;
		*is_truncated = 0;
		return fail(err, "%s response is truncated but has no Marker", op);
	}
	return 0;
}

/* ---- errors ----------------------------------------------------------- */

void aws_error_release(struct aws_error *e)
{
	if (!e)
		return;
	FREE_ALL(e->type, e->code, e->message, e->request_id);
	e->type = e->code = e->message = e->request_id = NULL;
}

int aws_parse_xml_error(const char *xml, size_t len, struct aws_error *out, struct strbuf *err)
{
	xmlDocPtr doc;
	xmlNodePtr root, e;
	int status = out->http_status;

	memset(out, 0, sizeof(*out));
	out->http_status = status;
	doc = parse_xml(xml, len, err);
	if (!doc)
		return -1;
	root = xmlDocGetRootElement(doc);
	/*
	 * <ErrorResponse><Error>..</Error><RequestId/></ErrorResponse> (IAM, STS),
	 * <ErrorResponse><Errors><Error>.. and <Response><Errors><Error>..
	 * <RequestID/></Response> (EC2 style). A bare <Error> root is accepted too.
	 */
	if (name_is(root, "Error", 5)) {
		e = root;
	} else {
		e = child(root, "Error");
		if (!e)
			e = path(root, "Errors/Error");
	}
	if (!e) {
		fail(err, "not an AWS error response (root element is '");
		add_printable(err, (const char *)root->name, 64);
		strbuf_addstr(err, "')");
		xmlFreeDoc(doc);
		return -1;
	}
	out->code = text_at(e, "Code", TEXT_TOKEN);
	if (!out->code || !*out->code) {
		xmlFreeDoc(doc);
		aws_error_release(out);
		return fail(err, "AWS error response has no Code");
	}
	out->type = text_at(e, "Type", TEXT_TOKEN);
	out->message = text_at(e, "Message", TEXT_EXACT);
	out->request_id = text_at(root, "RequestId", TEXT_TOKEN);
	if (!out->request_id)
		out->request_id = text_at(root, "RequestID", TEXT_TOKEN);
	if (!out->request_id)
		out->request_id = request_id_of(root);
	if (!out->request_id)
		out->request_id = text_at(e, "RequestId", TEXT_TOKEN);
	xmlFreeDoc(doc);
	return 0;
}

/* ---- users ------------------------------------------------------------ */

static void tags_free(struct iam_tag *tags, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		FREE_ALL(tags[i].key, tags[i].value);
	free(tags);
}

void iam_tags_split(const struct iam_tag *tags, size_t n, const char ***keys, const char ***values)
{
	size_t i;

	*keys = xcalloc(n + 1, sizeof(**keys));
	*values = xcalloc(n + 1, sizeof(**values));
	for (i = 0; i < n; i++) {
		(*keys)[i] = tags[i].key;
		(*values)[i] = tags[i].value;
	}
}

/* <member><Key/><Value/></member>... under list (may be NULL). */
static int parse_tags(const char *op, xmlNodePtr list, struct iam_tag **tags, size_t *ntags,
		      struct strbuf *err)
{
	xmlNodePtr m = child(list, "member");
	size_t n = count_same(m), i;

	*tags = NULL;
	*ntags = 0;
	if (!n)
		return 0;
	*tags = xcalloc(n, sizeof(**tags));
	for (i = 0; m; m = next_same(m), i++) {
		struct iam_tag *t = &(*tags)[i];

		t->key = text_at(m, "Key", TEXT_EXACT);
		t->value = text_at(m, "Value", TEXT_EXACT);
		*ntags = i + 1;
		if (!t->key)
			return fail(err, "%s response has a tag without Key", op);
		if (!t->value)
			t->value = xstrdup("");
	}
	return 0;
}

static int parse_user(const char *op, xmlNodePtr n, struct iam_user *u, struct strbuf *err)
{
	u->user_name = text_at(n, "UserName", TEXT_EXACT);
	u->user_id = text_at(n, "UserId", TEXT_TOKEN);
	u->arn = text_at(n, "Arn", TEXT_EXACT);
	u->path = text_at(n, "Path", TEXT_EXACT);
	u->create_date = text_at(n, "CreateDate", TEXT_TOKEN);
	u->password_last_used = text_at(n, "PasswordLastUsed", TEXT_TOKEN);
	return parse_tags(op, child(n, "Tags"), &u->tags, &u->ntags, err);
}

void iam_user_release(struct iam_user *u)
{
	if (!u)
		return;
	FREE_ALL(u->user_name, u->user_id, u->arn, u->path, u->create_date, u->password_last_used);
	tags_free(u->tags, u->ntags);
	memset(u, 0, sizeof(*u));
}

void iam_user_page_release(struct iam_user_page *p)
{
	if (!p)
		return;
	FREE_ARRAY(p->users, p->nusers, iam_user_release);
	FREE_ALL(p->marker, p->request_id);
	memset(p, 0, sizeof(*p));
}

static int stream_list(const char *op, const char *xml, size_t len, const char *list,
		       int (*on_member)(xmlNodePtr m, void *ctx, struct strbuf *err), void *ctx,
		       int *is_truncated, char **marker, char **request_id, struct strbuf *err);

struct user_stream {
	struct iam_user_page *out;
	size_t alloc;
};

static int list_users_member(xmlNodePtr m, void *ctx, struct strbuf *err)
{
	struct user_stream *us = ctx;
	struct iam_user *u;

	ALLOC_GROW(us->out->users, us->out->nusers + 1, us->alloc);
	u = &us->out->users[us->out->nusers++];
	memset(u, 0, sizeof(*u));
	if (parse_user("ListUsers", m, u, err))
		return -1;
	if (!u->user_name || !*u->user_name)
		return fail(err, "ListUsers response has a user without UserName");
	return 0;
}

/* Streamed (see stream_list): a page of 1,000 users is never a whole tree. */
int iam_parse_list_users(const char *xml, size_t len, struct iam_user_page *out, struct strbuf *err)
{
	struct user_stream us = { out, 0 };

	memset(out, 0, sizeof(*out));
	if (stream_list("ListUsers", xml, len, "Users", list_users_member, &us, &out->is_truncated,
			&out->marker, &out->request_id, err) < 0) {
		iam_user_page_release(out);
		return -1;
	}
	return 0;
}

int iam_parse_get_user(const char *xml, size_t len, struct iam_user *out, struct strbuf *err)
{
	xmlDocPtr doc;
	xmlNodePtr res, u;

	memset(out, 0, sizeof(*out));
	if (open_response("GetUser", xml, len, 1, &doc, &res, err))
		return -1;
	u = child(res, "User");
	if (!u) {
		xmlFreeDoc(doc);
		return fail(err, "GetUser response has no User");
	}
	/* no required fields: the root user has neither UserName nor Path */
	if (parse_user("GetUser", u, out, err)) {
		xmlFreeDoc(doc);
		iam_user_release(out);
		return -1;
	}
	xmlFreeDoc(doc);
	return 0;
}

/* ---- access keys ------------------------------------------------------ */

static void parse_key(xmlNodePtr n, struct iam_access_key *k)
{
	k->user_name = text_at(n, "UserName", TEXT_EXACT);
	k->access_key_id = text_at(n, "AccessKeyId", TEXT_TOKEN);
	k->status = text_at(n, "Status", TEXT_TOKEN);
	k->create_date = text_at(n, "CreateDate", TEXT_TOKEN);
}

void iam_access_key_release(struct iam_access_key *k)
{
	if (!k)
		return;
	free_secret(k->secret_access_key);
	FREE_ALL(k->user_name, k->access_key_id, k->status, k->create_date);
	memset(k, 0, sizeof(*k));
}

void iam_access_key_page_release(struct iam_access_key_page *p)
{
	if (!p)
		return;
	FREE_ARRAY(p->keys, p->nkeys, iam_access_key_release);
	FREE_ALL(p->marker, p->request_id);
	memset(p, 0, sizeof(*p));
}

int iam_parse_list_access_keys(const char *xml, size_t len, struct iam_access_key_page *out,
			       struct strbuf *err)
{
	xmlDocPtr doc;
	xmlNodePtr res, m;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (open_response("ListAccessKeys", xml, len, 1, &doc, &res, err))
		return -1;
	m = path(res, "AccessKeyMetadata/member");
	n = count_same(m);
	if (n)
		out->keys = xcalloc(n, sizeof(*out->keys));
	for (; m; m = next_same(m)) {
		struct iam_access_key *k = &out->keys[out->nkeys++];

		parse_key(m, k);
		if (!k->access_key_id || !*k->access_key_id) {
			fail(err, "ListAccessKeys response has a key without AccessKeyId");
			goto fail;
		}
	}
	if (parse_paging("ListAccessKeys", res, &out->is_truncated, &out->marker, err))
		goto fail;
	out->request_id = request_id_of(xmlDocGetRootElement(doc));
	xmlFreeDoc(doc);
	return 0;
fail:
	xmlFreeDoc(doc);
	iam_access_key_page_release(out);
	return -1;
}

int iam_parse_create_access_key(const char *xml, size_t len, struct iam_access_key *out,
				struct strbuf *err)
{
	xmlDocPtr doc;
	xmlNodePtr res, k;

	memset(out, 0, sizeof(*out));
	if (open_response("CreateAccessKey", xml, len, 1, &doc, &res, err))
		return -1;
	k = child(res, "AccessKey");
	if (!k) {
		xmlFreeDoc(doc);
		return fail(err, "CreateAccessKey response has no AccessKey");
	}
	parse_key(k, out);
	out->secret_access_key = text_at(k, "SecretAccessKey", TEXT_SECRET);
	/* the secret's text is wiped in the tree; free the tree at once */
	xmlFreeDoc(doc);
	if (!out->access_key_id || !*out->access_key_id) {
		iam_access_key_release(out);
		return fail(err, "CreateAccessKey response has no AccessKeyId");
	}
	if (!out->secret_access_key || !*out->secret_access_key) {
		iam_access_key_release(out);
		return fail(err, "CreateAccessKey response has no SecretAccessKey");
	}
	return 0;
}

/* AWS says "N/A" (or sends nothing) for a key never used: that is absent. */
static char *absent_if_na(char *s)
{
	if (s && (!*s || !strcmp(s, "N/A")))
		FREE_AND_NULL(s);
	return s;
}

void iam_key_last_used_release(struct iam_key_last_used *l)
{
	if (!l)
		return;
	FREE_ALL(l->user_name, l->last_used_date, l->service_name, l->region);
	memset(l, 0, sizeof(*l));
}

int iam_parse_get_access_key_last_used(const char *xml, size_t len, struct iam_key_last_used *out,
				       struct strbuf *err)
{
	xmlDocPtr doc;
	xmlNodePtr res, lu;

	memset(out, 0, sizeof(*out));
	if (open_response("GetAccessKeyLastUsed", xml, len, 1, &doc, &res, err))
		return -1;
	out->user_name = text_at(res, "UserName", TEXT_EXACT);
	lu = child(res, "AccessKeyLastUsed");
	out->last_used_date = absent_if_na(text_at(lu, "LastUsedDate", TEXT_TOKEN));
	out->service_name = absent_if_na(text_at(lu, "ServiceName", TEXT_TOKEN));
	out->region = absent_if_na(text_at(lu, "Region", TEXT_TOKEN));
	xmlFreeDoc(doc);
	return 0;
}

/* ---- credential report ------------------------------------------------ */

int iam_parse_generate_credential_report(const char *xml, size_t len, char **state,
					 struct strbuf *err)
{
	xmlDocPtr doc;
	xmlNodePtr res;

	*state = NULL;
	if (open_response("GenerateCredentialReport", xml, len, 1, &doc, &res, err))
		return -1;
	*state = text_at(res, "State", TEXT_TOKEN);
	xmlFreeDoc(doc);
	if (!*state || !**state) {
		free(*state);
		*state = NULL;
		return fail(err, "GenerateCredentialReport response has no State");
	}
	return 0;
}

static void decode_content(void *ctx, const char *text, size_t len)
{
	/* a bad piece makes the decoder ignore the rest and finish fail */
	base64_decode_update(ctx, text, len);
}

/*
 * The base64 of Content is decoded as the parser reads it (a text sink), so
 * the report never exists as text: the response, the tree without the text
 * and the decoded CSV are the only copies.
 */
int iam_parse_get_credential_report(const char *xml, size_t len, struct strbuf *content,
				    char **generated_time, struct strbuf *err)
{
	struct base64_decoder dec;
	struct text_sink sink = { "GetCredentialReportResult", "Content", decode_content, &dec,
				  NULL };
	xmlDocPtr doc;
	xmlNodePtr res, c;
	char *fmt, *b64;
	int ret = 0;

	strbuf_reset(content);
	*generated_time = NULL;
	base64_decoder_init(&dec, content);
	if (open_response_with("GetCredentialReport", xml, len, 1, &sink, &doc, &res, err)) {
		strbuf_reset(content);
		return -1;
	}
	c = child(res, "Content");
	fmt = text_at(res, "ReportFormat", TEXT_TOKEN);
	if (!c) {
		ret = fail(err, "GetCredentialReport response has no Content");
	} else if (fmt && strcmp(fmt, "text/csv")) {
		ret = fail(err, "GetCredentialReport response has unsupported ReportFormat '");
		add_printable(err, fmt, 64);
		strbuf_addch(err, '\'');
	} else if (c == sink.node) {
		if (base64_decode_finish(&dec))
			ret = fail(err,
				   "GetCredentialReport response has invalid base64 in Content");
	} else {
		/* an empty Content, or the sink took another one's text: this one's is in the tree */
		strbuf_reset(content);
		b64 = take_text(c, TEXT_EXACT);
		if (base64_decode(content, b64, strlen(b64)))
			ret = fail(err,
				   "GetCredentialReport response has invalid base64 in Content");
		free(b64);
	}
	free(fmt);
	if (!ret)
		*generated_time = text_at(res, "GeneratedTime", TEXT_TOKEN);
	else
		strbuf_reset(content);
	xmlFreeDoc(doc);
	return ret;
}

/* ---- tags, groups, account summary ------------------------------------ */

void iam_tag_page_release(struct iam_tag_page *p)
{
	if (!p)
		return;
	tags_free(p->tags, p->ntags);
	free(p->marker);
	memset(p, 0, sizeof(*p));
}

int iam_parse_list_user_tags(const char *xml, size_t len, struct iam_tag_page *out,
			     struct strbuf *err)
{
	xmlDocPtr doc;
	xmlNodePtr res;

	memset(out, 0, sizeof(*out));
	if (open_response("ListUserTags", xml, len, 1, &doc, &res, err))
		return -1;
	if (parse_tags("ListUserTags", child(res, "Tags"), &out->tags, &out->ntags, err) ||
	    parse_paging("ListUserTags", res, &out->is_truncated, &out->marker, err)) {
		xmlFreeDoc(doc);
		iam_tag_page_release(out);
		return -1;
	}
	xmlFreeDoc(doc);
	return 0;
}

void iam_group_page_release(struct iam_group_page *p)
{
	if (!p)
		return;
	free_strings(p->group_names, p->ngroups);
	free(p->marker);
	memset(p, 0, sizeof(*p));
}

void iam_name_page_release(struct iam_name_page *p)
{
	if (!p)
		return;
	free_strings(p->names, p->nnames);
	free(p->marker);
	memset(p, 0, sizeof(*p));
}

/* The members at list (under the result) of op: their text, or the text of field in each. */
static int parse_name_list(const char *op, const char *list, const char *field, const char *what,
			   const char *xml, size_t len, struct iam_name_page *out,
			   struct strbuf *err)
{
	xmlDocPtr doc;
	xmlNodePtr res, m;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (open_response(op, xml, len, 1, &doc, &res, err))
		return -1;
	m = path(res, list);
	n = count_same(m);
	if (n)
		out->names = xcalloc(n, sizeof(*out->names));
	for (; m; m = next_same(m)) {
		char *v = field ? text_at(m, field, TEXT_EXACT) : take_text(m, TEXT_EXACT);

		if (!v || !*v) {
			free(v);
			fail(err, "%s response has %s", op, what);
			goto fail;
		}
		out->names[out->nnames++] = v;
	}
	if (parse_paging(op, res, &out->is_truncated, &out->marker, err))
		goto fail;
	xmlFreeDoc(doc);
	return 0;
fail:
	xmlFreeDoc(doc);
	iam_name_page_release(out);
	return -1;
}

int iam_parse_list_user_policies(const char *xml, size_t len, struct iam_name_page *out,
				 struct strbuf *err)
{
	return parse_name_list("ListUserPolicies", "PolicyNames/member", NULL,
			       "an empty policy name", xml, len, out, err);
}

int iam_parse_list_attached_user_policies(const char *xml, size_t len, struct iam_name_page *out,
					  struct strbuf *err)
{
	return parse_name_list("ListAttachedUserPolicies", "AttachedPolicies/member", "PolicyArn",
			       "a policy without PolicyArn", xml, len, out, err);
}

int iam_parse_list_groups_for_user(const char *xml, size_t len, struct iam_group_page *out,
				   struct strbuf *err)
{
	struct iam_name_page names;

	memset(out, 0, sizeof(*out));
	if (parse_name_list("ListGroupsForUser", "Groups/member", "GroupName",
			    "a group without GroupName", xml, len, &names, err))
		return -1;
	out->group_names = names.names;
	out->ngroups = names.nnames;
	out->is_truncated = names.is_truncated;
	out->marker = names.marker;
	return 0;
}

void iam_summary_entries_free(struct iam_summary_entry *entries, size_t n)
{
	size_t i;

	if (!entries)
		return;
	for (i = 0; i < n; i++)
		free(entries[i].key);
	free(entries);
}

int iam_parse_get_account_summary(const char *xml, size_t len, struct iam_summary_entry **entries,
				  size_t *n, struct strbuf *err)
{
	xmlDocPtr doc;
	xmlNodePtr res, e;
	struct iam_summary_entry *v = NULL;
	size_t nr = 0;

	*entries = NULL;
	*n = 0;
	if (open_response("GetAccountSummary", xml, len, 1, &doc, &res, err))
		return -1;
	e = path(res, "SummaryMap/entry");
	if (count_same(e))
		v = xcalloc(count_same(e), sizeof(*v));
	for (; e; e = next_same(e)) {
		char *key = text_at(e, "key", TEXT_TOKEN);
		char *val = text_at(e, "value", TEXT_TOKEN);
		char *endp = NULL;
		long long num = 0;

		if (val && (*val == '-' || isdigit((unsigned char)*val))) {
			errno = 0;
			num = strtoll(val, &endp, 10);
		}
		if (!key || !*key) {
			fail(err, "GetAccountSummary response has an entry without key");
		} else if (!endp || *endp || errno) {
			fail(err, "GetAccountSummary response has no integer value for '");
			add_printable(err, key, 64);
			strbuf_addch(err, '\'');
		} else {
			free(val);
			v[nr].key = key;
			v[nr].value = num;
			nr++;
			continue;
		}
		free(key);
		free(val);
		iam_summary_entries_free(v, nr);
		xmlFreeDoc(doc);
		return -1;
	}
	xmlFreeDoc(doc);
	*entries = v;
	*n = nr;
	return 0;
}

/* ---- ListOrganizationsFeatures ---------------------------------------- */

static const struct {
	const char *name;
	unsigned bit;
} org_feature_names[] = {
	{ "RootCredentialsManagement", IAM_ORG_ROOT_CREDENTIALS_MANAGEMENT },
	{ "RootSessions", IAM_ORG_ROOT_SESSIONS },
};

void iam_org_features_release(struct iam_org_features *f)
{
	if (!f)
		return;
	free(f->organization_id);
	memset(f, 0, sizeof(*f));
}

int iam_parse_list_organizations_features(const char *xml, size_t len, struct iam_org_features *out,
					  struct strbuf *err)
{
	xmlDocPtr doc;
	xmlNodePtr res, m;

	memset(out, 0, sizeof(*out));
	if (open_response("ListOrganizationsFeatures", xml, len, 1, &doc, &res, err))
		return -1;
	out->organization_id = text_at(res, "OrganizationId", TEXT_TOKEN);
	for (m = path(res, "EnabledFeatures/member"); m; m = next_same(m)) {
		char *f = take_text(m, TEXT_TOKEN);
		size_t i;

		for (i = 0; f && i < ARRAY_SIZE(org_feature_names); i++)
			if (!strcmp(f, org_feature_names[i].name))
				out->features |= org_feature_names[i].bit;
		free(f); /* features this version does not know are ignored */
	}
	xmlFreeDoc(doc);
	if (!out->organization_id || !*out->organization_id) {
		iam_org_features_release(out);
		return fail(err, "ListOrganizationsFeatures response has no OrganizationId");
	}
	return 0;
}

/* ---- request id only -------------------------------------------------- */

int aws_parse_request_id(const char *xml, size_t len, char **request_id, struct strbuf *err)
{
	xmlDocPtr doc;
	xmlNodePtr root;

	*request_id = NULL;
	doc = parse_xml(xml, len, err);
	if (!doc)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (name_is(root, "ErrorResponse", 13) || child(root, "Error") || child(root, "Errors")) {
		fail(err, "response is an AWS error (root element is '");
		add_printable(err, (const char *)root->name, 64);
		strbuf_addstr(err, "')");
		xmlFreeDoc(doc);
		return -1;
	}
	*request_id = request_id_of(root);
	xmlFreeDoc(doc);
	return 0;
}

/* ---- STS -------------------------------------------------------------- */

void sts_caller_identity_release(struct sts_caller_identity *c)
{
	if (!c)
		return;
	FREE_ALL(c->account, c->arn, c->user_id);
	memset(c, 0, sizeof(*c));
}

int sts_parse_get_caller_identity(const char *xml, size_t len, struct sts_caller_identity *out,
				  struct strbuf *err)
{
	xmlDocPtr doc;
	xmlNodePtr res;

	memset(out, 0, sizeof(*out));
	if (open_response("GetCallerIdentity", xml, len, 1, &doc, &res, err))
		return -1;
	out->account = text_at(res, "Account", TEXT_TOKEN);
	out->arn = text_at(res, "Arn", TEXT_EXACT);
	out->user_id = text_at(res, "UserId", TEXT_TOKEN);
	xmlFreeDoc(doc);
	if (!out->account || !*out->account || !out->arn || !*out->arn) {
		const char *missing = out->account && *out->account ? "Arn" : "Account";

		sts_caller_identity_release(out);
		return fail(err, "GetCallerIdentity response has no %s", missing);
	}
	return 0;
}

void sts_assumed_release(struct sts_assumed *a)
{
	if (!a)
		return;
	FREE_SECRETS(a->secret_access_key, a->session_token);
	FREE_ALL(a->access_key_id, a->expiration, a->assumed_role_arn);
	memset(a, 0, sizeof(*a));
}

int sts_parse_assume_role(const char *xml, size_t len, struct sts_assumed *out, struct strbuf *err)
{
	static const char *const ops[] = {
		"AssumeRole",
		"AssumeRoleWithWebIdentity",
		"AssumeRoleWithSAML",
		"AssumeRoot",
	};
	xmlDocPtr doc;
	xmlNodePtr root, res = NULL, cred;
	const char *op = ops[0], *missing = NULL;
	char name[64];
	size_t i;

	memset(out, 0, sizeof(*out));
	doc = parse_xml(xml, len, err);
	if (!doc)
		return -1;
	root = xmlDocGetRootElement(doc);
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		size_t oplen = strlen(ops[i]);

		if (strncmp((const char *)root->name, ops[i], oplen) ||
		    strcmp((const char *)root->name + oplen, "Response"))
			continue;
		op = ops[i];
		memcpy(name, op, oplen);
		memcpy(name + oplen, "Result", sizeof("Result"));
		res = child(root, name);
		break;
	}
	if (!res) {
		fail(err, "%s response has no %sResult (root element is '", op, op);
		add_printable(err, (const char *)root->name, 64);
		strbuf_addstr(err, "')");
		xmlFreeDoc(doc);
		return -1;
	}
	cred = child(res, "Credentials");
	out->access_key_id = text_at(cred, "AccessKeyId", TEXT_TOKEN);
	out->secret_access_key = text_at(cred, "SecretAccessKey", TEXT_SECRET);
	out->session_token = text_at(cred, "SessionToken", TEXT_SECRET);
	out->expiration = text_at(cred, "Expiration", TEXT_TOKEN);
	out->assumed_role_arn = text_at(res, "AssumedRoleUser/Arn", TEXT_EXACT);
	/* the secrets' text is wiped in the tree; free the tree at once */
	xmlFreeDoc(doc);

	if (!cred)
		missing = "Credentials";
	else if (!out->access_key_id || !*out->access_key_id)
		missing = "AccessKeyId";
	else if (!out->secret_access_key || !*out->secret_access_key)
		missing = "SecretAccessKey";
	else if (!out->session_token || !*out->session_token)
		missing = "SessionToken";
	else if (!out->expiration || !*out->expiration)
		missing = "Expiration";
	if (missing) {
		sts_assumed_release(out);
		return fail(err, "%s response has no %s", op, missing);
	}
	return 0;
}

/* ---- GetAccountAuthorizationDetails (streamed) ------------------------- */

void iam_user_detail_release(struct iam_user_detail *u)
{
	if (!u)
		return;
	iam_user_release(&u->user);
	free_strings(u->groups, u->ngroups);
	free_strings(u->attached, u->nattached);
	memset(u, 0, sizeof(*u));
}

void iam_user_detail_page_release(struct iam_user_detail_page *p)
{
	if (!p)
		return;
	FREE_ARRAY(p->users, p->nusers, iam_user_detail_release);
	free(p->marker);
	memset(p, 0, sizeof(*p));
}

static void on_reader_error(void *arg, xml_error_arg e)
{
	record_error(arg, e, 0);
}

/* One UserDetailList/member (an expanded subtree) into u. */
static int parse_user_detail(const char *op, xmlNodePtr m, struct iam_user_detail *u,
			     struct strbuf *err)
{
	xmlNodePtr g = path(m, "GroupList/member");
	size_t n = count_same(g);

	if (parse_user(op, m, &u->user, err))
		return -1;
	if (!u->user.user_name || !*u->user.user_name)
		return fail(err, "%s response has a user without UserName", op);
	if (n)
		u->groups = xcalloc(n, sizeof(*u->groups));
	for (; g; g = next_same(g)) {
		char *name = take_text(g, TEXT_EXACT);

		if (!*name) {
			free(name);
			return fail(err, "%s response has an empty GroupList member", op);
		}
		u->groups[u->ngroups++] = name;
	}
	g = path(m, "AttachedManagedPolicies/member");
	n = count_same(g);
	if (n)
		u->attached = xcalloc(n, sizeof(*u->attached));
	for (; g; g = next_same(g)) {
		char *arn = text_at(g, "PolicyArn", TEXT_EXACT);

		if (!arn || !*arn) {
			free(arn);
			return fail(err, "%s response has an attached policy without PolicyArn",
				    op);
		}
		u->attached[u->nattached++] = arn;
	}
	return 0;
}

/*
 * A list response read with a pull parser (xmlTextReader) instead of a
 * whole tree: a page holds up to 1,000 users (with their policies, for
 * GetAccountAuthorizationDetails), and a tree of it costs a few MB; here
 * only one <member> of <list>, directly under <op>Result, is expanded at a
 * time and handed to on_member. IsTruncated and Marker are checked as
 * parse_paging does; ResponseMetadata/RequestId goes to *request_id (may
 * be NULL); everything else is skipped unread. 0 / -1 with err.
 */
/* Where stream_list is in the document, and what it has seen. */
struct list_reader {
	const char *op, *list;
	size_t oplen;
	int (*on_member)(xmlNodePtr m, void *ctx, struct strbuf *err);
	void *ctx;
	char **marker, **request_id;
	char *truncated;
	int in_result, in_meta, in_list, seen_list, seen_root, seen_result;
};

enum reader_step { STEP_DESCEND, STEP_SKIP, STEP_FAIL, STEP_BROKEN };

/* One element at depth of stream_list's document: what to do next. */
static enum reader_step list_reader_element(struct list_reader *lr, xmlTextReaderPtr r, int depth,
					    const char *name, struct strbuf *err)
{
	xmlNodePtr n;

	if (depth <= 1)
		lr->in_list = 0;
	if (depth == 0) {
		if (strncmp(name, lr->op, lr->oplen) || strcmp(name + lr->oplen, "Response")) {
			fail(err, "%s response has no %sResult (root element is '", lr->op, lr->op);
			add_printable(err, name, 64);
			strbuf_addstr(err, "')");
			return STEP_FAIL;
		}
		lr->seen_root = 1;
		return STEP_DESCEND;
	}
	if (depth == 1) {
		lr->in_result =
			!strncmp(name, lr->op, lr->oplen) && !strcmp(name + lr->oplen, "Result");
		lr->in_meta = !strcmp(name, "ResponseMetadata");
		if (lr->in_result && lr->seen_result)
			return STEP_SKIP; /* only the first result counts, as child() takes the first */
		lr->seen_result |= lr->in_result;
		return STEP_DESCEND;
	}
	if (depth == 2 && lr->in_meta && lr->request_id && !strcmp(name, "RequestId")) {
		n = xmlTextReaderExpand(r);
		if (!n)
			return STEP_BROKEN;
		if (!*lr->request_id)
			*lr->request_id = take_text(n, TEXT_TOKEN);
		return STEP_SKIP;
	}
	if (depth == 2 && lr->in_result) {
		lr->in_list = 0;
		if (!strcmp(name, lr->list) && !lr->seen_list) {
			lr->in_list = lr->seen_list = 1; /* the first list only, as path() */
			return STEP_DESCEND;
		}
		if (!strcmp(name, "IsTruncated") || !strcmp(name, "Marker")) {
			char **dst = name[0] == 'I' ? &lr->truncated : lr->marker;

			n = xmlTextReaderExpand(r);
			if (!n)
				return STEP_BROKEN;
			if (!*dst)
				*dst = take_text(n, TEXT_TOKEN);
		}
		return STEP_SKIP;
	}
	if (depth == 3 && lr->in_list && !strcmp(name, "member")) {
		n = xmlTextReaderExpand(r);
		if (!n)
			return STEP_BROKEN;
		return lr->on_member(n, lr->ctx, err) ? STEP_FAIL : STEP_SKIP;
	}
	/* anything else below the result, or outside it: skip the subtree */
	return STEP_SKIP;
}

/* After the last node: the paging fields checked as parse_paging does. 0 / -1 with err. */
static int list_reader_finish(struct list_reader *lr, const struct parse_state *st, int ret,
			      int *is_truncated, struct strbuf *err)
{
	const char *op = lr->op;

	if (st->saw_doctype)
		return fail(err, "refusing XML with a DOCTYPE declaration");
	if (st->msg.len || ret != 0)
		return fail(err, "%s", st->msg.len ? st->msg.buf : "malformed XML");
	if (!lr->seen_root)
		return fail(err, "XML response has no root element");
	if (!lr->seen_result)
		return fail(err, "%s response has no %sResult", op, op);
	if (lr->truncated && strcasecmp(lr->truncated, "true") &&
	    strcasecmp(lr->truncated, "false"))
		return fail(err, "%s response has an invalid IsTruncated value", op);
	*is_truncated = lr->truncated && !strcasecmp(lr->truncated, "true");
	if (!*is_truncated) {
		free(*lr->marker);
		*lr->marker = NULL;
		return 0;
	}
	if (!*lr->marker || !**lr->marker) {
		*is_truncated = 0;
		return fail(err, "%s response is truncated but has no Marker", op);
	}
	return 0;
}

/*
 * The reader stops at the first problem it meets and words XML errors
 * vaguely ("Extra content" for a body cut in a member). On this rare path,
 * parse the whole body as every other response is: if that fails, its
 * message is the one to give.
 */
static void reword_stream_error(const char *xml, size_t len, struct strbuf *err)
{
	struct strbuf tree_err = STRBUF_INIT;
	xmlDocPtr doc = parse_xml(xml, len, &tree_err);

	if (doc)
		xmlFreeDoc(doc);
	else
		fail(err, "%s", tree_err.buf);
	strbuf_release(&tree_err);
}

static int stream_list(const char *op, const char *xml, size_t len, const char *list,
		       int (*on_member)(xmlNodePtr m, void *ctx, struct strbuf *err), void *ctx,
		       int *is_truncated, char **marker, char **request_id, struct strbuf *err)
{
	struct parse_state st = { STRBUF_INIT, 0 };
	struct list_reader lr = { 0 };
	struct saved_handlers saved;
	xmlTextReaderPtr r;
	int ret, rc = -1;

	*is_truncated = 0;
	*marker = NULL;
	if (!xml || !len)
		return fail(err, "empty XML response");
	if (len > INT_MAX)
		return fail(err, "XML response too large (%zu bytes)", len);
	/* refused before parsing: the reader would read the internal subset first */
	if (memmem(xml, len, "<!DOCTYPE", 9))
		return fail(err, "refusing XML with a DOCTYPE declaration");
	lr.op = op;
	lr.oplen = strlen(op);
	lr.list = list;
	lr.on_member = on_member;
	lr.ctx = ctx;
	lr.marker = marker;
	lr.request_id = request_id;
	xmlInitParser();
	r = xmlReaderForMemory(xml, (int)len, NULL, NULL,
			       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!r)
		return fail(err, "cannot create an XML parser");
	xmlTextReaderSetStructuredErrorHandler(r, on_reader_error, &st);
	handlers_save(&saved, &st, on_reader_error);

	ret = xmlTextReaderRead(r);
	while (ret == 1) {
		const char *name = (const char *)xmlTextReaderConstLocalName(r);
		int type = xmlTextReaderNodeType(r);
		enum reader_step step;

		if (type == XML_READER_TYPE_DOCUMENT_TYPE) {
			st.saw_doctype = 1;
			break;
		}
		if (type != XML_READER_TYPE_ELEMENT || !name) {
			ret = xmlTextReaderRead(r);
			continue;
		}
		step = list_reader_element(&lr, r, xmlTextReaderDepth(r), name, err);
		if (step == STEP_FAIL)
			goto out;
		if (step == STEP_BROKEN)
			break;
		ret = step == STEP_SKIP ? xmlTextReaderNext(r) : xmlTextReaderRead(r);
	}
	rc = list_reader_finish(&lr, &st, ret, is_truncated, err);
out:
	handlers_restore(&saved);
	xmlFreeTextReader(r);
	free(lr.truncated);
	if (rc < 0 && !st.saw_doctype)
		reword_stream_error(xml, len, err);
	strbuf_release(&st.msg);
	if (rc < 0) {
		free(*marker);
		*marker = NULL;
		*is_truncated = 0;
	}
	return rc;
}

struct detail_stream {
	iam_user_want_fn want;
	void *want_ctx;
	struct iam_user_detail_page *out;
	size_t alloc;
};

static int detail_member(xmlNodePtr m, void *ctx, struct strbuf *err)
{
	struct detail_stream *d = ctx;
	struct iam_user_detail u;

	memset(&u, 0, sizeof(u));
	if (parse_user_detail("GetAccountAuthorizationDetails", m, &u, err)) {
		iam_user_detail_release(&u);
		return -1;
	}
	if (d->want && !d->want(u.user.user_name, d->want_ctx)) {
		iam_user_detail_release(&u);
		return 0;
	}
	ALLOC_GROW(d->out->users, d->out->nusers + 1, d->alloc);
	d->out->users[d->out->nusers++] = u;
	return 0;
}

int iam_parse_get_account_authorization_details(const char *xml, size_t len, iam_user_want_fn want,
						void *want_ctx, struct iam_user_detail_page *out,
						struct strbuf *err)
{
	struct detail_stream d = { want, want_ctx, out, 0 };

	memset(out, 0, sizeof(*out));
	if (stream_list("GetAccountAuthorizationDetails", xml, len, "UserDetailList", detail_member,
			&d, &out->is_truncated, &out->marker, NULL, err) < 0) {
		iam_user_detail_page_release(out);
		return -1;
	}
	return 0;
}

int sts_validate_assumed(void *ctx, const char *xml, size_t len, struct strbuf *err)
{
	struct sts_assumed *a = ctx;
	time_t t;

	sts_assumed_release(a);
	if (sts_parse_assume_role(xml, len, a, err) < 0)
		return -1;
	if (iso8601_parse(a->expiration, &t)) {
		sts_assumed_release(a);
		strbuf_addstr(err, "Expiration is not an ISO 8601 time");
		return -1;
	}
	return 0;
}
