/* test_policy.c — policy compilation and evaluation (every kind, order, refused configs) and the
 * policies store (add, list, remove, per-key loading order and scoping). */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <sqlite3.h>

#include "policy.h"
#include "store.h"

/* 2024-01-01T00:00:00Z */
#define DAY0_MS G_GINT64_CONSTANT(1704067200000)
#define HOUR_MS G_GINT64_CONSTANT(3600000)

static GwPolicy *compile(const char *kind, const char *config, const char *action)
{
    static gint64 next_id = 1;
    GError *err = NULL;
    GwPolicy *p = NULL;
    char *name = g_strdup_printf("p%" G_GINT64_FORMAT, next_id);
    g_assert_cmpint(gw_policy_compile(next_id++, name, kind, config, action, &p, &err), ==,
                    GW_OK);
    g_assert_no_error(err);
    g_free(name);
    return p;
}

static void refused(const char *kind, const char *config, const char *action)
{
    GError *err = NULL;
    GwPolicy *p = NULL;
    GwStatus gs = gw_policy_compile(1, "bad", kind, config, action, &p, &err);
    if (gs == GW_OK)
        g_error("accepted: kind %s config %s", kind, config);
    g_assert_cmpint(gs, ==, GW_EINVAL);
    g_assert_error(err, GW_ERROR, GW_EINVAL);
    g_assert_null(p);
    g_error_free(err);
}

static void input_init(GwPolicyInput *in)
{
    memset(in, 0, sizeof *in);
    in->max_tokens = -1;
    in->client_ip = "";
    in->country = "";
    in->now_ms = DAY0_MS + 12 * HOUR_MS;
}

/* Decision of one policy on in: "allow", "flag" or "block"; the reason goes to *reason_out. */
static char *judge(GwPolicy *p, const GwPolicyInput *in, char **reason_out)
{
    GPtrArray *pols = g_ptr_array_new();
    g_ptr_array_add(pols, p);
    GPtrArray *ds = g_ptr_array_new_with_free_func((GDestroyNotify)gw_policy_decision_free);
    const GwPolicyDecision *blocking = NULL;
    gboolean blocked = gw_policy_evaluate(pols, in, ds, &blocking);
    g_assert_cmpuint(ds->len, ==, 1);
    GwPolicyDecision *d = g_ptr_array_index(ds, 0);
    g_assert_cmpint(d->policy_id, ==, gw_policy_id(p));
    g_assert_cmpstr(d->policy_name, ==, gw_policy_name(p));
    g_assert_cmpstr(d->rule, ==, gw_policy_kind(p));
    g_assert_true(blocked == (strcmp(d->decision, "block") == 0));
    g_assert_true(blocked ? blocking == d : blocking == NULL);
    g_assert_true((d->reason == NULL) == (strcmp(d->decision, "allow") == 0));
    char *decision = g_strdup(d->decision);
    if (reason_out != NULL)
        *reason_out = g_strdup(d->reason);
    g_ptr_array_unref(ds);
    g_ptr_array_unref(pols);
    return decision;
}

static void expect(GwPolicy *p, const GwPolicyInput *in, const char *decision)
{
    char *got = judge(p, in, NULL);
    g_assert_cmpstr(got, ==, decision);
    g_free(got);
}

static json_t *body_of(const char *text)
{
    json_error_t jerr;
    json_t *b = json_loads(text, 0, &jerr);
    if (b == NULL)
        g_error("bad test JSON: %s", jerr.text);
    return b;
}

/* ---- kinds ---- */

