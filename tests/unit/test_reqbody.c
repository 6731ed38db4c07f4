/* test_reqbody.c — strict JSON body parsing and the model / stream / max_tokens checks. */
#include "config.h"
#include "reqbody.h"

#include <string.h>

/* Expects a refusal whose message contains `want` (NULL: any message); checks the message is
 * printable ASCII and short, and that *out was left cleared. */
static void expect_fail_len(const char *body, size_t len, const char *want)
{
    GwReqBody b;
    GError *err = NULL;
    GwStatus st = gw_reqbody_parse(body, len, &b, &err);
    if (st != GW_EINVAL)
        g_error("body <%.60s> should be refused, got %d", body, (int)st);
    g_assert_error(err, GW_ERROR, GW_EINVAL);
    if (want != NULL && strstr(err->message, want) == NULL)
        g_error("message \"%s\" lacks \"%s\"", err->message, want);
    for (const char *c = err->message; *c != '\0'; c++)
        g_assert_true(*c >= 0x20 && *c < 0x7f);
    g_assert_cmpuint(strlen(err->message), <, 256);
    g_assert_null(b.root);
    g_assert_null(b.model);
    g_error_free(err);
    gw_reqbody_clear(&b);
}

static void expect_fail(const char *body, const char *want)
{
    expect_fail_len(body, strlen(body), want);
}

/* Parses a body that must be accepted; caller clears. */
static void expect_ok(const char *body, GwReqBody *b)
{
    GError *err = NULL;
    GwStatus st = gw_reqbody_parse(body, strlen(body), b, &err);
    if (st != GW_OK)
        g_error("body <%s> refused: %s", body, err != NULL ? err->message : "?");
    g_assert_no_error(err);
    g_assert_true(json_is_object(b->root));
}

static void test_valid_chat(void)
{
    GwReqBody b;
    expect_ok("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":"
              "\"Write a one sentence status update.\"}],\"temperature\":0.2}", &b);
    g_assert_cmpstr(b.model, ==, "gpt-4o-mini");
    g_assert_false(b.stream);
    g_assert_cmpint(b.max_tokens, ==, -1);
    g_assert_nonnull(json_object_get(b.root, "messages"));
    gw_reqbody_clear(&b);
    g_assert_null(b.root);
    g_assert_cmpint(b.max_tokens, ==, -1);
    gw_reqbody_clear(&b);   /* twice is harmless */
    gw_reqbody_clear(NULL);

    /* Whitespace and Unicode escapes are fine; a valid surrogate pair too. */
    expect_ok(" \n{ \"model\" : \"claude-3-5-sonnet\", \"messages\": [{\"content\": "
              "\"caf\\u00e9 \\ud83d\\ude00 \xe2\x82\xac\"}] }\n", &b);
    g_assert_cmpstr(b.model, ==, "claude-3-5-sonnet");
    gw_reqbody_clear(&b);
}

static void test_stream(void)
{
    GwReqBody b;
    expect_ok("{\"model\":\"m\",\"stream\":true}", &b);
    g_assert_true(b.stream);
    gw_reqbody_clear(&b);
    expect_ok("{\"model\":\"m\",\"stream\":false}", &b);
    g_assert_false(b.stream);
    gw_reqbody_clear(&b);
    expect_fail("{\"model\":\"m\",\"stream\":\"true\"}", "\"stream\" must be a boolean");
    expect_fail("{\"model\":\"m\",\"stream\":1}", "\"stream\"");
    /* null means "not given", as SDKs send it */
    expect_ok("{\"model\":\"m\",\"stream\":null,\"max_tokens\":null}", &b);
    g_assert_false(b.stream);
    g_assert_cmpint(b.max_tokens, ==, -1);
    gw_reqbody_clear(&b);
    expect_fail("{\"model\":\"m\",\"stream\":{}}", "\"stream\"");
}

static void test_model(void)
{
    GwReqBody b;
    expect_ok("{\"messages\":[]}", &b);   /* model absent: fine (set by route/prompt) */
    g_assert_null(b.model);
    gw_reqbody_clear(&b);
    expect_ok("{}", &b);
    g_assert_null(b.model);
    gw_reqbody_clear(&b);

    expect_fail("{\"model\":42}", "\"model\" must be a non-empty string");
    expect_fail("{\"model\":null}", "\"model\"");
    expect_fail("{\"model\":[\"gpt-4o\"]}", "\"model\"");
    expect_fail("{\"model\":true}", "\"model\"");
    expect_fail("{\"model\":\"\"}", "non-empty");

    /* 256 bytes is the limit; the too-long message does not echo the value. */
    GString *s = g_string_new("{\"model\":\"");
    for (int i = 0; i < 256; i++)
        g_string_append_c(s, 'm');
    g_string_append(s, "\"}");
    expect_ok(s->str, &b);
    g_assert_cmpuint(strlen(b.model), ==, 256);
    gw_reqbody_clear(&b);
    g_string_insert_c(s, 10, 'm');
    expect_fail(s->str, "too long");
    g_string_free(s, TRUE);
}

