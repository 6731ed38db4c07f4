/* fuzz_headers.c — header names and values as a client or an upstream sends them: CGI parameter
 * name conversion, request header classification, value safety and the response relay rule. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "headers.h"

static void check_name(const char *param)
{
    char *lname = gw_header_name_from_cgi(param);
    if (lname == NULL)
        return;
    /* Documented: lower-case, '-' for '_', only [a-z0-9-], non-empty, the rest of "HTTP_…". */
    if (lname[0] == '\0' || strlen(lname) != strlen(param) - 5)
        abort();
    for (const char *c = lname; *c != '\0'; c++)
        if (!g_ascii_islower(*c) && !g_ascii_isdigit(*c) && *c != '-')
            abort();
    GwHeaderClass cls = gw_header_classify(lname);
    if (cls != GW_HDR_FORWARD && cls != GW_HDR_GATEWAY && cls != GW_HDR_DROP)
        abort();
    (void)gw_header_relay_response(lname);
    g_free(lname);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = g_strndup((const char *)data, size); /* stops at a NUL, as a C string would */
    check_name(text);
    char *param = g_strconcat("HTTP_", text, NULL);
    check_name(param);
    g_free(param);

    /* Any lower-cased name: classification and relay must cope with arbitrary bytes. */
    char *lower = g_ascii_strdown(text, -1);
    GwHeaderClass cls = gw_header_classify(lower);
    if (cls != GW_HDR_FORWARD && cls != GW_HDR_GATEWAY && cls != GW_HDR_DROP)
        abort();
    (void)gw_header_relay_response(lower);
    g_free(lower);
    g_free(text);

    /* The value check over the exact bytes (NUL included). */
    char *value = calloc(size > 0 ? size : 1, 1);
    if (size > 0)
        memcpy(value, data, size);
    gboolean safe = gw_header_value_is_safe(value, size);
    gboolean expect = memchr(value, '\r', size) == NULL && memchr(value, '\n', size) == NULL &&
                      memchr(value, '\0', size) == NULL;
    if (safe != expect)
        abort();
    free(value);
    return 0;
}