static void test_model(void)
{
    GwPolicyInput in;
    input_init(&in);
    GwPolicy *allow = compile("model_allow", "{\"models\": [\"gpt-4o*\", \"claude-3-5-*\"]}", NULL);
    GwPolicy *deny = compile("model_deny", "{\"models\": [\"gpt-4o*\", \"o?-mini\"]}", "flag");
    g_assert_true(gw_policy_blocks(allow));
    g_assert_false(gw_policy_blocks(deny));

    const char *in_list[] = {"gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "GPT-4O-MINI"};
    for (gsize i = 0; i < G_N_ELEMENTS(in_list); i++) {
        in.model = in_list[i];
        expect(allow, &in, "allow");
        expect(deny, &in, i < 2 || i == 3 ? "flag" : "allow");
    }
    in.model = "o3-mini";
    expect(allow, &in, "block");
    expect(deny, &in, "flag");
    in.model = "gpt-4"; /* a prefix of the glob is not a match */
    expect(allow, &in, "block");
    expect(deny, &in, "allow");
    in.model = "claude-3-5"; /* "claude-3-5-*" needs the dash */
    expect(allow, &in, "block");
    /* No model (GET /v1/models): nothing to judge, both pass. */
    in.model = NULL;
    expect(allow, &in, "allow");
    expect(deny, &in, "allow");
    in.model = "";
    expect(allow, &in, "allow");

    char *reason = NULL;
    in.model = "secret-model-xyz";
    g_free(judge(allow, &in, &reason));
    g_assert_null(strstr(reason, "secret-model-xyz"));
    g_free(reason);
    gw_policy_free(allow);
    gw_policy_free(deny);
}

static void test_ip(void)
{
    GwPolicyInput in;
    input_init(&in);
    GwPolicy *allow = compile("ip_allow", "{\"cidrs\": [\"10.0.0.0/8\", \"2001:db8::/32\"]}", NULL);
    GwPolicy *deny = compile("ip_deny", "{\"cidrs\": [\"10.0.0.0/8\", \"2001:db8::/32\"]}", NULL);
    static const struct {
        const char *ip;
        gboolean in;
    } cases[] = {
        {"10.1.2.3", TRUE},
        {"10.255.255.255", TRUE},
        {"11.0.0.1", FALSE},
        {"192.168.1.1", FALSE},
        {"2001:db8::1", TRUE},
        {"2001:db8:ffff:ffff::1", TRUE},
        {"2001:db9::1", FALSE},
        {"2001:db7:ffff::1", FALSE},
        {"::ffff:10.0.0.1", TRUE}, /* IPv4-mapped → IPv4 */
        {"::1", FALSE},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        in.client_ip = cases[i].ip;
        expect(allow, &in, cases[i].in ? "allow" : "block");
        expect(deny, &in, cases[i].in ? "block" : "allow");
    }
    /* Unknown: allow lists block, deny lists pass. */
    const char *unknown[] = {"", "not-an-ip", NULL};
    for (gsize i = 0; i < G_N_ELEMENTS(unknown); i++) {
        in.client_ip = unknown[i];
        expect(allow, &in, "block");
        expect(deny, &in, "allow");
    }
    char *reason = NULL;
    in.client_ip = "192.168.77.66";
    g_free(judge(allow, &in, &reason));
    g_assert_null(strstr(reason, "192.168"));
    g_free(reason);
    gw_policy_free(allow);
    gw_policy_free(deny);

    GwPolicy *host = compile("ip_deny", "{\"cidrs\": [\"192.0.2.7\"]}", "flag");
    in.client_ip = "192.0.2.7";
    expect(host, &in, "flag");
    in.client_ip = "192.0.2.8";
    expect(host, &in, "allow");
    gw_policy_free(host);
}

static void test_country(void)
{
    GwPolicyInput in;
    input_init(&in);
    GwPolicy *allow = compile("country_allow", "{\"countries\": [\"US\", \"de\"]}", NULL);
    GwPolicy *deny = compile("country_deny", "{\"countries\": [\"KP\", \"T1\"]}", NULL);
    in.country = "US";
    expect(allow, &in, "allow");
    expect(deny, &in, "allow");
    in.country = "DE";
    expect(allow, &in, "allow");
    in.country = "fr";
    expect(allow, &in, "block");
    in.country = "KP";
    expect(deny, &in, "block");
    in.country = "T1";
    expect(deny, &in, "block");
    expect(allow, &in, "block");
    in.country = "";
    expect(allow, &in, "block");
    expect(deny, &in, "allow");
    in.country = NULL;
    expect(allow, &in, "block");
    expect(deny, &in, "allow");
    gw_policy_free(allow);
    gw_policy_free(deny);
}

static void test_limits(void)
{
    GwPolicyInput in;
    input_init(&in);
    GwPolicy *tok = compile("max_tokens", "{\"max\": 1000}", NULL);
    expect(tok, &in, "allow"); /* absent */
    in.max_tokens = 1000;
    expect(tok, &in, "allow");
    in.max_tokens = 1001;
    expect(tok, &in, "block");
    in.max_tokens = 0;
    expect(tok, &in, "allow");
    gw_policy_free(tok);

    GwPolicy *bytes = compile("max_request_bytes", "{\"max\": 100}", "flag");
    in.body_bytes = 100;
    expect(bytes, &in, "allow");
    in.body_bytes = 101;
    expect(bytes, &in, "flag");
    gw_policy_free(bytes);

    GwPolicy *msgs = compile("max_messages", "{\"max\": 2}", NULL);
    expect(msgs, &in, "allow"); /* no body */
    in.body = body_of("{\"messages\": [{}, {}]}");
    expect(msgs, &in, "allow");
    json_decref(in.body);
    in.body = body_of("{\"messages\": [{}, {}, {}]}");
    expect(msgs, &in, "block");
    json_decref(in.body);
    in.body = body_of("{\"input\": \"x\"}");
    expect(msgs, &in, "allow");
    json_decref(in.body);
    gw_policy_free(msgs);
}

static void test_params_properties(void)
{
    GwPolicyInput in;
    input_init(&in);
    GwPolicy *fp = compile("forbidden_params", "{\"params\": [\"logit_bias\", \"tools\"]}", NULL);
    expect(fp, &in, "allow");
    in.body = body_of("{\"model\": \"m\", \"temperature\": 1}");
    expect(fp, &in, "allow");
    json_decref(in.body);
    in.body = body_of("{\"model\": \"m\", \"tools\": null}");
    char *reason = NULL;
    char *d = judge(fp, &in, &reason);
    g_assert_cmpstr(d, ==, "block");
    g_assert_nonnull(strstr(reason, "tools"));
    g_free(d);
    g_free(reason);
    json_decref(in.body);
    /* Only top-level members count. */
    in.body = body_of("{\"messages\": [{\"logit_bias\": 1}]}");
    expect(fp, &in, "allow");
    json_decref(in.body);
    in.body = NULL;
    gw_policy_free(fp);

    GwPolicy *rp = compile("required_properties",
                           "{\"properties\": [\"environment\", \"Alephant-Property-Team\"]}", "flag");
    expect(rp, &in, "flag"); /* properties NULL */
    in.properties = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_insert(in.properties, (char *)"environment", (char *)"prod");
    d = judge(rp, &in, &reason);
    g_assert_cmpstr(d, ==, "flag");
    g_assert_nonnull(strstr(reason, "team"));
    g_free(d);
    g_free(reason);
    g_hash_table_insert(in.properties, (char *)"team", (char *)"");
    expect(rp, &in, "allow");
    g_hash_table_unref(in.properties);
    gw_policy_free(rp);
}

#define CARD "4111 1111 1111 1111"

static void test_content_regex(void)
{
    GwPolicyInput in;
    input_init(&in);
    GwPolicy *cc = compile("content_regex", "{\"pattern\": \"\\\\b(?:\\\\d[ -]*?){13,16}\\\\b\"}",
                           NULL);
    static const char *const bodies[] = {
        "{\"messages\": [{\"role\": \"user\", \"content\": \"my card is " CARD " thanks\"}]}",
        "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", "
        "\"image_url\": {\"url\": \"x\"}}, {\"type\": \"text\", \"text\": \"card " CARD "\"}]}]}",
        "{\"messages\": [{\"role\": \"system\", \"content\": \"" CARD "\"}, "
        "{\"role\": \"user\", \"content\": \"hi\"}]}",
        "{\"system\": \"card " CARD "\", \"messages\": []}",
        "{\"input\": [\"hello\", \"" CARD "\"]}",
        "{\"prompt\": \"" CARD "\"}",
        "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"tool_result\", "
        "\"content\": [{\"type\": \"text\", \"text\": \"" CARD "\"}]}]}]}",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bodies); i++) {
        in.body = body_of(bodies[i]);
        char *reason = NULL;
        char *d = judge(cc, &in, &reason);
        if (strcmp(d, "block") != 0)
            g_error("body %zu not blocked", i);
        g_assert_cmpstr(reason, ==, "message text matches a blocked pattern");
        g_assert_null(strstr(reason, "4111"));
        g_free(reason);
        g_free(d);
        json_decref(in.body);
    }
    static const char *const clean[] = {
        "{\"messages\": [{\"role\": \"user\", \"content\": \"call me at 555 1234\"}]}",
        "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": "
        "\"nothing here\"}]}]}",
        "{\"model\": \"" CARD "\"}", /* not message text */
        "{}",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(clean); i++) {
        in.body = body_of(clean[i]);
        expect(cc, &in, "allow");
        json_decref(in.body);
    }
    in.body = NULL;
    expect(cc, &in, "allow");
    gw_policy_free(cc);

    /* Case-insensitive, as a flag. */
    GwPolicy *ci = compile("content_regex",
                           "{\"pattern\": \"confidential\", \"case_insensitive\": true}", "flag");
    GwPolicy *cs = compile("content_regex",
                           "{\"pattern\": \"confidential\", \"case_insensitive\": false}", "flag");
    in.body = body_of("{\"messages\": [{\"role\": \"user\", \"content\": \"CONFIDENTIAL doc\"}]}");
    char *reason = NULL;
    char *d = judge(ci, &in, &reason);
    g_assert_cmpstr(d, ==, "flag");
    g_assert_null(strstr(reason, "CONFIDENTIAL"));
    g_free(d);
    g_free(reason);
    expect(cs, &in, "allow");
    json_decref(in.body);
    gw_policy_free(ci);
    gw_policy_free(cs);

    /* Text over the scan cap fails closed; text within it is scanned. */
    GwPolicy *capped = compile("content_regex", "{\"pattern\": \"needle\", \"max_scan_bytes\": 10}",
                               NULL);
    in.body = body_of("{\"messages\": [{\"content\": \"hay\"}, {\"content\": \"hay\"}]}");
    expect(capped, &in, "allow");
    json_decref(in.body);
    in.body = body_of("{\"messages\": [{\"content\": \"hayhay\"}, {\"content\": \"hayhay\"}]}");
    d = judge(capped, &in, &reason);
    g_assert_cmpstr(d, ==, "block");
    g_assert_cmpstr(reason, ==, "message text is too large to be checked");
    g_free(d);
    g_free(reason);
    json_decref(in.body);
    gw_policy_free(capped);

    /* Texts of every length up to a few words, ending with and without the needle (exact-size
     * strings: the scan must not read past their end). */
    GwPolicy *lit = compile("content_regex", "{\"pattern\": \"needle\"}", NULL);
    for (int n = 0; n < 80; n++) {
        char *hay = g_strnfill((gsize)n, 'h');
        char *with = g_strconcat(hay, "needle", NULL);
        in.body = json_pack("{s:[{s:s}]}", "messages", "content", hay);
        expect(lit, &in, "allow");
        json_decref(in.body);
        in.body = json_pack("{s:[{s:s}]}", "messages", "content", with);
        expect(lit, &in, "block");
        json_decref(in.body);
        g_free(with);
        g_free(hay);
    }
    gw_policy_free(lit);

    /* A pattern that only matches empty text never counts. */
    GwPolicy *empty = compile("content_regex", "{\"pattern\": \"x*\"}", NULL);
    in.body = body_of("{\"messages\": [{\"content\": \"abc\"}]}");
    expect(empty, &in, "allow");
    json_decref(in.body);
    gw_policy_free(empty);
}

