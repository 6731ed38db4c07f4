/* test_headers.c — CGI name mapping, request header classification, value safety and the
 * response relay allow-list. */
#include "config.h"
#include "headers.h"

#include <string.h>

static void check_cgi(const char *param, const char *want)
{
    char *got = gw_header_name_from_cgi(param);
    g_assert_cmpstr(got, ==, want);
    g_free(got);
}

static void test_cgi_names(void)
{
    check_cgi("HTTP_X_API_KEY", "x-api-key");
    check_cgi("HTTP_AUTHORIZATION", "authorization");
    check_cgi("HTTP_CONTENT_TYPE", "content-type");
    check_cgi("HTTP_ALEPHANT_PROPERTY_ENV", "alephant-property-env");
    check_cgi("HTTP_ANTHROPIC_VERSION", "anthropic-version");
    check_cgi("HTTP_X_STAINLESS_OS", "x-stainless-os");
    check_cgi("HTTP_CF_IPCOUNTRY", "cf-ipcountry");
    check_cgi("HTTP_A", "a");
    check_cgi("HTTP_Mixed-Case_9", "mixed-case-9");
    check_cgi("HTTP__", "-");

    check_cgi(NULL, NULL);
    check_cgi("", NULL);
    check_cgi("HTTP_", NULL);
    check_cgi("HTTP", NULL);
    check_cgi("CONTENT_TYPE", NULL);      /* CGI meta-variable, not a header */
    check_cgi("REMOTE_ADDR", NULL);
    check_cgi("http_x_api_key", NULL);    /* the prefix is upper-case in CGI */
    check_cgi("XHTTP_FOO", NULL);
    check_cgi("HTTP_X API", NULL);
    check_cgi("HTTP_X:Y", NULL);
    check_cgi("HTTP_X\r\nY", NULL);
    check_cgi("HTTP_X.Y", NULL);
    check_cgi("HTTP_\xc3\xa9", NULL);
}

static void test_gateway_only(void)
{
    static const char *const names[] = {
        "authorization", "x-api-key", "x-request-id",
        "alephant-session-id", "alephant-session-path", "alephant-session-name",
        "alephant-property-env", "alephant-property-customer-tier", "alephant-prompt-id",
        "alephant-forced-routing", "alephant-cache-enabled", "alephant-cache-read",
        "alephant-cache-save", "alephant-cache-bucket-max-size", "alephant-cache-seed",
        "alephant-cache-control", "alephant-embeddings-model", "alephant-embeddings-key",
        "alephant-cache-semantic-threshold", "alephant-cache-ttl", "alephant-omit-request",
        "alephant-omit-response", "alephant-x", "x-alephant-country-code", "x-alephant-x",
        /* callers should lower-case, but mixed case must not slip through */
        "Authorization", "X-API-KEY", "Alephant-Cache-Enabled", "X-Alephant-Country-Code",
        NULL,
    };
    for (const char *const *n = names; *n != NULL; n++) {
        if (gw_header_classify(*n) != GW_HDR_GATEWAY)
            g_error("%s should be gateway-only", *n);
    }
}

static void test_dropped(void)
{
    static const char *const names[] = {
        "connection", "keep-alive", "proxy-connection", "proxy-authorization",
        "proxy-authenticate", "proxy", "te", "trailer", "transfer-encoding", "upgrade", "host",
        "content-length", "expect", "accept-encoding", "cookie",
        "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port",
        "x-forwarded-server", "x-forwarded-anything", "forwarded", "x-real-ip", "via",
        "cf-ipcountry", "cf-connecting-ip", "cf-ray", "cf-visitor",
        "x-http-method-override", "x-http-method", "x-method-override",
        "api-key", "x-goog-api-key",
        "Host", "Content-Length", "X-Forwarded-For", "CF-IPCountry", "Api-Key",
        "", NULL,
    };
    for (const char *const *n = names; *n != NULL; n++) {
        if (gw_header_classify(*n) != GW_HDR_DROP)
            g_error("'%s' should be dropped", *n);
    }
    g_assert_cmpint(gw_header_classify(NULL), ==, GW_HDR_DROP);
}

