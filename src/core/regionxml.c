/* EC2 DescribeRegions replies (see regionxml.h). */
#include "core/compat.h"
#include "core/regionxml.h"
#include "core/xmlcompat.h"

#include <limits.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

static int local_name_is(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && n->name && !strcmp((const char *)n->name, name);
}

static xmlNodePtr first_child(xmlNodePtr parent, const char *name)
{
	xmlNodePtr n;

	for (n = parent ? parent->children : NULL; n; n = n->next)
		if (local_name_is(n, name))
			return n;
	return NULL;
}

/* The element's text, trimmed; NULL when the element is absent. */
static char *trimmed_text(xmlNodePtr parent, const char *name)
{
	xmlNodePtr n = first_child(parent, name);
	xmlChar *t;
	const char *s, *e;
	char *out;

	if (!n)
		return NULL;
	t = xmlNodeGetContent(n);
	s = t ? (const char *)t : "";
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	out = xmemdupz(s, (size_t)(e - s));
	xmlFree(t);
	return out;
}

void ec2_region_list_release(struct ec2_region_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->nregions; i++)
		FREE_ALL(l->regions[i].name, l->regions[i].endpoint, l->regions[i].opt_in_status);
	FREE_ALL(l->regions, l->request_id);
	memset(l, 0, sizeof(*l));
}

/* libxml2 reports some errors (encoding, I/O) on its process-wide channel: not on stderr */
static void silent(void *ctx, xml_error_arg e)
{
	(void)ctx;
	(void)e;
}

/* NULL with err unless xml is a well-formed document without a DOCTYPE. */
static xmlDocPtr read_doc(const char *xml, size_t len, struct strbuf *err)
{
	xmlParserCtxtPtr ctxt;
	xmlStructuredErrorFunc saved = xmlStructuredError;
	void *saved_ctx = xmlStructuredErrorContext;
	xmlDocPtr doc;
	int ok;

	if (!xml || !len) {
		strbuf_addstr(err, "DescribeRegions: empty XML response");
		return NULL;
	}
	if (len > INT_MAX) {
		strbuf_addstr(err, "DescribeRegions: XML response too large");
		return NULL;
	}
	xmlInitParser();
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		strbuf_addstr(err, "DescribeRegions: cannot create an XML parser");
		return NULL;
	}
	xmlSetStructuredErrorFunc(NULL, silent);
	/* no NOENT, DTDLOAD, DTDATTR, XINCLUDE or HUGE */
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlSetStructuredErrorFunc(saved_ctx, saved);
	ok = ctxt->wellFormed && ctxt->nsWellFormed;
	xmlFreeParserCtxt(ctxt);
	if (doc && (doc->intSubset || doc->extSubset)) {
		strbuf_addstr(err, "DescribeRegions: refusing XML with a DOCTYPE declaration");
	} else if (!doc || !ok) {
		strbuf_addstr(err, "DescribeRegions: malformed XML");
	} else if (!xmlDocGetRootElement(doc)) {
		strbuf_addstr(err, "DescribeRegions: XML response has no root element");
	} else {
		return doc;
	}
	if (doc)
		xmlFreeDoc(doc);
	return NULL;
}

int ec2_parse_describe_regions(const char *xml, size_t len, struct ec2_region_list *out,
			       struct strbuf *err)
{
	xmlDocPtr doc;
	xmlNodePtr root, info, n;
	size_t alloc = 0;

	memset(out, 0, sizeof(*out));
	strbuf_reset(err);
	doc = read_doc(xml, len, err);
	if (!doc)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (!local_name_is(root, "DescribeRegionsResponse")) {
		strbuf_addstr(err, "DescribeRegions: the response has no DescribeRegionsResponse");
		goto fail;
	}
	out->request_id = trimmed_text(root, "requestId");
	info = first_child(root, "regionInfo");
	for (n = info ? info->children : NULL; n; n = n->next) {
		struct ec2_region *r;
		char *name;

		if (!local_name_is(n, "item"))
			continue;
		name = trimmed_text(n, "regionName");
		if (!name || !*name) {
			free(name);
			strbuf_addf(err, "DescribeRegions: region %zu has no regionName",
				    out->nregions + 1);
			goto fail;
		}
		if (out->nregions == EC2_MAX_REGIONS) {
			free(name);
			strbuf_addf(err, "DescribeRegions: more than %d regions", EC2_MAX_REGIONS);
			goto fail;
		}
		ALLOC_GROW(out->regions, out->nregions + 1, alloc);
		r = &out->regions[out->nregions++];
		r->name = name;
		r->endpoint = trimmed_text(n, "regionEndpoint");
		r->opt_in_status = trimmed_text(n, "optInStatus");
	}
	xmlFreeDoc(doc);
	return 0;
fail:
	xmlFreeDoc(doc);
	ec2_region_list_release(out);
	return -1;
}
