/* html.c — HTML escaping (see html.h). */
#include "config.h"
#include "html.h"

#include <stdarg.h>
#include <string.h>

void adm_html_escape(GString *out, const char *text)
{
    if (text == NULL)
        return;
    char *valid = g_utf8_make_valid(text, -1);
    for (const char *p = valid; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        switch (c) {
        case '&': g_string_append(out, "&amp;"); break;
        case '<': g_string_append(out, "&lt;"); break;
        case '>': g_string_append(out, "&gt;"); break;
        case '"': g_string_append(out, "&quot;"); break;
        case '\'': g_string_append(out, "&#39;"); break;
        default:
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                break;
            if (c == 0x7f)
                break;
            g_string_append_c(out, (char)c);
        }
    }
    g_free(valid);
}

char *adm_html_escape_dup(const char *text)
{
    GString *s = g_string_new(NULL);
    adm_html_escape(s, text);
    return g_string_free(s, FALSE);
}

void adm_html(GString *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (const char *p = fmt; *p != '\0'; p++) {
        if (*p != '%') {
            const char *next = strchr(p, '%');
            size_t n = next != NULL ? (size_t)(next - p) : strlen(p);
            g_string_append_len(out, p, (gssize)n);
            p += n - 1;
            continue;
        }
        p++;
        switch (*p) {
        case 's': adm_html_escape(out, va_arg(ap, const char *)); break;
        case 'd': g_string_append_printf(out, "%d", va_arg(ap, int)); break;
        case 'l': g_string_append_printf(out, "%" G_GINT64_FORMAT, va_arg(ap, gint64)); break;
        case '%': g_string_append_c(out, '%'); break;
        default: g_error("adm_html: bad directive in \"%s\"", fmt);
        }
    }
    va_end(ap);
}
