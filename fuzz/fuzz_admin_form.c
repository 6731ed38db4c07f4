/* fuzz_admin_form.c — what browsers send the admin program: query strings and form bodies
 * (adm_form_parse), Cookie headers (adm_cookies_parse), percent-decoding, and the HTML escaping
 * every shown value goes through; escaped text never contains a raw < > " ' or control byte. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "fuzz.h"
#include "html.h"

static void check_escaped(const char *s)
{
    char *e = adm_html_escape_dup(s);
    for (const char *p = e; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (strchr("<>\"'", c) != NULL || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
            c == 0x7f)
            abort();
    }
    if (!g_utf8_validate(e, -1, NULL))
        abort();
    g_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = calloc(size + 1, 1);
    if (size > 0)
        memcpy(buf, data, size);
    GHashTable *t = NULL;
    if (adm_form_parse(buf, size, &t, NULL) == GW_OK) {
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, t);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            if (!g_utf8_validate(k, -1, NULL) || !g_utf8_validate(v, -1, NULL))
                abort();
            check_escaped(v);
        }
        g_hash_table_unref(t);
    }
    GHashTable *cookies = adm_cookies_parse(buf);
    g_hash_table_unref(cookies);
    char *d = adm_url_decode(buf, size, TRUE);
    if (d != NULL && (!g_utf8_validate(d, -1, NULL) || strlen(d) > size))
        abort();
    g_free(d);
    check_escaped(buf);
    free(buf);
    return 0;
}
