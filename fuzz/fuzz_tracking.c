/* fuzz_tracking.c — tracking headers (properties, session, country, referer, omit flags, prompt
 * id, x-forwarded-for) through gw_tracking_parse, plus session path normalisation and the policy
 * header map. The input is lines "name: value"; headers are built the way gw_request_init builds
 * them from FastCGI parameters (gw_header_name_from_cgi, unsafe values skipped). The first byte
 * picks the peer address and whether small limits apply. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "headers.h"
#include "tracking.h"

static void header_free(gpointer p)
{
    GwHeader *h = p;
    g_free(h->name);
    g_free(h->value);
    g_free(h);
}

static GPtrArray *headers_from_lines(const char *text)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(header_free);
    char **lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l != NULL; l++) {
        char *colon = strchr(*l, ':');
        if (colon == NULL)
            continue;
        char *name = g_strndup(*l, (gsize)(colon - *l));
        g_strdelimit(name, "-", '_');
        char *param = g_strconcat("HTTP_", name, NULL);
        g_free(name);
        char *lname = gw_header_name_from_cgi(param);
        g_free(param);
        const char *val = colon + 1;
        while (*val == ' ')
            val++;
        if (lname == NULL || !gw_header_value_is_safe(val, strlen(val))) {
            g_free(lname);
            continue;
        }
        GwHeader *h = g_new(GwHeader, 1);
        h->name = lname;
        h->value = g_strdup(val);
        g_ptr_array_add(a, h);
    }
    g_strfreev(lines);
    return a;
}

static void check_path(const char *path)
{
    char *n = gw_session_path_normalize(path);
    if (n == NULL)
        return;
    size_t len = strlen(n);
    if (n[0] != '/' || strstr(n, "//") != NULL || (len > 1 && n[len - 1] == '/'))
        abort();
    char *again = gw_session_path_normalize(n);
    if (again == NULL || strcmp(again, n) != 0)
        abort();
    g_free(again);
    g_free(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static const char *const peers[] = {
        NULL, "", "10.1.2.3", "203.0.113.9", "2001:db8::5", "::ffff:10.0.0.1", "127.0.0.1",
        "not-an-ip",
    };
    static GwCidrList *trusted;
    if (trusted == NULL) {
        GError *err = NULL;
        if (gw_cidr_list_parse("10.0.0.0/8, 2001:db8::/32 127.0.0.1", &trusted, &err) != GW_OK)
            abort();
    }
    unsigned k = data[0];
    const char *peer = peers[k % G_N_ELEMENTS(peers)];
    GwTrackingLimits small = {3, 8, 16, 16};
    const GwTrackingLimits *lim = (k & 0x80) ? &small : NULL;

    char *text = g_strndup((const char *)data, size);
    GPtrArray *headers = headers_from_lines(text);

    GwTracking t;
    GError *err = NULL;
    GwStatus st = gw_tracking_parse(headers, peer, (k & 0x40) ? NULL : trusted, lim, &t, &err);
    if (st == GW_OK) {
        if (t.properties == NULL || strlen(t.country) > 2)
            abort();
        for (guint i = 1; i < t.properties->len; i++) {
            const GwProperty *a = g_ptr_array_index(t.properties, i - 1);
            const GwProperty *b = g_ptr_array_index(t.properties, i);
            if (strcmp(a->name, b->name) >= 0)
                abort();
        }
        for (guint i = 0; i < t.properties->len; i++) {
            const GwProperty *p = g_ptr_array_index(t.properties, i);
            if (!g_utf8_validate(p->value, -1, NULL))
                abort();
        }
        if (t.referer != NULL &&
            (strlen(t.referer) > GW_REFERER_MAX || !g_utf8_validate(t.referer, -1, NULL)))
            abort();
        if (t.session_path != NULL && t.session_path[0] != '/')
            abort();
    } else if (err == NULL) {
        abort();
    }
    g_clear_error(&err);
    gw_tracking_clear(&t);

    GHashTable *ph = gw_tracking_policy_headers(headers);
    if (g_hash_table_contains(ph, "authorization") || g_hash_table_contains(ph, "x-api-key") ||
        g_hash_table_contains(ph, "cookie"))
        abort();
    g_hash_table_unref(ph);

    /* Every header value as a session path, and the whole text. */
    for (guint i = 0; i < headers->len; i++)
        check_path(((GwHeader *)g_ptr_array_index(headers, i))->value);
    check_path(text);

    g_ptr_array_unref(headers);
    g_free(text);
    return 0;
}
