/* html.h — the one HTML escaping helper of the admin program: every value put into a page goes
 * through adm_html_escape (directly or through adm_html's %s), safe in element content and in
 * double- or single-quoted attribute values. */
#ifndef ADM_HTML_H
#define ADM_HTML_H

#include <glib.h>

/* Appends text HTML-escaped: & < > " ' become entities, invalid UTF-8 is replaced with U+FFFD and
 * control characters other than tab, LF and CR are dropped. NULL appends nothing. */
void adm_html_escape(GString *out, const char *text);
/* The same, as a new string (caller frees). */
char *adm_html_escape_dup(const char *text);

/* Appends fmt, which is trusted markup, substituting: %s a string, HTML-escaped (NULL = empty);
 * %d an int; %l a gint64; %% a percent sign. Any other directive aborts (a programming error). */
void adm_html(GString *out, const char *fmt, ...);

#endif