/* Catastrophic backtracking ends (PCRE's match limit) and fails closed instead of hanging. */
static void test_content_regex_backtracking(void)
{
    GwPolicyInput in;
    input_init(&in);
    GwPolicy *p = compile("content_regex", "{\"pattern\": \"^(a|a?)+$\"}", "flag");
    char *text = g_strnfill(5000, 'a');
    text[4999] = 'b';
    in.body = json_pack("{s:[{s:s}]}", "messages", "content", text);
    gint64 t0 = g_get_monotonic_time();
    char *reason = NULL;
    char *d = judge(p, &in, &reason);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 30 * G_USEC_PER_SEC);
    g_assert_cmpstr(d, ==, "flag");
    g_assert_cmpstr(reason, ==, "message text could not be checked");
    g_free(d);
    g_free(reason);
    json_decref(in.body);
    g_free(text);
    gw_policy_free(p);
}

static void test_hours(void)
{
    GwPolicyInput in;
    input_init(&in);
    GwPolicy *day = compile("hours", "{\"utc_hours\": \"9-17\"}", NULL);
    GwPolicy *night = compile("hours", "{\"utc_hours\": \"22-6\"}", NULL);
    GwPolicy *two = compile("hours", "{\"utc_hours\": [[9, 12], [20, 24]]}", "flag");
    GwPolicy *text2 = compile("hours", "{\"utc_hours\": \"9-12, 20-24\"}", "flag");
    for (int h = 0; h < 24; h++) {
        in.now_ms = DAY0_MS + 3 * 24 * HOUR_MS + h * HOUR_MS + 59 * 60 * 1000;
        expect(day, &in, h >= 9 && h < 17 ? "allow" : "block");
        expect(night, &in, h >= 22 || h < 6 ? "allow" : "block");
        const char *want = (h >= 9 && h < 12) || h >= 20 ? "allow" : "flag";
        expect(two, &in, want);
        expect(text2, &in, want);
    }
    /* Boundaries: 17:00:00.000 is outside [9, 17). */
    in.now_ms = DAY0_MS + 17 * HOUR_MS;
    expect(day, &in, "block");
    in.now_ms = DAY0_MS + 17 * HOUR_MS - 1;
    expect(day, &in, "allow");
    /* Before 1970: 1969-12-31T23:30Z is hour 23. */
    in.now_ms = -30 * 60 * 1000;
    expect(night, &in, "allow");
    expect(day, &in, "block");
    gw_policy_free(day);
    gw_policy_free(night);
    gw_policy_free(two);
    gw_policy_free(text2);
}

