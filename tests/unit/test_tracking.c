/* test_tracking.c — tracking headers: properties, session fields, omit flags, country, referer,
 * prompt id, client/rate-limit IP selection, and the policy header map. */
#include "config.h"
#include "tracking.h"

#include <string.h>
#include <jansson.h>

static void header_free(gpointer p)
{
    GwHeader *h = p;
    g_free(h->name);
    g_free(h->value);
    g_free(h);
}

/* Headers from name/value pairs, NULL-terminated. */
static GPtrArray *hdrs(const char *first, ...)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(header_free);
    va_list ap;
    va_start(ap, first);
    for (const char *name = first; name != NULL; name = va_arg(ap, const char *)) {
        GwHeader *h = g_new(GwHeader, 1);
        h->name = g_strdup(name);
        h->value = g_strdup(va_arg(ap, const char *));
        g_ptr_array_add(a, h);
    }
    va_end(ap);
    return a;
}

static void add_hdr(GPtrArray *a, const char *name, const char *value)
{
    GwHeader *h = g_new(GwHeader, 1);
    h->name = g_strdup(name);
    h->value = g_strdup(value);
    g_ptr_array_add(a, h);
}

/* Parses with defaults and a peer; asserts success. */
static void parse_ok(GPtrArray *h, const char *peer, const GwCidrList *trusted, GwTracking *t)
{
    GError *err = NULL;
    GwStatus st = gw_tracking_parse(h, peer, trusted, NULL, t, &err);
    if (st != GW_OK)
        g_error("unexpected failure: %s", err != NULL ? err->message : "?");
    g_assert_no_error(err);
}

/* Parses with limits lim (NULL = defaults); asserts GW_EINVAL with a message containing
 * `needle`; checks the out struct was left cleared. */
static void parse_fails(GPtrArray *h, const GwTrackingLimits *lim, const char *needle)
{
    GwTracking t;
    GError *err = NULL;
    memset(&t, 0x5a, sizeof t);
    g_assert_cmpint(gw_tracking_parse(h, "1.2.3.4", NULL, lim, &t, &err), ==, GW_EINVAL);
    g_assert_error(err, GW_ERROR, GW_EINVAL);
    if (strstr(err->message, needle) == NULL)
        g_error("message '%s' should contain '%s'", err->message, needle);
    g_assert_null(t.properties);
    g_assert_null(t.session_id);
    g_assert_null(t.session_path);
    g_assert_null(t.prompt_id);
    gw_tracking_clear(&t);
    g_error_free(err);
    g_ptr_array_unref(h);
}

static const char *prop(const GwTracking *t, guint i, const char **value)
{
    const GwProperty *p = g_ptr_array_index(t->properties, i);
    *value = p->value;
    return p->name;
}

/* ---- nothing present ---- */

static void test_empty(void)
{
    GwTracking t;
    parse_ok(NULL, NULL, NULL, &t);
    g_assert_nonnull(t.properties);
    g_assert_cmpuint(t.properties->len, ==, 0);
    g_assert_null(t.session_id);
    g_assert_null(t.session_path);
    g_assert_null(t.session_name);
    g_assert_cmpstr(t.country, ==, "");
    g_assert_null(t.referer);
    g_assert_false(t.omit_request);
    g_assert_false(t.omit_response);
    g_assert_null(t.prompt_id);
    g_assert_cmpstr(t.client_ip, ==, "");
    g_assert_cmpstr(t.ratelimit_ip, ==, "");
    g_assert_null(t.correlation_id);
    gw_tracking_clear(&t);
    gw_tracking_clear(&t); /* idempotent */
    gw_tracking_clear(NULL);

    GPtrArray *h = hdrs("content-type", "application/json", NULL);
    parse_ok(h, "", NULL, &t);
    g_assert_cmpuint(t.properties->len, ==, 0);
    gw_tracking_clear(&t);
    g_ptr_array_unref(h);
}

static void test_limits_default(void)
{
    GwTrackingLimits l;
    gw_tracking_limits_default(&l);
    g_assert_cmpuint(l.max_properties, ==, 32);
    g_assert_cmpuint(l.max_property_name, ==, 64);
    g_assert_cmpuint(l.max_property_value, ==, 1024);
    g_assert_cmpuint(l.max_session_field, ==, 256);
}

/* ---- properties ---- */

