/* headers.c — which client headers reach the provider and which provider headers reach the
 * client. Both directions are allow/deny tables over lower-case names; lookups are
 * case-insensitive anyway so a caller that forgot to lower-case cannot open a hole. */
#include "config.h"
#include "headers.h"

#include <string.h>

char *gw_header_name_from_cgi(const char *param)
{
    static const char prefix[] = "HTTP_";
    if (param == NULL || strncmp(param, prefix, sizeof prefix - 1) != 0)
        return NULL;
    const char *rest = param + sizeof prefix - 1;
    if (*rest == '\0')
        return NULL;
    for (const char *c = rest; *c != '\0'; c++) {
        if (!g_ascii_isalnum(*c) && *c != '_' && *c != '-')
            return NULL;
    }
    char *name = g_ascii_strdown(rest, -1);
    for (char *c = name; *c != '\0'; c++) {
        if (*c == '_')
            *c = '-';
    }
    return name;
}

static gboolean name_in(const char *lname, const char *const *list)
{
    for (; *list != NULL; list++) {
        if (g_ascii_strcasecmp(lname, *list) == 0)
            return TRUE;
    }
    return FALSE;
}

/* TRUE when lname starts with one of the prefixes (each ends in '-', so "alephant" alone or
 * "cfoo" do not match) and has at least one character after it. */
static gboolean prefix_in(const char *lname, const char *const *list)
{
    size_t n = strlen(lname);
    for (; *list != NULL; list++) {
        size_t k = strlen(*list);
        if (n > k && g_ascii_strncasecmp(lname, *list, k) == 0)
            return TRUE;
    }
    return FALSE;
}

static const char *const gateway_names[] = {
    "authorization", "x-api-key", "x-request-id", NULL,
};
static const char *const gateway_prefixes[] = {
    "alephant-", "x-alephant-", NULL,
};

static const char *const drop_names[] = {
    /* hop-by-hop (RFC 9110 §7.6.1) and framing: curl sets its own */
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
    "upgrade", "host", "content-length", "expect", "accept-encoding",
    /* "Proxy" is the httpoxy vector (HTTP_PROXY in CGI) */
    "proxy",
    /* client state and client-network metadata the provider must not see or trust */
    "cookie", "forwarded", "x-real-ip", "via",
    /* recorded by the gateway (privacy control); the provider has no use for the app's pages */
    "referer",
    /* method override tricks */
    "x-http-method-override", "x-http-method", "x-method-override",
    /* provider credentials: the gateway injects its own; a client must not smuggle one */
    "api-key", "x-goog-api-key",
    NULL,
};
static const char *const drop_prefixes[] = {
    "proxy-", "x-forwarded-", "cf-", NULL,
};

GwHeaderClass gw_header_classify(const char *lname)
{
    if (lname == NULL || *lname == '\0')
        return GW_HDR_DROP;
    if (name_in(lname, gateway_names) || prefix_in(lname, gateway_prefixes))
        return GW_HDR_GATEWAY;
    if (name_in(lname, drop_names) || prefix_in(lname, drop_prefixes))
        return GW_HDR_DROP;
    return GW_HDR_FORWARD;
}

gboolean gw_header_value_is_safe(const char *value, size_t len)
{
    if (len == 0)
        return TRUE;
    if (value == NULL)
        return FALSE;
    for (size_t i = 0; i < len; i++) {
        char c = value[i];
        if (c == '\r' || c == '\n' || c == '\0')
            return FALSE;
    }
    return TRUE;
}

static const char *const relay_names[] = {
    "content-type", "retry-after", "retry-after-ms", "x-request-id", "request-id",
    "cache-control", NULL,
};
static const char *const relay_prefixes[] = {
    "openai-", "anthropic-", "x-ratelimit-", NULL,
};

gboolean gw_header_relay_response(const char *lname)
{
    if (lname == NULL || *lname == '\0')
        return FALSE;
    /* Allow-list: anything not named here (set-cookie, server, date, content-length,
     * content-encoding, hop-by-hop, www-authenticate, …) stays with the gateway. */
    return name_in(lname, relay_names) || prefix_in(lname, relay_prefixes);
}
