/* form.c — percent-decoding, urlencoded fields and Cookie headers (see form.h). */
#include "config.h"
#include "form.h"

#include <string.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *adm_url_decode(const char *s, gsize len, gboolean plus_is_space)
{
    GString *out = g_string_sized_new(len + 1);
    for (gsize i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 1 < len ? hex_value(s[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                g_string_free(out, TRUE);
                return NULL;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == '\0') {
            g_string_free(out, TRUE);
            return NULL;
        }
        g_string_append_c(out, c);
    }
    if (!g_utf8_validate(out->str, (gssize)out->len, NULL)) {
        g_string_free(out, TRUE);
        return NULL;
    }
    return g_string_free(out, FALSE);
}

GwStatus adm_form_parse(const char *data, gsize len, GHashTable **out, GError **err)
{
    GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    guint fields = 0;
    gsize i = 0;
    while (data != NULL && i < len) {
        gsize end = i;
        while (end < len && data[end] != '&')
            end++;
        if (end > i) {
            if (++fields > ADM_FORM_MAX_FIELDS) {
                g_hash_table_unref(t);
                return gw_fail(err, GW_ETOOBIG, "more than %d form fields", ADM_FORM_MAX_FIELDS);
            }
            const char *eq = memchr(data + i, '=', end - i);
            gsize nlen = eq != NULL ? (gsize)(eq - (data + i)) : end - i;
            char *name = adm_url_decode(data + i, nlen, TRUE);
            char *value = eq != NULL ? adm_url_decode(eq + 1, (gsize)(data + end - (eq + 1)), TRUE)
                                     : g_strdup("");
            if (name == NULL || value == NULL) {
                g_free(name);
                g_free(value);
                g_hash_table_unref(t);
                return gw_fail(err, GW_EINVAL, "a form field is not valid percent-encoded UTF-8");
            }
            if (g_hash_table_contains(t, name)) {
                g_free(name);
                g_free(value);
            } else {
                g_hash_table_insert(t, name, value);
            }
        }
        i = end + 1;
    }
    *out = t;
    return GW_OK;
}

GHashTable *adm_cookies_parse(const char *header)
{
    GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    if (header == NULL)
        return t;
    char **pairs = g_strsplit(header, ";", 64);
    for (char **p = pairs; *p != NULL; p++) {
        char *eq = strchr(*p, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        char *name = g_strstrip(*p);
        char *value = g_strstrip(eq + 1);
        size_t vn = strlen(value);
        if (vn >= 2 && value[0] == '"' && value[vn - 1] == '"') {
            value[vn - 1] = '\0';
            value++;
        }
        gboolean ok = *name != '\0';
        for (const char *c = name; ok && *c != '\0'; c++)
            ok = g_ascii_isgraph(*c) && strchr("()<>@,;:\\\"/[]?={}", *c) == NULL;
        for (const char *c = value; ok && *c != '\0'; c++)
            ok = g_ascii_isgraph(*c) && *c != '"' && *c != ',' && *c != '\\';
        if (ok && !g_hash_table_contains(t, name))
            g_hash_table_insert(t, g_strdup(name), g_strdup(value));
    }
    g_strfreev(pairs);
    return t;
}
