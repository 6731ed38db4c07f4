/* csv.c — RFC 4180 fields with the formula-injection guard (see csv.h). */
#include "config.h"
#include "csv.h"

#include <string.h>

void gw_csv_text(GString *out, const char *s)
{
    if (s == NULL || s[0] == '\0')
        return;
    char *valid = g_utf8_validate(s, -1, NULL) ? NULL : g_utf8_make_valid(s, -1);
    const char *v = valid != NULL ? valid : s;
    size_t n = strlen(v);
    gboolean guard = strchr("=+-@\t\r", v[0]) != NULL;
    gboolean quote = strpbrk(v, ",\"\r\n") != NULL || v[0] == ' ' || v[n - 1] == ' ';
    if (quote)
        g_string_append_c(out, '"');
    if (guard)
        g_string_append_c(out, '\'');
    for (const char *p = v; *p != '\0'; p++) {
        if (*p == '"')
            g_string_append_c(out, '"');
        g_string_append_c(out, *p);
    }
    if (quote)
        g_string_append_c(out, '"');
    g_free(valid);
}

void gw_csv_int(GString *out, gint64 v)
{
    g_string_append_printf(out, "%" G_GINT64_FORMAT, v);
}

void gw_csv_sep(GString *out)
{
    g_string_append_c(out, ',');
}

void gw_csv_end(GString *out)
{
    g_string_append(out, "\r\n");
}

void gw_csv_row(GString *out, const char *const *fields, gsize n)
{
    for (gsize i = 0; i < n; i++) {
        if (i > 0)
            gw_csv_sep(out);
        gw_csv_text(out, fields[i]);
    }
    gw_csv_end(out);
}