static void test_properties(void)
{
    GPtrArray *h = hdrs("alephant-property-environment", "production",
                        "Alephant-Property-Customer-Tier", "enterprise",
                        "alephant-property-a.b_c-9", "ünïcödé ✓",
                        "alephant-property-empty", "",
                        "x-other", "ignored", NULL);
    GwTracking t;
    const char *v;
    parse_ok(h, "1.2.3.4", NULL, &t);
    g_assert_cmpuint(t.properties->len, ==, 4);
    /* Sorted by name, names lower-cased, prefix removed. */
    g_assert_cmpstr(prop(&t, 0, &v), ==, "a.b_c-9");
    g_assert_cmpstr(v, ==, "ünïcödé ✓");
    g_assert_cmpstr(prop(&t, 1, &v), ==, "customer-tier");
    g_assert_cmpstr(v, ==, "enterprise");
    g_assert_cmpstr(prop(&t, 2, &v), ==, "empty");
    g_assert_cmpstr(v, ==, "");
    g_assert_cmpstr(prop(&t, 3, &v), ==, "environment");
    g_assert_cmpstr(v, ==, "production");
    gw_tracking_clear(&t);
    g_ptr_array_unref(h);
}

static void test_property_limits(void)
{
    GwTrackingLimits lim;
    gw_tracking_limits_default(&lim);

    /* Exactly at every limit: accepted. */
    GPtrArray *h = g_ptr_array_new_with_free_func(header_free);
    char *name64 = g_strnfill(64, 'n');
    char *val1024 = g_strnfill(1024, 'v');
    for (guint i = 0; i < 31; i++) {
        char *n = g_strdup_printf("alephant-property-p%02u", i);
        add_hdr(h, n, "x");
        g_free(n);
    }
    char *long_name = g_strconcat("alephant-property-", name64, NULL);
    add_hdr(h, long_name, val1024);
    GwTracking t;
    parse_ok(h, NULL, NULL, &t);
    g_assert_cmpuint(t.properties->len, ==, 32);
    const char *v;
    g_assert_cmpstr(prop(&t, 0, &v), ==, name64); /* "nnn…" sorts before "p00" */
    g_assert_cmpstr(v, ==, val1024);
    gw_tracking_clear(&t);

    /* One more property: refused. */
    add_hdr(h, "alephant-property-extra", "x");
    parse_fails(h, NULL, "too many alephant-property-* headers (at most 32)");

    /* A lower configured limit applies. */
    lim.max_properties = 1;
    parse_fails(hdrs("alephant-property-a", "1", "alephant-property-b", "2", NULL), &lim,
                "at most 1");
    lim.max_properties = 0;
    parse_fails(hdrs("alephant-property-a", "1", NULL), &lim, "at most 0");

    /* Name one byte too long. */
    char *name65 = g_strconcat("alephant-property-", name64, "n", NULL);
    parse_fails(hdrs(name65, "x", NULL), NULL, "property name too long");
    /* Value one byte too long. */
    char *val1025 = g_strconcat(val1024, "v", NULL);
    parse_fails(hdrs("alephant-property-x", val1025, NULL), NULL, "property value too long");
    gw_tracking_limits_default(&lim);
    lim.max_property_value = 3;
    parse_fails(hdrs("alephant-property-x", "abcd", NULL), &lim, "alephant-property-x");
    /* Bytes, not characters: "é" is 2 bytes. */
    parse_fails(hdrs("alephant-property-x", "aéb", NULL), &lim, "too long");

    g_free(name64);
    g_free(name65);
    g_free(val1024);
    g_free(val1025);
    g_free(long_name);
}

static void test_property_refused(void)
{
    parse_fails(hdrs("alephant-property-", "x", NULL), NULL, "empty property name");
    parse_fails(hdrs("alephant-property-a b", "x", NULL), NULL, "may only contain");
    parse_fails(hdrs("alephant-property-a/b", "x", NULL), NULL, "'alephant-property-a/b'");
    parse_fails(hdrs("alephant-property-a:b", "x", NULL), NULL, "may only contain");
    parse_fails(hdrs("alephant-property-café", "x", NULL), NULL, "may only contain");
    parse_fails(hdrs("alephant-property-a\x01", "x", NULL), NULL, "alephant-property-a?");
    /* Control characters and invalid UTF-8 in values. */
    parse_fails(hdrs("alephant-property-x", "a\tb", NULL), NULL, "control characters");
    parse_fails(hdrs("alephant-property-x", "a\x1b[31mb", NULL), NULL, "control characters");
    parse_fails(hdrs("alephant-property-x", "a\x7f", NULL), NULL, "control characters");
    parse_fails(hdrs("alephant-property-x", "a\xc2\x85", NULL), NULL, "control characters");
    /* A value that is not UTF-8 cannot be shown or filtered: the property is ignored (the
     * contract: such headers are ignored, never fatal). */
    {
        GwTracking t;
        GPtrArray *h = hdrs("alephant-property-x", "a\xff", "alephant-property-y", "\xc3",
                            "alephant-property-ok", "yes", NULL);
        parse_ok(h, "127.0.0.1", NULL, &t);
        g_assert_cmpuint(t.properties->len, ==, 1);
        g_assert_cmpstr(((GwProperty *)g_ptr_array_index(t.properties, 0))->name, ==, "ok");
        gw_tracking_clear(&t);
        g_ptr_array_unref(h);
    }
    /* Repeats, including ones that differ only in case. */
    parse_fails(hdrs("alephant-property-env", "a", "alephant-property-other", "b",
                     "alephant-property-env", "c", NULL),
                NULL, "'alephant-property-env': repeated property");
    parse_fails(hdrs("alephant-property-Env", "a", "ALEPHANT-PROPERTY-ENV", "b", NULL), NULL,
                "repeated property");
}