/* ---- order ---- */

static void test_order(void)
{
    GwPolicyInput in;
    input_init(&in);
    in.model = "gpt-4o";
    in.max_tokens = 5000;
    GPtrArray *pols = g_ptr_array_new_with_free_func((GDestroyNotify)gw_policy_free);
    g_ptr_array_add(pols, compile("model_allow", "{\"models\": [\"gpt-*\"]}", NULL));   /* allow */
    g_ptr_array_add(pols, compile("max_tokens", "{\"max\": 100}", "flag"));             /* flag */
    g_ptr_array_add(pols, compile("model_deny", "{\"models\": [\"gpt-4o\"]}", NULL));   /* block */
    g_ptr_array_add(pols, compile("max_tokens", "{\"max\": 10}", NULL));                /* unrun */
    GPtrArray *ds = g_ptr_array_new_with_free_func((GDestroyNotify)gw_policy_decision_free);
    const GwPolicyDecision *blocking = NULL;
    g_assert_true(gw_policy_evaluate(pols, &in, ds, &blocking));
    g_assert_cmpuint(ds->len, ==, 3);
    const char *want[] = {"allow", "flag", "block"};
    for (guint i = 0; i < ds->len; i++) {
        GwPolicyDecision *d = g_ptr_array_index(ds, i);
        g_assert_cmpstr(d->decision, ==, want[i]);
        g_assert_cmpint(d->policy_id, ==, gw_policy_id(g_ptr_array_index(pols, i)));
    }
    g_assert_true(blocking == g_ptr_array_index(ds, 2));
    g_assert_cmpstr(blocking->rule, ==, "model_deny");

    /* Without that block, the next one (formerly not run) blocks. */
    g_ptr_array_remove_index(pols, 2);
    g_ptr_array_set_size(ds, 0);
    g_assert_true(gw_policy_evaluate(pols, &in, ds, &blocking));
    g_assert_cmpuint(ds->len, ==, 3);
    g_assert_cmpstr(blocking->rule, ==, "max_tokens");
    /* No block at all: every policy runs, the flag is kept, blocking is NULL. */
    g_ptr_array_remove_index(pols, 2);
    g_ptr_array_set_size(ds, 0);
    g_assert_false(gw_policy_evaluate(pols, &in, ds, &blocking));
    g_assert_null(blocking);
    g_assert_cmpuint(ds->len, ==, 2);
    g_assert_cmpstr(((GwPolicyDecision *)g_ptr_array_index(ds, 1))->decision, ==, "flag");

    g_ptr_array_set_size(ds, 0);
    g_assert_false(gw_policy_evaluate(NULL, &in, ds, &blocking));
    g_assert_cmpuint(ds->len, ==, 0);
    g_ptr_array_unref(ds);
    g_ptr_array_unref(pols);
}

