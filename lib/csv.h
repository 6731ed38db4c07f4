/* csv.h — CSV output (RFC 4180) for the admin's exports, with the spreadsheet formula-injection
 * guard. Pure. */
#ifndef GW_CSV_H
#define GW_CSV_H

#include <glib.h>

/* Appends one text field (no separator). Quoted with "" doubling when it contains a comma, a
 * double quote, CR or LF (or has leading/trailing spaces). A field beginning with = + - @, TAB or
 * CR is prefixed with a ' so spreadsheet programs show it as text instead of running a formula
 * (OWASP "CSV injection"). NULL is an empty field. Invalid UTF-8 is replaced by U+FFFD. */
void gw_csv_text(GString *out, const char *s);
/* Appends an integer field we produced ourselves (never guarded: "-5" stays a number). */
void gw_csv_int(GString *out, gint64 v);
/* Appends text fields separated by commas and ends the record with CRLF. */
void gw_csv_row(GString *out, const char *const *fields, gsize n);
/* Ends a record built field by field (gw_csv_sep between fields). */
void gw_csv_sep(GString *out);
void gw_csv_end(GString *out);

#endif