/* ---- session, prompt id, omit flags ---- */

static void test_session_path_normalize(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"checkout/retry", "/checkout/retry"},
        {"/checkout/retry", "/checkout/retry"},
        {"//a//b/", "/a/b"},
        {"/", "/"},
        {"//", "/"},
        {"///", "/"},
        {"a", "/a"},
        {"a/", "/a"},
        {"/a/b/c/", "/a/b/c"},
        {"a///b////c", "/a/b/c"},
        {" a b ", "/ a b "},
        {"/é/ü", "/é/ü"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *n = gw_session_path_normalize(cases[i].in);
        g_assert_cmpstr(n, ==, cases[i].out);
        g_free(n);
    }
    g_assert_null(gw_session_path_normalize(""));
    g_assert_null(gw_session_path_normalize(NULL));
}

static void test_session(void)
{
    GPtrArray *h = hdrs("alephant-session-id", "onboarding-demo",
                        "alephant-session-path", "checkout//retry/",
                        "alephant-session-name", "Checkout — retry",
                        "alephant-prompt-id", "welcome-v2",
                        "alephant-session-id", "second-is-ignored", NULL);
    GwTracking t;
    parse_ok(h, NULL, NULL, &t);
    g_assert_cmpstr(t.session_id, ==, "onboarding-demo");
    g_assert_cmpstr(t.session_path, ==, "/checkout/retry");
    g_assert_cmpstr(t.session_name, ==, "Checkout — retry");
    g_assert_cmpstr(t.prompt_id, ==, "welcome-v2");
    gw_tracking_clear(&t);
    g_ptr_array_unref(h);

    /* Empty values are absent. */
    h = hdrs("alephant-session-id", "", "alephant-session-path", "", "alephant-session-name", "",
             "alephant-prompt-id", "", NULL);
    parse_ok(h, NULL, NULL, &t);
    g_assert_null(t.session_id);
    g_assert_null(t.session_path);
    g_assert_null(t.session_name);
    g_assert_null(t.prompt_id);
    gw_tracking_clear(&t);
    g_ptr_array_unref(h);

    h = hdrs("alephant-session-path", "/", NULL);
    parse_ok(h, NULL, NULL, &t);
    g_assert_cmpstr(t.session_path, ==, "/");
    gw_tracking_clear(&t);
    g_ptr_array_unref(h);
}

static void test_session_refused(void)
{
    char *v256 = g_strnfill(256, 's');
    char *v257 = g_strnfill(257, 's');
    char *p255 = g_strnfill(255, 'p');
    char *p256 = g_strnfill(256, 'p');
    GwTracking t;

    /* At the limit: fine. A path of 255 bytes becomes 256 with the leading '/'. */
    GPtrArray *h = hdrs("alephant-session-id", v256, "alephant-session-name", v256,
                        "alephant-session-path", p255, "alephant-prompt-id", v256, NULL);
    parse_ok(h, NULL, NULL, &t);
    g_assert_cmpuint(strlen(t.session_path), ==, 256);
    gw_tracking_clear(&t);
    g_ptr_array_unref(h);
    /* Measured after normalisation: "//" + 255 + "/" (258 bytes) becomes "/" + 255. */
    char *slashes = g_strconcat("//", p255, "/", NULL);
    h = hdrs("alephant-session-path", slashes, NULL);
    parse_ok(h, NULL, NULL, &t);
    g_assert_cmpuint(strlen(t.session_path), ==, 256);
    gw_tracking_clear(&t);
    g_ptr_array_unref(h);

    parse_fails(hdrs("alephant-session-id", v257, NULL), NULL,
                "'alephant-session-id': value too long");
    parse_fails(hdrs("alephant-session-name", v257, NULL), NULL, "'alephant-session-name'");
    parse_fails(hdrs("alephant-session-path", p256, NULL), NULL, "'alephant-session-path'");
    parse_fails(hdrs("alephant-prompt-id", v257, NULL), NULL, "'alephant-prompt-id'");
    parse_fails(hdrs("alephant-session-id", "a\tb", NULL), NULL, "control characters");
    parse_fails(hdrs("alephant-session-name", "a\x1b", NULL), NULL, "'alephant-session-name'");
    parse_fails(hdrs("alephant-session-path", "/a\x7f", NULL), NULL, "'alephant-session-path'");
    parse_fails(hdrs("alephant-session-id", "\xff\xfe", NULL), NULL, "UTF-8");
    parse_fails(hdrs("alephant-prompt-id", "p\x01", NULL), NULL, "'alephant-prompt-id'");

    GwTrackingLimits lim;
    gw_tracking_limits_default(&lim);
    lim.max_session_field = 4;
    parse_fails(hdrs("alephant-session-path", "abcd", NULL), &lim, "too long"); /* "/abcd" */

    g_free(v256);
    g_free(v257);
    g_free(p255);
    g_free(p256);
    g_free(slashes);
}