/* ---- refused configs ---- */

static void test_refused(void)
{
    refused("content_regex", "{\"pattern\": \"(unclosed\"}", NULL);
    refused("content_regex", "{\"pattern\": \"\"}", NULL);
    refused("content_regex", "{\"pattern\": 5}", NULL);
    refused("content_regex", "{\"pattern\": \"x\", \"case_insensitive\": \"yes\"}", NULL);
    refused("content_regex", "{\"pattern\": \"x\", \"max_scan_bytes\": 0}", NULL);
    refused("ip_allow", "{\"cidrs\": [\"10.0.0.0/33\"]}", NULL);
    refused("ip_allow", "{\"cidrs\": [\"2001:db8::/129\"]}", NULL);
    refused("ip_allow", "{\"cidrs\": [\"not-an-ip\"]}", NULL);
    refused("ip_deny", "{\"cidrs\": [\"10.0.0.0/8, 1.2.3.4\"]}", NULL);
    refused("ip_deny", "{\"cidrs\": []}", NULL);
    refused("unknown_kind", "{}", NULL);
    refused(NULL, "{}", NULL);
    refused("model_allow", "{\"models\": \"gpt-4o\"}", NULL); /* wrong shape */
    refused("model_allow", "{\"model\": [\"gpt-4o\"]}", NULL);  /* unknown member */
    refused("model_allow", "{\"models\": [\"a\"], \"extra\": 1}", NULL);
    refused("model_allow", "{\"models\": [\"\"]}", NULL);
    refused("model_allow", "{\"models\": [\"a\\u0001\"]}", NULL);
    refused("model_allow", "[\"gpt-4o\"]", NULL);
    refused("model_allow", "{\"models\": [\"a\"], \"models\": [\"b\"]}", NULL);
    refused("model_allow", "not json", NULL);
    refused("model_allow", NULL, NULL);
    refused("model_allow", "{\"models\": [\"a\"]}", "deny");
    refused("country_allow", "{\"countries\": [\"USA\"]}", NULL);
    refused("country_allow", "{\"countries\": [\"1A\"]}", NULL);
    refused("max_tokens", "{\"max\": -1}", NULL);
    refused("max_tokens", "{\"max\": 1.5}", NULL);
    refused("max_tokens", "{\"max\": \"10\"}", NULL);
    refused("max_messages", "{}", NULL);
    refused("forbidden_params", "{\"params\": [1]}", NULL);
    refused("required_properties", "{\"properties\": [\"bad name\"]}", NULL);
    refused("required_properties", "{\"properties\": [\"alephant-property-\"]}", NULL);
    refused("hours", "{\"utc_hours\": \"9-9\"}", NULL);
    refused("hours", "{\"utc_hours\": \"24-3\"}", NULL);
    refused("hours", "{\"utc_hours\": \"9-25\"}", NULL);
    refused("hours", "{\"utc_hours\": \"9\"}", NULL);
    refused("hours", "{\"utc_hours\": \"-1-5\"}", NULL);
    refused("hours", "{\"utc_hours\": \"9-17,\"}", NULL);
    refused("hours", "{\"utc_hours\": [[9]]}", NULL);
    refused("hours", "{\"utc_hours\": [9, 17]}", NULL);
    refused("hours", "{\"utc_hours\": []}", NULL);

    GError *err = NULL;
    GwPolicy *p = NULL;
    g_assert_cmpint(gw_policy_compile(1, "bad name", "max_tokens", "{\"max\": 1}", NULL, &p, &err),
                    ==, GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_policy_compile(1, "", "max_tokens", "{\"max\": 1}", NULL, &p, &err), ==,
                    GW_EINVAL);
    g_clear_error(&err);
    /* The error names the bad part. */
    g_assert_cmpint(gw_policy_compile(1, "x", "ip_allow", "{\"cidrs\": [\"10.0.0.0/8\", "
                                      "\"300.1.1.1\"]}", NULL, &p, &err),
                    ==, GW_EINVAL);
    g_assert_nonnull(strstr(err->message, "300.1.1.1"));
    g_clear_error(&err);
    g_assert_cmpint(gw_policy_compile(1, "x", "content_regex", "{\"pattern\": \"a(\"}", NULL, &p,
                                      &err),
                    ==, GW_EINVAL);
    g_assert_nonnull(strstr(err->message, "pattern"));
    g_clear_error(&err);
    g_assert_true(gw_policy_kind_known("hours"));
    g_assert_false(gw_policy_kind_known("hour"));
}