static void test_duplicates(void)
{
    expect_fail("{\"model\":\"gpt-4o-mini\",\"model\":\"o1\"}", "duplicate object key");
    /* The same key spelled with an escape is still a duplicate. */
    expect_fail("{\"mod\\u0065l\":\"a\",\"model\":\"b\"}", "duplicate");
    expect_fail("{\"messages\":[{\"role\":\"user\",\"role\":\"system\"}]}", "duplicate");
    /* Duplicate key far too long to echo: the message stays short. */
    GString *s = g_string_new("{\"");
    for (int i = 0; i < 5000; i++)
        g_string_append_c(s, 'k');
    g_string_append(s, "\":1,\"");
    for (int i = 0; i < 5000; i++)
        g_string_append_c(s, 'k');
    g_string_append(s, "\":2}");
    expect_fail(s->str, "duplicate");
    g_string_free(s, TRUE);
}

static void test_not_json(void)
{
    expect_fail("{\"model\":\"gpt-4o\",\"messages\":[", "Invalid JSON body");
    expect_fail("{\"model\":", "Invalid JSON body");
    expect_fail("", "empty");
    expect_fail_len(NULL, 0, "empty");
    expect_fail("{\"a\":1} trailing", "Invalid JSON body");
    expect_fail("{\"a\":1}{}", "Invalid JSON body");
    expect_fail("{'a':1}", "Invalid JSON body");
    expect_fail("{\"a\":NaN}", "Invalid JSON body");
    expect_fail("\"just a string\"", "Invalid JSON body");
    expect_fail("42", "Invalid JSON body");
    expect_fail("null", "Invalid JSON body");
    expect_fail("[{\"model\":\"m\"}]", "must be a JSON object");
    expect_fail("[]", "must be a JSON object");
    /* NUL bytes in the body and escaped NUL in strings. */
    expect_fail_len("{\"model\":\"a\0b\"}", 15, "Invalid JSON body");
    expect_fail("{\"model\":\"gpt-4o\\u0000-evil\"}", "\\u0000");

    /* A long garbage token is echoed at most ~40 bytes. */
    GString *s = g_string_new("{\"a\":");
    for (int i = 0; i < 1000; i++)
        g_string_append_c(s, 'z');
    g_string_append(s, "}");
    GwReqBody b;
    GError *err = NULL;
    g_assert_cmpint(gw_reqbody_parse(s->str, s->len, &b, &err), ==, GW_EINVAL);
    g_assert_nonnull(strstr(err->message, "Invalid JSON body"));
    g_assert_null(strstr(err->message, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"));   /* 41 */
    g_assert_cmpuint(strlen(err->message), <, 160);
    g_error_free(err);
    g_string_free(s, TRUE);
}

static char *nested(int depth)
{
    /* {"a": [[[ ... ]]] } with `depth` containers in total, the object included. */
    GString *s = g_string_new("{\"a\":");
    for (int i = 1; i < depth; i++)
        g_string_append_c(s, '[');
    for (int i = 1; i < depth; i++)
        g_string_append_c(s, ']');
    if (depth == 1)
        g_string_append(s, "1");
    g_string_append_c(s, '}');
    return g_string_free(s, FALSE);
}

static void test_depth(void)
{
    GwReqBody b;
    char *s = nested(64);
    expect_ok(s, &b);
    gw_reqbody_clear(&b);
    g_free(s);

    s = nested(65);
    expect_fail(s, "nested deeper than 64");
    g_free(s);

    /* Deep in a later sibling, after a shallow one. */
    expect_ok("{\"x\":[1,2,{}],\"y\":{\"z\":[[]]}}", &b);
    gw_reqbody_clear(&b);
    s = nested(65);
    char *later = g_strdup_printf("{\"first\":[1],\"second\":%s}", s);
    expect_fail(later, "nested deeper");
    g_free(later);
    g_free(s);

    /* 10,000 levels: Jansson's own limit stops it without deep recursion. */
    s = nested(10000);
    expect_fail(s, "Invalid JSON body");
    g_free(s);
    GString *arr = g_string_new(NULL);
    for (int i = 0; i < 10000; i++)
        g_string_append(arr, "{\"a\":");
    for (int i = 0; i < 10000; i++)
        g_string_append_c(arr, '}');
    expect_fail(arr->str, "depth");
    g_string_free(arr, TRUE);
}

static void test_encoding(void)
{
    expect_fail("{\"model\":\"gpt\xff\"}", "Invalid JSON body");
    expect_fail("{\"model\":\"\xc3\"}", "Invalid JSON body");        /* truncated sequence */
    expect_fail("{\"model\":\"\xc0\xaf\"}", "Invalid JSON body");    /* overlong '/' */
    expect_fail("{\"model\":\"\xed\xa0\x80\"}", "Invalid JSON body"); /* UTF-8 surrogate */
    expect_fail("{\"\xfe\":1}", "Invalid JSON body");
    expect_fail("{\"m\":\"\\ud800\"}", "Invalid JSON body");
    expect_fail("{\"m\":\"\\udc00\"}", "Invalid JSON body");
    expect_fail("{\"m\":\"\\ud800\\u0041\"}", "Invalid JSON body");
}

static void test_max_tokens(void)
{
    GwReqBody b;
    expect_ok("{\"model\":\"m\",\"max_tokens\":100}", &b);
    g_assert_cmpint(b.max_tokens, ==, 100);
    gw_reqbody_clear(&b);
    expect_ok("{\"max_tokens\":1}", &b);
    g_assert_cmpint(b.max_tokens, ==, 1);
    gw_reqbody_clear(&b);
    expect_ok("{\"max_tokens\":2147483647}", &b);
    g_assert_cmpint(b.max_tokens, ==, 2147483647);
    gw_reqbody_clear(&b);

    expect_fail("{\"max_tokens\":-1}", "\"max_tokens\" must be an integer between 1 and 2147483647");
    expect_fail("{\"max_tokens\":0}", "\"max_tokens\"");
    expect_fail("{\"max_tokens\":2147483648}", "\"max_tokens\"");
    expect_fail("{\"max_tokens\":9223372036854775807}", "\"max_tokens\"");
    expect_fail("{\"max_tokens\":9223372036854775808}", "too big integer");
    expect_fail("{\"max_tokens\":-9223372036854775809}", "Invalid JSON body");
    expect_fail("{\"max_tokens\":1e309}", "real number overflow");
    expect_fail("{\"max_tokens\":100.0}", "\"max_tokens\"");
    expect_fail("{\"max_tokens\":1e2}", "\"max_tokens\"");
    expect_fail("{\"max_tokens\":\"100\"}", "\"max_tokens\"");
    expect_fail("{\"max_tokens\":true}", "\"max_tokens\"");

    expect_ok("{\"max_completion_tokens\":4096}", &b);
    g_assert_cmpint(b.max_tokens, ==, 4096);
    gw_reqbody_clear(&b);
    expect_ok("{\"max_tokens\":10,\"max_completion_tokens\":20}", &b);
    g_assert_cmpint(b.max_tokens, ==, 20);
    gw_reqbody_clear(&b);
    expect_ok("{\"max_tokens\":30,\"max_completion_tokens\":20}", &b);
    g_assert_cmpint(b.max_tokens, ==, 30);
    gw_reqbody_clear(&b);
    expect_fail("{\"max_completion_tokens\":0}", "\"max_completion_tokens\"");
    expect_fail("{\"max_completion_tokens\":1.5}", "\"max_completion_tokens\"");
    expect_fail("{\"max_tokens\":10,\"max_completion_tokens\":-5}", "\"max_completion_tokens\"");
}

/* Random mutations of a valid body: never crash, always OK or EINVAL with a clean message. */
static void test_fuzz(void)
{
    static const char base[] =
        "{\"model\":\"gpt-4o\",\"stream\":true,\"max_tokens\":100,\"messages\":"
        "[{\"role\":\"user\",\"content\":\"hi \\u00e9\"}]}";
    static const char bytes[] = "{}[]\":,\\u0e9 1-.\xff\xc3\x00";
    GRand *r = g_rand_new_with_seed(42);
    for (int iter = 0; iter < 5000; iter++) {
        char buf[sizeof base];
        memcpy(buf, base, sizeof base);
        size_t len = sizeof base - 1;
        int muts = g_rand_int_range(r, 1, 4);
        for (int m = 0; m < muts; m++)
            buf[g_rand_int_range(r, 0, (gint32)len)] =
                bytes[g_rand_int_range(r, 0, (gint32)sizeof bytes - 1)];
        len = (size_t)g_rand_int_range(r, 0, (gint32)len + 1);
        GwReqBody b;
        GError *err = NULL;
        GwStatus st = gw_reqbody_parse(buf, len, &b, &err);
        if (st == GW_OK) {
            g_assert_no_error(err);
            g_assert_true(json_is_object(b.root));
        } else {
            g_assert_cmpint(st, ==, GW_EINVAL);
            g_assert_nonnull(err);
            for (const char *c = err->message; *c != '\0'; c++)
                g_assert_true(*c >= 0x20 && *c < 0x7f);
            g_error_free(err);
        }
        gw_reqbody_clear(&b);
    }
    g_rand_free(r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/reqbody/valid-chat", test_valid_chat);
    g_test_add_func("/reqbody/stream", test_stream);
    g_test_add_func("/reqbody/model", test_model);
    g_test_add_func("/reqbody/duplicates", test_duplicates);
    g_test_add_func("/reqbody/not-json", test_not_json);
    g_test_add_func("/reqbody/depth", test_depth);
    g_test_add_func("/reqbody/encoding", test_encoding);
    g_test_add_func("/reqbody/max-tokens", test_max_tokens);
    g_test_add_func("/reqbody/fuzz", test_fuzz);
    return g_test_run();
}