static void test_forwarded(void)
{
    static const char *const names[] = {
        "content-type", "accept", "anthropic-version", "anthropic-beta",
        "openai-organization", "openai-project", "openai-beta", "user-agent",
        "x-stainless-lang", "x-stainless-retry-count", "idempotency-key",
        /* prefix rules need the dash: these only look like gateway/drop names */
        "alephant", "alephantx", "x-alephant", "x-alephantx", "cf", "cfoo", "cfx-ray",
        "x-forwarded", "x-forwardedfor", "proxyish", "hosts", "tee", "vias", "x-api-keys",
        "authorizations", "x-request-ids", "api-keys", "xapi-key",
        NULL,
    };
    for (const char *const *n = names; *n != NULL; n++) {
        if (gw_header_classify(*n) != GW_HDR_FORWARD)
            g_error("%s should be forwarded", *n);
    }
}

/* Whole string literal, embedded NULs included. */
#define SAFE(lit) gw_header_value_is_safe("" lit, sizeof(lit) - 1)

static void test_value_safety(void)
{
    g_assert_true(SAFE("application/json"));
    g_assert_true(SAFE(""));
    g_assert_true(gw_header_value_is_safe(NULL, 0));
    g_assert_true(SAFE("tab\there \xc3\xa9"));
    g_assert_false(SAFE("a\rb"));
    g_assert_false(SAFE("a\nb"));
    g_assert_false(SAFE("a\r\nX-Evil: 1"));
    g_assert_false(SAFE("a\0b"));
    g_assert_false(SAFE("ab\n"));
    g_assert_false(SAFE("\rab"));
    g_assert_false(gw_header_value_is_safe(NULL, 3));
    /* Only len bytes are looked at. */
    g_assert_true(gw_header_value_is_safe("ab\n", 2));
}

static void test_relay(void)
{
    static const char *const allowed[] = {
        "content-type", "openai-processing-ms", "openai-version", "openai-organization",
        "anthropic-ratelimit-requests-remaining", "anthropic-organization-id",
        "x-ratelimit-limit-requests", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens",
        "retry-after", "retry-after-ms", "x-request-id", "request-id", "cache-control",
        "Content-Type", "OpenAI-Version", NULL,
    };
    static const char *const denied[] = {
        "set-cookie", "server", "date", "content-length", "content-encoding",
        "transfer-encoding", "connection", "keep-alive", "www-authenticate", "authorization",
        "x-api-key", "api-key", "alephant-provider", "cf-ray", "via", "x-powered-by",
        "strict-transport-security", "alt-svc", "x-stainless-lang", "trailer", "upgrade",
        "openai", "anthropic", "x-ratelimit", "openai-", "retry-after-x", "content-type-x",
        "", NULL,
    };
    for (const char *const *n = allowed; *n != NULL; n++) {
        if (!gw_header_relay_response(*n))
            g_error("%s should be relayed", *n);
    }
    for (const char *const *n = denied; *n != NULL; n++) {
        if (gw_header_relay_response(*n))
            g_error("'%s' should not be relayed", *n);
    }
    g_assert_false(gw_header_relay_response(NULL));
}

/* A client header goes CGI → name → class; the CGI '_'/'-' folding must not let a
 * gateway-only or dropped header through under another spelling. */
static void test_cgi_roundtrip(void)
{
    static const struct { const char *param; GwHeaderClass want; } cases[] = {
        { "HTTP_X_API_KEY", GW_HDR_GATEWAY },
        { "HTTP_X-API-KEY", GW_HDR_GATEWAY },
        { "HTTP_ALEPHANT_CACHE_ENABLED", GW_HDR_GATEWAY },
        { "HTTP_X_FORWARDED_FOR", GW_HDR_DROP },
        { "HTTP_CF_CONNECTING_IP", GW_HDR_DROP },
        { "HTTP_API_KEY", GW_HDR_DROP },
        { "HTTP_PROXY", GW_HDR_DROP },
        { "HTTP_ANTHROPIC_BETA", GW_HDR_FORWARD },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *name = gw_header_name_from_cgi(cases[i].param);
        g_assert_nonnull(name);
        if (gw_header_classify(name) != cases[i].want)
            g_error("%s (%s) misclassified", cases[i].param, name);
        g_free(name);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/headers/cgi-names", test_cgi_names);
    g_test_add_func("/headers/gateway-only", test_gateway_only);
    g_test_add_func("/headers/dropped", test_dropped);
    g_test_add_func("/headers/forwarded", test_forwarded);
    g_test_add_func("/headers/value-safety", test_value_safety);
    g_test_add_func("/headers/relay", test_relay);
    g_test_add_func("/headers/cgi-roundtrip", test_cgi_roundtrip);
    return g_test_run();
}