/* ---- store ---- */

typedef struct {
    char *dir;
    char *path;
    GwStore *st;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    f->dir = g_dir_make_tmp("alephant-policy-XXXXXX", &err);
    g_assert_no_error(err);
    f->path = g_build_filename(f->dir, "alephant.db", NULL);
    g_assert_cmpint(gw_store_open(f->path, &f->st, &err), ==, GW_OK);
    g_assert_cmpint(gw_store_migrate(f->st, &err), ==, GW_OK);
    g_assert_no_error(err);
    GBytes *b = g_bytes_new_static("enc", 3);
    g_assert_cmpint(gw_store_provider_key_add(f->st, "pk", "openai", NULL, NULL, b, "…", NULL,
                                              &err),
                    ==, GW_OK);
    g_bytes_unref(b);
}

static void fixture_teardown(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    gw_store_close(f->st);
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
        char *p = g_strconcat(f->path, suffixes[i], NULL);
        g_unlink(p);
        g_free(p);
    }
    g_assert_cmpint(g_rmdir(f->dir), ==, 0);
    g_free(f->path);
    g_free(f->dir);
}

static GwVirtualKey *make_vk(Fixture *f, const char *name, const char *dept, const char *agent)
{
    GError *err = NULL;
    char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, name, -1);
    GwVkCreate c = {.name = name,
                    .token_hash = hash,
                    .token_prefix = "vk-x",
                    .provider_key = "pk",
                    .department = dept,
                    .agent = agent};
    g_assert_cmpint(gw_store_vk_create(f->st, &c, NULL, &err), ==, GW_OK);
    GwVirtualKey *vk = NULL;
    g_assert_cmpint(gw_store_vk_find_by_hash(f->st, hash, &vk, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_free(hash);
    return vk;
}

static void add(Fixture *f, const char *name, const char *scope, const char *scope_name,
                int position)
{
    GError *err = NULL;
    gint64 id = 0;
    g_assert_cmpint(gw_store_policy_add(f->st, name, scope, scope_name, "max_tokens",
                                        "{ \"max\" : 100 }", NULL, position, &id, &err),
                    ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpint(id, >, 0);
}

static char *names_for(Fixture *f, const GwVirtualKey *vk)
{
    GError *err = NULL;
    GPtrArray *pols = NULL;
    g_assert_cmpint(gw_store_policies_for_key(f->st, vk != NULL ? vk->id : 0,
                                              vk != NULL ? vk->agent_id : 0,
                                              vk != NULL ? vk->department_id : 0, &pols, &err),
                    ==, GW_OK);
    g_assert_no_error(err);
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < pols->len; i++)
        g_string_append_printf(s, "%s%s", i > 0 ? " " : "",
                               gw_policy_name(g_ptr_array_index(pols, i)));
    g_ptr_array_unref(pols);
    return g_string_free(s, FALSE);
}

static void test_store(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GwVirtualKey *a = make_vk(f, "key-a", "eng", "bot");
    GwVirtualKey *b = make_vk(f, "key-b", "sales", NULL);
    GwVirtualKey *c = make_vk(f, "key-c", NULL, NULL);

    /* Inserted out of evaluation order on purpose. */
    add(f, "vk-a", "virtual_key", "key-a", 0);
    add(f, "agent-bot", "agent", "bot", 0);
    add(f, "g-late", "global", NULL, 5);
    add(f, "dept-eng", "department", "eng", 0);
    add(f, "g-early", "global", NULL, -1);
    add(f, "g-tie-1", "global", NULL, 0);
    add(f, "g-tie-2", "global", NULL, 0);
    add(f, "vk-b", "virtual_key", "key-b", 0);
    add(f, "dept-sales", "department", "sales", 0);

    char *s = names_for(f, a);
    g_assert_cmpstr(s, ==, "g-early g-tie-1 g-tie-2 g-late dept-eng agent-bot vk-a");
    g_free(s);
    s = names_for(f, b);
    g_assert_cmpstr(s, ==, "g-early g-tie-1 g-tie-2 g-late dept-sales vk-b");
    g_free(s);
    s = names_for(f, c);
    g_assert_cmpstr(s, ==, "g-early g-tie-1 g-tie-2 g-late");
    g_free(s);

    /* Loaded policies are compiled and evaluate. */
    GError *err = NULL;
    GPtrArray *pols = NULL;
    g_assert_cmpint(gw_store_policies_for_key(f->st, a->id, a->agent_id, a->department_id, &pols,
                                              &err),
                    ==, GW_OK);
    GwPolicyInput in;
    input_init(&in);
    in.max_tokens = 101;
    GPtrArray *ds = g_ptr_array_new_with_free_func((GDestroyNotify)gw_policy_decision_free);
    const GwPolicyDecision *blocking = NULL;
    g_assert_true(gw_policy_evaluate(pols, &in, ds, &blocking));
    g_assert_cmpstr(blocking->policy_name, ==, "g-early");
    g_assert_cmpint(blocking->policy_id, >, 0);
    g_ptr_array_unref(ds);
    g_ptr_array_unref(pols);

    /* Refusals. */
    g_assert_cmpint(gw_store_policy_add(f->st, "vk-a", "global", NULL, "max_tokens",
                                        "{\"max\": 1}", NULL, 0, NULL, &err),
                    ==, GW_EEXISTS);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_policy_add(f->st, "x", "virtual_key", "nope", "max_tokens",
                                        "{\"max\": 1}", NULL, 0, NULL, &err),
                    ==, GW_ENOTFOUND);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_policy_add(f->st, "x", "agent", "nope", "max_tokens",
                                        "{\"max\": 1}", NULL, 0, NULL, &err),
                    ==, GW_ENOTFOUND);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_policy_add(f->st, "x", "department", "nope", "max_tokens",
                                        "{\"max\": 1}", NULL, 0, NULL, &err),
                    ==, GW_ENOTFOUND);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_policy_add(f->st, "x", "global", NULL, "content_regex",
                                        "{\"pattern\": \"(\"}", NULL, 0, NULL, &err),
                    ==, GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_policy_add(f->st, "x", "team", "t", "max_tokens", "{\"max\": 1}",
                                        NULL, 0, NULL, &err),
                    ==, GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_policy_add(f->st, "x", "global", "eng", "max_tokens",
                                        "{\"max\": 1}", NULL, 0, NULL, &err),
                    ==, GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_policy_add(f->st, "x", "agent", NULL, "max_tokens", "{\"max\": 1}",
                                        NULL, 0, NULL, &err),
                    ==, GW_EINVAL);
    g_clear_error(&err);

    /* List: evaluation order, compact config as an object, scope names. */
    json_t *rows = NULL;
    g_assert_cmpint(gw_store_policy_list_json(f->st, &rows, &err), ==, GW_OK);
    g_assert_cmpuint(json_array_size(rows), ==, 9);
    const char *order[] = {"g-early", "g-tie-1", "g-tie-2", "g-late", "dept-eng",
                           "dept-sales", "agent-bot", "vk-a", "vk-b"};
    for (gsize i = 0; i < G_N_ELEMENTS(order); i++)
        g_assert_cmpstr(json_string_value(json_object_get(json_array_get(rows, i), "name")), ==,
                        order[i]);
    json_t *r = json_array_get(rows, 7);
    g_assert_cmpstr(json_string_value(json_object_get(r, "scope")), ==, "virtual_key");
    g_assert_cmpstr(json_string_value(json_object_get(r, "scope_name")), ==, "key-a");
    g_assert_cmpstr(json_string_value(json_object_get(r, "kind")), ==, "max_tokens");
    g_assert_cmpstr(json_string_value(json_object_get(r, "action")), ==, "block");
    g_assert_cmpint(json_integer_value(json_object_get(json_object_get(r, "config"), "max")), ==,
                    100);
    g_assert_true(json_is_true(json_object_get(r, "enabled")));
    g_assert_true(json_is_null(json_object_get(json_array_get(rows, 0), "scope_name")));
    g_assert_cmpint(json_integer_value(json_object_get(json_array_get(rows, 0), "position")), ==,
                    -1);
    json_decref(rows);

    /* Remove. */
    g_assert_cmpint(gw_store_policy_remove(f->st, "vk-a", &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpint(gw_store_policy_remove(f->st, "vk-a", &err), ==, GW_ENOTFOUND);
    g_clear_error(&err);
    s = names_for(f, a);
    g_assert_cmpstr(s, ==, "g-early g-tie-1 g-tie-2 g-late dept-eng agent-bot");
    g_free(s);
    s = names_for(f, NULL);
    g_assert_cmpstr(s, ==, "g-early g-tie-1 g-tie-2 g-late");
    g_free(s);

    gw_virtual_key_free(a);
    gw_virtual_key_free(b);
    gw_virtual_key_free(c);
}

/* The store keeps compiled policies per connection: an unchanged row is not compiled again, a
 * changed one (here edited by another connection, as an operator would) is. */
static GwPolicy *first_policy(Fixture *f, const GwVirtualKey *vk, GPtrArray **pols)
{
    GError *err = NULL;
    g_assert_cmpint(gw_store_policies_for_key(f->st, vk->id, vk->agent_id, vk->department_id,
                                              pols, &err),
                    ==, GW_OK);
    g_assert_cmpuint((*pols)->len, ==, 1);
    return g_ptr_array_index(*pols, 0);
}

static gboolean blocks_max_tokens(GPtrArray *pols, gint64 max_tokens)
{
    GwPolicyInput in;
    input_init(&in);
    in.max_tokens = max_tokens;
    GPtrArray *ds = g_ptr_array_new_with_free_func((GDestroyNotify)gw_policy_decision_free);
    const GwPolicyDecision *blocking = NULL;
    gboolean blocked = gw_policy_evaluate(pols, &in, ds, &blocking);
    g_ptr_array_unref(ds);
    return blocked;
}

static void test_store_cache(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GwVirtualKey *a = make_vk(f, "key-a", NULL, NULL);
    add(f, "cap", "global", NULL, 0); /* max_tokens, max 100 */
    GPtrArray *p1 = NULL, *p2 = NULL, *p3 = NULL;
    GwPolicy *c1 = first_policy(f, a, &p1);
    GwPolicy *c2 = first_policy(f, a, &p2);
    g_assert_true(c1 == c2);
    g_assert_false(blocks_max_tokens(p2, 50));

    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open(f->path, &db), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_exec(db, "UPDATE policies SET config = '{\"max\": 10}'", NULL, NULL,
                                 NULL),
                    ==, SQLITE_OK);
    sqlite3_close(db);
    GwPolicy *c3 = first_policy(f, a, &p3);
    g_assert_true(c3 != c1);
    g_assert_true(blocks_max_tokens(p3, 50));
    g_assert_false(blocks_max_tokens(p1, 50)); /* a list already handed out stays valid */
    g_ptr_array_unref(p1);
    g_ptr_array_unref(p2);
    g_ptr_array_unref(p3);
    gw_virtual_key_free(a);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/policy/model", test_model);
    g_test_add_func("/policy/ip", test_ip);
    g_test_add_func("/policy/country", test_country);
    g_test_add_func("/policy/limits", test_limits);
    g_test_add_func("/policy/params-properties", test_params_properties);
    g_test_add_func("/policy/content-regex", test_content_regex);
    g_test_add_func("/policy/content-regex-backtracking", test_content_regex_backtracking);
    g_test_add_func("/policy/hours", test_hours);
    g_test_add_func("/policy/order", test_order);
    g_test_add_func("/policy/refused", test_refused);
    g_test_add("/policy/store", Fixture, NULL, fixture_setup, test_store, fixture_teardown);
    g_test_add("/policy/store-cache", Fixture, NULL, fixture_setup, test_store_cache,
               fixture_teardown);
    return g_test_run();
}