static void test_omit(void)
{
    GwTracking t;
    GPtrArray *h = hdrs("alephant-omit-request", "", NULL);
    parse_ok(h, NULL, NULL, &t);
    g_assert_true(t.omit_request);
    g_assert_false(t.omit_response);
    gw_tracking_clear(&t);
    g_ptr_array_unref(h);

    h = hdrs("alephant-omit-response", "false", "Alephant-Omit-Request", "true", NULL);
    parse_ok(h, NULL, NULL, &t);
    g_assert_true(t.omit_request);
    g_assert_true(t.omit_response); /* any value, even "false" */
    gw_tracking_clear(&t);
    g_ptr_array_unref(h);
}

/* ---- country, referer ---- */

static const char *country_of(const char *cf, const char *fallback)
{
    static char c[3];
    GPtrArray *h = g_ptr_array_new_with_free_func(header_free);
    if (cf != NULL)
        add_hdr(h, "cf-ipcountry", cf);
    if (fallback != NULL)
        add_hdr(h, "x-alephant-country-code", fallback);
    GwTracking t;
    parse_ok(h, NULL, NULL, &t);
    memcpy(c, t.country, sizeof c);
    gw_tracking_clear(&t);
    g_ptr_array_unref(h);
    return c;
}

static void test_country(void)
{
    g_assert_cmpstr(country_of("US", NULL), ==, "US");
    g_assert_cmpstr(country_of("de", NULL), ==, "DE");
    g_assert_cmpstr(country_of("gB", NULL), ==, "GB");
    g_assert_cmpstr(country_of("XX", NULL), ==, "");
    g_assert_cmpstr(country_of("xx", NULL), ==, "");
    g_assert_cmpstr(country_of("T1", NULL), ==, "T1");
    g_assert_cmpstr(country_of("t1", NULL), ==, "T1");
    const char *bad[] = {"", "U", "USA", "U1", "1T", "12", "U ", " U", "ÜS", "A-", "\xff\xfe"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
        g_assert_cmpstr(country_of(bad[i], NULL), ==, "");
    /* Fallback only when Cloudflare's header is absent. */
    g_assert_cmpstr(country_of(NULL, "fr"), ==, "FR");
    g_assert_cmpstr(country_of(NULL, "T1"), ==, "T1");
    g_assert_cmpstr(country_of(NULL, "XX"), ==, "");
    g_assert_cmpstr(country_of(NULL, "FRA"), ==, "");
    g_assert_cmpstr(country_of("US", "FR"), ==, "US");
    g_assert_cmpstr(country_of("XX", "FR"), ==, "");
    g_assert_cmpstr(country_of("bogus", "FR"), ==, "");
    g_assert_cmpstr(country_of(NULL, NULL), ==, "");
}

static char *referer_of(const char *v)
{
    GPtrArray *h = hdrs("referer", v, NULL);
    GwTracking t;
    parse_ok(h, NULL, NULL, &t);
    char *r = g_strdup(t.referer);
    gw_tracking_clear(&t);
    g_ptr_array_unref(h);
    return r;
}

static void test_referer(void)
{
    char *r = referer_of("https://app.example.com/page?x=1");
    g_assert_cmpstr(r, ==, "https://app.example.com/page?x=1");
    g_free(r);
    g_assert_null(referer_of(""));
    g_assert_null(referer_of("https://x/\xff"));

    /* Exactly the cap: kept whole. One more: cut to the cap. */
    char *a2048 = g_strnfill(2048, 'a');
    r = referer_of(a2048);
    g_assert_cmpstr(r, ==, a2048);
    g_free(r);
    char *a3000 = g_strnfill(3000, 'a');
    r = referer_of(a3000);
    g_assert_cmpuint(strlen(r), ==, 2048);
    g_free(r);

    /* A 2-byte character straddling the cap is dropped whole. */
    char *base = g_strnfill(2047, 'a');
    char *straddle = g_strconcat(base, "é", "tail", NULL);
    r = referer_of(straddle);
    g_assert_cmpstr(r, ==, base);
    g_free(r);
    /* A 3-byte character ending exactly at the cap is kept. */
    char *base2045 = g_strnfill(2045, 'a');
    char *fits = g_strconcat(base2045, "€", "tail", NULL);
    r = referer_of(fits);
    g_assert_cmpuint(strlen(r), ==, 2048);
    g_assert_true(g_str_has_suffix(r, "€"));
    g_free(r);
    /* A 4-byte character starting one byte before the cap is dropped. */
    char *emoji = g_strconcat(base, "😀", NULL);
    r = referer_of(emoji);
    g_assert_cmpstr(r, ==, base);
    g_assert_true(g_utf8_validate(r, -1, NULL));
    g_free(r);

    g_free(a2048);
    g_free(a3000);
    g_free(base);
    g_free(straddle);
    g_free(base2045);
    g_free(fits);
    g_free(emoji);
}

/* ---- client IPs ---- */

typedef struct {
    char client[INET6_ADDRSTRLEN];
    char ratelimit[INET6_ADDRSTRLEN];
} Ips;

/* xff may be NULL (no header) or hold several headers separated by '\n'. */
static Ips ips(const char *xff, const char *peer, const GwCidrList *trusted)
{
    GPtrArray *h = g_ptr_array_new_with_free_func(header_free);
    if (xff != NULL) {
        char **parts = g_strsplit(xff, "\n", -1);
        for (char **p = parts; *p != NULL; p++)
            add_hdr(h, "x-forwarded-for", *p);
        g_strfreev(parts);
    }
    GwTracking t;
    parse_ok(h, peer, trusted, &t);
    Ips r;
    memcpy(r.client, t.client_ip, sizeof r.client);
    memcpy(r.ratelimit, t.ratelimit_ip, sizeof r.ratelimit);
    gw_tracking_clear(&t);
    g_ptr_array_unref(h);
    return r;
}

static GwCidrList *cidrs(const char *spec)
{
    GwCidrList *l;
    g_assert_cmpint(gw_cidr_list_parse(spec, &l, NULL), ==, GW_OK);
    return l;
}

static void test_client_ip(void)
{
    Ips r = ips(NULL, "198.51.100.7", NULL);
    g_assert_cmpstr(r.client, ==, "198.51.100.7");
    g_assert_cmpstr(r.ratelimit, ==, "198.51.100.7");

    r = ips("203.0.113.5, 10.0.0.1, 10.0.0.2", "10.0.0.3", NULL);
    g_assert_cmpstr(r.client, ==, "203.0.113.5");

    /* Leftmost *valid*: empty and junk entries are skipped. */
    r = ips(" , unknown,  garbage:80 ,[::1, 2001:DB8::9 , 203.0.113.5", "10.0.0.3", NULL);
    g_assert_cmpstr(r.client, ==, "2001:db8::9");
    r = ips("\t203.0.113.5:4711\t", "10.0.0.3", NULL);
    g_assert_cmpstr(r.client, ==, "203.0.113.5");
    r = ips("[2001:db8::1]:443, 1.1.1.1", "10.0.0.3", NULL);
    g_assert_cmpstr(r.client, ==, "2001:db8::1");
    r = ips("::ffff:192.0.2.9", "10.0.0.3", NULL);
    g_assert_cmpstr(r.client, ==, "192.0.2.9");
    /* Several headers count in order (as lighttpd's ", " join would). */
    r = ips("junk\n192.0.2.1, 192.0.2.2\n192.0.2.3", "10.0.0.3", NULL);
    g_assert_cmpstr(r.client, ==, "192.0.2.1");
    /* Nothing valid → the peer. */
    r = ips("unknown, , x", "10.0.0.3", NULL);
    g_assert_cmpstr(r.client, ==, "10.0.0.3");
    r = ips("", "::ffff:10.0.0.3", NULL);
    g_assert_cmpstr(r.client, ==, "10.0.0.3");
    r = ips(",,,", "2001:db8::2", NULL);
    g_assert_cmpstr(r.client, ==, "2001:db8::2");

    /* Peer unknown/invalid: rate-limit IP unknown; XFF still gives the policy IP. */
    r = ips("203.0.113.5", NULL, NULL);
    g_assert_cmpstr(r.client, ==, "203.0.113.5");
    g_assert_cmpstr(r.ratelimit, ==, "");
    r = ips(NULL, "", NULL);
    g_assert_cmpstr(r.client, ==, "");
    g_assert_cmpstr(r.ratelimit, ==, "");
    r = ips("junk", "not-an-ip", NULL);
    g_assert_cmpstr(r.client, ==, "");
    g_assert_cmpstr(r.ratelimit, ==, "");

    /* A huge header of junk entries is handled. */
    GString *big = g_string_new(NULL);
    for (int i = 0; i < 20000; i++)
        g_string_append(big, "x,");
    g_string_append(big, "192.0.2.77");
    r = ips(big->str, "10.0.0.1", NULL);
    g_assert_cmpstr(r.client, ==, "192.0.2.77");
    g_string_free(big, TRUE);
}

static void test_ratelimit_ip(void)
{
    GwCidrList *trusted = cidrs("10.0.0.0/8, 2001:db8:ffff::/48");

    /* Untrusted peer: XFF ignored for rate limiting, whatever it says. */
    Ips r = ips("1.1.1.1, 10.0.0.9", "198.51.100.7", trusted);
    g_assert_cmpstr(r.client, ==, "1.1.1.1");
    g_assert_cmpstr(r.ratelimit, ==, "198.51.100.7");
    /* No trusted list at all: same. */
    r = ips("1.1.1.1", "10.0.0.1", NULL);
    g_assert_cmpstr(r.ratelimit, ==, "10.0.0.1");

    /* Trusted peer: rightmost untrusted. The client forged "1.1.1.1" on the left. */
    r = ips("1.1.1.1, 203.0.113.5", "10.0.0.1", trusted);
    g_assert_cmpstr(r.client, ==, "1.1.1.1");
    g_assert_cmpstr(r.ratelimit, ==, "203.0.113.5");
    /* Trusted hops on the right are passed. */
    r = ips("1.1.1.1, 203.0.113.5, 10.0.0.7, 10.0.0.8", "10.0.0.1", trusted);
    g_assert_cmpstr(r.ratelimit, ==, "203.0.113.5");
    /* Across several headers, the last header's entries are nearest. */
    r = ips("1.1.1.1\n203.0.113.5, 10.0.0.7\n10.0.0.8", "10.0.0.1", trusted);
    g_assert_cmpstr(r.ratelimit, ==, "203.0.113.5");
    /* Ports and mapped forms are normalised. */
    r = ips("1.1.1.1, 203.0.113.5:5555, ::ffff:10.0.0.7", "::ffff:10.0.0.1", trusted);
    g_assert_cmpstr(r.ratelimit, ==, "203.0.113.5");
    /* Trusted peer, no XFF: the peer itself. */
    r = ips(NULL, "10.0.0.1", trusted);
    g_assert_cmpstr(r.ratelimit, ==, "10.0.0.1");
    /* Everything trusted: the leftmost (furthest) trusted hop. */
    r = ips("10.0.0.5, 10.0.0.6", "10.0.0.1", trusted);
    g_assert_cmpstr(r.ratelimit, ==, "10.0.0.5");
    /* Junk where a trusted proxy should have written stops the walk at the last trusted hop. */
    r = ips("1.1.1.1, junk, 10.0.0.7", "10.0.0.1", trusted);
    g_assert_cmpstr(r.client, ==, "1.1.1.1");
    g_assert_cmpstr(r.ratelimit, ==, "10.0.0.7");
    r = ips("1.1.1.1, ", "10.0.0.1", trusted);
    g_assert_cmpstr(r.ratelimit, ==, "10.0.0.1");
    r = ips("1.1.1.1,,10.0.0.7", "10.0.0.1", trusted);
    g_assert_cmpstr(r.ratelimit, ==, "10.0.0.7");

    /* IPv6 peer: trusted and untrusted. */
    r = ips("2001:db8::1, 2001:db8:1::2", "2001:db8:ffff::10", trusted);
    g_assert_cmpstr(r.client, ==, "2001:db8::1");
    g_assert_cmpstr(r.ratelimit, ==, "2001:db8:1::2");
    r = ips("[2001:db8::1]:1234, [2001:db8:ffff::99]:443", "2001:db8:ffff::10", trusted);
    g_assert_cmpstr(r.ratelimit, ==, "2001:db8::1");
    r = ips("2001:db8::1", "2001:db8:fffe::10", trusted);
    g_assert_cmpstr(r.ratelimit, ==, "2001:db8:fffe::10");
    r = ips("203.0.113.5", "::1", trusted);
    g_assert_cmpstr(r.ratelimit, ==, "::1");

    gw_cidr_list_free(trusted);
}

/* ---- policy headers ---- */

static void test_policy_headers(void)
{
    GPtrArray *h = hdrs("content-type", "application/json",
                        "authorization", "Bearer vk-secret",
                        "x-api-key", "secret",
                        "cookie", "s=1",
                        "proxy-authorization", "Basic x",
                        "alephant-embeddings-key", "sk-embed",
                        "accept", "text/plain",
                        "X-Custom", "a",
                        "x-custom", "b",
                        "x-binary", "caf\xe9",
                        "x-utf8", "café",
                        "accept", "application/json",
                        "x-empty", "", NULL);
    GHashTable *m = gw_tracking_policy_headers(h);
    g_assert_cmpuint(g_hash_table_size(m), ==, 5);
    g_assert_cmpstr(g_hash_table_lookup(m, "content-type"), ==, "application/json");
    g_assert_cmpstr(g_hash_table_lookup(m, "accept"), ==, "text/plain, application/json");
    g_assert_cmpstr(g_hash_table_lookup(m, "x-custom"), ==, "a, b");
    g_assert_cmpstr(g_hash_table_lookup(m, "x-utf8"), ==, "café");
    g_assert_cmpstr(g_hash_table_lookup(m, "x-empty"), ==, "");
    g_assert_false(g_hash_table_contains(m, "x-binary"));
    g_assert_false(g_hash_table_contains(m, "authorization"));
    g_assert_false(g_hash_table_contains(m, "x-api-key"));
    g_assert_false(g_hash_table_contains(m, "cookie"));
    g_assert_false(g_hash_table_contains(m, "proxy-authorization"));
    g_assert_false(g_hash_table_contains(m, "alephant-embeddings-key"));
    g_hash_table_unref(m);
    g_ptr_array_unref(h);

    /* Secrets in any case; a repeated name with one non-UTF-8 occurrence keeps the others. */
    h = hdrs("Authorization", "Bearer x", "X-API-KEY", "k", "x-r", "1", "x-r", "\xff", "x-r", "3",
             NULL);
    m = gw_tracking_policy_headers(h);
    g_assert_cmpuint(g_hash_table_size(m), ==, 1);
    g_assert_cmpstr(g_hash_table_lookup(m, "x-r"), ==, "1, 3");
    g_hash_table_unref(m);
    g_ptr_array_unref(h);

    m = gw_tracking_policy_headers(NULL);
    g_assert_cmpuint(g_hash_table_size(m), ==, 0);
    g_hash_table_unref(m);
}


/* ---- request headers kept on the log row ---- */

static json_t *log_headers_json(GPtrArray *h, gsize max)
{
    char *text = gw_tracking_log_headers(h, max);
    g_assert_nonnull(text);
    g_assert_cmpuint(strlen(text), <=, max != 0 ? max : GW_LOG_HEADERS_MAX);
    json_error_t e;
    json_t *o = json_loads(text, 0, &e);
    g_assert_nonnull(o);
    g_assert_true(json_is_object(o));
    g_free(text);
    return o;
}

#define VK "vk-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde"

static void test_log_headers_secrets(void)
{
    GPtrArray *h = hdrs("authorization", "Bearer " VK, "cookie", "session=abc",
                        "x-api-key", "sk-other-secret", "api-key", "azure-secret",
                        "proxy-authorization", "Basic Zm9vOmJhcg==", "alephant-embeddings-key", "ek",
                        "user-agent", "OpenAI/JS 4.0", "content-type", "application/json",
                        "x-echo", "copy of " VK " here", "x-other-vk", "vk-ZZZZZZZZZZZZZZZZZZZZZZZZ",
                        "x-has-xkey", "prefix sk-other-secret", "alephant-property-env", "prod",
                        "accept", "a", "x-goog-api-key", "AIzaSecret", "x-auth-token", "t0k",
                        "x-amz-security-token", "st", "x-client-secret", "cs", NULL);
    add_hdr(h, "accept", "b");
    json_t *o = log_headers_json(h, 0);
    const char *gone[] = {"authorization", "cookie", "x-api-key", "api-key", "proxy-authorization",
                          "alephant-embeddings-key", "x-echo", "x-other-vk", "x-has-xkey",
                          "x-goog-api-key", "x-auth-token", "x-amz-security-token",
                          "x-client-secret"};
    for (gsize i = 0; i < G_N_ELEMENTS(gone); i++)
        g_assert_null(json_object_get(o, gone[i]));
    g_assert_cmpstr(json_string_value(json_object_get(o, "user-agent")), ==, "OpenAI/JS 4.0");
    g_assert_cmpstr(json_string_value(json_object_get(o, "content-type")), ==, "application/json");
    g_assert_cmpstr(json_string_value(json_object_get(o, "alephant-property-env")), ==, "prod");
    g_assert_cmpstr(json_string_value(json_object_get(o, "accept")), ==, "a, b");
    g_assert_null(json_object_get(o, "alephant-headers-truncated"));
    /* No secret anywhere in the text. */
    char *text = gw_tracking_log_headers(h, 0);
    g_assert_null(strstr(text, "vk-"));
    g_assert_null(strstr(text, "sk-other"));
    g_assert_null(strstr(text, "azure-secret"));
    g_assert_null(strstr(text, "session=abc"));
    g_assert_null(strstr(text, "AIzaSecret"));
    g_free(text);
    json_decref(o);
    g_ptr_array_unref(h);

    /* A short vk- that is not key-shaped stays; an Authorization token that is not a vk still
     * removes headers echoing it. */
    h = hdrs("authorization", "bearer   tok123  ", "x-trace", "vk-short", "x-copy", "=tok123=",
             NULL);
    o = log_headers_json(h, 0);
    g_assert_cmpstr(json_string_value(json_object_get(o, "x-trace")), ==, "vk-short");
    g_assert_null(json_object_get(o, "x-copy"));
    json_decref(o);
    g_ptr_array_unref(h);
}

static void test_log_headers_omit(void)
{
    GPtrArray *h = hdrs("user-agent", "x", "alephant-omit-request", "true", NULL);
    g_assert_null(gw_tracking_log_headers(h, 0));
    g_ptr_array_unref(h);
    g_assert_null(gw_tracking_log_headers(NULL, 0));
    /* omit-response alone still keeps headers */
    h = hdrs("alephant-omit-response", "1", NULL);
    char *t = gw_tracking_log_headers(h, 0);
    g_assert_cmpstr(t, ==, "{\"alephant-omit-response\":\"1\"}");
    g_free(t);
    g_ptr_array_unref(h);
    /* none at all: an empty object */
    h = hdrs(NULL, NULL);
    t = gw_tracking_log_headers(h, 0);
    g_assert_cmpstr(t, ==, "{}");
    g_free(t);
    g_ptr_array_unref(h);
}

static void test_log_headers_bounds(void)
{
    /* A value over the per-value cap is cut at a character boundary (é is 2 bytes). */
    GString *big = g_string_new("a");
    while (big->len < GW_LOG_HEADER_VALUE_MAX + 10)
        g_string_append(big, "\xc3\xa9");
    GPtrArray *h = hdrs("x-big", big->str, "x-bad", "\xff\xfe", NULL);
    json_t *o = log_headers_json(h, 0);
    const char *v = json_string_value(json_object_get(o, "x-big"));
    g_assert_nonnull(v);
    g_assert_cmpuint(strlen(v), ==, GW_LOG_HEADER_VALUE_MAX - 1); /* 'a' + 511 × é = 1023 */
    g_assert_true(g_utf8_validate(v, -1, NULL));
    g_assert_null(json_object_get(o, "x-bad")); /* not UTF-8 */
    json_decref(o);
    g_ptr_array_unref(h);
    g_string_free(big, TRUE);

    /* Many headers: the text stays within max_bytes and says it was cut. */
    h = g_ptr_array_new_with_free_func(header_free);
    for (int i = 0; i < 200; i++) {
        char name[32], val[64];
        g_snprintf(name, sizeof name, "x-h%03d", i);
        g_snprintf(val, sizeof val, "value-%03d-0123456789", i);
        add_hdr(h, name, val);
    }
    o = log_headers_json(h, 1000);
    g_assert_cmpstr(json_string_value(json_object_get(o, "alephant-headers-truncated")), ==, "true");
    g_assert_nonnull(json_object_get(o, "x-h000"));
    g_assert_null(json_object_get(o, "x-h199"));
    json_decref(o);
    g_ptr_array_unref(h);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/tracking/empty", test_empty);
    g_test_add_func("/tracking/limits_default", test_limits_default);
    g_test_add_func("/tracking/properties/parsed", test_properties);
    g_test_add_func("/tracking/properties/limits", test_property_limits);
    g_test_add_func("/tracking/properties/refused", test_property_refused);
    g_test_add_func("/tracking/session/path_normalize", test_session_path_normalize);
    g_test_add_func("/tracking/session/parsed", test_session);
    g_test_add_func("/tracking/session/refused", test_session_refused);
    g_test_add_func("/tracking/omit", test_omit);
    g_test_add_func("/tracking/country", test_country);
    g_test_add_func("/tracking/referer", test_referer);
    g_test_add_func("/tracking/ip/client", test_client_ip);
    g_test_add_func("/tracking/ip/ratelimit", test_ratelimit_ip);
    g_test_add_func("/tracking/policy_headers", test_policy_headers);
    g_test_add_func("/tracking/log_headers/secrets", test_log_headers_secrets);
    g_test_add_func("/tracking/log_headers/omit", test_log_headers_omit);
    g_test_add_func("/tracking/log_headers/bounds", test_log_headers_bounds);
    return g_test_run();
}
