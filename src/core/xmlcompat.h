#ifndef IAMKEYS_XMLCOMPAT_H
#define IAMKEYS_XMLCOMPAT_H
/*
 * What differs between the libxml2 versions iamkeys builds with, for the XML
 * parsers of core/ (iamxml.c, regionxml.c).
 */
#include <libxml/xmlerror.h>
#include <libxml/xmlversion.h>

/* The error a structured error handler is given: const since libxml2 2.12. */
#if LIBXML_VERSION >= 21200
typedef const xmlError *xml_error_arg;
#else
typedef xmlErrorPtr xml_error_arg;
#endif

#endif
